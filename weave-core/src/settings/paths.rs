//! The default paths (the local store, the fallback file, the JSON lines file of builds
//! without the local store) and where files are looked for (the home directory, netrc
//! files).

use super::env::{process_var, EnvReader};
use std::path::PathBuf;

/// The variable naming the local store's file.
pub const LOCAL_STORE_PATH_VAR: &str = "WEAVE_LOCAL_STORE_PATH";

/// The local store's default file, relative to the working directory.
pub const DEFAULT_LOCAL_STORE_PATH: &str = ".weave/weave.db";

/// Where items that could not be exported are written, as in Weave's Python client.
pub const DEFAULT_FALLBACK_PATH: &str = "./.weave_client_dropped_items_log.jsonl";

/// Where calls are written as JSON lines when the local store is not compiled in (the
/// `weave` crate without its `local-store` feature) and nothing else is chosen.
pub const DEFAULT_JSONL_PATH: &str = ".weave/calls.jsonl";

/// `WEAVE_LOCAL_STORE_PATH` read as [`Settings`](super::Settings) reads it (unset or blank:
/// `None`), for programs that need only this path (the `weave` command).
pub fn local_store_path_from_env() -> Option<PathBuf> {
    EnvReader::new(process_var).path(LOCAL_STORE_PATH_VAR)
}

/// The user's home directory (`HOME` on unix, the user profile on Windows).
pub fn home_dir() -> Option<PathBuf> {
    std::env::home_dir().filter(|home| !home.as_os_str().is_empty())
}

/// The netrc files to look in, in order: the one `NETRC` names, else `.netrc` and
/// `_netrc` in `home`.
pub fn netrc_files(netrc_var: Option<PathBuf>, home: Option<PathBuf>) -> Vec<PathBuf> {
    match (netrc_var, home) {
        (Some(path), _) => vec![path],
        (None, Some(home)) => vec![home.join(".netrc"), home.join("_netrc")],
        (None, None) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netrc_names_the_file_else_the_home_directory_has_two() {
        let home = Some(PathBuf::from("/h"));
        assert_eq!(netrc_files(Some("/n".into()), home.clone()), [PathBuf::from("/n")]);
        assert_eq!(netrc_files(None, home), [PathBuf::from("/h/.netrc"), PathBuf::from("/h/_netrc")]);
        assert!(netrc_files(None, None).is_empty());
    }
}
