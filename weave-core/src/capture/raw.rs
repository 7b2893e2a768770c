//! [`RawJson`]: captured JSON text.

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// Text up to this many bytes is kept inline, without a heap allocation (most inputs
/// and outputs of small ops, such as `{"a":1,"b":"hello"}`).
const INLINE_CAPACITY: usize = 46;

/// Raw JSON text produced by the capture (always valid JSON).
#[derive(Clone)]
pub struct RawJson(Repr);

#[derive(Clone)]
enum Repr {
    /// Short text, inline. Its bytes are checked to be UTF-8 when read ([`RawJson::as_str`]),
    /// not when a capture writes them: that check is a tenth of an op call's own work,
    /// and the exporter's thread, which reads the text, does it instead.
    Inline(arrayvec::ArrayVec<u8, INLINE_CAPACITY>),
    Heap(Box<str>),
}

/// What [`RawJson::as_str`] reads for bytes that are not UTF-8 (a capture never writes
/// such bytes: the text comes from `&str`s and numbers).
const INVALID_UTF8: &str = "\"[weave: capture produced invalid UTF-8]\"";

impl PartialEq for RawJson {
    fn eq(&self, other: &RawJson) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RawJson {}

impl RawJson {
    fn from_text(text: &str) -> RawJson {
        match Self::inline(text.as_bytes()) {
            Some(inline) => inline,
            None => RawJson(Repr::Heap(text.into())),
        }
    }

    /// `bytes` kept inline, when they fit.
    #[inline(always)]
    fn inline(bytes: &[u8]) -> Option<RawJson> {
        let mut inline = arrayvec::ArrayVec::new();
        inline.try_extend_from_slice(bytes).ok()?;
        Some(RawJson(Repr::Inline(inline)))
    }

    /// True when the text is on the heap (longer than a few dozen bytes).
    pub(crate) fn is_on_heap(&self) -> bool {
        matches!(self.0, Repr::Heap(_))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline(bytes) => std::str::from_utf8(bytes).unwrap_or(INVALID_UTF8),
            Repr::Heap(text) => text,
        }
    }

    /// Parses the text into a [`serde_json::Value`]. serde_json's parser
    /// stops at 128 levels of nesting; text nested deeper than that (possible
    /// with a `max_depth` raised near 128) is returned as a JSON string instead.
    pub fn to_value(&self) -> serde_json::Value {
        let text = self.as_str();
        serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
    }

    /// The compact JSON text of `v`.
    pub fn from_value(v: &serde_json::Value) -> RawJson {
        RawJson::from_text(&v.to_string())
    }

    /// The JSON `null`.
    pub fn null() -> RawJson {
        RawJson::from_text("null")
    }

    /// Cheap substring test for `"key"` (the key in quotes) in the text; no
    /// allocation. It may also match a string value equal to `key`.
    pub fn contains_key_text(&self, key: &str) -> bool {
        let text = self.as_str();
        let bytes = text.as_bytes();
        text.match_indices(key).any(|(i, _)| i > 0 && bytes[i - 1] == b'"' && bytes.get(i + key.len()) == Some(&b'"'))
    }

    /// The length of the text in bytes (read without checking it).
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Inline(bytes) => bytes.len(),
            Repr::Heap(text) => text.len(),
        }
    }

    /// True for an empty text (never, for a capture's JSON).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first byte of the text (read without checking the rest).
    pub(crate) fn first_byte(&self) -> Option<u8> {
        match &self.0 {
            Repr::Inline(bytes) => bytes.first().copied(),
            Repr::Heap(text) => text.as_bytes().first().copied(),
        }
    }

    /// Copies the finished capture buffer (valid JSON by construction; a short one is
    /// checked when read, a long one now).
    #[inline(always)]
    pub(crate) fn from_buffer(buf: &[u8]) -> RawJson {
        if let Some(inline) = Self::inline(buf) {
            return inline;
        }
        match std::str::from_utf8(buf) {
            Ok(text) => RawJson(Repr::Heap(text.into())),
            Err(_) => RawJson::from_text(INVALID_UTF8),
        }
    }
}

impl Serialize for RawJson {
    /// Emits the JSON verbatim (serde_json's `RawValue`); no re-parse into a
    /// `Value`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(self.as_str()) {
            Ok(raw) => raw.serialize(serializer),
            Err(_) => serializer.serialize_str(self.as_str()),
        }
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
