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
use weave_exporter::local_store::{IndexBacklog, IndexBudget, LocalStore, StoreErrorKind};

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
/// pool of read-only connections.
pub struct Store {
    path: PathBuf,
    local: Mutex<LocalStore>,
    pool: Mutex<Vec<Connection>>,
    backlog: Mutex<IndexBacklog>,
}

/// What the viewer indexes per step (every second while it runs): enough to keep up with
/// a busy writer, bounded so that a query never waits long behind it.
pub const INDEX_STEP: IndexBudget = IndexBudget { max_entries: 64, max_time: Duration::from_millis(250) };

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens the store at `path` and indexes what its call log holds. A missing file, a
    /// file that is not a weave local store and a corrupt one are errors naming the path.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, Error> {
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
            local: Mutex::new(local),
            pool: Mutex::new(Vec::new()),
            backlog: Mutex::new(IndexBacklog::default()),
        };
        // A first read of the file's pages: a corrupt file fails here, not on a page.
        let conn = store.connect()?;
        conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
            .map_err(|e| Error::sqlite(&store.path, "could not read the schema", &e))?;
        store.give_back(conn);
        store.index_step()?;
        Ok(store)
    }

    /// Opens the store and indexes all its call log holds (for one-shot commands, which
    /// must see every call; a viewer indexes in bounded steps, see [`Store::index_step`]).
    pub fn open_indexed(path: impl AsRef<Path>) -> Result<Store, Error> {
        let store = Store::open(path)?;
        store.index()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Indexes the calls logged since the last time (by any process) into `calls`, all of
    /// them. A log entry that cannot be decoded is set aside by the exporter and not an
    /// error here (the other entries are indexed); a store that cannot be written is read
    /// as far as it is indexed.
    pub fn index(&self) -> Result<(), Error> {
        let local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        let result = local.index_calls();
        self.after_indexing(&local, result.map(|_| ()))
    }

    /// Indexes a bounded part of the call log ([`INDEX_STEP`]: what a writer has not
    /// indexed yet), so that a large backlog never makes a page wait, and records how far
    /// behind the store still is ([`Store::backlog`]).
    pub fn index_step(&self) -> Result<(), Error> {
        let local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        let result = local.index_some(INDEX_STEP).map(|_| ());
        self.after_indexing(&local, result)
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

    /// Runs `f` on a read-only connection; `what` names the read in an error.
    pub fn read<T>(&self, what: &str, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, Error> {
        let conn = self.connect()?;
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
