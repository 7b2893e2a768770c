//! Capture limits and redaction rules.

/// The default nesting limit of a captured value: 100 levels, so that a call's wire JSON
/// (the value inside `inputs` inside the call, inside a request or a fallback line, a few
/// levels more) stays under the 128 levels that JSON readers such as serde_json accept.
pub const DEFAULT_MAX_DEPTH: usize = 100;

/// Limits and redaction rules.
#[derive(Debug, Clone)]
pub struct CaptureConfig {
    /// Maximum size in bytes of one captured value's JSON (default 1 MiB).
    pub max_value_bytes: usize,
    /// Maximum nesting depth (default [`DEFAULT_MAX_DEPTH`]).
    pub max_depth: usize,
    /// Keys whose values are replaced by `"REDACTED"` (lowercase).
    pub redact_keys: Vec<String>,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            max_value_bytes: 1 << 20,
            max_depth: DEFAULT_MAX_DEPTH,
            redact_keys: vec!["api_key".into(), "authorization".into(), "auth_headers".into()],
        }
    }
}

impl CaptureConfig {
    /// Whether `key` matches one of `redact_keys` (ASCII case-insensitive, no allocation).
    #[inline]
    pub fn is_redacted_key(&self, key: &str) -> bool {
        self.is_redacted_key_bytes(key.as_bytes())
    }

    /// [`Self::is_redacted_key`] on the UTF-8 bytes of a key.
    #[inline]
    pub(crate) fn is_redacted_key_bytes(&self, key: &[u8]) -> bool {
        self.redact_keys.iter().any(|k| k.as_bytes().eq_ignore_ascii_case(key))
    }
}
