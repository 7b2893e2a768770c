//! The embedded local store, the default sink: a SQLite database (`.weave/weave.db`
//! under the working directory by default) with tables shaped like Weave's `calls`,
//! `objects` and `files`, written in WAL mode so several processes can write to it at
//! once, and queried with [`LocalStore::calls`], [`LocalStore::trace`],
//! [`LocalStore::render_tree`] and friends.
//!
//! Writers do not insert calls into `calls` one row at a time: each batch's calls go into
//! one row of an append-only log (`call_log`, see the `log` module), which is indexed
//! into `calls` lazily: by every query before it reads (so a reader sees every call
//! written, by any process), and a little at a time when the exporter's worker is idle
//! ([`Sink::idle`]). Flushing and shutting down do not index: the log is as durable as
//! the tables.
//!
//! ```no_run
//! use weave_exporter::local_store::{CallQuery, LocalStore};
//!
//! let store = LocalStore::open(".weave/weave.db")?;
//! for root in store.calls(&CallQuery { roots_only: true, newest_first: true, limit: Some(5), ..Default::default() })? {
//!     print!("{}", store.render_tree(&root.trace_id)?);
//! }
//! # Ok::<(), weave_exporter::local_store::StoreError>(())
//! ```

mod error;
mod index;
mod log;
mod query;
mod schema;
mod tree;
mod write;

pub use error::{StoreError, StoreErrorKind};
pub use query::{CallQuery, Status, StoredCall, StoredOp};
pub use tree::{TraceTree, TreeLine};

use crate::fallback::FallbackEntry;
use crate::sink::{Sink, SinkError};
use rusqlite::Connection;
use std::cell::Cell;
use std::path::{Path, PathBuf};
use weave_core::export::ExportItem;

/// The default location of the local store, relative to the working directory.
pub const DEFAULT_PATH: &str = ".weave/weave.db";

/// Blobs of the call log the worker indexes per [`Sink::idle`] call: one blob is one
/// batch (`max_batch_items`, 1,000 calls by default: a few milliseconds), so a batch
/// arriving meanwhile waits at most that long.
const IDLE_BLOBS: usize = 1;

/// A connection to the local store: a [`Sink`] when made with [`LocalStore::create`],
/// and the query API either way.
pub struct LocalStore {
    conn: Connection,
    path: PathBuf,
    project_id: Option<String>,
    writer: write::Writer,
    /// Whether the store has a call log (a version 1 store opened for reading has none
    /// until a writer of this version opens it).
    has_log: Cell<bool>,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore").field("path", &self.path).field("project_id", &self.project_id).finish()
    }
}

impl LocalStore {
    /// Opens the store at `path` for writing calls of `project_id` (`entity/project`),
    /// creating the file (permissions `0o600` on unix), its parent directories and its
    /// tables when needed.
    pub fn create(path: impl AsRef<Path>, project_id: impl Into<String>) -> Result<LocalStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = schema::open_for_writing(&path)?;
        Ok(LocalStore {
            conn,
            path,
            project_id: Some(project_id.into()),
            writer: write::Writer::new(),
            has_log: Cell::new(true),
        })
    }

    /// Opens an existing store to query it (or to replay a fallback file into it).
    pub fn open(path: impl AsRef<Path>) -> Result<LocalStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = schema::open_existing(&path)?;
        let has_log = Cell::new(index::log_exists(&conn)?);
        Ok(LocalStore { conn, path, project_id: None, writer: write::Writer::new(), has_log })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Indexes every call logged so far (by any process) into the `calls` table. Every
    /// query does this first; calling it beforehand moves the cost out of the first query.
    ///
    /// An entry of the log that cannot be decoded is moved to the `call_log_bad` table and
    /// reported with a [`StoreErrorKind::CorruptLog`] error naming its `seq`, after the
    /// other entries are indexed (so the next query succeeds).
    pub fn index_calls(&self) -> Result<(), StoreError> {
        if !self.log_exists()? {
            return Ok(());
        }
        index::catch_up(&self.conn)
    }

    /// The number of entries of the call log not yet indexed (each holds one batch).
    pub fn pending_log_entries(&self) -> Result<u64, StoreError> {
        if !self.log_exists()? {
            return Ok(0);
        }
        let count: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM call_log", [], |r| r.get(0))
            .map_err(|e| StoreError::sqlite("could not read the call log", e))?;
        Ok(count.max(0) as u64)
    }

    fn log_exists(&self) -> Result<bool, StoreError> {
        if !self.has_log.get() && index::log_exists(&self.conn)? {
            self.has_log.set(true);
        }
        Ok(self.has_log.get())
    }
}

impl Sink for LocalStore {
    fn write_batch(&mut self, batch: &[ExportItem]) -> Result<(), SinkError> {
        let Some(project_id) = &self.project_id else {
            return Err(SinkError::permanent(format!(
                "the local store {} was opened for reading; use LocalStore::create to write calls",
                self.path.display()
            )));
        };
        self.writer.write_batch(&mut self.conn, project_id, batch)
    }

    fn describe(&self) -> String {
        format!("local store at {}", self.path.display())
    }

    fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    fn replay_batch(&mut self, batch: &[FallbackEntry]) -> Result<(), SinkError> {
        let log_exists = self.log_exists().map_err(write::store_to_sink_error)?;
        self.writer.replay_batch(&mut self.conn, batch, log_exists)
    }

    /// Indexes one entry of the call log, without waiting for another process's lock.
    fn idle(&mut self) -> Result<bool, SinkError> {
        if !self.log_exists().map_err(write::store_to_sink_error)? {
            return Ok(false);
        }
        index::index_idle(&self.conn, IDLE_BLOBS).map_err(write::store_to_sink_error)
    }
}
