//! [`ServerConfig`]: where the Weave trace server and the W&B API are, the API key, and
//! the transport options, read from the environment with the Python SDK's names and
//! rules:
//!
//! - W&B API: `WANDB_BASE_URL` (default `https://api.wandb.ai`), GraphQL at `/graphql`.
//! - Trace server: `WF_TRACE_SERVER_URL`; else `https://trace.wandb.ai` for
//!   `https://api.wandb.ai`; else `$WANDB_PUBLIC_BASE_URL` (or `$WANDB_BASE_URL`) +
//!   `/traces`.
//! - API key: `WANDB_API_KEY`, else `~/.netrc` / `~/_netrc` (see [`crate::credentials`]).
//! - `WEAVE_TRACE_CUSTOM_HEADERS` (`"K: V\nK2: V2"`), `WEAVE_HTTP_TIMEOUT` (seconds,
//!   default 30), `WEAVE_INSECURE_DISABLE_SSL`, `WEAVE_USE_CALLS_COMPLETE` (default true).
//! - Links: `WANDB_APP_URL`, else the app host derived from the API host.

use crate::credentials::{find_api_key_with, KeySource, Secret};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;
use weave_core::settings::parse_bool;

/// The public W&B API.
pub const DEFAULT_BASE_URL: &str = "https://api.wandb.ai";
/// The trace server of the public W&B API.
pub const PUBLIC_TRACE_URL: &str = "https://trace.wandb.ai";
/// `WEAVE_HTTP_TIMEOUT`'s default.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach and talk to a Weave trace server. `Debug` never shows the key or the
/// values of custom headers.
#[derive(Clone)]
pub struct ServerConfig {
    /// The trace server's base URL, without a trailing `/`.
    pub trace_url: String,
    /// The W&B API's base URL (GraphQL is at `{base_url}/graphql`), without a trailing `/`.
    pub base_url: String,
    /// The front end's URL, for call links.
    pub app_url: String,
    /// The API key (sent as `Authorization: Basic base64("api:" + key)`).
    pub api_key: Secret,
    /// Where the key was found.
    pub key_source: KeySource,
    /// Extra headers on every request (`WEAVE_TRACE_CUSTOM_HEADERS`).
    pub headers: Vec<(String, String)>,
    /// The timeout of one request (`WEAVE_HTTP_TIMEOUT`).
    pub timeout: Duration,
    /// Skip TLS certificate checks (`WEAVE_INSECURE_DISABLE_SSL`).
    pub insecure_disable_ssl: bool,
    /// Write finished calls with `/v2/{entity}/{project}/calls/complete` (true, the
    /// default) or with the legacy `/call/upsert_batch` (`WEAVE_USE_CALLS_COMPLETE=false`).
    pub use_calls_complete: bool,
    /// Make sure the project exists through W&B GraphQL at start-up (as `weave.init`
    /// does). Default true.
    pub ensure_project: bool,
    /// Retries of one request on connection errors, 408, 409, 429 and 5xx before the
    /// exporter's own backoff takes over (default 2, as the Python client).
    pub request_retries: u32,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ServerConfig")
            .field("trace_url", &self.trace_url)
            .field("base_url", &self.base_url)
            .field("app_url", &self.app_url)
            .field("api_key", &self.api_key)
            .field("key_source", &self.key_source)
            .field("headers", &header_names)
            .field("timeout", &self.timeout)
            .field("insecure_disable_ssl", &self.insecure_disable_ssl)
            .field("use_calls_complete", &self.use_calls_complete)
            .field("ensure_project", &self.ensure_project)
            .field("request_retries", &self.request_retries)
            .finish()
    }
}

impl ServerConfig {
    /// The public W&B cloud with `api_key`; the other options at their defaults.
    pub fn new(api_key: Secret) -> ServerConfig {
        ServerConfig::for_urls(api_key, DEFAULT_BASE_URL, None)
    }

    /// A server at `base_url` (the W&B API), with its trace server at `trace_url` (or the
    /// default for `base_url`).
    pub fn for_urls(api_key: Secret, base_url: &str, trace_url: Option<&str>) -> ServerConfig {
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        let trace_url = match trace_url {
            Some(url) => url.trim().trim_end_matches('/').to_string(),
            None => default_trace_url(&base_url),
        };
        ServerConfig {
            app_url: app_url(&base_url),
            trace_url,
            base_url,
            api_key,
            key_source: KeySource::Code,
            headers: Vec::new(),
            timeout: DEFAULT_HTTP_TIMEOUT,
            insecure_disable_ssl: false,
            use_calls_complete: true,
            ensure_project: true,
            request_retries: 2,
        }
    }

    /// The configuration from the process environment: `None` when no API key is found
    /// (then calls stay local). Warnings about invalid values are printed.
    pub fn from_env() -> Option<ServerConfig> {
        let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")).map(PathBuf::from);
        let (config, warnings) = ServerConfig::from_env_with(|var| std::env::var(var).ok(), home);
        for warning in warnings {
            eprintln!("weave: {warning}");
        }
        config
    }

    /// [`ServerConfig::from_env`] with the environment read through `get` and the home
    /// directory (for netrc files) given; returns the warnings instead of printing them.
    pub fn from_env_with(
        get: impl Fn(&str) -> Option<String>,
        home: Option<PathBuf>,
    ) -> (Option<ServerConfig>, Vec<String>) {
        let get = |var: &str| get(var).filter(|v| !v.trim().is_empty());
        let base_url = get("WANDB_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        let Some((api_key, source)) = find_api_key_with(&base_url, get, home) else { return (None, Vec::new()) };
        let mut warnings = Vec::new();
        let trace_url = match get("WF_TRACE_SERVER_URL") {
            Some(url) => url.trim().trim_end_matches('/').to_string(),
            None => {
                let public = get("WANDB_PUBLIC_BASE_URL").map(|u| u.trim().trim_end_matches('/').to_string());
                default_trace_url(public.as_deref().unwrap_or(&base_url))
            }
        };
        let mut config = ServerConfig::for_urls(api_key, &base_url, Some(&trace_url));
        config.key_source = source;
        if let Some(app) = get("WANDB_APP_URL") {
            config.app_url = app.trim().trim_end_matches('/').to_string();
        }
        if let Some(headers) = get("WEAVE_TRACE_CUSTOM_HEADERS") {
            config.headers = parse_custom_headers(&headers);
        }
        if let Some(value) = get("WEAVE_HTTP_TIMEOUT") {
            // `try_from`: "1e300" seconds does not fit a Duration (found by fuzzing).
            let timeout = value.trim().parse::<f64>().ok().and_then(|secs| Duration::try_from_secs_f64(secs).ok());
            match timeout.filter(|t| !t.is_zero()) {
                Some(timeout) => config.timeout = timeout,
                None => warnings.push(format!(
                    "ignoring WEAVE_HTTP_TIMEOUT={value:?}: expected a positive number of seconds; using 30"
                )),
            }
        }
        for (var, field) in [
            ("WEAVE_INSECURE_DISABLE_SSL", &mut config.insecure_disable_ssl),
            ("WEAVE_USE_CALLS_COMPLETE", &mut config.use_calls_complete),
        ] {
            if let Some(value) = get(var) {
                match parse_bool(&value) {
                    Some(b) => *field = b,
                    None => warnings.push(format!(
                        "ignoring {var}={value:?}: expected one of yes|true|1|on|no|false|0|off; using {field}"
                    )),
                }
            }
        }
        (Some(config), warnings)
    }

    /// A warning when the key would travel without encryption: an `http://` base or trace
    /// URL to a host other than the loopback interface (the key itself is not in it).
    pub fn transport_warning(&self) -> Option<String> {
        let plain: Vec<&str> = [self.base_url.as_str(), self.trace_url.as_str()]
            .into_iter()
            .filter(|url| is_plain_http_to_remote_host(url))
            .collect();
        let first = plain.first()?;
        Some(format!(
            "{first} is plain http to a host that is not this machine: the API key and the traced data are sent \
             unencrypted; use https"
        ))
    }

    /// The link to a call in the W&B app: `<app>/<entity>/<project>/r/call/<id>`.
    pub fn call_link(&self, entity: &str, project: &str, call_id: &str) -> String {
        format!("{}/{}/{}/r/call/{}", self.app_url, entity, percent_encode_path(project), call_id)
    }

    /// `{base_url}/graphql`.
    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.base_url)
    }
}

/// The trace server for a W&B API URL: `https://trace.wandb.ai` for the public cloud,
/// else `{base}/traces`.
pub fn default_trace_url(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    if base == DEFAULT_BASE_URL {
        PUBLIC_TRACE_URL.to_string()
    } else {
        format!("{base}/traces")
    }
}

/// The front end for a W&B API URL (`https://api.wandb.ai` → `https://wandb.ai`,
/// `https://api.acme.com` → `https://app.acme.com`, anything else as is).
pub fn app_url(base_url: &str) -> String {
    let url = if base_url.contains("://api.wandb.test") {
        base_url.replacen("://api.", "://app.", 1)
    } else if base_url.contains("://api.wandb.") {
        base_url.replacen("://api.", "://", 1)
    } else if base_url.contains("://api.") {
        base_url.replacen("://api.", "://app.", 1)
    } else {
        base_url.to_string()
    };
    url.trim_end_matches('/').to_string()
}

/// `WEAVE_TRACE_CUSTOM_HEADERS`: one `Name: value` per line (lines without a colon are
/// skipped; a later line wins over an earlier one with the same name).
pub fn parse_custom_headers(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let Some((name, value)) = line.split_once(':') else { continue };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            continue;
        }
        out.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        out.push((name.to_string(), value.to_string()));
    }
    out
}

fn percent_encode_path(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// True for an `http://` URL whose host is not `localhost` or a loopback address.
fn is_plain_http_to_remote_host(url: &str) -> bool {
    let Some(rest) =
        url.trim().get(..7).filter(|scheme| scheme.eq_ignore_ascii_case("http://")).map(|_| &url.trim()[7..])
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let loopback =
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    !loopback
}

#[cfg(test)]
mod tests {
    use super::*;
    use weave_core::testing::env_lookup as env;

    #[test]
    fn no_key_means_no_server() {
        assert!(ServerConfig::from_env_with(env(&[]), None).0.is_none());
    }

    #[test]
    fn trace_url_rules_follow_python() {
        let (c, _) = ServerConfig::from_env_with(env(&[("WANDB_API_KEY", "k")]), None);
        let c = c.unwrap();
        assert_eq!((c.base_url.as_str(), c.trace_url.as_str()), (DEFAULT_BASE_URL, PUBLIC_TRACE_URL));
        assert_eq!(c.app_url, "https://wandb.ai");
        let (c, _) = ServerConfig::from_env_with(
            env(&[("WANDB_API_KEY", "k"), ("WANDB_BASE_URL", "http://127.0.0.1:9/")]),
            None,
        );
        let c = c.unwrap();
        assert_eq!(c.trace_url, "http://127.0.0.1:9/traces");
        assert_eq!(c.graphql_url(), "http://127.0.0.1:9/graphql");
        let (c, _) = ServerConfig::from_env_with(
            env(&[
                ("WANDB_API_KEY", "k"),
                ("WF_TRACE_SERVER_URL", "http://127.0.0.1:7/"),
                ("WANDB_BASE_URL", "http://x"),
            ]),
            None,
        );
        assert_eq!(c.unwrap().trace_url, "http://127.0.0.1:7");
        assert_eq!(app_url("https://api.acme.com"), "https://app.acme.com");
    }

    #[test]
    fn options_and_headers_are_read() {
        let (c, warnings) = ServerConfig::from_env_with(
            env(&[
                ("WANDB_API_KEY", "secret-key"),
                ("WEAVE_TRACE_CUSTOM_HEADERS", "X-A: 1\nbad line\nX-B:two: parts\nx-a: 3"),
                ("WEAVE_HTTP_TIMEOUT", "2.5"),
                ("WEAVE_INSECURE_DISABLE_SSL", "true"),
                ("WEAVE_USE_CALLS_COMPLETE", "false"),
            ]),
            None,
        );
        let c = c.unwrap();
        assert!(warnings.is_empty());
        assert_eq!(
            c.headers,
            vec![("X-B".to_string(), "two: parts".to_string()), ("x-a".to_string(), "3".to_string())]
        );
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert!(c.insecure_disable_ssl && !c.use_calls_complete);
        let debug = format!("{c:?}");
        assert!(!debug.contains("secret-key") && !debug.contains("two: parts"), "{debug}");
        for bad in ["soon", "0", "-1", "1e300", "NaN"] {
            let (_, warnings) =
                ServerConfig::from_env_with(env(&[("WANDB_API_KEY", "k"), ("WEAVE_HTTP_TIMEOUT", bad)]), None);
            assert_eq!(warnings.len(), 1, "{bad}");
        }
    }

    #[test]
    fn plain_http_to_another_host_is_warned_about_without_the_key() {
        let config = |url: &str| ServerConfig::for_urls(Secret::new("the-secret-key"), url, None);
        for quiet in ["https://api.wandb.ai", "http://127.0.0.1:9", "http://localhost:8080/x", "http://[::1]:9"] {
            assert_eq!(config(quiet).transport_warning(), None, "{quiet}");
        }
        for loud in ["http://api.example.com", "HTTP://10.0.0.5:8080", "http://user@evil.test/"] {
            let warning = config(loud).transport_warning().expect(loud);
            assert!(warning.contains("unencrypted") && !warning.contains("the-secret-key"), "{warning}");
        }
        let mut trace_only = config("https://api.example.com");
        trace_only.trace_url = "http://trace.example.com".to_string();
        assert!(trace_only.transport_warning().is_some());
    }

    #[test]
    fn tls_verification_is_on_unless_disabled() {
        let (c, _) = ServerConfig::from_env_with(env(&[("WANDB_API_KEY", "k")]), None);
        assert!(!c.unwrap().insecure_disable_ssl);
        for (value, disabled) in [("true", true), ("false", false), ("nonsense", false)] {
            let (c, _) = ServerConfig::from_env_with(
                env(&[("WANDB_API_KEY", "k"), ("WEAVE_INSECURE_DISABLE_SSL", value)]),
                None,
            );
            assert_eq!(c.unwrap().insecure_disable_ssl, disabled, "{value}");
        }
    }

    #[test]
    fn call_links() {
        let c = ServerConfig::new(Secret::new("k"));
        assert_eq!(c.call_link("e", "my proj", "abc"), "https://wandb.ai/e/my%20proj/r/call/abc");
    }
}
