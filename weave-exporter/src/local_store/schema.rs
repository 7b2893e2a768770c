//! The local store's tables (shaped like Weave's `calls`, `objects`, `tables`, `table_rows`,
//! `feedback` and `files`,
//! plus the append-only `call_log` that writers put calls in, see [`super::log`]) and how
//! a connection is opened: WAL mode, a busy timeout so several processes can write at
//! once, the file created with permissions `0o600` on unix.

use super::error::{is_busy, StoreError, StoreErrorKind};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::time::{Duration, Instant};

/// The schema version written to `PRAGMA user_version`: 2 added the call log (`call_log`,
/// `call_log_bad`), 3 the tables of rows (`tables`, `table_rows`), 4 extended the indexes
/// `calls_parent_id` and `calls_op_base_name` (same names) with `started_at_us`, so root
/// calls, children or the calls of an op come in start order (newest first too) without
/// sorting them all. An older store opens fine (a writer adds the new tables and rebuilds
/// those two indexes once); a store of a newer version is refused.
pub(crate) const SCHEMA_VERSION: i64 = 4;

/// The page size of a new store.
const PAGE_SIZE: i64 = 8192;

/// Pages in the WAL before a connection checkpoints it (128 MiB of 8 KiB pages).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 16_384;

/// The page cache of a connection, as SQLite's negative `cache_size` (KiB): indexing
/// touches the `calls` table and its indexes' right edges, which stay cached.
const CACHE_KIB: i64 = -65_536;

/// How long a statement waits for another connection's lock before failing.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS calls (
    project_id    TEXT NOT NULL,
    id            TEXT NOT NULL PRIMARY KEY,
    trace_id      TEXT NOT NULL,
    parent_id     TEXT,
    op_name       TEXT NOT NULL,
    op_base_name  TEXT NOT NULL,
    display_name  TEXT,
    thread_id     TEXT,
    turn_id       TEXT,
    started_at    TEXT NOT NULL,
    started_at_us INTEGER NOT NULL,
    ended_at      TEXT,
    ended_at_us   INTEGER,
    attributes    TEXT NOT NULL DEFAULT '{}',
    inputs        TEXT NOT NULL DEFAULT '{}',
    output        TEXT,
    exception     TEXT,
    summary       TEXT NOT NULL DEFAULT '{}',
    wb_run_id     TEXT
);
CREATE INDEX IF NOT EXISTS calls_trace_id ON calls (trace_id);
CREATE INDEX IF NOT EXISTS calls_parent_id ON calls (parent_id, started_at_us);
CREATE INDEX IF NOT EXISTS calls_op_base_name ON calls (op_base_name, started_at_us);
CREATE INDEX IF NOT EXISTS calls_started_at_us ON calls (started_at_us);
CREATE TABLE IF NOT EXISTS call_log (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS call_log_bad (
    seq      INTEGER PRIMARY KEY,
    data     BLOB NOT NULL,
    error    TEXT NOT NULL,
    moved_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    project_id TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    digest     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    val        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (project_id, object_id, digest)
);
CREATE TABLE IF NOT EXISTS feedback (
    project_id    TEXT NOT NULL,
    id            TEXT NOT NULL PRIMARY KEY,
    weave_ref     TEXT NOT NULL,
    feedback_type TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_weave_ref ON feedback (weave_ref);
CREATE TABLE IF NOT EXISTS tables (
    project_id  TEXT NOT NULL,
    digest      TEXT NOT NULL,
    row_digests TEXT NOT NULL,
    PRIMARY KEY (project_id, digest)
);
CREATE TABLE IF NOT EXISTS table_rows (
    project_id TEXT NOT NULL,
    digest     TEXT NOT NULL,
    val        TEXT NOT NULL,
    PRIMARY KEY (project_id, digest)
);
CREATE TABLE IF NOT EXISTS files (
    project_id TEXT NOT NULL,
    digest     TEXT NOT NULL,
    name       TEXT NOT NULL,
    content    BLOB NOT NULL,
    PRIMARY KEY (project_id, digest)
);
";

/// Opens (creating if needed) a store for writing: parent directories, the file with
/// `0o600`, WAL mode, the tables.
pub(crate) fn open_for_writing(path: &Path) -> Result<Connection, StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, "create the directory", e))?;
    }
    create_private_file(path)?;
    let conn =
        Connection::open(path).map_err(|e| StoreError::sqlite(&format!("could not open {}", path.display()), e))?;
    configure(&conn)?;
    // Only takes effect on a new, empty database: bigger pages mean fewer page splits and
    // B-tree levels for the B-trees every indexed call goes into, and fewer overflow pages
    // for the log's blobs.
    conn.pragma_update(None, "page_size", PAGE_SIZE)
        .map_err(|e| StoreError::sqlite("could not configure the local store", e))?;
    retry_busy(|| conn.pragma_update(None, "journal_mode", "WAL"))
        .map_err(|e| StoreError::sqlite("could not switch the local store to WAL mode", e))?;
    // A writer closes at exit: it leaves the WAL (as durable as the database) to the next
    // checkpoint rather than copying it into the database then, which takes a while
    // after a busy run.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(|e| StoreError::sqlite("could not configure the local store", e))?;
    check_version(&conn, path)?;
    retry_busy(|| {
        let tx = rusqlite::Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version < 4 {
            // Version 4 indexes these columns with `started_at_us`: rebuilt once.
            tx.execute_batch("DROP INDEX IF EXISTS calls_parent_id; DROP INDEX IF EXISTS calls_op_base_name;")?;
        }
        tx.execute_batch(SCHEMA)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()
    })
    .map_err(|e| StoreError::sqlite("could not create the local store's tables", e))?;
    Ok(conn)
}

/// How [`open_existing`] opens a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Read and write (queries index the call log), or read only when the file cannot be
    /// written.
    ReadWrite,
    /// Read only: nothing is ever written.
    ReadOnly,
}

/// Opens an existing store for reading (and, with [`Access::ReadWrite`], indexing and
/// replaying into). Returns the connection and whether it is read-only: a store whose
/// file (or directory) cannot be written is opened read-only rather than failing.
pub(crate) fn open_existing(path: &Path, access: Access) -> Result<(Connection, bool), StoreError> {
    if !path.is_file() {
        return Err(StoreError::new(
            StoreErrorKind::NotFound,
            format!("there is no local store at {}", path.display()),
        ));
    }
    let (conn, read_only) = match access {
        Access::ReadWrite => match open_read_write(path) {
            Ok(conn) => {
                // SQLite opens a file it may not write read-only, silently.
                let read_only = conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false);
                (conn, read_only)
            }
            Err(e) if cannot_write(&e) => (open_read_only(path)?, true),
            Err(e) => return Err(e),
        },
        Access::ReadOnly => (open_read_only(path)?, true),
    };
    let has_calls: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'calls')", [], |r| {
            r.get(0)
        })
        .map_err(|e| StoreError::sqlite(&format!("could not read {}", path.display()), e))?;
    if !has_calls {
        return Err(StoreError::new(
            StoreErrorKind::NotAStore,
            format!("{} is not a weave local store (it has no calls table)", path.display()),
        ));
    }
    Ok((conn, read_only))
}

fn open_read_write(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::sqlite(&format!("could not open {}", path.display()), e))?;
    configure(&conn)?;
    check_version(&conn, path)?;
    Ok(conn)
}

/// Opens the store read-only. A store in WAL mode needs its `-shm` file: when that cannot
/// be created (a read-only directory) and there is no WAL to read, the file is opened as
/// immutable (SQLite then reads the database file alone, without locking).
fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let context = || format!("could not open {} read-only", path.display());
    let open = |target: &str| -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(target, flags).map_err(|e| StoreError::sqlite(&context(), e))?;
        configure(&conn)?;
        check_version(&conn, path)?;
        Ok(conn)
    };
    match open(&path.to_string_lossy()) {
        Err(e) if cannot_write(&e) && !wal_has_frames(path) => open(&immutable_uri(path)),
        other => other,
    }
}

/// True for the errors of opening a store that cannot be written (its file, its directory,
/// or its `-shm` file).
fn cannot_write(e: &StoreError) -> bool {
    use std::error::Error as _;
    let code = e.source().and_then(|s| s.downcast_ref::<rusqlite::Error>()).and_then(|e| e.sqlite_error_code());
    matches!(
        code,
        Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::PermissionDenied)
    )
}

/// True when the store's `-wal` file exists and is not empty.
fn wal_has_frames(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).map(|m| m.len() > 0).unwrap_or(false)
}

/// `file:<path>?mode=ro&immutable=1`, the path percent-encoded as SQLite's URIs need.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'?' | b'#' | b'%' | 0x80..=0xff => uri.push_str(&format!("%{byte:02X}")),
            _ => uri.push(char::from(byte)),
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    uri
}

/// Settings of every connection, writing or reading (readers may write too: they index
/// the call log into `calls`).
fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| StoreError::sqlite("could not set the busy timeout", e))?;
    conn.set_prepared_statement_cache_capacity(32);
    // In WAL mode NORMAL makes each commit durable at the next checkpoint (a crash of the
    // machine may lose the last commits, never corrupt the database).
    for (pragma, value) in [("synchronous", "NORMAL"), ("temp_store", "MEMORY")] {
        conn.pragma_update(None, pragma, value)
            .map_err(|e| StoreError::sqlite("could not configure the local store", e))?;
    }
    for (pragma, value) in [
        ("cache_size", CACHE_KIB),
        // Checkpoint (copy the WAL into the database, with an fsync) every ~128 MiB rather
        // than every 8 MiB: a million calls log ~80 MB, and indexing them writes several
        // times that.
        ("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES),
        ("journal_size_limit", 64 * 1024 * 1024),
    ] {
        conn.pragma_update(None, pragma, value)
            .map_err(|e| StoreError::sqlite("could not configure the local store", e))?;
    }
    Ok(())
}

fn check_version(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let version: i64 = retry_busy(|| conn.query_row("PRAGMA user_version", [], |r| r.get(0)))
        .map_err(|e| StoreError::sqlite(&format!("could not read {}", path.display()), e))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::new(
            StoreErrorKind::NotAStore,
            format!(
                "{} was written by a newer weave-rs (schema version {version}, this one reads {SCHEMA_VERSION})",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Creates the file with `0o600` (unix) if it does not exist, so SQLite (which gives its
/// `-wal` and `-shm` files the database file's permissions) never creates it world-readable.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop).map_err(|e| StoreError::io(path, "create", e))
}

/// Runs `f` again while it fails with SQLITE_BUSY, for up to [`BUSY_TIMEOUT`]. The busy
/// handler covers most waits; this covers the cases where SQLite returns BUSY at once
/// (changing the journal mode, or a lock upgrade that would deadlock).
pub(crate) fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let give_up = Instant::now() + BUSY_TIMEOUT;
    let mut wait = Duration::from_millis(1);
    loop {
        match f() {
            Err(e) if is_busy(&e) && Instant::now() < give_up => {
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}
