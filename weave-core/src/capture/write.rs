//! Low-level JSON writing into a `Vec<u8>`: escaped strings cut at a byte
//! limit, numbers, and the marker strings.

use serde_json::ser::{CompactFormatter, Formatter};

/// Appended to a string cut by the size limit when the number of omitted
/// bytes is unknown (Debug/Display output).
pub(crate) const CUT_SUFFIX: &str = "…[weave: truncated]";

/// Stack growth (bytes) after which Debug/Display formatting is stopped.
pub(crate) const STACK_BUDGET: usize = 256 * 1024;

/// Stack growth (bytes) after which serialization stops recursing. Only a
/// backstop for recursion the depth limit does not see (newtype and `Some`
/// chains): a debug build uses about 1.4 KiB per nesting level, so 128
/// levels need about 180 KiB.
pub(crate) const SERIALIZE_STACK_BUDGET: usize = 512 * 1024;

const BB: u8 = b'b'; // \x08
const TT: u8 = b't'; // \x09
const NN: u8 = b'n'; // \x0A
const FF: u8 = b'f'; // \x0C
const RR: u8 = b'r'; // \x0D
const QU: u8 = b'"'; // \x22
const BS: u8 = b'\\'; // \x5C
const UU: u8 = b'u'; // \x00...\x1F except the ones above
const __: u8 = 0;

/// For each byte: 0 if it is written as is, else the escape letter.
static ESCAPE: [u8; 256] = [
    //   1   2   3   4   5   6   7   8   9   A   B   C   D   E   F
    UU, UU, UU, UU, UU, UU, UU, UU, BB, TT, NN, UU, FF, RR, UU, UU, // 0
    UU, UU, UU, UU, UU, UU, UU, UU, UU, UU, UU, UU, UU, UU, UU, UU, // 1
    __, __, QU, __, __, __, __, __, __, __, __, __, __, __, __, __, // 2
    __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, // 3
    __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, // 4
    __, __, __, __, __, __, __, __, __, __, __, __, BS, __, __, __, // 5
    __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, // 6
    __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, // 7
    __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, // 8
    __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, // 9
    __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, // A
    __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, // B
    __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, // C
    __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, // D
    __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, // E
    __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, __, // F
];

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the escaped contents of `s` (without quotes), stopping before
/// `buf` grows past `limit`. Returns `Err(omitted)` with the number of bytes
/// of `s` left out if it had to cut (always on a char boundary). Never scans
/// more of `s` than it can write.
pub(crate) fn escaped_limited(buf: &mut Vec<u8>, s: &str, limit: usize) -> Result<(), usize> {
    let bytes = s.as_bytes();
    let mut start: usize = 0;
    loop {
        // Only the part of `s` that can still fit is scanned.
        let room = limit.saturating_sub(buf.len());
        let window_end = bytes.len().min(start.saturating_add(room));
        let window = &bytes[start..window_end];
        match window.iter().position(|&b| ESCAPE[b as usize] != 0) {
            None if window_end == bytes.len() => {
                buf.extend_from_slice(window);
                return Ok(());
            }
            None => return Err(cut(buf, s, start, window_end)),
            Some(offset) => {
                let i = start + offset;
                buf.extend_from_slice(&window[..offset]);
                let b = bytes[i];
                let esc = ESCAPE[b as usize];
                let need = if esc == UU { 6 } else { 2 };
                if buf.len() + need > limit {
                    return Err(bytes.len() - i);
                }
                if esc == UU {
                    buf.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xF) as usize]]);
                } else {
                    buf.extend_from_slice(&[b'\\', esc]);
                }
                start = i + 1;
            }
        }
    }
}

/// Writes `s[start..at]` floored to a char boundary; returns the omitted bytes.
fn cut(buf: &mut Vec<u8>, s: &str, start: usize, at: usize) -> usize {
    let mut at = at.min(s.len());
    while at > start && !s.is_char_boundary(at) {
        at -= 1;
    }
    buf.extend_from_slice(&s.as_bytes()[start..at]);
    s.len() - at
}

/// Appends `s` as a complete JSON string, cut at `limit` with the marker
/// `…[weave: truncated N bytes]`. Returns whether it was cut.
pub(crate) fn string_limited(buf: &mut Vec<u8>, s: &str, limit: usize) -> bool {
    // Most strings are short and need no escapes: one scan, one copy.
    if buf.len().saturating_add(s.len()).saturating_add(1) <= limit && !s.bytes().any(|b| ESCAPE[b as usize] != 0) {
        buf.reserve(s.len() + 2);
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
        return false;
    }
    buf.push(b'"');
    let cut = match escaped_limited(buf, s, limit) {
        Ok(()) => false,
        Err(omitted) => {
            truncated_suffix(buf, omitted);
            true
        }
    };
    buf.push(b'"');
    cut
}

/// Appends `s` as a complete JSON string with no limit.
pub(crate) fn string(buf: &mut Vec<u8>, s: &str) {
    string_limited(buf, s, usize::MAX);
}

/// Appends `…[weave: truncated N bytes]` (inside an open string).
pub(crate) fn truncated_suffix(buf: &mut Vec<u8>, omitted: usize) {
    buf.extend_from_slice("…[weave: truncated ".as_bytes());
    uint(buf, omitted as u64);
    buf.extend_from_slice(b" bytes]");
}

/// Appends an unsigned integer.
#[inline]
pub(crate) fn uint(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends a signed integer.
#[inline]
pub(crate) fn int(buf: &mut Vec<u8>, v: i64) {
    if v < 0 {
        buf.push(b'-');
    }
    uint(buf, v.unsigned_abs());
}

/// Appends an `i128`.
pub(crate) fn int128(buf: &mut Vec<u8>, v: i128) {
    let _ = CompactFormatter.write_i128(buf, v);
}

/// Appends a `u128`.
pub(crate) fn uint128(buf: &mut Vec<u8>, v: u128) {
    let _ = CompactFormatter.write_u128(buf, v);
}

/// Appends a float (shortest round-trip digits, as serde_json writes it); NaN and
/// infinities become `null`.
pub(crate) fn float64(buf: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        let _ = CompactFormatter.write_f64(buf, v);
    } else {
        buf.extend_from_slice(b"null");
    }
}

/// Appends an `f32` (the shortest digits that read back as the same `f32`); NaN and
/// infinities become `null`.
pub(crate) fn float32(buf: &mut Vec<u8>, v: f32) {
    if v.is_finite() {
        let _ = CompactFormatter.write_f32(buf, v);
    } else {
        buf.extend_from_slice(b"null");
    }
}

/// Appends a marker string assembled from `parts` (escaped, unlimited).
pub(crate) fn marker(buf: &mut Vec<u8>, parts: &[&str]) {
    buf.push(b'"');
    for p in parts {
        let _ = escaped_limited(buf, p, usize::MAX);
    }
    buf.push(b'"');
}

/// The marker for a subtree deeper than `max_depth`.
pub(crate) fn depth_marker(buf: &mut Vec<u8>, max_depth: usize) {
    buf.extend_from_slice(b"\"[weave: truncated: nesting deeper than ");
    uint(buf, max_depth as u64);
    buf.extend_from_slice(b" levels]\"");
}

/// The marker for a value whose recursion used too much stack.
pub(crate) fn stack_marker(buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"\"[weave: truncated: recursion too deep]\"");
}

/// The marker closing a container that overflowed `max_value_bytes`.
pub(crate) fn size_marker(buf: &mut Vec<u8>, max_bytes: usize) {
    buf.extend_from_slice(b"\"[weave: truncated: value larger than ");
    uint(buf, max_bytes as u64);
    buf.extend_from_slice(b" bytes]\"");
}

/// A `fmt::Write` that escapes into `buf` and fails once over `limit` or once
/// the stack grew more than [`STACK_BUDGET`] since `stack_base`.
pub(crate) struct LimitedWriter<'b> {
    pub(crate) buf: &'b mut Vec<u8>,
    pub(crate) limit: usize,
    pub(crate) stack_base: usize,
    /// Set once output was cut by the size limit.
    pub(crate) cut: bool,
    /// Set once the stack guard tripped.
    pub(crate) too_deep: bool,
    /// Writes attempted after the writer failed.
    pub(crate) ignored: u32,
}

/// Writes a formatting impl may attempt after ours failed (ignoring the
/// error) before it is unwound out of: guards against impls that loop
/// forever, which the stack guard cannot see once recursion became a loop.
const MAX_IGNORED_WRITES: u32 = 10_000;

impl<'b> LimitedWriter<'b> {
    /// A writer appending to `buf` up to `limit`, measuring stack growth
    /// from `stack_base`.
    pub(crate) fn new(buf: &'b mut Vec<u8>, limit: usize, stack_base: usize) -> Self {
        LimitedWriter { buf, limit, stack_base, cut: false, too_deep: false, ignored: 0 }
    }
}

impl std::fmt::Write for LimitedWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.cut || self.too_deep {
            self.ignored += 1;
            if self.ignored > MAX_IGNORED_WRITES || (self.too_deep && stack_used(self.stack_base) > 2 * STACK_BUDGET) {
                // The formatting code ignores our error and keeps recursing
                // or looping: unwind out of it (caught by the capture; `resume_unwind`
                // does not run the panic hook).
                std::panic::resume_unwind(Box::new(RecursionGuard));
            }
            return Err(std::fmt::Error);
        }
        if stack_used(self.stack_base) > STACK_BUDGET {
            self.too_deep = true;
            return Err(std::fmt::Error);
        }
        if escaped_limited(self.buf, s, self.limit).is_err() {
            self.cut = true;
            return Err(std::fmt::Error);
        }
        Ok(())
    }
}

/// Panic payload used to unwind out of runaway recursive formatting.
pub(crate) struct RecursionGuard;

/// Where the stack is now: the stack pointer itself (`psm`), not a local variable's address,
/// which AddressSanitizer's `detect_stack_use_after_return` moves to a heap "fake stack"
/// (frames there are not contiguous, and a shallow capture looked megabytes deep).
#[inline(always)]
pub(crate) fn stack_addr() -> usize {
    psm::stack_pointer() as usize
}

/// How far the stack grew since `base` was taken with [`stack_addr`].
#[inline]
pub(crate) fn stack_used(base: usize) -> usize {
    stack_addr().abs_diff(base)
}

/// The message of a caught panic payload; drops the payload without letting
/// a panicking `Drop` escape.
pub(crate) fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    let msg = if payload.is::<RecursionGuard>() {
        "recursion too deep".to_string()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    };
    drop_payload(payload);
    msg
}

/// Drops a panic payload, swallowing (and leaking) a panic from its `Drop`.
pub(crate) fn drop_payload(payload: Box<dyn std::any::Any + Send>) {
    if let Err(again) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(payload))) {
        std::mem::forget(again);
    }
}
