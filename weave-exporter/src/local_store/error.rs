//! [`StoreError`]: why opening, writing or querying the local store failed.

use std::fmt;
use std::path::Path;

/// What kind of failure a [`StoreError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// There is no local store at the path.
    NotFound,
    /// The file exists but is not a weave-rs local store (or is a newer version).
    NotAStore,
    /// Another process held the database locked for longer than the busy timeout.
    Busy,
    /// A file system error (creating the directory or the file).
    Io,
    /// Any other SQLite error.
    Sqlite,
    /// An entry of the call log could not be decoded: it was moved to the `call_log_bad`
    /// table (the message names its `seq`) and the other entries were indexed.
    CorruptLog,
    /// The store was opened read-only (its file cannot be written, or
    /// [`LocalStore::open_read_only`](super::LocalStore::open_read_only)) and the operation
    /// writes.
    ReadOnly,
}

/// Why a local store operation failed.
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl StoreError {
    pub(crate) fn new(kind: StoreErrorKind, message: impl Into<String>) -> StoreError {
        StoreError { kind, message: message.into(), source: None }
    }

    pub(crate) fn io(path: &Path, what: &str, e: std::io::Error) -> StoreError {
        StoreError {
            kind: StoreErrorKind::Io,
            message: format!("could not {what} {}: {e}", path.display()),
            source: Some(Box::new(e)),
        }
    }

    pub(crate) fn sqlite(context: &str, e: rusqlite::Error) -> StoreError {
        let kind = if is_busy(&e) { StoreErrorKind::Busy } else { StoreErrorKind::Sqlite };
        StoreError { kind, message: format!("{context}: {e}"), source: Some(Box::new(e)) }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// True when another process kept the database locked (trying again may succeed).
    pub fn is_busy(&self) -> bool {
        self.kind == StoreErrorKind::Busy
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| &**e as &(dyn std::error::Error + 'static))
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock.
pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}
