//! The W&B API key: where it comes from, as in the Python SDK: `WANDB_API_KEY`, else the
//! `password` of the `machine` entry for the W&B host in `~/.netrc` (or `~/_netrc`, or the
//! file named by `NETRC`). The variables are read by `weave_core::settings`
//! ([`ServerSettings`]); the key is kept as a [`Secret`].

use std::path::PathBuf;
use weave_core::settings::ServerSettings;

pub use weave_core::settings::Secret;

/// Where an API key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The `WANDB_API_KEY` environment variable.
    Env,
    /// A netrc file.
    Netrc(PathBuf),
    /// Given in code.
    Code,
}

/// The API key from `WANDB_API_KEY`, else from the netrc entry for the host of
/// `base_url` (the W&B API URL, e.g. `https://api.wandb.ai`) in the settings' netrc files.
pub fn find_api_key(base_url: &str, settings: &ServerSettings) -> Option<(Secret, KeySource)> {
    if let Some(key) = settings.api_key.clone().filter(|k| !k.is_empty()) {
        return Some((key, KeySource::Env));
    }
    let (host, netloc) = url_host(base_url)?;
    for path in &settings.netrc_files {
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        // The Python SDK looks the entry up by netloc (`host:port` when a port is given);
        // plain `host` entries are accepted too.
        let found = netrc_password(&text, &netloc).or_else(|| netrc_password(&text, &host));
        if let Some(key) = found.filter(|k| !k.is_empty()) {
            return Some((Secret::new(key), KeySource::Netrc(path.clone())));
        }
    }
    None
}

/// `(host, netloc)` of a URL: `https://api.wandb.ai` → `("api.wandb.ai", "api.wandb.ai")`,
/// `http://127.0.0.1:8080/x` → `("127.0.0.1", "127.0.0.1:8080")`. Split by hand rather
/// than with `url::Url`, which drops a port equal to the scheme's default: the netloc
/// keeps the port as written, as Python's `urlparse` does, and netrc entries are looked up
/// by it.
pub fn url_host(url: &str) -> Option<(String, String)> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let netloc = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let netloc = netloc.rsplit_once('@').map_or(netloc, |(_, host)| host);
    if netloc.is_empty() {
        return None;
    }
    let host = if let Some(stripped) = netloc.strip_prefix('[') {
        stripped.split(']').next().unwrap_or(stripped).to_string()
    } else {
        netloc.rsplit_once(':').map_or(netloc, |(h, _)| h).to_string()
    };
    Some((host.to_ascii_lowercase(), netloc.to_ascii_lowercase()))
}

/// The `password` of the `machine <host>` entry (else of the `default` entry) of a netrc
/// file's text.
pub fn netrc_password(text: &str, host: &str) -> Option<String> {
    let mut tokens = Tokens::new(text);
    let mut current: Option<bool> = None; // Some(true): the entry for `host`
    let mut default_password = None;
    let mut in_default = false;
    while let Some(token) = tokens.next() {
        match token.as_str() {
            "machine" => {
                let name = tokens.next()?;
                in_default = false;
                current = Some(name.eq_ignore_ascii_case(host));
            }
            "default" => {
                in_default = true;
                current = Some(false);
            }
            "macdef" => {
                // A macro runs to the next empty line.
                tokens.skip_macro();
                current = None;
            }
            "password" => {
                let value = tokens.next()?;
                if current == Some(true) {
                    return Some(value);
                }
                if in_default && default_password.is_none() {
                    default_password = Some(value);
                }
            }
            "login" | "account" => {
                tokens.next();
            }
            _ => {}
        }
    }
    default_password
}

struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Tokens<'a> {
        Tokens { rest: text }
    }

    fn skip_macro(&mut self) {
        match self.rest.find("\n\n") {
            Some(i) => self.rest = &self.rest[i + 2..],
            None => self.rest = "",
        }
    }

    fn next(&mut self) -> Option<String> {
        loop {
            self.rest = self.rest.trim_start();
            if self.rest.starts_with('#') {
                self.rest = self.rest.split_once('\n').map_or("", |(_, r)| r);
                continue;
            }
            break;
        }
        if self.rest.is_empty() {
            return None;
        }
        if let Some(quoted) = self.rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            let token = quoted[..end].to_string();
            self.rest = quoted.get(end + 1..).unwrap_or("");
            return Some(token);
        }
        let end = self.rest.find(char::is_whitespace).unwrap_or(self.rest.len());
        let token = self.rest[..end].to_string();
        self.rest = &self.rest[end..];
        Some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netrc_entries_are_found_by_host() {
        let text = "# comment\nmachine other.host login x password nope\n\
                    machine api.wandb.ai\n  login user\n  password secret-key\ndefault login d password fallback\n";
        assert_eq!(netrc_password(text, "api.wandb.ai").as_deref(), Some("secret-key"));
        assert_eq!(netrc_password(text, "unknown.host").as_deref(), Some("fallback"));
        assert_eq!(netrc_password("machine a password \"with space\"", "a").as_deref(), Some("with space"));
        assert_eq!(netrc_password("machine a login b", "a"), None);
    }

    #[test]
    fn hosts_of_urls() {
        assert_eq!(url_host("https://api.wandb.ai"), Some(("api.wandb.ai".into(), "api.wandb.ai".into())));
        assert_eq!(url_host("http://127.0.0.1:8080/x"), Some(("127.0.0.1".into(), "127.0.0.1:8080".into())));
        assert_eq!(url_host("http://[::1]:80"), Some(("::1".into(), "[::1]:80".into())));
    }

    #[test]
    fn env_wins_over_netrc() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".netrc"), "machine api.wandb.ai login user password from-netrc\n").unwrap();
        let home = Some(dir.path().to_path_buf());
        let settings = |get: &dyn Fn(&str) -> Option<String>| ServerSettings::from_env_with(get, home.clone()).0;
        let env_key = find_api_key("https://api.wandb.ai", &settings(&|v| (v == "WANDB_API_KEY").then(|| "k".into())));
        assert_eq!(env_key, Some((Secret::new("k"), KeySource::Env)));
        let netrc_key = find_api_key("https://api.wandb.ai", &settings(&|_| None));
        assert_eq!(netrc_key.map(|(k, _)| k), Some(Secret::new("from-netrc")));
        assert_eq!(find_api_key("https://other.host", &settings(&|_| None)), None);
    }
}
