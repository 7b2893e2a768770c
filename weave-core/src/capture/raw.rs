//! [`RawJson`]: captured JSON text.

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// Raw JSON text produced by the capture (always valid JSON).
#[derive(Clone, PartialEq, Eq)]
pub struct RawJson(Box<str>);

impl RawJson {
    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses the text into a [`serde_json::Value`]. serde_json's parser
    /// stops at 128 levels of nesting; text nested deeper than that (possible
    /// with a `max_depth` near 128) is returned as a JSON string instead.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or_else(|_| serde_json::Value::String(self.0.to_string()))
    }

    /// The compact JSON text of `v`.
    pub fn from_value(v: &serde_json::Value) -> RawJson {
        RawJson(v.to_string().into_boxed_str())
    }

    /// The JSON `null`.
    pub fn null() -> RawJson {
        RawJson("null".into())
    }

    /// Cheap substring test for `"key"` (the key in quotes) in the text; no
    /// allocation. It may also match a string value equal to `key`.
    pub fn contains_key_text(&self, key: &str) -> bool {
        let text = self.0.as_bytes();
        self.0.match_indices(key).any(|(i, _)| i > 0 && text[i - 1] == b'"' && text.get(i + key.len()) == Some(&b'"'))
    }

    /// Copies the finished capture buffer (valid JSON by construction).
    pub(crate) fn from_buffer(buf: &[u8]) -> RawJson {
        match std::str::from_utf8(buf) {
            Ok(s) => RawJson(s.into()),
            Err(_) => RawJson("\"[weave: capture produced invalid UTF-8]\"".into()),
        }
    }
}

impl Serialize for RawJson {
    /// Emits the JSON verbatim (serde_json's `RawValue`); no re-parse into a
    /// `Value`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(&self.0) {
            Ok(raw) => raw.serialize(serializer),
            Err(_) => serializer.serialize_str(&self.0),
        }
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
