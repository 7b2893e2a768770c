//! Capture limits and redaction rules.

/// Limits and redaction rules.
#[derive(Debug, Clone)]
pub struct CaptureConfig {
    /// Maximum size in bytes of one captured value's JSON (default 1 MiB).
    pub max_value_bytes: usize,
    /// Maximum nesting depth (default 128).
    pub max_depth: usize,
    /// Keys whose values are replaced by `"REDACTED"` (lowercase).
    pub redact_keys: Vec<String>,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            max_value_bytes: 1 << 20,
            max_depth: 128,
            redact_keys: vec!["api_key".into(), "authorization".into(), "auth_headers".into()],
        }
    }
}

impl CaptureConfig {
    /// Whether `key` matches one of `redact_keys` (ASCII case-insensitive, no allocation).
    pub fn is_redacted_key(&self, key: &str) -> bool {
        self.is_redacted_key_bytes(key.as_bytes())
    }

    /// [`Self::is_redacted_key`] on the UTF-8 bytes of a key.
    #[inline]
    pub(crate) fn is_redacted_key_bytes(&self, key: &[u8]) -> bool {
        self.redact_keys.iter().any(|k| k.as_bytes().eq_ignore_ascii_case(key))
    }
}
