//! [`ServerConfig`]: where the Weave trace server and the W&B API are, the API key, and
//! the transport options, from the server's settings (`weave_core::settings::ServerSettings`,
//! which reads the environment) with the Python SDK's rules:
//!
//! - W&B API: `WANDB_BASE_URL` (default `https://api.wandb.ai`), GraphQL at `/graphql`.
//! - Trace server: `WF_TRACE_SERVER_URL`; else `https://trace.wandb.ai` for
//!   `https://api.wandb.ai`; else `$WANDB_PUBLIC_BASE_URL` (or `$WANDB_BASE_URL`) +
//!   `/traces`.
//! - API key: `WANDB_API_KEY`, else `~/.netrc` / `~/_netrc` (see [`crate::credentials`]).
//! - `WEAVE_TRACE_CUSTOM_HEADERS` (`"K: V\nK2: V2"`), `WEAVE_HTTP_TIMEOUT` (seconds,
//!   default 30), `WEAVE_INSECURE_DISABLE_SSL`, `WEAVE_USE_CALLS_COMPLETE` (default true).
//! - Links: `WANDB_APP_URL`, else the app host derived from the API host.

use crate::credentials::{find_api_key, KeySource, Secret};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;
use url::{Host, Url};
use weave_core::settings::{EnvWarning, ServerSettings};

pub use weave_core::settings::DEFAULT_HTTP_TIMEOUT;

/// The public W&B API.
pub const DEFAULT_BASE_URL: &str = "https://api.wandb.ai";
/// The trace server of the public W&B API.
pub const PUBLIC_TRACE_URL: &str = "https://trace.wandb.ai";

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
        let (settings, warnings) = ServerSettings::from_env();
        let config = ServerConfig::from_settings(&settings)?;
        for warning in warnings {
            weave_core::warn!("{warning}");
        }
        Some(config)
    }

    /// [`ServerConfig::from_env`] with the environment read through `get` and the home
    /// directory (for netrc files) given; returns the warnings instead of printing them
    /// (none when no key is found).
    pub fn from_env_with(
        get: impl Fn(&str) -> Option<String>,
        home: Option<PathBuf>,
    ) -> (Option<ServerConfig>, Vec<EnvWarning>) {
        let (settings, warnings) = ServerSettings::from_env_with(get, home);
        match ServerConfig::from_settings(&settings) {
            Some(config) => (Some(config), warnings),
            None => (None, Vec::new()),
        }
    }

    /// The configuration the server's settings describe: `None` when they give no API key
    /// (neither `WANDB_API_KEY` nor a netrc entry for the W&B API's host).
    pub fn from_settings(settings: &ServerSettings) -> Option<ServerConfig> {
        let base_url = settings.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base_url = base_url.trim().trim_end_matches('/');
        let (api_key, source) = find_api_key(base_url, settings)?;
        let trace_url = match &settings.trace_server_url {
            Some(url) => url.trim().trim_end_matches('/').to_string(),
            None => {
                let public = settings.public_base_url.as_deref().map(|u| u.trim().trim_end_matches('/'));
                default_trace_url(public.unwrap_or(base_url))
            }
        };
        let mut config = ServerConfig::for_urls(api_key, base_url, Some(&trace_url));
        config.key_source = source;
        if let Some(app) = &settings.app_url {
            config.app_url = app.trim().trim_end_matches('/').to_string();
        }
        if let Some(headers) = &settings.custom_headers {
            config.headers = parse_custom_headers(headers);
        }
        config.timeout = settings.http_timeout;
        config.insecure_disable_ssl = settings.insecure_disable_ssl;
        config.use_calls_complete = settings.use_calls_complete;
        Some(config)
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

/// What a path segment keeps unencoded: letters, digits and `-_.~` (RFC 3986's
/// unreserved characters).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn percent_encode_path(segment: &str) -> String {
    utf8_percent_encode(segment, PATH_SEGMENT).to_string()
}

/// True for a URL of `localhost` or a loopback address (`127.0.0.0/8`, `::1`).
pub(crate) fn is_loopback(url: &str) -> bool {
    Url::parse(url.trim()).is_ok_and(|url| has_loopback_host(&url))
}

fn has_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// True for an `http://` URL whose host is not `localhost` or a loopback address.
fn is_plain_http_to_remote_host(url: &str) -> bool {
    Url::parse(url.trim()).is_ok_and(|url| url.scheme() == "http" && !has_loopback_host(&url))
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
