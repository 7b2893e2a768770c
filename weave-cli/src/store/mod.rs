//! Reading the local store. The calls come through the exporter's
//! [`LocalStore`] (which also indexes the append-only call log into `calls`, in short
//! transactions); everything else is read here with SQL over the same schema, on
//! connections opened read-only with a busy timeout, so a program writing at the same
//! time is never blocked. The one write is feedback ([`feedback`]), one short insert.

pub mod calls;
pub mod costs;
mod error;
pub mod evals;
pub mod feedback;
pub mod objects;
pub mod ops;
pub mod refs;
pub mod stats;
pub mod threads;

pub use error::{Error, ErrorKind};

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use weave_exporter::local_store::{show_unindexed_calls, IndexBacklog, IndexBudget, LocalStore, StoreErrorKind};

/// The store's default path, relative to the working directory (as the SDK's).
pub const DEFAULT_PATH: &str = weave_core::settings::DEFAULT_LOCAL_STORE_PATH;

/// The variable the SDK reads the store's path from.
pub const PATH_VAR: &str = weave_core::settings::LOCAL_STORE_PATH_VAR;

/// How long a read waits for a writer's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections kept open for reuse.
const POOL_SIZE: usize = 4;

/// The store path to use: the one given, else `WEAVE_LOCAL_STORE_PATH` (read as the SDK
/// reads it), else [`DEFAULT_PATH`].
pub fn resolve_path(given: Option<&Path>) -> PathBuf {
    match given {
        Some(path) => path.to_path_buf(),
        None => weave_core::settings::local_store_path_from_env().unwrap_or_else(|| PathBuf::from(DEFAULT_PATH)),
    }
}

/// An open local store: the exporter's [`LocalStore`] (to index the call log) and a
/// pool of read-only connections. When the store cannot be written (its files, its
/// directory, a read-only mount), nothing indexes: each read first reads the unindexed
/// call log, within [`INDEX_STEP`], into its connection's memory
/// ([`show_unindexed_calls`]), so the calls written are found all the same.
pub struct Store {
    path: PathBuf,
    local: Mutex<LocalStore>,
    read_only: bool,
    pool: Mutex<Vec<Connection>>,
    backlog: Mutex<IndexBacklog>,
}

/// What the viewer indexes per step (every second while it runs): enough to keep up with
/// a busy writer, bounded so that a query never waits long behind it.
pub const INDEX_STEP: IndexBudget = IndexBudget { max_entries: 64, max_time: Duration::from_millis(250) };

/// What a one-shot command (`weave calls`, `tree`, ...) indexes before it answers: as much
/// of the call log as 5 seconds allow (a store with a huge backlog answers with what is
/// indexed and says how far the indexing is; running the command again goes on).
pub const COMMAND_INDEX_BUDGET: IndexBudget = IndexBudget { max_entries: usize::MAX, max_time: Duration::from_secs(5) };

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens the store at `path` and indexes a bounded step of what its call log holds
    /// ([`INDEX_STEP`]). A missing file, a file that is not a weave local store and a
    /// corrupt one are errors naming the path.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, Error> {
        Store::open_indexing(path, INDEX_STEP)
    }

    /// Opens the store at `path` and indexes what its call log holds within `budget` (for
    /// one-shot commands, [`COMMAND_INDEX_BUDGET`]); [`Store::backlog`] then says what is
    /// not indexed yet.
    pub fn open_indexing(path: impl AsRef<Path>, budget: IndexBudget) -> Result<Store, Error> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            return Err(Error::new(&path, ErrorKind::NotFound, "the file does not exist"));
        }
        if path.is_dir() {
            return Err(Error::new(&path, ErrorKind::NotAStore, "it is a directory"));
        }
        let local = LocalStore::open(&path).map_err(|e| Error::from_store(&path, &e))?;
        let store = Store {
            path,
            read_only: local.is_read_only(),
            local: Mutex::new(local),
            pool: Mutex::new(Vec::new()),
            backlog: Mutex::new(IndexBacklog::default()),
        };
        // A first read of the file's pages: a corrupt file fails here, not on a page.
        let conn = store.connect()?;
        conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
            .map_err(|e| Error::sqlite(&store.path, "could not read the schema", &e))?;
        store.give_back(conn);
        store.index_within(budget)?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Indexes a bounded part of the call log ([`INDEX_STEP`]: what a writer has not
    /// indexed yet), so that a large backlog never makes a page wait, and records how far
    /// behind the store still is ([`Store::backlog`]).
    pub fn index_step(&self) -> Result<(), Error> {
        self.index_within(INDEX_STEP)
    }

    /// Indexes the call log within `budget` (on a store that cannot be written: reads it
    /// into a connection's memory, see [`Store`]) and records what is left.
    fn index_within(&self, budget: IndexBudget) -> Result<(), Error> {
        if self.read_only {
            let conn = self.connect()?;
            let result = self.show_unindexed(&conn, budget);
            self.give_back(conn);
            return result;
        }
        let local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        let result = local.index_some(budget).map(|_| ());
        self.after_indexing(&local, result)
    }

    /// On a store that cannot be written: makes `calls` on `conn` show the unindexed log
    /// too (within `budget`), and records what it still does not show.
    fn show_unindexed(&self, conn: &Connection, budget: IndexBudget) -> Result<(), Error> {
        let backlog = match show_unindexed_calls(conn, budget) {
            Ok(backlog) => backlog,
            Err(e) if e.kind() == StoreErrorKind::CorruptLog => {
                eprintln!("weave: {e}");
                return Ok(());
            }
            Err(e) if e.is_busy() => return Ok(()),
            Err(e) => return Err(Error::from_store(&self.path, &e)),
        };
        *self.backlog.lock().unwrap_or_else(|e| e.into_inner()) = backlog;
        Ok(())
    }

    /// True when the store cannot be written (nothing indexes; reads read the unindexed
    /// log themselves).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// "indexing N% done: about M calls written are not shown yet", when some are not
    /// (see [`Store::backlog`]); `None` when every call written is shown.
    pub fn indexing_note(&self) -> Result<Option<String>, Error> {
        let backlog = self.backlog();
        if backlog.is_empty() {
            return Ok(None);
        }
        let (_, shown) = self.latest()?;
        Ok(Some(format!(
            "indexing {}% done: about {} calls written are not shown yet",
            backlog.percent_done(shown.max(0) as u64),
            backlog.estimated_calls
        )))
    }

    fn after_indexing(
        &self,
        local: &LocalStore,
        result: Result<(), weave_exporter::local_store::StoreError>,
    ) -> Result<(), Error> {
        match result {
            Ok(()) => {}
            Err(e) if e.kind() == StoreErrorKind::CorruptLog => eprintln!("weave: {e}"),
            // Another process holds the lock, or the file is read-only: read what is indexed.
            Err(e) if e.kind() == StoreErrorKind::ReadOnly || e.is_busy() => {}
            Err(e) => return Err(Error::from_store(&self.path, &e)),
        }
        let backlog = local.index_backlog().map_err(|e| Error::from_store(&self.path, &e))?;
        *self.backlog.lock().unwrap_or_else(|e| e.into_inner()) = backlog;
        Ok(())
    }

    /// How far the indexed calls were behind the call log at the last indexing step:
    /// calls written but not shown yet.
    pub fn backlog(&self) -> IndexBacklog {
        *self.backlog.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the exporter's store (for its call queries).
    pub fn with_local<T>(
        &self,
        f: impl FnOnce(&LocalStore) -> Result<T, weave_exporter::local_store::StoreError>,
    ) -> Result<T, Error> {
        let local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        f(&local).map_err(|e| Error::from_store(&self.path, &e))
    }

    /// Runs `f` on a read-only connection; `what` names the read in an error. On a store
    /// that cannot be written, the connection first reads the unindexed log (see
    /// [`Store`]).
    pub fn read<T>(&self, what: &str, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, Error> {
        let conn = self.connect()?;
        if self.read_only {
            if let Err(e) = self.show_unindexed(&conn, INDEX_STEP) {
                self.give_back(conn);
                return Err(e);
            }
        }
        let result = f(&conn).map_err(|e| Error::sqlite(&self.path, what, &e));
        self.give_back(conn);
        result
    }

    /// Runs `f` on a read-write connection, for the one short write the viewer makes
    /// (feedback).
    pub(crate) fn write<T>(&self, what: &str, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)
            .map_err(|e| Error::sqlite(&self.path, "could not open for writing", &e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| Error::sqlite(&self.path, "could not set a busy timeout", &e))?;
        f(&conn).map_err(|e| Error::sqlite(&self.path, what, &e))
    }

    fn connect(&self) -> Result<Connection, Error> {
        if let Some(conn) = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(conn);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)
            .map_err(|e| Error::sqlite(&self.path, "could not open", &e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| Error::sqlite(&self.path, "could not set a busy timeout", &e))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < POOL_SIZE {
            pool.push(conn);
        }
    }
}

/// `calls INDEXED BY <index>`; `calls` alone on the connection of a store that cannot be
/// written while it shows unindexed calls (`calls` is then a view, see [`Store`], whose
/// plan SQLite chooses).
pub(crate) fn calls_indexed_by(conn: &Connection, index: &str) -> rusqlite::Result<String> {
    let is_view: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM sqlite_temp_master WHERE type = 'view' AND name = 'calls')")?
        .query_row([], |r| r.get(0))?;
    Ok(if is_view { "calls".to_string() } else { format!("calls INDEXED BY {index}") })
}
