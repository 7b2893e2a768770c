//! The state of one captured value: the output buffer, the limits, and what happened
//! to the value so far (a string cut, a container closed by the size limit, a complex map
//! key), shared by the value serializer ([`super::serializer`]) and the map key serializer
//! ([`super::keys`]); the error they return and the proof that a value was written.

use std::fmt::{self, Display};
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::ser;

use super::config::CaptureConfig;
use super::write::{self, stack_addr};

/// The serializer's error: a user's custom error, or the size abort.
#[derive(Debug)]
pub(crate) struct Error {
    msg: Option<String>,
}

impl Error {
    /// The size-limit abort (no allocation).
    pub(crate) fn abort() -> Error {
        Error { msg: None }
    }
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.msg {
            Some(m) => f.write_str(m),
            None => f.write_str("value too large"),
        }
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error { msg: Some(msg.to_string()) }
    }
}

/// Proof that a value was written. Only the capture's serializers create it, so
/// a user's `Serialize` impl cannot return `Ok` without writing something.
pub(crate) struct Written(pub(super) ());

/// The state of one captured value.
pub(crate) struct State<'a> {
    pub(crate) cfg: &'a CaptureConfig,
    pub(crate) buf: &'a mut Vec<u8>,
    /// `buf.len()` past which the value is over `max_value_bytes`.
    pub(crate) limit: usize,
    /// Current container nesting.
    pub(super) depth: usize,
    /// Containers opened and not yet closed.
    pub(super) open: usize,
    /// A string was cut by the size limit.
    pub(crate) truncated: bool,
    /// A container closed itself because of the size limit.
    pub(super) aborted: bool,
    /// Set by the key serializer when a key is a sequence/map/struct.
    pub(crate) complex_key: bool,
    /// Stack address when the capture started.
    pub(crate) stack_base: usize,
}

impl<'a> State<'a> {
    /// The state of a value to be appended to `buf`.
    pub(crate) fn new(cfg: &'a CaptureConfig, buf: &'a mut Vec<u8>) -> Self {
        let limit = buf.len().saturating_add(cfg.max_value_bytes);
        State {
            cfg,
            buf,
            limit,
            depth: 0,
            open: 0,
            truncated: false,
            aborted: false,
            complex_key: false,
            stack_base: stack_addr(),
        }
    }

    /// Whether the output is over the size limit.
    #[inline]
    pub(super) fn over(&self) -> bool {
        self.truncated || self.aborted || self.buf.len() > self.limit
    }

    /// Rewinds the output to `mark`, with `open` containers open at `depth`.
    pub(super) fn reset(&mut self, mark: usize, open: usize, depth: usize) {
        self.buf.truncate(mark);
        self.open = open;
        self.depth = depth;
    }

    /// Writes a string value, cut at the limit.
    pub(super) fn str_value(&mut self, s: &str) {
        if write::string_limited(self.buf, s, self.limit) {
            self.truncated = true;
        }
    }

    /// Writes `v`'s `Display` output as a JSON string, cut at the limit.
    pub(crate) fn display_value<T: Display + ?Sized>(&mut self, v: &T) {
        use std::fmt::Write;
        self.buf.push(b'"');
        let mut w = write::LimitedWriter::new(self.buf, self.limit, self.stack_base);
        let r = catch_unwind(AssertUnwindSafe(|| write!(w, "{v}")));
        let (cut, deep) = (w.cut, w.too_deep);
        if let Err(payload) = r {
            if !payload.is::<write::RecursionGuard>() {
                // A panic of `v`: the enclosing value turns it into a marker.
                std::panic::resume_unwind(payload);
            }
            write::drop_payload(payload);
        }
        if cut {
            self.buf.extend_from_slice(write::CUT_SUFFIX.as_bytes());
            self.truncated = true;
        } else if deep {
            self.buf.extend_from_slice("…[weave: truncated: recursion too deep]".as_bytes());
        }
        self.buf.push(b'"');
    }

    /// Writes `"REDACTED"`.
    pub(super) fn redacted(&mut self) {
        self.buf.extend_from_slice(b"\"REDACTED\"");
    }
}
