//! [`LocalStore`]: the connection to the store, how it opens and when it indexes the
//! call log, and its [`Sink`] (writing batches, replaying the fallback file, indexing
//! when idle). Its queries are in the `query` and `tree` modules.

use super::error::{StoreError, StoreErrorKind};
use super::index::{self, IndexBacklog, IndexBudget};
use super::{overlay, schema, write};
use crate::fallback::entry::FallbackEntry;
use crate::sink::{Sink, SinkError};
use rusqlite::Connection;
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use weave_core::export::ExportItem;

/// The default location of the local store, relative to the working directory
/// (`weave_core::settings::DEFAULT_LOCAL_STORE_PATH`).
pub const DEFAULT_PATH: &str = weave_core::settings::DEFAULT_LOCAL_STORE_PATH;

/// Blobs of the call log the worker indexes per [`Sink::idle`] call, in one transaction:
/// one blob is one batch (`max_batch_items`, 1,000 calls by default: a few
/// milliseconds), so a batch arriving meanwhile waits at most some 10 to 20 ms.
const IDLE_BLOBS: usize = 4;

/// Entries per transaction when a query or [`LocalStore::index_some`] indexes (the time
/// budget is checked between transactions). A transaction of several entries costs less
/// per call than several of one (the pages the B-trees' right edges share are written
/// once).
const BUDGET_STEP: usize = 4;

/// Entries of the call log a writer lets pile up before it indexes some after each batch
/// (see [`LocalStore::set_max_backlog`]): 8 batches, 8,000 calls of default batches, a
/// few tens of milliseconds for the query that finds them.
pub const DEFAULT_MAX_BACKLOG: usize = 8;

/// Entries a writer indexes after a batch once the backlog is over `limit`, in one
/// transaction: about half the limit, so the writer indexes every few batches rather than
/// after each, and a backlog left by another process shrinks while this one writes.
fn write_slice(limit: usize) -> usize {
    (limit / 2 + 1).max(2)
}

/// How long indexing by a writer or a query waits for another connection's write lock
/// before leaving the work to later (a batch's transaction takes a millisecond or so).
const INDEX_LOCK_WAIT: Duration = Duration::from_millis(50);

/// A connection to the local store: a [`Sink`] when made with [`LocalStore::create`],
/// and the query API either way.
pub struct LocalStore {
    pub(super) conn: Connection,
    path: PathBuf,
    project_id: Option<String>,
    writer: write::Writer,
    /// Whether the store has a call log (a version 1 store opened for reading has none
    /// until a writer of this version opens it).
    has_log: Cell<bool>,
    /// Opened read-only: never writes, not even to index.
    read_only: bool,
    /// The most entries the writer leaves in the log after a batch; `None`: no indexing
    /// while writing.
    max_backlog: Option<usize>,
    /// What a query indexes before it reads.
    query_budget: IndexBudget,
    /// Set once a shutdown has started: the writer stops indexing.
    deadline: Option<Instant>,
    /// Items waiting in the exporter behind the batch being written (see
    /// [`Sink::set_waiting_items`]).
    waiting: usize,
    /// Failures of indexing while writing (reported on stderr, first and every 100th).
    index_failures: u64,
    /// The file written to, as opened (device and inode on unix): a batch is refused once
    /// the path no longer leads to it (the file or its directory was deleted or replaced),
    /// rather than written to a file nobody will read again.
    file_id: Option<(u64, u64)>,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("path", &self.path)
            .field("project_id", &self.project_id)
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl LocalStore {
    /// Opens the store at `path` for writing calls of `project_id` (`entity/project`),
    /// creating the file (permissions `0o600` on unix), its parent directories and its
    /// tables when needed.
    pub fn create(path: impl AsRef<Path>, project_id: impl Into<String>) -> Result<LocalStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = schema::open_for_writing(&path)?;
        Ok(LocalStore::new(conn, path, Some(project_id.into()), true, false))
    }

    /// Opens an existing store to query it (or to replay a fallback file into it). Queries
    /// index a bounded part of the call log before they read. When the file cannot be
    /// written (permissions, a read-only directory or file system) the store is opened
    /// read-only, as with [`LocalStore::open_read_only`].
    pub fn open(path: impl AsRef<Path>) -> Result<LocalStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let (conn, read_only) = schema::open_existing(&path, schema::Access::ReadWrite)?;
        let has_log = index::log_exists(&conn)?;
        Ok(LocalStore::new(conn, path, None, has_log, read_only))
    }

    /// Opens an existing store read-only: queries return the calls indexed so far and never
    /// write (a program writing to the store at the same time is never held up);
    /// [`LocalStore::index_backlog`] says how many calls are not indexed yet.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<LocalStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let (conn, _) = schema::open_existing(&path, schema::Access::ReadOnly)?;
        let has_log = index::log_exists(&conn)?;
        Ok(LocalStore::new(conn, path, None, has_log, true))
    }

    fn new(conn: Connection, path: PathBuf, project_id: Option<String>, has_log: bool, read_only: bool) -> Self {
        LocalStore {
            conn,
            project_id,
            writer: write::Writer::new(),
            has_log: Cell::new(has_log),
            read_only,
            max_backlog: Some(DEFAULT_MAX_BACKLOG),
            query_budget: IndexBudget::QUERY,
            deadline: None,
            waiting: 0,
            index_failures: 0,
            file_id: file_id(&path),
            path,
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when the store was opened read-only (see [`LocalStore::open_read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Sets how many entries of the call log (each holds one batch) a writer lets pile up
    /// before it indexes some after each batch ([`DEFAULT_MAX_BACKLOG`] by default);
    /// `None` leaves the indexing to idle moments and queries.
    pub fn set_max_backlog(&mut self, entries: Option<usize>) {
        self.max_backlog = entries;
    }

    /// Sets how much of the call log a query indexes before it reads
    /// ([`IndexBudget::QUERY`] by default; `max_entries: 0` for none).
    pub fn set_query_index_budget(&mut self, budget: IndexBudget) {
        self.query_budget = budget;
    }

    /// Indexes every call logged so far (by any process) into the `calls` table, in
    /// short transactions, however long the log is. Queries index only a bounded part
    /// first (see [`LocalStore::index_some`]).
    ///
    /// An entry of the log that cannot be decoded is moved to the `call_log_bad` table and
    /// reported with a [`StoreErrorKind::CorruptLog`] error naming its `seq`, after the
    /// other entries are indexed (so the next query succeeds). A read-only store gives a
    /// [`StoreErrorKind::ReadOnly`] error.
    pub fn index_calls(&self) -> Result<(), StoreError> {
        if !self.log_exists()? {
            return Ok(());
        }
        self.check_writable("index the call log")?;
        index::catch_up(&self.conn)
    }

    /// Indexes the oldest entries of the call log within `budget`, and returns what is
    /// left. It waits briefly for another process's write lock, then leaves the work for
    /// later rather than block. A corrupt entry is reported as by
    /// [`LocalStore::index_calls`]; a read-only store gives a [`StoreErrorKind::ReadOnly`]
    /// error.
    ///
    /// ```no_run
    /// use weave_exporter::local_store::{IndexBudget, LocalStore};
    /// use std::time::Duration;
    ///
    /// let store = LocalStore::open(".weave/weave.db")?;
    /// let budget = IndexBudget { max_entries: 64, max_time: Duration::from_millis(200) };
    /// loop {
    ///     let left = store.index_some(budget)?;
    ///     if left.is_empty() {
    ///         break;
    ///     }
    ///     weave_core::warn!("indexing: about {} calls to go", left.estimated_calls);
    /// }
    /// # Ok::<(), weave_exporter::local_store::StoreError>(())
    /// ```
    pub fn index_some(&self, budget: IndexBudget) -> Result<IndexBacklog, StoreError> {
        if !self.log_exists()? {
            return Ok(IndexBacklog::default());
        }
        self.check_writable("index the call log")?;
        index::index_within(&self.conn, budget, BUDGET_STEP, INDEX_LOCK_WAIT)?;
        index::backlog(&self.conn, 0)
    }

    /// How far what queries read is behind what was written: the entries of the call log
    /// not yet indexed (on a read-only store, not yet read from the log by a query), their
    /// size and about how many calls they hold. Cheap (it does not read the entries,
    /// except the oldest).
    pub fn index_backlog(&self) -> Result<IndexBacklog, StoreError> {
        if !self.log_exists()? {
            return Ok(IndexBacklog::default());
        }
        index::backlog(&self.conn, overlay::read_up_to(&self.conn)?)
    }

    /// How much of what was written queries see, in percent (100 when nothing is
    /// pending; see [`IndexBacklog::percent_done`]): the calls of the `calls` table
    /// (counted by its largest row id, which is cheap) against those and the backlog.
    pub fn index_percent_done(&self) -> Result<u8, StoreError> {
        let backlog = self.index_backlog()?;
        if backlog.is_empty() {
            return Ok(100);
        }
        let shown: i64 = self
            .conn
            .query_row("SELECT COALESCE(MAX(rowid), 0) FROM calls", [], |r| r.get(0))
            .map_err(|e| StoreError::sqlite("could not count calls", e))?;
        Ok(backlog.percent_done(shown.max(0) as u64))
    }

    /// The number of entries of the call log not yet indexed (each holds one batch); the
    /// `entries` of [`LocalStore::index_backlog`].
    pub fn pending_log_entries(&self) -> Result<u64, StoreError> {
        Ok(self.index_backlog()?.entries)
    }

    /// What a query does before it reads: indexes within the query budget, or, when the
    /// store is read-only, reads as much of the unindexed log into the connection's
    /// memory (see the `overlay` module). Another connection holding the write lock is not
    /// an error (the query reads what is indexed).
    pub(crate) fn index_for_query(&self) -> Result<(), StoreError> {
        if !self.log_exists()? {
            return Ok(());
        }
        if self.read_only {
            return overlay::refresh(&self.conn, self.query_budget, BUDGET_STEP).map(drop);
        }
        index::index_within(&self.conn, self.query_budget, BUDGET_STEP, INDEX_LOCK_WAIT).map(drop)
    }

    fn check_writable(&self, what: &str) -> Result<(), StoreError> {
        if self.read_only {
            return Err(StoreError::new(
                StoreErrorKind::ReadOnly,
                format!("could not {what}: the local store {} is open read-only", self.path.display()),
            ));
        }
        Ok(())
    }

    fn log_exists(&self) -> Result<bool, StoreError> {
        if !self.has_log.get() && index::log_exists(&self.conn)? {
            self.has_log.set(true);
        }
        Ok(self.has_log.get())
    }

    /// After a batch of `batch_len` items: when the log holds more than `max_backlog`
    /// entries, indexes [`write_slice`] of them, unless the exporter is behind (at least
    /// another batch waits: the burst is written first, and indexed once the writer has
    /// time again, or by the idle worker) or shutting down. Its failures do not fail the
    /// batch (already committed): they are reported on stderr and the entries stay for
    /// later.
    fn index_after_write(&mut self, batch_len: usize) {
        let Some(limit) = self.max_backlog else { return };
        if self.deadline.is_some() || self.waiting >= batch_len.max(1) {
            return;
        }
        let slice = write_slice(limit);
        let budget = IndexBudget { max_entries: slice, max_time: Duration::MAX };
        let result = index::backlog_exceeds(&self.conn, limit).and_then(|over| {
            if over {
                index::index_within(&self.conn, budget, slice, INDEX_LOCK_WAIT).map(drop)
            } else {
                Ok(())
            }
        });
        if let Err(e) = result {
            self.index_failures += 1;
            let n = self.index_failures;
            if n == 1 || n.is_multiple_of(100) {
                weave_core::warn!(
                    "weave: indexing the call log of {} failed: {e} (failures so far: {n})",
                    self.describe()
                );
            }
        }
    }
}

/// The identity of the file at `path` (device and inode on unix; elsewhere only whether it
/// exists), `None` when there is none.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((metadata.dev(), metadata.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        Some((0, 0))
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
        if file_id(&self.path) != self.file_id {
            return Err(SinkError::permanent(format!(
                "the local store {} was deleted or replaced while this program wrote to it; \
                 calls go to the fallback file (replay it into a new store with weave::replay_fallback)",
                self.path.display()
            )));
        }
        self.writer.write_batch(&mut self.conn, project_id, batch)?;
        self.index_after_write(batch.len());
        Ok(())
    }

    fn describe(&self) -> String {
        format!("local store at {}", self.path.display())
    }

    fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    fn set_waiting_items(&mut self, items: usize) {
        self.waiting = items;
    }

    fn replay_batch(&mut self, batch: &[FallbackEntry]) -> Result<(), SinkError> {
        self.check_writable("replay calls").map_err(write::store_to_sink_error)?;
        let log_exists = self.log_exists().map_err(write::store_to_sink_error)?;
        self.writer.replay_batch(&mut self.conn, batch, log_exists)
    }

    /// Indexes a few entries of the call log, without waiting for another process's lock.
    fn idle(&mut self) -> Result<bool, SinkError> {
        if self.read_only || !self.log_exists().map_err(write::store_to_sink_error)? {
            return Ok(false);
        }
        index::index_idle(&self.conn, IDLE_BLOBS).map_err(write::store_to_sink_error)
    }
}
