//! Indexing the call log: blobs of [`super::log`] become rows of `calls`, oldest first,
//! in `BEGIN IMMEDIATE` transactions that apply each call with the row statements (insert
//! ignoring an existing row for starts and unfinished calls, upsert for finished ones) and
//! delete the blobs they applied. Who indexes:
//!
//! - the writer, after a batch, when the log holds more than a few blobs
//!   ([`index_within`] with a small budget), so the log never grows far behind;
//! - an idle exporter worker, a blob at a time ([`index_idle`]);
//! - a query, within a budget ([`index_within`]), so it never does unbounded work;
//! - [`catch_up`], everything, when asked for ([`super::LocalStore::index_calls`]) or
//!   before replaying calls straight into `calls`.
//!
//! A blob that cannot be decoded is not applied and not lost: it is moved, with the reason,
//! to `call_log_bad` (in the transaction that applies the blobs before it), and the indexing
//! call returns a [`StoreErrorKind::CorruptLog`] error naming its `seq`. The blobs after it
//! are indexed by the next call ([`catch_up`] goes on past it and reports it at the end).

use super::error::{StoreError, StoreErrorKind};
use super::log::{self, LoggedCall};
use super::schema::BUSY_TIMEOUT;
use rusqlite::{params, Connection, OptionalExtension, Statement, Transaction, TransactionBehavior};
use std::time::{Duration, Instant};
use weave_core::ids::Id;
use weave_core::time::{Timestamp, TimestampWriter};

macro_rules! call_columns {
    () => {
        "project_id, id, trace_id, parent_id, op_name, op_base_name, display_name, thread_id, turn_id, \
         started_at, started_at_us, ended_at, ended_at_us, attributes, inputs, output, exception, summary, wb_run_id"
    };
}

macro_rules! call_values {
    () => {
        "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19"
    };
}

/// A call start (or unfinished call): a row without an end, unless the call is stored.
const INSERT_CALL: &str = concat!("INSERT OR IGNORE INTO calls (", call_columns!(), ") VALUES (", call_values!(), ")");

/// `INSERT INTO <table> (...) VALUES (...)` upserting: a finished call's whole row,
/// replacing its start.
macro_rules! upsert_call {
    ($table:literal) => {
        concat!(
            "INSERT INTO ",
            $table,
            " (",
            call_columns!(),
            ") VALUES (",
            call_values!(),
            ") ON CONFLICT (id) DO UPDATE SET \
             project_id = excluded.project_id, trace_id = excluded.trace_id, parent_id = excluded.parent_id, \
             op_name = excluded.op_name, op_base_name = excluded.op_base_name, display_name = excluded.display_name, \
             thread_id = excluded.thread_id, turn_id = excluded.turn_id, started_at = excluded.started_at, \
             started_at_us = excluded.started_at_us, ended_at = excluded.ended_at, ended_at_us = excluded.ended_at_us, \
             attributes = excluded.attributes, inputs = excluded.inputs, output = excluded.output, \
             exception = excluded.exception, summary = excluded.summary, wb_run_id = excluded.wb_run_id"
        )
    };
}

/// A finished call: the whole row, replacing its start.
const UPSERT_CALL: &str = upsert_call!("calls");

/// A call start into a connection's overlay of the unindexed log (see
/// [`super::overlay`]): kept out when `calls` (or the overlay) already has the call.
const OVERLAY_INSERT_CALL: &str = concat!(
    "INSERT OR IGNORE INTO temp.calls_pending (",
    call_columns!(),
    ") SELECT ",
    call_values!(),
    " WHERE NOT EXISTS (SELECT 1 FROM main.calls WHERE id = ?2)"
);

/// A finished call into a connection's overlay.
const OVERLAY_UPSERT_CALL: &str = upsert_call!("temp.calls_pending");

/// The columns of `calls`, in the order the row statements bind them (for the overlay's
/// table and view).
pub(crate) const ROW_COLUMNS: &str = call_columns!();

/// Blobs per transaction when a reader catches up: one blob is one exporter batch (1,000
/// calls by default), so a transaction holds the write lock for tens of milliseconds and
/// writers of other processes get their turn in between.
const CATCH_UP_BLOBS: usize = 8;

/// One row of `calls`, borrowed.
pub(crate) struct Row<'a> {
    pub(crate) project_id: &'a str,
    pub(crate) id: &'a str,
    pub(crate) trace_id: &'a str,
    pub(crate) parent_id: Option<&'a str>,
    pub(crate) op_name: &'a str,
    pub(crate) op_base_name: &'a str,
    pub(crate) display_name: Option<&'a str>,
    pub(crate) thread_id: Option<&'a str>,
    pub(crate) turn_id: Option<&'a str>,
    pub(crate) started_at: &'a str,
    pub(crate) started_at_us: i64,
    pub(crate) ended_at: Option<&'a str>,
    pub(crate) ended_at_us: Option<i64>,
    pub(crate) attributes: &'a str,
    pub(crate) inputs: &'a str,
    pub(crate) output: Option<&'a str>,
    pub(crate) exception: Option<&'a str>,
    pub(crate) summary: &'a str,
    pub(crate) wb_run_id: Option<&'a str>,
}

impl Row<'_> {
    /// Writes the row: an upsert when it has an end, else an insert that keeps an
    /// existing row.
    pub(crate) fn write(&self, statements: &mut CallStatements<'_>) -> rusqlite::Result<()> {
        let stmt: &mut Statement<'_> =
            if self.ended_at.is_some() { &mut statements.upsert } else { &mut statements.insert };
        stmt.execute(params![
            self.project_id,
            self.id,
            self.trace_id,
            self.parent_id,
            self.op_name,
            self.op_base_name,
            self.display_name,
            self.thread_id,
            self.turn_id,
            self.started_at,
            self.started_at_us,
            self.ended_at,
            self.ended_at_us,
            self.attributes,
            self.inputs,
            self.output,
            self.exception,
            self.summary,
            self.wb_run_id,
        ])?;
        Ok(())
    }
}

/// The two row statements, prepared once per transaction.
pub(crate) struct CallStatements<'conn> {
    insert: rusqlite::CachedStatement<'conn>,
    upsert: rusqlite::CachedStatement<'conn>,
}

impl<'conn> CallStatements<'conn> {
    /// The statements writing `calls`.
    pub(crate) fn prepare(conn: &'conn Connection) -> rusqlite::Result<CallStatements<'conn>> {
        Ok(CallStatements { insert: conn.prepare_cached(INSERT_CALL)?, upsert: conn.prepare_cached(UPSERT_CALL)? })
    }

    /// The statements writing a read-only connection's overlay, `temp.calls_pending`.
    pub(crate) fn prepare_overlay(conn: &'conn Connection) -> rusqlite::Result<CallStatements<'conn>> {
        Ok(CallStatements {
            insert: conn.prepare_cached(OVERLAY_INSERT_CALL)?,
            upsert: conn.prepare_cached(OVERLAY_UPSERT_CALL)?,
        })
    }
}

/// What one [`index_pending`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Blobs applied (and deleted).
    pub(crate) blobs: usize,
    /// Calls applied.
    pub(crate) calls: usize,
    /// True when blobs remain (up to the `seq` bound given).
    pub(crate) more: bool,
}

/// True when the call log has rows to index. Cheap: one indexed lookup.
pub(crate) fn has_pending(conn: &Connection) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM call_log)")
        .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
        .map_err(|e| StoreError::sqlite("could not read the call log", e))
}

/// True when the store has a call log (a store written by a version before the log has
/// none until a writer of this version opens it).
pub(crate) fn log_exists(conn: &Connection) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'call_log')")
        .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
        .map_err(|e| StoreError::sqlite("could not read the store's tables", e))
}

/// Indexes up to `max_blobs` of the oldest blobs (with `seq <= up_to`, when given) in one
/// `BEGIN IMMEDIATE` transaction. A blob that cannot be decoded ends the transaction (the
/// blobs before it applied, it moved to `call_log_bad`) with a
/// [`StoreErrorKind::CorruptLog`] error.
pub(crate) fn index_pending(conn: &Connection, max_blobs: usize, up_to: Option<i64>) -> Result<Progress, StoreError> {
    let context = "could not index the call log";
    let tx =
        Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(|e| StoreError::sqlite(context, e))?;
    let (progress, bad) = apply_oldest(&tx, max_blobs, up_to).map_err(|e| StoreError::sqlite(context, e))?;
    tx.commit().map_err(|e| StoreError::sqlite(context, e))?;
    match bad {
        Some(bad) => Err(bad.into_error()),
        None => Ok(progress),
    }
}

/// Indexes every blob logged before the call (in transactions of a few blobs, so writers
/// are not held up). A corrupt blob does not stop the others: the first one is reported
/// once everything else is indexed.
pub(crate) fn catch_up(conn: &Connection) -> Result<(), StoreError> {
    if !has_pending(conn)? {
        return Ok(());
    }
    let up_to: i64 = conn
        .query_row("SELECT COALESCE(MAX(seq), 0) FROM call_log", [], |r| r.get(0))
        .map_err(|e| StoreError::sqlite("could not read the call log", e))?;
    let mut first_bad = None;
    loop {
        match index_pending(conn, CATCH_UP_BLOBS, Some(up_to)) {
            Ok(progress) if !progress.more => break,
            Ok(_) => {}
            Err(e) if e.kind() == StoreErrorKind::CorruptLog => {
                first_bad.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    first_bad.map_or(Ok(()), Err)
}

/// Indexes every pending blob inside the caller's transaction (for a writer about to write
/// `calls` rows directly). A corrupt blob is an error here: the caller's transaction is
/// then dropped (rolled back), and [`catch_up`] moves the blob aside on the next try.
pub(crate) fn index_in_transaction(tx: &Transaction<'_>) -> Result<(), StoreError> {
    loop {
        let (progress, bad) = apply_oldest(tx, CATCH_UP_BLOBS, None)
            .map_err(|e| StoreError::sqlite("could not index the call log", e))?;
        if let Some(bad) = bad {
            return Err(bad.into_error());
        }
        if !progress.more {
            return Ok(());
        }
    }
}

/// Background upkeep: indexes at most `max_blobs` blobs without waiting for a lock another
/// connection holds (then it does nothing and says there is no more to do now). Returns
/// true when blobs remain.
pub(crate) fn index_idle(conn: &Connection, max_blobs: usize) -> Result<bool, StoreError> {
    if !has_pending(conn)? {
        return Ok(false);
    }
    let set_timeout = |timeout: Duration| {
        conn.busy_timeout(timeout).map_err(|e| StoreError::sqlite("could not set the busy timeout", e))
    };
    set_timeout(Duration::ZERO)?;
    let result = index_pending(conn, max_blobs, None);
    set_timeout(BUSY_TIMEOUT)?;
    match result {
        Ok(progress) => Ok(progress.more),
        Err(e) if e.is_busy() => Ok(false),
        Err(e) => Err(e),
    }
}

/// A bound on the indexing one call of [`LocalStore::index_some`](super::LocalStore::index_some)
/// or one query does: at most `max_entries` entries of the call log (each holds one batch
/// of calls, up to the exporter's `max_batch_items`, 1,000 by default), and no new entry
/// started after `max_time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexBudget {
    /// The most entries of the call log indexed (`0`: none).
    pub max_entries: usize,
    /// No entry is started after this long (one entry, a few milliseconds for 1,000
    /// calls, may end after it).
    pub max_time: Duration,
}

impl IndexBudget {
    /// What a query indexes before it reads, by default: 16 entries (16,000 calls of
    /// default batches, about 100 ms on a 2020s machine) or 100 ms.
    pub const QUERY: IndexBudget = IndexBudget { max_entries: 16, max_time: Duration::from_millis(100) };
}

impl Default for IndexBudget {
    /// [`IndexBudget::QUERY`].
    fn default() -> IndexBudget {
        IndexBudget::QUERY
    }
}

/// How far the `calls` table is behind what was written: the entries of the call log not
/// yet indexed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexBacklog {
    /// Entries of the call log not yet indexed (each holds one batch of calls).
    pub entries: u64,
    /// Their size in bytes.
    pub bytes: u64,
    /// About how many calls they hold: the oldest entry's calls per byte times `bytes`
    /// (exact when there is one entry).
    pub estimated_calls: u64,
}

impl IndexBacklog {
    /// True when every call written is indexed (queries see them all).
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// How much of what was written queries see, in percent, given how many calls they
    /// see (`shown_calls`): 100 when nothing is pending, else at most 99 (for "indexing
    /// 40% done").
    ///
    /// ```
    /// use weave_exporter::local_store::IndexBacklog;
    ///
    /// let backlog = IndexBacklog { entries: 3, bytes: 300_000, estimated_calls: 3_000 };
    /// assert_eq!(backlog.percent_done(1_000), 25);
    /// assert_eq!(IndexBacklog::default().percent_done(0), 100);
    /// ```
    pub fn percent_done(&self, shown_calls: u64) -> u8 {
        if self.is_empty() {
            return 100;
        }
        let total = u128::from(shown_calls) + u128::from(self.estimated_calls.max(1));
        (u128::from(shown_calls) * 100 / total).min(99) as u8
    }
}

/// Measures the backlog: the entries of the log after `after_seq` (those a query does not
/// see: `0` for all of them, else the last one a read-only connection read into its
/// overlay). Two aggregate reads of the log's rows (the blobs' lengths come from their
/// headers, their content is not read) and one read of the oldest blob.
pub(crate) fn backlog(conn: &Connection, after_seq: i64) -> Result<IndexBacklog, StoreError> {
    let context = "could not read the call log";
    let (entries, bytes): (i64, i64) = conn
        .prepare_cached("SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM call_log WHERE seq > ?1")
        .and_then(|mut stmt| stmt.query_row([after_seq], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(|e| StoreError::sqlite(context, e))?;
    let (entries, bytes) = (entries.max(0) as u64, bytes.max(0) as u64);
    if entries == 0 {
        return Ok(IndexBacklog::default());
    }
    let oldest: Option<Vec<u8>> = conn
        .prepare_cached("SELECT data FROM call_log WHERE seq > ?1 ORDER BY seq LIMIT 1")
        .and_then(|mut stmt| stmt.query_row([after_seq], |r| r.get(0)).optional())
        .map_err(|e| StoreError::sqlite(context, e))?;
    let estimated_calls = match oldest.as_deref().and_then(|blob| Some((log::call_count(blob)?, blob.len()))) {
        Some((calls, _)) if entries == 1 => calls,
        Some((calls, len)) => ((calls as f64 / len.max(1) as f64) * bytes as f64).round() as u64,
        None => entries,
    };
    Ok(IndexBacklog { entries, bytes, estimated_calls })
}

/// True when the log holds more than `limit` entries. Reads at most `limit + 1` rows.
pub(crate) fn backlog_exceeds(conn: &Connection, limit: usize) -> Result<bool, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX - 1);
    let count: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM (SELECT 1 FROM call_log LIMIT ?1)")
        .and_then(|mut stmt| stmt.query_row([limit + 1], |r| r.get(0)))
        .map_err(|e| StoreError::sqlite("could not read the call log", e))?;
    Ok(count > limit)
}

/// What [`index_within`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Spent {
    /// Entries indexed (or moved aside as corrupt).
    pub(crate) entries: usize,
    /// True when it stopped because another connection held the write lock for longer
    /// than the wait allowed.
    pub(crate) busy: bool,
}

/// Indexes the oldest entries of the log within `budget`, up to `per_transaction` entries
/// per transaction (the time budget is checked between them), waiting at most `lock_wait`
/// for another connection's write lock (then it stops, and says so: that is not an
/// error). A corrupt entry does not stop it: it is moved aside, counted in the budget,
/// and reported once the budget is spent.
pub(crate) fn index_within(
    conn: &Connection,
    budget: IndexBudget,
    per_transaction: usize,
    lock_wait: Duration,
) -> Result<Spent, StoreError> {
    let mut spent = Spent::default();
    if budget.max_entries == 0 {
        return Ok(spent);
    }
    let started = Instant::now();
    conn.busy_timeout(lock_wait).map_err(|e| StoreError::sqlite("could not set the busy timeout", e))?;
    let mut first_bad = None;
    let result = loop {
        if spent.entries >= budget.max_entries || started.elapsed() >= budget.max_time {
            break Ok(());
        }
        let step = per_transaction.clamp(1, budget.max_entries - spent.entries);
        match index_pending(conn, step, None) {
            Ok(progress) => {
                spent.entries += progress.blobs;
                if !progress.more || progress.blobs == 0 {
                    break Ok(());
                }
            }
            Err(e) if e.kind() == StoreErrorKind::CorruptLog => {
                // The entries before the corrupt one were applied; count it and them
                // as one step.
                spent.entries += step;
                first_bad.get_or_insert(e);
            }
            Err(e) if e.is_busy() => {
                spent.busy = true;
                break Ok(());
            }
            Err(e) => break Err(e),
        }
    };
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| StoreError::sqlite("could not set the busy timeout", e))?;
    result?;
    first_bad.map_or(Ok(spent), Err)
}

/// A blob that could not be decoded.
struct BadBlob {
    seq: i64,
    reason: log::DecodeError,
}

impl BadBlob {
    fn into_error(self) -> StoreError {
        StoreError::new(
            StoreErrorKind::CorruptLog,
            format!(
                "call log entry seq {} could not be decoded ({}); it was moved to the call_log_bad table \
                 and its calls were not indexed",
                self.seq, self.reason
            ),
        )
    }
}

fn apply_oldest(
    tx: &Connection,
    max_blobs: usize,
    up_to: Option<i64>,
) -> rusqlite::Result<(Progress, Option<BadBlob>)> {
    let up_to = up_to.unwrap_or(i64::MAX);
    let limit = i64::try_from(max_blobs).unwrap_or(i64::MAX);
    let blobs = tx
        .prepare_cached("SELECT seq, data FROM call_log WHERE seq <= ?1 ORDER BY seq LIMIT ?2")?
        .query_map(params![up_to, limit], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut progress = Progress::default();
    let mut last_applied = None;
    let mut bad = None;
    {
        let mut statements = CallStatements::prepare(tx)?;
        let mut buffers = Buffers::default();
        for (seq, blob) in &blobs {
            let calls = match log::decode(blob) {
                Ok(calls) => calls,
                Err(reason) => {
                    bad = Some(BadBlob { seq: *seq, reason });
                    break;
                }
            };
            for call in &calls {
                apply(&mut statements, call, &mut buffers)?;
            }
            progress.blobs += 1;
            progress.calls += calls.len();
            last_applied = Some(*seq);
        }
    }
    if let Some(last) = last_applied {
        tx.prepare_cached("DELETE FROM call_log WHERE seq <= ?1")?.execute([last])?;
    }
    if let Some(bad) = &bad {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO call_log_bad (seq, data, error, moved_at) \
             SELECT seq, data, ?2, ?3 FROM call_log WHERE seq = ?1",
        )?
        .execute(params![bad.seq, bad.reason.to_string(), Timestamp::now().to_string()])?;
        tx.prepare_cached("DELETE FROM call_log WHERE seq = ?1")?.execute([bad.seq])?;
    }
    progress.more = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM call_log WHERE seq <= ?1)")?
        .query_row([up_to], |r| r.get(0))?;
    Ok((progress, bad))
}

/// Reused across the calls of a blob: the timestamps' text (the writer reuses the text of
/// the current second, which the calls of a blob mostly share).
#[derive(Default)]
pub(crate) struct Buffers {
    started_at: Vec<u8>,
    ended_at: Vec<u8>,
    clock: TimestampWriter,
}

impl Buffers {
    /// Writes the text of a call's start and (when it has one) end.
    fn write_times(&mut self, started_at_us: i64, ended_at_us: Option<i64>) {
        self.started_at.clear();
        self.clock.write(Timestamp::from_unix_micros(started_at_us), &mut self.started_at);
        if let Some(ended_at_us) = ended_at_us {
            self.ended_at.clear();
            self.clock.write(Timestamp::from_unix_micros(ended_at_us), &mut self.ended_at);
        }
    }
}

/// Writes one logged call as a row (of `calls`, or of the overlay: the statements say).
pub(crate) fn apply(
    statements: &mut CallStatements<'_>,
    call: &LoggedCall<'_>,
    buffers: &mut Buffers,
) -> rusqlite::Result<()> {
    let mut id = [0u8; 36];
    let mut trace_id = [0u8; 36];
    let mut parent_id = [0u8; 36];
    let mut turn_id = [0u8; 36];
    let end = call.end.as_ref();
    buffers.write_times(call.started_at_us, end.map(|e| e.ended_at_us));
    Row {
        project_id: call.project_id,
        id: id_str(call.id, &mut id),
        trace_id: id_str(call.trace_id, &mut trace_id),
        parent_id: call.parent_id.map(|p| id_str(p, &mut parent_id)),
        op_name: call.op_name,
        op_base_name: call.op_base_name,
        display_name: call.display_name,
        thread_id: call.thread_id,
        turn_id: call.turn_id.map(|t| id_str(t, &mut turn_id)),
        started_at: ascii(&buffers.started_at),
        started_at_us: call.started_at_us,
        ended_at: end.map(|_| ascii(&buffers.ended_at)),
        ended_at_us: end.map(|e| e.ended_at_us),
        attributes: call.attributes,
        inputs: call.inputs,
        output: end.and_then(|e| e.output),
        exception: end.and_then(|e| e.exception),
        summary: end.map_or("{}", |e| e.summary),
        wb_run_id: call.wb_run_id,
    }
    .write(statements)
}

/// Text the writers here made: ASCII digits, letters and separators.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

fn id_str(id: Id, buf: &mut [u8; 36]) -> &str {
    id.encode(buf);
    ascii(buf)
}
