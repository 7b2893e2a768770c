//! Entry points for the fuzz targets in `fuzz/` (`cargo fuzz`): the parts of the exporter
//! that read what it does not control, a server's responses and the environment. Not a
//! public API: hidden from the docs, and free to change.

use crate::http::client::classify_parts;
use crate::http::startup::{entity_of_viewer, graphql_data, server_info_of};
use crate::http::{parse_custom_headers, ServerConfig};

/// Feeds one server response (status, the `x-should-retry` and `Retry-After` headers, the
/// body) through everything that reads responses. Must never panic.
pub fn server_response(status: u16, should_retry: Option<&str>, retry_after: Option<&str>, body: &[u8]) {
    let (result, _, _) = classify_parts(status, should_retry, retry_after, body.to_vec(), "POST", "/fuzz");
    let json = match result {
        Ok(response) => response.json(),
        Err(failure) => {
            let _ = format!("{failure:?}");
            serde_json::from_slice(body).unwrap_or_default()
        }
    };
    let _ = server_info_of(&json);
    if let Ok(data) = graphql_data(json, "http://127.0.0.1/graphql") {
        let _ = entity_of_viewer(&data);
    }
}

/// Reads a server configuration and the custom-headers setting from `get`. Must never
/// panic.
pub fn server_environment(get: impl Fn(&str) -> Option<String>, custom_headers: &str) {
    let _ = ServerConfig::from_env_with(get, None);
    let _ = parse_custom_headers(custom_headers);
}

/// Looks `host` up in the text of a netrc file. Must never panic.
pub fn netrc(text: &str, host: &str) {
    let _ = crate::credentials::netrc_password(text, host);
    let _ = crate::credentials::url_host(text);
}
