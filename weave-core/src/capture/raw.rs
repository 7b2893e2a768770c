//! [`RawJson`]: captured JSON text.

use std::fmt;
use std::mem::MaybeUninit;

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
    /// `bytes[..len]` is the text; the bytes after it are unspecified (possibly never
    /// initialized: see [`RawJson::from_buffer`]).
    Inline {
        len: u8,
        bytes: [MaybeUninit<u8>; INLINE_CAPACITY],
    },
    Heap(Box<str>),
}

impl PartialEq for RawJson {
    fn eq(&self, other: &RawJson) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RawJson {}

impl RawJson {
    fn from_text(text: &str) -> RawJson {
        if text.len() <= INLINE_CAPACITY {
            let mut bytes = [MaybeUninit::new(0u8); INLINE_CAPACITY];
            for (to, from) in bytes.iter_mut().zip(text.bytes()) {
                *to = MaybeUninit::new(from);
            }
            RawJson(Repr::Inline { len: text.len() as u8, bytes })
        } else {
            RawJson(Repr::Heap(text.into()))
        }
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, bytes } => {
                let len = usize::from(*len).min(INLINE_CAPACITY);
                // SAFETY: `Inline` is only built by `from_text` and `from_buffer`, which
                // both write a whole `&str` (valid UTF-8) into `bytes[..len]`, so those
                // bytes are initialized; the fields are private and never changed.
                unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(bytes.as_ptr().cast::<u8>(), len)) }
            }
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

    /// Copies the finished capture buffer (valid JSON by construction).
    ///
    /// Short text is copied into the inline bytes with one fixed-size copy of the buffer's
    /// first [`INLINE_CAPACITY`] bytes (the text and, after it, spare room that may never
    /// have been written, copied as such): no call to `memcpy`, and the bytes are then
    /// moved whole. Built with a zeroed array and a copy of the text's length, the moves
    /// that followed read back stores of other sizes, and waited for them (a stall of
    /// about a third of this function's time).
    #[inline(always)]
    pub(crate) fn from_buffer(buf: &mut Vec<u8>) -> RawJson {
        if !buf.is_ascii() && std::str::from_utf8(buf).is_err() {
            return RawJson::from_text("\"[weave: capture produced invalid UTF-8]\"");
        }
        let len = buf.len();
        if len > INLINE_CAPACITY {
            // SAFETY: checked just above: ASCII, or valid UTF-8.
            return RawJson(Repr::Heap(unsafe { std::str::from_utf8_unchecked(buf) }.into()));
        }
        if buf.capacity() < INLINE_CAPACITY {
            // SAFETY: checked above: ASCII, or valid UTF-8.
            return from_small_buffer(unsafe { std::str::from_utf8_unchecked(buf) });
        }
        // Built in place, then filled: copied into a local array first, the bytes went
        // through the stack, and reading them back (in other sizes than written) waited.
        let mut raw = RawJson(Repr::Inline { len: len as u8, bytes: [MaybeUninit::uninit(); INLINE_CAPACITY] });
        if let Repr::Inline { bytes, .. } = &mut raw.0 {
            // SAFETY: `buf.as_ptr()` (the vector's own, not a slice's) is valid for reads of
            // its whole capacity, at least `INLINE_CAPACITY` bytes here; the bytes past
            // `len` are read as `MaybeUninit<u8>`, which may be uninitialized; the two do
            // not overlap. A copy of a fixed size is a few vector moves, not a `memcpy`.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    buf.as_ptr().cast::<MaybeUninit<u8>>(),
                    bytes.as_mut_ptr(),
                    INLINE_CAPACITY,
                )
            };
        }
        raw
    }
}

/// The JSON of a buffer whose capacity is below `INLINE_CAPACITY` (a fresh buffer: the
/// thread's reused one is larger), through `RawJson::from_text`. Kept out of line so that
/// the common copy keeps its fixed size (merged, both became one `memcpy` of a computed
/// length).
#[cold]
#[inline(never)]
fn from_small_buffer(text: &str) -> RawJson {
    RawJson::from_text(text)
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
