//! Capturing a value through its `Debug` impl, or only its type name.

use std::fmt::{Debug, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::config::CaptureConfig;
use super::write::{self, stack_addr, LimitedWriter, RecursionGuard, CUT_SUFFIX};

/// Appended when the Debug output recursed too deeply.
const DEEP_SUFFIX: &str = "…[weave: truncated: recursion too deep]";

/// Writes `format!("{v:?}")` as a JSON string, cut at `max_value_bytes`,
/// stopped if it recurses too deeply; a panic becomes a marker string.
pub(crate) fn write_debug<T: Debug + ?Sized>(cfg: &CaptureConfig, buf: &mut Vec<u8>, v: &T) {
    let start = buf.len();
    let limit = start.saturating_add(cfg.max_value_bytes);
    buf.push(b'"');
    let mut w = LimitedWriter::new(&mut *buf, limit, stack_addr());
    let r = catch_unwind(AssertUnwindSafe(|| write!(w, "{v:?}")));
    let (cut, too_deep) = (w.cut, w.too_deep);
    match r {
        Ok(res) => {
            if cut {
                buf.extend_from_slice(CUT_SUFFIX.as_bytes());
            } else if too_deep {
                buf.extend_from_slice(DEEP_SUFFIX.as_bytes());
            } else if res.is_err() {
                buf.extend_from_slice("…[weave: Debug formatting failed]".as_bytes());
            }
            buf.push(b'"');
        }
        Err(payload) if payload.is::<RecursionGuard>() => {
            write::drop_payload(payload);
            buf.extend_from_slice(if cut { CUT_SUFFIX } else { DEEP_SUFFIX }.as_bytes());
            buf.push(b'"');
        }
        Err(payload) => {
            buf.truncate(start);
            let msg = write::panic_message(payload);
            write::marker(
                buf,
                &["[weave: formatting ", std::any::type_name::<T>(), " with Debug panicked: ", &msg, "]"],
            );
        }
    }
}

/// Writes `"[weave: <type name> implements neither Serialize nor Debug]"`.
pub(crate) fn write_type_name<T: ?Sized>(buf: &mut Vec<u8>) {
    write::marker(buf, &["[weave: ", std::any::type_name::<T>(), " implements neither Serialize nor Debug]"]);
}
