//! [`ValueWriter`], [`InputsWriter`] and the reused thread-local buffer.

use std::cell::RefCell;
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::Serialize;

use super::config::CaptureConfig;
use super::debug::{write_debug, write_type_name};
use super::raw::RawJson;
use super::serializer::write_serialized;
use super::write;

/// Capacity the thread-local buffer keeps between captures.
const RETAINED_CAPACITY: usize = 64 * 1024;

/// Capacity the buffer has at least while a capture writes into it.
const MIN_CAPACITY: usize = 64;

thread_local! {
    /// This thread's capture buffer, borrowed by the capture using it.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Where one value is written: the config plus the output buffer.
///
/// Exactly one JSON value is appended: the first `serialize`, `debug`,
/// `type_name` or `raw_str` call writes it and later calls are ignored.
pub struct ValueWriter<'a> {
    cfg: &'a CaptureConfig,
    buf: &'a mut Vec<u8>,
    written: bool,
}

impl<'a> ValueWriter<'a> {
    /// A writer appending one JSON value to `buf`.
    pub fn new(cfg: &'a CaptureConfig, buf: &'a mut Vec<u8>) -> Self {
        ValueWriter { cfg, buf, written: false }
    }

    /// Whether a value was written.
    #[inline]
    fn claim(&mut self) -> bool {
        !std::mem::replace(&mut self.written, true)
    }

    /// Writes `v` through its `Serialize` impl: limits, redaction and
    /// markers as described in the module docs. Never fails or panics.
    pub fn serialize<T: Serialize + ?Sized>(&mut self, v: &T) {
        if self.claim() {
            write_serialized(self.cfg, self.buf, v);
        }
    }

    /// Writes `format!("{v:?}")` as a JSON string, cut at
    /// `max_value_bytes`. Never fails or panics.
    pub fn debug<T: Debug + ?Sized>(&mut self, v: &T) {
        if self.claim() {
            write_debug(self.cfg, self.buf, v);
        }
    }

    /// Writes `"[weave: <type name> implements neither Serialize nor Debug]"`.
    pub fn type_name<T: ?Sized>(&mut self) {
        if self.claim() {
            write_type_name::<T>(self.buf);
        }
    }

    /// Writes an unsigned integer.
    #[inline]
    pub fn uint_value(&mut self, v: u64) {
        if self.claim() {
            write::uint(self.buf, v);
        }
    }

    /// Writes a signed integer.
    #[inline]
    pub fn int_value(&mut self, v: i64) {
        if self.claim() {
            write::int(self.buf, v);
        }
    }

    /// Writes a float (`null` for NaN and infinities, as serialized values are).
    pub fn float_value(&mut self, v: f64) {
        if self.claim() {
            write::float64(self.buf, v);
        }
    }

    /// Writes an `f32` with the shortest digits that read back as the same `f32` (`0.2`,
    /// not the `0.20000000298023224` of its value as an `f64`); `null` for NaN and
    /// infinities.
    pub fn float32_value(&mut self, v: f32) {
        if self.claim() {
            write::float32(self.buf, v);
        }
    }

    /// Writes a boolean.
    #[inline]
    pub fn bool_value(&mut self, v: bool) {
        if self.claim() {
            self.buf.extend_from_slice(if v { b"true" } else { b"false" });
        }
    }

    /// Writes `s` as a JSON string, cut at `max_value_bytes`.
    #[inline]
    pub fn raw_str(&mut self, s: &str) {
        if self.claim() {
            let limit = self.buf.len().saturating_add(self.cfg.max_value_bytes);
            write::string_limited(self.buf, s, limit);
        }
    }
}

/// Builds the inputs object `{"a": .., "b": ..}` for one call.
pub struct InputsWriter<'a> {
    cfg: &'a CaptureConfig,
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl InputsWriter<'_> {
    /// Adds one argument. If `name` is a redacted key the value is
    /// `"REDACTED"` and `capture` is not called. If `capture` writes
    /// nothing the value is `null`; if it panics, a marker.
    pub fn arg(&mut self, name: &str, capture: impl FnOnce(&mut ValueWriter<'_>)) {
        self.separate();
        write::string(self.buf, name);
        self.buf.push(b':');
        self.value(name, capture);
    }

    /// Adds one argument named by a Rust identifier (an `#[op]` parameter), given as its
    /// JSON key and colon (`"name":`): identifiers need no escaping, so the key is copied
    /// as it is. Otherwise as [`InputsWriter::arg`].
    #[doc(hidden)]
    #[inline]
    pub fn ident_arg(&mut self, json_key: &'static str, capture: impl FnOnce(&mut ValueWriter<'_>)) {
        let name = json_key.strip_prefix('"').and_then(|k| k.strip_suffix("\":")).unwrap_or(json_key);
        self.separate();
        self.buf.extend_from_slice(json_key.as_bytes());
        self.value(name, capture);
    }

    #[inline]
    fn separate(&mut self) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
    }

    /// The value of the argument `name`, after its key.
    #[inline]
    fn value(&mut self, name: &str, capture: impl FnOnce(&mut ValueWriter<'_>)) {
        if self.cfg.is_redacted_key(name) {
            self.buf.extend_from_slice(b"\"REDACTED\"");
            return;
        }
        write_one(self.cfg, self.buf, capture, name);
    }
}

/// Runs `capture` for one value at the end of `buf`, guaranteeing exactly
/// one JSON value is appended.
#[inline]
fn write_one(cfg: &CaptureConfig, buf: &mut Vec<u8>, capture: impl FnOnce(&mut ValueWriter<'_>), what: &str) {
    let start = buf.len();
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut w = ValueWriter::new(cfg, &mut *buf);
        capture(&mut w);
    }));
    if let Err(payload) = r {
        buf.truncate(start);
        let msg = write::panic_message(payload);
        write::marker(buf, &["[weave: capturing ", what, " panicked: ", &msg, "]"]);
    } else if buf.len() == start {
        buf.extend_from_slice(b"null");
    }
}

/// Runs `f` with an [`InputsWriter`] over a reused thread-local buffer and
/// returns the finished object.
#[inline(always)]
pub fn capture_inputs(cfg: &CaptureConfig, f: impl FnOnce(&mut InputsWriter<'_>)) -> RawJson {
    with_buffer(|buf| {
        buf.push(b'{');
        let mut inputs = InputsWriter { cfg, buf: &mut *buf, first: true };
        // `arg` contains its own panics, so a panic here happened between
        // arguments and the object is still well-formed.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| f(&mut inputs))) {
            write::drop_payload(payload);
        }
        buf.push(b'}');
        RawJson::from_buffer(buf)
    })
}

/// Captures one value (e.g. an output) the same way.
#[inline(always)]
pub fn capture_value(cfg: &CaptureConfig, f: impl FnOnce(&mut ValueWriter<'_>)) -> RawJson {
    with_buffer(|buf| {
        write_one(cfg, buf, f, "value");
        RawJson::from_buffer(buf)
    })
}

/// Capacity of this thread's pooled buffer (tests).
#[cfg(test)]
pub(super) fn pooled_capacity() -> usize {
    BUFFER.with(|buffer| buffer.borrow().capacity())
}

/// Runs `f` over the thread-local buffer: a capture nested in a user's `Serialize` impl
/// finds it borrowed and uses a fresh `Vec`, as does one after thread teardown. The buffer
/// is left cleared, its capacity bounded.
#[inline(always)]
fn with_buffer<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut f = Some(f);
    let pooled = BUFFER
        .try_with(|buffer| {
            let mut buffer = buffer.try_borrow_mut().ok()?;
            f.take().map(|f| on_buffer(&mut buffer, f))
        })
        .ok()
        .flatten();
    match (pooled, f) {
        (Some(result), _) => result,
        (None, Some(f)) => on_buffer(&mut Vec::new(), f),
        (None, None) => unreachable_capture(),
    }
}

/// `with_buffer` ran its capture over the pooled buffer and returned its result: the
/// capture is never both run and lost.
#[cold]
fn unreachable_capture<R>() -> R {
    unreachable!("a capture ran over the pooled buffer without returning")
}

/// Runs `f` (a capture) over `buf`, cleared before and after.
#[inline(always)]
fn on_buffer<R>(buf: &mut Vec<u8>, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    buf.clear();
    // Room for a small value's whole text (see `RawJson::from_buffer`).
    buf.reserve(MIN_CAPACITY);
    let r = crate::quiet::quietly(|| f(&mut *buf));
    buf.clear();
    if buf.capacity() > RETAINED_CAPACITY {
        buf.shrink_to(RETAINED_CAPACITY);
    }
    r
}
