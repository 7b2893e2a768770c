//! [`Error`]: why the local store could not be opened or read, naming the path.

use std::fmt;
use std::path::{Path, PathBuf};
use weave_exporter::local_store::{StoreError, StoreErrorKind};

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// There is no file at the path.
    NotFound,
    /// The file is not a weave local store (not SQLite, corrupt, or of a newer version).
    NotAStore,
    /// Another process kept the database locked for longer than the busy timeout.
    Busy,
    /// Anything else (an SQLite or file system error).
    Other,
}

/// Why reading (or writing feedback into) the local store failed.
#[derive(Debug, Clone)]
pub struct Error {
    path: PathBuf,
    kind: ErrorKind,
    reason: String,
}

impl Error {
    /// An error about the store at `path`.
    pub fn new(path: &Path, kind: ErrorKind, reason: impl Into<String>) -> Error {
        Error { path: path.to_path_buf(), kind, reason: reason.into() }
    }

    /// An SQLite error while doing `what`.
    pub fn sqlite(path: &Path, what: &str, e: &rusqlite::Error) -> Error {
        let kind = match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => ErrorKind::Busy,
            Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => ErrorKind::NotAStore,
            _ => ErrorKind::Other,
        };
        Error::new(path, kind, format!("{what}: {e}"))
    }

    /// An error of the exporter's local store.
    pub fn from_store(path: &Path, e: &StoreError) -> Error {
        let kind = match e.kind() {
            StoreErrorKind::NotFound => ErrorKind::NotFound,
            StoreErrorKind::NotAStore => ErrorKind::NotAStore,
            StoreErrorKind::Busy => ErrorKind::Busy,
            _ => ErrorKind::Other,
        };
        let text = e.to_string();
        let kind = if kind == ErrorKind::Other && is_corruption(&text) { ErrorKind::NotAStore } else { kind };
        Error::new(path, kind, text)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The store's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why, without the path.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

fn is_corruption(text: &str) -> bool {
    text.contains("file is not a database") || text.contains("malformed")
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match self.kind {
            ErrorKind::NotFound => write!(
                f,
                "no local store at {path}: {} (run a program traced with weave first, or pass --store PATH \
                 or set WEAVE_LOCAL_STORE_PATH)",
                self.reason
            ),
            ErrorKind::NotAStore => write!(f, "{path} is not a readable weave local store: {}", self.reason),
            ErrorKind::Busy => write!(f, "the local store {path} stayed locked by another process: {}", self.reason),
            ErrorKind::Other => write!(f, "could not read the local store {path}: {}", self.reason),
        }
    }
}

impl std::error::Error for Error {}
