//! The fallback file: items that could not be exported (queue full, exporter shut down,
//! sink failure) are appended to it as JSON lines, and [`replay`] reads them back into a
//! sink.
//!
//! Each line is `{"reason":..,"project_id":..,"kind":"call_finished"|..,"item":<wire item>}`,
//! plus `"op":{name,digest,source}` on the first call of each op in the file.
//! The file is created with permissions `0o600` on unix (it holds inputs and outputs)
//! and rotated like Python's `RotatingFileHandler`: when it would grow past its size
//! limit it becomes `<path>.1` (`.1` becomes `.2`, and so on), keeping
//! [`KEPT_ROTATED_FILES`] old files.

pub(crate) mod entry;
pub(crate) mod file;
mod replay;

pub use entry::{encode_entry, FallbackEntry, FallbackOp};
pub use file::{rotated_path, FallbackFile, Origin, Tally, KEPT_ROTATED_FILES};
pub use replay::{replay, ReplayReport};

/// Why an item went to the fallback file.
pub mod reason {
    /// The export queue was full.
    pub const QUEUE_FULL: &str = "queue_full";
    /// The item was exported after the exporter shut down, or was still queued when the
    /// shutdown timed out.
    pub const SHUTDOWN: &str = "shutdown";
    /// The sink refused the batch (the message follows the colon).
    pub const SINK_ERROR: &str = "sink_error";
}
