//! The unindexed call log, read by a connection that cannot write (a store opened
//! read-only, or whose files cannot be written): the calls of the log's entries are
//! applied, with the same row statements as indexing, to a table in the connection's
//! own temporary database (`temp.calls_pending`, in memory), and a temporary view named
//! `calls` (which SQLite resolves before the main database's table of that name) shows
//! `main.calls` with the overlay's rows on top. Queries (the store's, and any SQL over
//! `calls` on the connection) then see every call written, and the store's files are
//! never written.
//!
//! The overlay is bounded like indexing: each [`refresh`] reads at most an
//! [`IndexBudget`] of entries, and the overlay holds at most [`MAX_BYTES`] of log; what
//! is left is the backlog the store reports ([`read_up_to`] is where it starts). When a
//! writer elsewhere has indexed an entry the overlay read (it is no longer in the log),
//! the overlay is dropped, so a call indexed since (say, its finish) is never hidden by an
//! older row of the overlay. While a writer is indexing (the log's first entry moved on
//! at one of the connection's refreshes in the last [`WRITER_QUIET`]), the overlay is not
//! read again: the writer is doing that work, and reading the same entries into every
//! viewer's memory, only to drop them at the next entry the writer indexes, slowed the
//! writer down (a viewer polling every 10 ms took a third off the store's throughput on
//! two cores; one that read whenever the head had not moved since its last poll, a
//! twentieth). Queries then see what is indexed, and the backlog the store reports says
//! how far behind it is.

use super::error::{StoreError, StoreErrorKind};
use super::index::{self, Buffers, CallStatements, IndexBacklog, IndexBudget, ROW_COLUMNS};
use super::log;
use rusqlite::{params, Connection, OptionalExtension};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The most log bytes a connection's overlay holds (in memory): a read-only view of a
/// huge backlog shows its oldest part and reports the rest.
pub(crate) const MAX_BYTES: i64 = 256 << 20;

const CONTEXT: &str = "could not read the call log";

/// The overlay's tables: the calls (shaped as `calls`, with the indexes queries use) and
/// the log entries read (`error` set for one that could not be decoded).
const TABLES: &str = "
CREATE TEMP TABLE IF NOT EXISTS calls_pending AS SELECT * FROM main.calls WHERE 0;
CREATE UNIQUE INDEX IF NOT EXISTS temp.calls_pending_id ON calls_pending (id);
CREATE INDEX IF NOT EXISTS temp.calls_pending_trace_id ON calls_pending (trace_id);
CREATE INDEX IF NOT EXISTS temp.calls_pending_parent_id ON calls_pending (parent_id, started_at_us);
CREATE INDEX IF NOT EXISTS temp.calls_pending_op_base_name ON calls_pending (op_base_name, started_at_us);
CREATE INDEX IF NOT EXISTS temp.calls_pending_started_at_us ON calls_pending (started_at_us);
CREATE TEMP TABLE IF NOT EXISTS calls_pending_log (seq INTEGER PRIMARY KEY, bytes INTEGER NOT NULL, error TEXT);
CREATE TEMP TABLE IF NOT EXISTS calls_pending_head (seq INTEGER NOT NULL, moved_at_ms INTEGER);
";

/// How long after a connection last saw the log's first entry move on it leaves the log
/// to the writer that moved it: longer than a writer's indexing transactions take, and
/// than the pause between two of them. A writer that stopped with entries left (it
/// exited, or it is writing a burst) has its log read by the connection after that.
const WRITER_QUIET: Duration = Duration::from_secs(1);

/// The log's first entry as `calls_pending_head` keeps it when the log is empty.
const EMPTY_LOG: i64 = -1;

/// The view over `main.calls` and the overlay. Its `rowid` column keeps `MAX(rowid)` a
/// version that grows as calls are added (the overlay's rows numbered after the table's).
fn view_sql() -> String {
    format!(
        "CREATE TEMP VIEW IF NOT EXISTS calls AS \
         SELECT rowid AS rowid, {ROW_COLUMNS} FROM main.calls WHERE id NOT IN (SELECT id FROM temp.calls_pending) \
         UNION ALL \
         SELECT (SELECT COALESCE(MAX(rowid), 0) FROM main.calls) + rowid, {ROW_COLUMNS} FROM temp.calls_pending"
    )
}

/// True when the connection has an overlay (it read the log at least once).
fn exists(conn: &Connection) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM sqlite_temp_master WHERE name = 'calls_pending_log')")
        .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
        .map_err(|e| StoreError::sqlite(CONTEXT, e))
}

/// The last entry of the log the connection's overlay holds (`0`: none): the backlog the
/// connection's queries do not see is what comes after it.
pub(crate) fn read_up_to(conn: &Connection) -> Result<i64, StoreError> {
    if !exists(conn)? {
        return Ok(0);
    }
    conn.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM temp.calls_pending_log")
        .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
        .map_err(|e| StoreError::sqlite(CONTEXT, e))
}

/// Reads the log's entries after the overlay's last one into the overlay, within `budget`
/// (`per_step` entries per transaction; none once it holds [`MAX_BYTES`]), and returns
/// how many it read. An entry that cannot be decoded is skipped (it stays in the log:
/// nothing is written) and reported with a [`StoreErrorKind::CorruptLog`] error once the
/// others are read.
pub(crate) fn refresh(conn: &Connection, budget: IndexBudget, per_step: usize) -> Result<usize, StoreError> {
    let started = Instant::now();
    conn.execute_batch(TABLES).map_err(|e| StoreError::sqlite("could not make the overlay of the call log", e))?;
    let (read, first_bad) = read_log(conn, budget, per_step, started)?;
    update_view(conn)?;
    match first_bad {
        Some((seq, reason)) => Err(StoreError::new(
            StoreErrorKind::CorruptLog,
            format!(
                "call log entry seq {seq} could not be decoded ({reason}); the store is read-only, so it stays in \
                 the log and its calls are not shown"
            ),
        )),
        None => Ok(read),
    }
}

/// Reads the log's entries after the overlay's last one, within `budget` from `started`:
/// how many, and the first that could not be decoded. Reads none while a writer elsewhere
/// is indexing the log (see the module's docs), which its first step checks.
fn read_log(
    conn: &Connection,
    budget: IndexBudget,
    per_step: usize,
    started: Instant,
) -> Result<(usize, Option<(i64, String)>), StoreError> {
    let mut read = 0;
    let mut first_bad = None;
    let mut first_step = true;
    loop {
        let tx = conn.unchecked_transaction().map_err(|e| StoreError::sqlite(CONTEXT, e))?;
        restart_if_indexed(&tx).map_err(|e| StoreError::sqlite(CONTEXT, e))?;
        let writer_indexing =
            std::mem::take(&mut first_step) && writer_is_indexing(&tx).map_err(|e| StoreError::sqlite(CONTEXT, e))?;
        let spent = writer_indexing || read >= budget.max_entries || started.elapsed() >= budget.max_time;
        let step = per_step.clamp(1, budget.max_entries.saturating_sub(read).max(1));
        let outcome = if spent { Ok(Step::default()) } else { read_step(&tx, step) };
        let outcome = outcome.map_err(|e| StoreError::sqlite(CONTEXT, e))?;
        tx.commit().map_err(|e| StoreError::sqlite(CONTEXT, e))?;
        read += outcome.entries;
        if first_bad.is_none() {
            first_bad = outcome.bad;
        }
        if outcome.entries == 0 {
            return Ok((read, first_bad));
        }
    }
}

/// Makes `calls` on `conn` show the unindexed calls of the log, within `budget`, on a
/// connection that cannot write the store (for SQL of your own over `calls`; the store's
/// own queries do this when it is read-only), and returns what the connection's queries
/// still do not see. A writable connection should index instead
/// ([`LocalStore::index_some`](super::LocalStore::index_some)): the overlay lives in the
/// connection's memory and is read again by every connection.
///
/// ```no_run
/// use weave_exporter::local_store::{show_unindexed_calls, IndexBudget};
/// use rusqlite::{Connection, OpenFlags};
///
/// let conn = Connection::open_with_flags(".weave/weave.db", OpenFlags::SQLITE_OPEN_READ_ONLY)?;
/// let left = show_unindexed_calls(&conn, IndexBudget::QUERY)?;
/// let calls: i64 = conn.query_row("SELECT COUNT(*) FROM calls", [], |r| r.get(0))?;
/// println!("{calls} calls ({} more not read yet)", left.estimated_calls);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn show_unindexed_calls(conn: &Connection, budget: IndexBudget) -> Result<IndexBacklog, StoreError> {
    if !index::log_exists(conn)? {
        return Ok(IndexBacklog::default());
    }
    let result = refresh(conn, budget, budget.max_entries.clamp(1, 4));
    let backlog = index::backlog(conn, read_up_to(conn)?)?;
    result.map(|_| backlog)
}

/// What one step of [`refresh`] read.
#[derive(Default)]
struct Step {
    entries: usize,
    bad: Option<(i64, String)>,
}

/// Drops the overlay when the first entry it read is no longer in the log: a writer
/// indexed it (and maybe more, the rows of `calls` now newer than the overlay's).
fn restart_if_indexed(tx: &Connection) -> rusqlite::Result<()> {
    let first: Option<i64> =
        tx.prepare_cached("SELECT MIN(seq) FROM temp.calls_pending_log")?.query_row([], |r| r.get(0))?;
    let Some(first) = first else { return Ok(()) };
    let still_logged: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM main.call_log WHERE seq = ?1)")?
        .query_row([first], |r| r.get(0))?;
    if !still_logged {
        tx.execute_batch("DELETE FROM temp.calls_pending; DELETE FROM temp.calls_pending_log;")?;
    }
    Ok(())
}

/// True when a writer elsewhere is indexing the log: the connection saw its first entry
/// move on (or the log empty) at this refresh, or at one less than [`WRITER_QUIET`] ago.
/// Remembers the first entry, and when it last moved, for the next refresh. New entries
/// after an empty log are not indexing.
fn writer_is_indexing(tx: &Connection) -> rusqlite::Result<bool> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let head: i64 =
        tx.prepare_cached("SELECT COALESCE(MIN(seq), ?1) FROM main.call_log")?.query_row([EMPTY_LOG], |r| r.get(0))?;
    let last: Option<(i64, Option<i64>)> = tx
        .prepare_cached("SELECT seq, moved_at_ms FROM temp.calls_pending_head")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (moved, moved_at) = match last {
        None | Some((EMPTY_LOG, _)) => (false, None),
        Some((last, _)) if head == EMPTY_LOG || head > last => (true, Some(now)),
        Some((_, moved_at)) => (false, moved_at),
    };
    // An empty log forgets the writer: what is logged next is read at once.
    let moved_at = moved_at.filter(|_| head != EMPTY_LOG);
    tx.execute_batch("DELETE FROM temp.calls_pending_head")?;
    tx.prepare_cached("INSERT INTO temp.calls_pending_head (seq, moved_at_ms) VALUES (?1, ?2)")?
        .execute(params![head, moved_at])?;
    let quiet_ms = WRITER_QUIET.as_millis() as i64;
    Ok(moved || moved_at.is_some_and(|at| (0..quiet_ms).contains(&(now - at))))
}

/// Reads up to `max` entries after the overlay's last one (none once it holds
/// [`MAX_BYTES`]).
fn read_step(tx: &Connection, max: usize) -> rusqlite::Result<Step> {
    let (last, bytes): (i64, i64) = tx
        .prepare_cached("SELECT COALESCE(MAX(seq), 0), COALESCE(SUM(bytes), 0) FROM temp.calls_pending_log")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if bytes >= MAX_BYTES {
        return Ok(Step::default());
    }
    let limit = i64::try_from(max).unwrap_or(i64::MAX);
    let blobs = tx
        .prepare_cached("SELECT seq, data FROM main.call_log WHERE seq > ?1 ORDER BY seq LIMIT ?2")?
        .query_map(params![last, limit], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut step = Step::default();
    let mut statements = CallStatements::prepare_overlay(tx)?;
    let mut buffers = Buffers::default();
    let mut record = tx.prepare_cached("INSERT INTO temp.calls_pending_log (seq, bytes, error) VALUES (?1, ?2, ?3)")?;
    for (seq, blob) in &blobs {
        let error = match log::decode(blob) {
            Ok(calls) => {
                for call in &calls {
                    index::apply(&mut statements, call, &mut buffers)?;
                }
                None
            }
            Err(reason) => Some(reason.to_string()),
        };
        record.execute(params![seq, blob.len() as i64, error])?;
        if let Some(error) = error {
            step.bad.get_or_insert((*seq, error));
        }
        step.entries += 1;
    }
    Ok(step)
}

/// Shows the overlay through the view `calls` while it has rows; without them, `calls`
/// is the table again (its indexes can then be named in queries).
fn update_view(conn: &Connection) -> Result<(), StoreError> {
    let context = "could not make the overlay of the call log";
    let has_rows: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM temp.calls_pending)")
        .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
        .map_err(|e| StoreError::sqlite(context, e))?;
    let has_view: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM sqlite_temp_master WHERE type = 'view' AND name = 'calls')")
        .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
        .map_err(|e| StoreError::sqlite(context, e))?;
    if has_rows == has_view {
        return Ok(());
    }
    let sql = if has_rows { view_sql() } else { "DROP VIEW IF EXISTS temp.calls".to_string() };
    conn.execute_batch(&sql).map_err(|e| StoreError::sqlite(context, e))?;
    // Statements prepared before name `calls` as it was.
    conn.flush_prepared_statement_cache();
    Ok(())
}
