//! The hand-off from the runtime to the way out: what the runtime sends ([`ExportItem`])
//! and the handle it sends it through ([`Exporter`]). Implemented by `weave-exporter`
//! (queue, worker, sinks) and by the in-memory capture of [`crate::testing`].

use crate::call::CallRecord;
use parking_lot::Mutex;
use std::cell::RefCell;
use std::time::Duration;

/// One item for the exporter. A call's record is boxed: built once where the call starts,
/// it then moves as a pointer (the record is a few hundred bytes, each move a copy).
#[derive(Debug)]
#[non_exhaustive]
pub enum ExportItem {
    /// A call has started and should be visible as running before it ends (eager start,
    /// for long-running calls). A `CallFinished` for the same call follows.
    CallStarted(Box<CallRecord>),
    /// A call has ended. The record holds the start too, so a sink that ignores
    /// `CallStarted` can write it as one complete call.
    CallFinished(Box<CallRecord>),
    /// A call still open at shutdown: written as unfinished rather than lost.
    CallUnfinished(Box<CallRecord>),
    /// A published object version (`weave::publish`).
    Object(Box<crate::object_item::ObjectItem>),
    /// Feedback on a call (a reaction, a note).
    Feedback(Box<crate::feedback_item::FeedbackItem>),
    /// A table (a dataset's rows, an evaluation's results), saved before the objects that
    /// refer to it.
    Table(Box<crate::table::TableItem>),
    /// An op that objects refer to (a model's `predict`, a scorer's `score`), saved even
    /// if no call of it is exported. Calls save their op themselves.
    Op(Box<OpItem>),
}

/// An op to save in a project ([`ExportItem::Op`]).
#[derive(Debug, Clone)]
pub struct OpItem {
    /// The project, `entity/project`.
    pub project_id: String,
    /// The op.
    pub op: crate::op::OpHandle,
}

/// What a flush or shutdown achieved, and where every item exported so far is.
///
/// The counters are totals since the exporter started. Every item handed to `export` is
/// in exactly one place, and the counters add up:
///
/// ```text
/// made    == written + dropped + failed + (the part of `pending` the sink has not seen)
/// dropped + failed == in the fallback files + lost + (the part of `pending` on its way to the file)
/// so, once `pending == 0`:
/// made    == written + in the fallback files + lost
/// dropped == its lines in the files + lost_dropped
/// failed  == its lines in the files + (lost - lost_dropped)
/// ```
///
/// where "in the fallback files" counts the lines of the fallback file and of its rotated
/// files (`<path>.1` .. `<path>.3`) that this exporter wrote: one line per item, the
/// `failed` ones with the reason `sink_error: ...`, the `dropped` ones with `queue_full`
/// or `shutdown`. A flush or shutdown report is exact; a report taken while other threads
/// export can be off by the items in flight between two counters, and
/// `QueueExporter::counters` does not see what the threads' buffers hold.
///
/// ```
/// use weave_core::export::FlushReport;
/// let report = FlushReport { completed: true, written: 90, dropped: 8, failed: 2, lost: 3, ..Default::default() };
/// let in_files = 7; // the lines of the fallback files
/// assert_eq!(report.written + in_files + report.lost + report.pending, 100);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// True when everything queued before the flush was dealt with before the timeout:
    /// written by the sink, or, when the sink refused it, set aside in the fallback file
    /// (counted in `failed`). So `completed` with `written == 0` means nothing reached the
    /// sink: check `failed` and `dropped`.
    pub completed: bool,
    /// Items not handed to the sink: the queue was full, or the exporter had shut down (or
    /// its shutdown ran out of time). Each is in the fallback file, or counted in `lost`
    /// (and in `lost_dropped`).
    pub dropped: u64,
    /// Items, dropped or failed, that are in no fallback file: the disk fallback is off,
    /// writing the file failed, the file could not keep up with a queue that overflowed
    /// faster than the disk takes the calls (the application is not made to wait for it),
    /// or the rotated file that held them was discarded by the file's rotation (counted in
    /// `rotated_out` too).
    pub lost: u64,
    /// Of `lost`, the items counted in `dropped` (the others were counted in `failed`).
    pub lost_dropped: u64,
    /// Of `lost`, the items that were in the oldest rotated fallback file when a rotation
    /// discarded it (`ExporterConfig::fallback_max_bytes` sets the size a file rotates at).
    pub rotated_out: u64,
    /// Items a sink failed to write (refused, failed after its retries, or gave up at a
    /// shutdown's deadline). Each is in the fallback file, or counted in `lost`.
    pub failed: u64,
    /// Items written by the sink.
    pub written: u64,
    /// Items the exporter still held when the report was made: queued for the worker, in
    /// the worker's hands (a sink still busy with them when a shutdown gave up), or dropped
    /// and not yet in the fallback file. 0 in the report of a completed flush or shutdown
    /// when no other thread exports meanwhile.
    pub pending: u64,
}

/// The runtime's handle to the way out. `export` is called on application threads and
/// must never block on I/O.
pub trait Exporter: Send + Sync + 'static {
    /// Hands one item over. Never blocks; a full queue drops (and counts) the item.
    fn export(&self, item: ExportItem);

    /// Waits until everything exported before this call has been written, or the timeout.
    fn flush(&self, timeout: Duration) -> FlushReport;

    /// Flushes, then stops the worker. Further items are dropped (and counted).
    fn shutdown(&self, timeout: Duration) -> FlushReport;

    /// Whether the sink behind this exporter shows eager call starts (a call running).
    fn supports_call_start(&self) -> bool {
        true
    }

    /// How the store behind this exporter digests the refs inside values (see
    /// [`crate::refs::RefForm`]); the default keeps them as written.
    fn ref_form(&self) -> crate::store_ref_form::StoreRefForm {
        crate::store_ref_form::StoreRefForm::default()
    }
}

/// Call records the exporter has written, on their way back to the threads that make
/// calls: a record is boxed (it moves as a pointer), and a box allocated by an application
/// thread and freed by the exporter's thread is glibc's slowest case (the two take turns
/// at the allocator's lock). Recycled, the boxes are allocated once and go round.
// The boxes themselves are what is kept (they go round as `ExportItem`s).
#[allow(clippy::vec_box)]
static SPARE_RECORDS: Mutex<Vec<Box<CallRecord>>> = Mutex::new(Vec::new());

/// Spare records kept at most across the process (about 6.5 MB), and taken at once by a
/// thread.
const MAX_SPARE_RECORDS: usize = 16_384;
const SPARE_RECORDS_TAKEN: usize = 64;
/// Spare records a thread keeps at most of its own (see [`keep_records_here`]).
const MAX_THREAD_SPARES: usize = 2 * SPARE_RECORDS_TAKEN;
/// How long the exporter waits to give records back, at most.
const RECYCLE_WAIT: Duration = Duration::from_millis(10);

/// A thread's spare records. When the thread exits, those it did not use go back for the
/// other threads (dropped, a thread that made one call freed 63 of them).
#[allow(clippy::vec_box)]
struct ThreadSpares(Vec<Box<CallRecord>>);

impl Drop for ThreadSpares {
    fn drop(&mut self) {
        recycle_records(self.0.drain(..));
    }
}

thread_local! {
    /// This thread's spare records, refilled a few dozen at a time.
    static THREAD_SPARES: RefCell<ThreadSpares> = const { RefCell::new(ThreadSpares(Vec::new())) };
}

/// Gives call records back once they are written (the exporter calls this with the
/// records of a batch). What they hold is dropped here; their boxes are kept for the
/// calls to come, within a bound (the others are freed, not emptied and flushed first).
pub fn recycle_records(records: impl IntoIterator<Item = Box<CallRecord>>) {
    // Waits a little at most: a lock held forever (in a forked child, by a thread of its
    // parent) only means these boxes are freed. Never waiting freed whole batches whenever
    // an application thread was taking spares at the same moment, and the threads then
    // allocated new ones: millions of allocations in a few seconds of calls, each box
    // freed by the exporter's thread, the slowest case of the allocator.
    let Some(room) =
        SPARE_RECORDS.try_lock_for(RECYCLE_WAIT).map(|spare| MAX_SPARE_RECORDS.saturating_sub(spare.len()))
    else {
        return;
    };
    let mut records: Vec<Box<CallRecord>> = records.into_iter().take(room).collect();
    // Emptied before the lock is taken again: the application threads wait for none of it.
    for record in &mut records {
        record.clear();
        // Out of this core's caches: the thread that takes the box next gets its lines
        // from memory, with no wait for this core (see `spare_record`).
        crate::sys::evict_from_caches::<CallRecord>(record);
    }
    let Some(mut spare) = SPARE_RECORDS.try_lock_for(RECYCLE_WAIT) else { return };
    let room = MAX_SPARE_RECORDS.saturating_sub(spare.len());
    spare.extend(records.drain(..room.min(records.len())));
}

/// Gives call records that stay on the thread that made them (dropped on a full queue, or
/// written by that thread itself) to its own next calls. Their boxes are hot in this
/// core's caches, where the spares the exporter's threads give back come from memory:
/// freed instead, they went to the allocator while the thread took cold spares (a fifth
/// more per call when a stalled sink's calls overflowed). What the thread's spares have no
/// room for is freed.
pub fn keep_records_here(records: impl IntoIterator<Item = Box<CallRecord>>) {
    let mut records = records.into_iter();
    let _ = THREAD_SPARES.try_with(|spares| {
        let Ok(mut spares) = spares.try_borrow_mut() else { return };
        let room = MAX_THREAD_SPARES.saturating_sub(spares.0.len());
        // Last, so the next calls take them first.
        spares.0.extend(records.by_ref().take(room).map(|mut record| {
            record.clear();
            record
        }));
    });
}

/// A spare record's box (its old values still in it, to be overwritten), if this thread
/// has one or can take some. The box of the call after next is asked for now
/// ([`crate::sys::prefetch_for_writing`]): the exporter's thread flushed it from the
/// caches, and it comes from memory (one call ahead was sometimes not soon enough).
pub(crate) fn spare_record() -> Option<Box<CallRecord>> {
    const AHEAD: usize = 2;
    THREAD_SPARES
        .try_with(|spares| {
            let spares = &mut spares.try_borrow_mut().ok()?.0;
            if spares.len() <= AHEAD {
                // Never waits (see `recycle_records`): without spares, a box is allocated.
                if let Some(mut spare) = SPARE_RECORDS.try_lock() {
                    let from = spare.len().saturating_sub(SPARE_RECORDS_TAKEN);
                    // Before the boxes already asked for, which go first.
                    spares.splice(0..0, spare.drain(from..));
                }
            }
            let record = spares.pop();
            if let Some(ahead) = spares.len().checked_sub(AHEAD).and_then(|at| spares.get(at)) {
                crate::sys::prefetch_for_writing::<CallRecord>(ahead);
            }
            record
        })
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{OpDef, OpHandle};
    use std::sync::Arc;

    // The boxes are what is kept.
    #[allow(clippy::vec_box)]
    fn boxes(n: usize) -> Vec<Box<CallRecord>> {
        let op = OpHandle::from(Arc::new(OpDef::new("kept", "fn kept() {}", true, None, false)));
        (0..n).map(|_| Box::new(CallRecord::blank(op.clone()))).collect()
    }

    #[test]
    fn records_kept_on_their_thread_are_its_next_calls_boxes_within_a_bound() {
        // A thread of its own: its spares start empty, and the pool is not touched.
        std::thread::spawn(|| {
            let kept = boxes(MAX_THREAD_SPARES + 5);
            let addresses: Vec<*const CallRecord> = kept.iter().map(|b| &**b as *const CallRecord).collect();
            keep_records_here(kept);
            let held = THREAD_SPARES.with(|spares| spares.borrow().0.len());
            assert_eq!(held, MAX_THREAD_SPARES, "the rest were freed");
            // The last kept is taken first, then the ones before it.
            for expected in addresses[..MAX_THREAD_SPARES].iter().rev().take(3) {
                let taken = spare_record().expect("a kept box");
                assert_eq!(&*taken as *const CallRecord, *expected);
            }
        })
        .join()
        .unwrap();
    }
}
