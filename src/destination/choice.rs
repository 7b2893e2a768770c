//! Which sink calls go to when code gives none, decided from the settings (the environment
//! applied) and the sinks compiled in. A pure function, so that every combination of cargo
//! features is tested in any build.
//!
//! First match: `WEAVE_JSONL_PATH`; an explicit `WEAVE_LOCAL_STORE_PATH`; the trace server
//! when an API key is found; else the local store's default file. A sink asked for whose
//! feature is off is reported ([`MissingFeature`]) and replaced: the local store by JSON
//! lines next to the file asked for, the server by the default local sink; the default
//! local sink is the local store, else JSON lines in [`DEFAULT_JSONL_PATH`].

use std::path::PathBuf;
use weave_core::settings::{Settings, DEFAULT_JSONL_PATH, DEFAULT_LOCAL_STORE_PATH, LOCAL_STORE_PATH_VAR};

/// Where calls go. `S` is the server's configuration and `L` the local store's file in a
/// build that has them (`Infallible` in one that has not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Choice<S, L> {
    /// The Weave trace server.
    Server(S),
    /// The local store.
    LocalStore(L),
    /// JSON lines in this file (`-`: stdout).
    Jsonl(PathBuf),
}

/// What looking for a server in the environment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerLookup<S> {
    /// An API key, and the server it is for.
    #[cfg_attr(not(feature = "server"), allow(dead_code, reason = "made only with the `server` feature"))]
    Found(S),
    /// No API key.
    NoKey,
    /// `WANDB_API_KEY` is set, but the server sink is not compiled in.
    #[cfg_attr(feature = "server", allow(dead_code, reason = "made only without the `server` feature"))]
    NotCompiled,
}

/// A sink asked for whose cargo feature is off: what `init` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MissingFeature {
    /// The feature of the `weave` crate.
    pub(crate) feature: &'static str,
    /// What asked for the sink.
    pub(crate) asked_by: &'static str,
    /// The sink asked for.
    pub(crate) sink: &'static str,
    /// Where calls go instead, in words.
    pub(crate) instead: String,
}

impl std::fmt::Display for MissingFeature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "weave: {} is set, but the `weave` crate was built without its `{}` feature, so calls cannot go to {} \
             (enable it: weave = {{ features = [\"{}\"] }}); writing them to {} instead",
            self.asked_by, self.feature, self.sink, self.feature, self.instead
        )
    }
}

/// Where calls go, and the sink asked for but not compiled in, if any. `local_store` turns a
/// file into the local store's target (`None`: not compiled in); `server` looks for a server
/// in the environment, called only when neither file is chosen.
pub(crate) fn choose<S, L>(
    settings: &Settings,
    local_store: impl Fn(PathBuf) -> Option<L>,
    server: impl FnOnce() -> ServerLookup<S>,
) -> (Choice<S, L>, Option<MissingFeature>) {
    if let Some(path) = &settings.jsonl_path {
        return (Choice::Jsonl(path.clone()), None);
    }
    if let Some(path) = &settings.local_store_path {
        return match local_store(path.clone()) {
            Some(store) => (Choice::LocalStore(store), None),
            None => {
                let jsonl = path.with_extension("jsonl");
                let missing = MissingFeature {
                    feature: "local-store",
                    asked_by: LOCAL_STORE_PATH_VAR,
                    sink: "the local store",
                    instead: format!("JSON lines in {}", jsonl.display()),
                };
                (Choice::Jsonl(jsonl), Some(missing))
            }
        };
    }
    match server() {
        ServerLookup::Found(server) => (Choice::Server(server), None),
        ServerLookup::NoKey => (default_local(local_store), None),
        ServerLookup::NotCompiled => {
            let choice = default_local(local_store);
            let instead = match &choice {
                Choice::LocalStore(_) => format!("the local store {DEFAULT_LOCAL_STORE_PATH}"),
                _ => format!("JSON lines in {DEFAULT_JSONL_PATH}"),
            };
            let missing = MissingFeature {
                feature: "server",
                asked_by: "WANDB_API_KEY",
                sink: "the Weave trace server",
                instead,
            };
            (choice, Some(missing))
        }
    }
}

/// The local store's default file, else JSON lines in the default file.
fn default_local<S, L>(local_store: impl Fn(PathBuf) -> Option<L>) -> Choice<S, L> {
    match local_store(PathBuf::from(DEFAULT_LOCAL_STORE_PATH)) {
        Some(store) => Choice::LocalStore(store),
        None => Choice::Jsonl(PathBuf::from(DEFAULT_JSONL_PATH)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The choice in a build with (`true`) or without each sink, for these settings and
    /// whether an API key is set.
    fn choice(
        store_compiled: bool,
        server_compiled: bool,
        settings: &Settings,
        key: bool,
    ) -> (Choice<&'static str, PathBuf>, Option<MissingFeature>) {
        let lookup = match (key, server_compiled) {
            (false, _) => ServerLookup::NoKey,
            (true, true) => ServerLookup::Found("server"),
            (true, false) => ServerLookup::NotCompiled,
        };
        choose(settings, |path| store_compiled.then_some(path), || lookup)
    }

    fn with_store(path: &str) -> Settings {
        Settings { local_store_path: Some(path.into()), ..Settings::default() }
    }

    #[test]
    fn with_both_sinks_the_choice_is_as_before_the_features() {
        let default = Settings::default();
        assert_eq!(choice(true, true, &default, false), (Choice::LocalStore(".weave/weave.db".into()), None));
        assert_eq!(choice(true, true, &default, true), (Choice::Server("server"), None));
        assert_eq!(choice(true, true, &with_store("/d/s.db"), true), (Choice::LocalStore("/d/s.db".into()), None));
        let jsonl = Settings { jsonl_path: Some("-".into()), ..with_store("/d/s.db") };
        assert_eq!(choice(true, true, &jsonl, true), (Choice::Jsonl("-".into()), None));
    }

    #[test]
    fn the_server_is_not_looked_for_when_a_file_is_chosen() {
        let (choice, _) = choose::<(), PathBuf>(&with_store("s.db"), Some, || panic!("looked up"));
        assert_eq!(choice, Choice::LocalStore("s.db".into()));
    }

    #[test]
    fn an_api_key_without_the_server_feature_says_so_and_stays_local() {
        let (choice, missing) = choice(true, false, &Settings::default(), true);
        assert_eq!(choice, Choice::LocalStore(".weave/weave.db".into()));
        let line = missing.expect("reported").to_string();
        assert!(line.contains("WANDB_API_KEY") && line.contains("`server` feature"), "{line}");
        assert!(line.contains("features = [\"server\"]") && line.contains("the local store .weave/weave.db"), "{line}");
        let (choice, missing) = self::choice(false, false, &Settings::default(), true);
        assert_eq!(choice, Choice::Jsonl(".weave/calls.jsonl".into()));
        assert!(missing.expect("reported").to_string().ends_with("JSON lines in .weave/calls.jsonl instead"));
    }

    #[test]
    fn a_store_path_without_the_local_store_feature_says_so_and_writes_json_lines_beside_it() {
        for server_compiled in [true, false] {
            let (choice, missing) = choice(false, server_compiled, &with_store("/d/s.db"), true);
            assert_eq!(choice, Choice::Jsonl("/d/s.jsonl".into()), "never the server: a local file was asked for");
            let line = missing.expect("reported").to_string();
            assert!(line.contains("WEAVE_LOCAL_STORE_PATH") && line.contains("`local-store` feature"), "{line}");
            assert!(line.contains("JSON lines in /d/s.jsonl"), "{line}");
        }
    }

    #[test]
    fn without_the_local_store_the_default_is_json_lines_quietly() {
        assert_eq!(
            choice(false, true, &Settings::default(), false),
            (Choice::Jsonl(".weave/calls.jsonl".into()), None)
        );
        assert_eq!(choice(false, true, &Settings::default(), true), (Choice::Server("server"), None));
    }
}
