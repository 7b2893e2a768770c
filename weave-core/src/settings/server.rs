//! [`ServerSettings`]: the Weave trace server's variables, read as the Python SDK reads
//! them. They are raw values: `weave-exporter`'s `ServerConfig` (its `server` feature)
//! derives the URLs from them and looks the API key up in the netrc files.

use super::env::{process_var, EnvReader, EnvWarning};
use super::paths::{home_dir, netrc_files};
use super::secret::Secret;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// `WEAVE_HTTP_TIMEOUT`'s default.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The server's settings from the environment. A variable that is unset or blank is
/// `None` (or the default). `Debug` never shows the key or the custom headers.
#[derive(Clone, PartialEq)]
pub struct ServerSettings {
    /// `WANDB_BASE_URL`: the W&B API.
    pub base_url: Option<String>,
    /// `WANDB_API_KEY` (trimmed).
    pub api_key: Option<Secret>,
    /// The netrc files the key is looked for in when `WANDB_API_KEY` is unset: the file
    /// `NETRC` names, else `~/.netrc` and `~/_netrc`.
    pub netrc_files: Vec<PathBuf>,
    /// `WF_TRACE_SERVER_URL`: the trace server.
    pub trace_server_url: Option<String>,
    /// `WANDB_PUBLIC_BASE_URL`: the W&B API as seen from outside, for the trace server's
    /// default URL.
    pub public_base_url: Option<String>,
    /// `WANDB_APP_URL`: the front end, for call links.
    pub app_url: Option<String>,
    /// `WEAVE_TRACE_CUSTOM_HEADERS`: extra headers, one `Name: value` per line (as written).
    pub custom_headers: Option<String>,
    /// `WEAVE_HTTP_TIMEOUT` (seconds, more than 0): one request's timeout.
    pub http_timeout: Duration,
    /// `WEAVE_INSECURE_DISABLE_SSL`: skip TLS certificate checks.
    pub insecure_disable_ssl: bool,
    /// `WEAVE_USE_CALLS_COMPLETE`: write finished calls with `calls/complete` (default
    /// true) rather than the legacy `call/upsert_batch`.
    pub use_calls_complete: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            base_url: None,
            api_key: None,
            netrc_files: Vec::new(),
            trace_server_url: None,
            public_base_url: None,
            app_url: None,
            custom_headers: None,
            http_timeout: DEFAULT_HTTP_TIMEOUT,
            insecure_disable_ssl: false,
            use_calls_complete: true,
        }
    }
}

impl fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("netrc_files", &self.netrc_files)
            .field("trace_server_url", &self.trace_server_url)
            .field("public_base_url", &self.public_base_url)
            .field("app_url", &self.app_url)
            .field("custom_headers", &self.custom_headers.as_ref().map(|_| "***"))
            .field("http_timeout", &self.http_timeout)
            .field("insecure_disable_ssl", &self.insecure_disable_ssl)
            .field("use_calls_complete", &self.use_calls_complete)
            .finish()
    }
}

impl ServerSettings {
    /// The settings from the process environment, the netrc files from the home
    /// directory; with the warnings about invalid values, for the caller to print.
    pub fn from_env() -> (ServerSettings, Vec<EnvWarning>) {
        ServerSettings::from_env_with(process_var, home_dir())
    }

    /// [`ServerSettings::from_env`] with the environment read through `get` and the home
    /// directory (for netrc files) given.
    ///
    /// ```
    /// use weave_core::settings::ServerSettings;
    /// let (server, warnings) = ServerSettings::from_env_with(
    ///     weave_core::testing::env_lookup(&[("WANDB_API_KEY", " k "), ("WEAVE_HTTP_TIMEOUT", "soon")]),
    ///     None,
    /// );
    /// assert_eq!(server.api_key.map(|k| k.expose().to_string()).as_deref(), Some("k"));
    /// assert_eq!(warnings[0].var, "WEAVE_HTTP_TIMEOUT");
    /// ```
    pub fn from_env_with(
        get: impl Fn(&str) -> Option<String>,
        home: Option<PathBuf>,
    ) -> (ServerSettings, Vec<EnvWarning>) {
        // Blank values count as unset, booleans included.
        let mut env = EnvReader::new(move |var: &str| get(var).filter(|v| !v.trim().is_empty()));
        let mut server = ServerSettings {
            base_url: env.text("WANDB_BASE_URL"),
            api_key: env.text("WANDB_API_KEY").map(|key| Secret::new(key.trim())),
            netrc_files: netrc_files(env.path("NETRC"), home),
            trace_server_url: env.text("WF_TRACE_SERVER_URL"),
            public_base_url: env.text("WANDB_PUBLIC_BASE_URL"),
            app_url: env.text("WANDB_APP_URL"),
            custom_headers: env.text("WEAVE_TRACE_CUSTOM_HEADERS"),
            ..ServerSettings::default()
        };
        let timeout_default = DEFAULT_HTTP_TIMEOUT.as_secs().to_string();
        env.seconds("WEAVE_HTTP_TIMEOUT", &mut server.http_timeout, false, timeout_default);
        env.bool("WEAVE_INSECURE_DISABLE_SSL", &mut server.insecure_disable_ssl);
        env.bool("WEAVE_USE_CALLS_COMPLETE", &mut server.use_calls_complete);
        (server, env.into_warnings())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::env_lookup as env;

    #[test]
    fn blank_values_are_unset() {
        let (server, warnings) = ServerSettings::from_env_with(
            env(&[("WANDB_API_KEY", "  "), ("WEAVE_USE_CALLS_COMPLETE", ""), ("NETRC", " ")]),
            Some(PathBuf::from("/home/u")),
        );
        assert!(warnings.is_empty());
        assert_eq!(server.api_key, None);
        assert!(server.use_calls_complete, "a blank boolean keeps the default here");
        assert_eq!(server.netrc_files, [PathBuf::from("/home/u/.netrc"), PathBuf::from("/home/u/_netrc")]);
    }

    #[test]
    fn debug_hides_the_key_and_the_headers() {
        let (server, _) = ServerSettings::from_env_with(
            env(&[("WANDB_API_KEY", "the-key"), ("WEAVE_TRACE_CUSTOM_HEADERS", "X-Token: hidden")]),
            None,
        );
        let shown = format!("{server:?}");
        assert!(!shown.contains("the-key") && !shown.contains("hidden"), "{shown}");
    }
}
