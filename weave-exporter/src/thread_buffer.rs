//! Per-thread hand-off buffers: finished calls are gathered in a small buffer owned by the
//! thread that made them and handed to the worker as one batch, so the application pays
//! one channel send (and one cross-core cache transfer) per batch instead of per call.
//!
//! Each buffer is a single-producer ring (`rtrb`): its thread writes into it with no lock
//! and no atomic read-modify-write; its reading end, behind a mutex, is taken by the
//! thread itself when the ring is full (once a batch) and by the sweeps. The worker takes a buffer's items when it sweeps (every
//! [`crate::ExporterConfig::max_batch_delay`], so a thread that makes a few calls and then
//! goes idle is not left holding them), and `flush` and `shutdown` sweep every buffer from
//! the calling thread before they send their marker, so "everything exported before the
//! flush" includes what threads still buffer. A thread that exits takes what its ring
//! holds, leaves it for the next sweep and frees its ring itself: freed by the sweeps,
//! the rings of threads that come and go piled up between two sweeps (a kilobyte each),
//! and the process kept that memory.

use crate::config::ExporterConfig;
use crate::item::estimated_bytes;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use weave_core::export::ExportItem;

/// Items a thread buffers at most, with a large enough queue.
pub(crate) const MAX_THREAD_BATCH: usize = 64;

/// Identifies the exporter a thread's buffer belongs to.
static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

/// The reading end of a thread's buffer, shared with the sweeps.
type Reader = Arc<Mutex<rtrb::Consumer<ExportItem>>>;

/// The buffers the sweeps take from.
#[derive(Default)]
struct Registry {
    /// The reading ends of the threads' rings.
    readers: Vec<Reader>,
    /// What threads that have exited (or now write to another exporter) left.
    left: Vec<Vec<ExportItem>>,
}

/// This thread's buffer, for the exporter `owner`: the writing end of a single-producer
/// ring (`rtrb`), whose reading end the thread takes when the ring is full and the sweeps
/// take now and then.
struct Slot {
    owner: u64,
    writer: rtrb::Producer<ExportItem>,
    reader: Reader,
    /// Where the ring is registered, to leave its items and unregister it at the end.
    registry: Weak<Mutex<Registry>>,
    /// Items and estimated bytes written since this thread last took the ring's items (a
    /// sweep may have taken some meanwhile: then the ring holds fewer).
    len: usize,
    bytes: usize,
}

thread_local! {
    static SLOT: RefCell<Option<Slot>> = const { RefCell::new(None) };
}

/// What became of a pushed item.
pub(crate) enum Pushed {
    /// It waits in this thread's buffer.
    Buffered,
    /// Items to hand off now: the buffer's content when it is full, or the item alone
    /// when this thread cannot buffer (buffers of one item, or a thread that is exiting).
    HandOff(Vec<ExportItem>),
}

/// The per-thread buffers of one exporter.
pub(crate) struct ThreadBuffers {
    owner: u64,
    capacity: usize,
    max_bytes: usize,
    registry: Arc<Mutex<Registry>>,
    /// Emptied hand-off vectors on their way back from the worker.
    give_back: Sender<Vec<ExportItem>>,
    spare: Receiver<Vec<ExportItem>>,
}

/// Emptied hand-off vectors kept for reuse, at most.
const SPARE_VECTORS: usize = 64;

impl ThreadBuffers {
    /// Buffers handed off at `capacity` items (at least 1; 1 hands every item off at once)
    /// or `max_bytes` estimated bytes.
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> ThreadBuffers {
        let (give_back, spare) = crossbeam_channel::bounded(SPARE_VECTORS);
        ThreadBuffers {
            owner: NEXT_OWNER.fetch_add(1, Ordering::Relaxed),
            capacity: capacity.max(1),
            max_bytes: max_bytes.max(1),
            registry: Arc::default(),
            give_back,
            spare,
        }
    }

    /// The buffers for an exporter's config: a buffer holds at most a 64th of the queue
    /// (so a full buffer never overflows a queue that has room for most of it, and tiny
    /// queues hand every item off at once), at most one batch, and at most
    /// [`MAX_THREAD_BATCH`] items.
    pub(crate) fn for_config(config: &ExporterConfig) -> ThreadBuffers {
        let by_queue = match config.max_queue_size {
            0 => MAX_THREAD_BATCH,
            n => n / MAX_THREAD_BATCH,
        };
        let capacity = by_queue.min(config.max_batch_items).clamp(1, MAX_THREAD_BATCH);
        ThreadBuffers::new(capacity, config.max_batch_bytes)
    }

    /// Adds `item` to this thread's buffer.
    pub(crate) fn push(&self, item: ExportItem) -> Pushed {
        if self.capacity == 1 {
            return Pushed::HandOff(vec![item]);
        }
        let bytes = estimated_bytes(&item);
        let mut item = Some(item);
        let pushed = SLOT
            .try_with(|slot| {
                let mut slot = slot.try_borrow_mut().ok()?;
                let slot = match &mut *slot {
                    Some(s) if s.owner == self.owner => s,
                    other => other.insert(self.register()),
                };
                let item = item.take()?;
                // An item that would take the buffer past one batch's bytes starts the next.
                let full = (slot.len > 0 && slot.bytes + bytes > self.max_bytes).then(|| self.take(slot));
                if let Err(rtrb::PushError::Full(item)) = slot.writer.push(item) {
                    // Not reached: the ring is taken whenever it holds `capacity` items.
                    let mut all = full.unwrap_or_default();
                    all.extend(self.take(slot));
                    all.push(item);
                    return Some(Pushed::HandOff(all));
                }
                slot.len += 1;
                slot.bytes += bytes;
                Some(match full {
                    Some(full) => Pushed::HandOff(full),
                    None if slot.len < self.capacity => Pushed::Buffered,
                    None => Pushed::HandOff(self.take(slot)),
                })
            })
            .ok()
            .flatten();
        // No buffer (the thread is exiting): the item goes alone.
        pushed.unwrap_or_else(|| Pushed::HandOff(item.into_iter().collect()))
    }

    /// Takes the items of this thread's ring.
    fn take(&self, slot: &mut Slot) -> Vec<ExportItem> {
        slot.len = 0;
        slot.bytes = 0;
        let mut items = self.spare();
        drain_into(&slot.reader, &mut items);
        items
    }

    /// An empty vector with room for a buffer's items: one the worker gave back, or a
    /// new one.
    fn spare(&self) -> Vec<ExportItem> {
        match self.spare.try_recv() {
            Ok(items) if items.is_empty() => items,
            _ => Vec::with_capacity(self.capacity),
        }
    }

    /// Gives back a vector that a buffer's items came in, emptied, for the next hand-off
    /// (so the application thread reuses warm memory and frees none of the worker's).
    pub(crate) fn recycle(&self, mut items: Vec<ExportItem>) {
        items.clear();
        if items.capacity() >= self.capacity {
            let _ = self.give_back.try_send(items);
        }
    }

    /// Takes what this thread buffers for this exporter.
    pub(crate) fn take_own(&self) -> Vec<ExportItem> {
        SLOT.try_with(|slot| {
            let mut slot = slot.try_borrow_mut().ok()?;
            let own = slot.as_mut().filter(|s| s.owner == self.owner)?;
            Some(self.take(own))
        })
        .ok()
        .flatten()
        .unwrap_or_default()
    }

    /// Takes what every thread buffers, handing each non-empty buffer's items to `out`, and
    /// forgets the buffers of threads that are gone (or now write to another exporter).
    pub(crate) fn sweep(&self, mut out: impl FnMut(Vec<ExportItem>)) {
        let (readers, left) = {
            let Some(mut registry) = self.registry.try_lock_for(LOCK_WAIT) else { return };
            // A buffer whose writer is gone gets no new items: after this sweep empties
            // it, it is done (a thread that exits unregisters its own; this is for one
            // whose lock could not be taken then).
            let all = registry.readers.clone();
            registry
                .readers
                .retain(|reader| reader.try_lock_for(LOCK_WAIT).is_none_or(|reader| !reader.is_abandoned()));
            (all, std::mem::take(&mut registry.left))
        };
        for items in left {
            out(items);
        }
        for reader in readers {
            // Swept buffers are mostly idle: no room is kept for them.
            let mut items = Vec::new();
            drain_into(&reader, &mut items);
            if !items.is_empty() {
                out(items);
            }
        }
    }

    fn register(&self) -> Slot {
        let (writer, reader) = rtrb::RingBuffer::new(self.capacity);
        let reader = Arc::new(Mutex::new(reader));
        self.registry.lock().readers.push(Arc::clone(&reader));
        Slot { owner: self.owner, writer, reader, registry: Arc::downgrade(&self.registry), len: 0, bytes: 0 }
    }
}

impl Drop for Slot {
    /// The thread is exiting (or now writes to another exporter): what its ring holds is
    /// left for the next sweep, and the ring is unregistered, so it is freed now, on this
    /// thread. Nothing waits without a bound: a lock that cannot be taken leaves the ring
    /// to the sweeps, as a ring whose writer is gone.
    fn drop(&mut self) {
        let Some(registry) = self.registry.upgrade() else { return };
        let mut items = Vec::new();
        drain_into(&self.reader, &mut items);
        let Some(mut registry) = registry.try_lock_for(LOCK_WAIT) else { return };
        registry.readers.retain(|reader| !Arc::ptr_eq(reader, &self.reader));
        if !items.is_empty() {
            registry.left.push(items);
        }
    }
}

/// How long a thread waits for a ring's reading end (held for a few microseconds at a
/// time): only a lock that will never be released (a forked child, whose parent's thread
/// held it at the fork) makes it wait that long, and then the ring is left as it is.
const LOCK_WAIT: Duration = Duration::from_millis(100);

/// Moves every item of a ring into `items` (none when its reading end cannot be taken).
fn drain_into(reader: &Mutex<rtrb::Consumer<ExportItem>>, items: &mut Vec<ExportItem>) {
    let Some(mut reader) = reader.try_lock_for(LOCK_WAIT) else { return };
    let n = reader.slots();
    if let Ok(chunk) = reader.read_chunk(n) {
        items.extend(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::test_item as item;

    #[test]
    fn capacity_follows_the_queue_bound_and_the_batch_size() {
        let capacity = |max_queue_size, max_batch_items| {
            let config = ExporterConfig { max_queue_size, max_batch_items, ..ExporterConfig::default() };
            ThreadBuffers::for_config(&config).capacity
        };
        assert_eq!(capacity(0, 1000), MAX_THREAD_BATCH);
        assert_eq!(capacity(100_000, 1000), MAX_THREAD_BATCH);
        assert_eq!(capacity(1000, 1000), 15);
        assert_eq!(capacity(5, 1000), 1);
        assert_eq!(capacity(100_000, 10), 10);
    }

    #[test]
    fn a_buffer_is_handed_off_at_the_byte_limit() {
        let one = estimated_bytes(&item());
        let buffers = ThreadBuffers::new(64, 2 * one + one / 2);
        assert!(matches!(buffers.push(item()), Pushed::Buffered));
        assert!(matches!(buffers.push(item()), Pushed::Buffered));
        match buffers.push(item()) {
            Pushed::HandOff(batch) => assert_eq!(batch.len(), 2, "the third item starts the next buffer"),
            _ => panic!("expected the byte limit to hand the buffer off"),
        }
        assert_eq!(buffers.take_own().len(), 1);
    }

    #[test]
    fn a_full_buffer_is_handed_off_and_a_sweep_takes_the_rest() {
        let buffers = ThreadBuffers::new(3, usize::MAX);
        assert!(matches!(buffers.push(item()), Pushed::Buffered));
        assert!(matches!(buffers.push(item()), Pushed::Buffered));
        match buffers.push(item()) {
            Pushed::HandOff(batch) => assert_eq!(batch.len(), 3),
            _ => panic!("expected a full buffer"),
        }
        assert!(matches!(buffers.push(item()), Pushed::Buffered));
        let mut swept = Vec::new();
        buffers.sweep(|items| swept.push(items.len()));
        assert_eq!(swept, vec![1]);
        assert!(buffers.take_own().is_empty());
    }

    #[test]
    fn a_thread_that_exits_leaves_its_items_for_the_next_sweep() {
        let buffers = Arc::new(ThreadBuffers::new(8, usize::MAX));
        let shared = Arc::clone(&buffers);
        std::thread::spawn(move || {
            for _ in 0..5 {
                assert!(matches!(shared.push(item()), Pushed::Buffered));
            }
        })
        .join()
        .expect("thread");
        let mut swept = 0;
        buffers.sweep(|items| swept += items.len());
        assert_eq!(swept, 5);
        buffers.sweep(|_| {});
        assert!(buffers.registry.lock().readers.is_empty(), "the exited thread's buffer is forgotten");
    }

    #[test]
    fn switching_exporters_leaves_the_old_buffer_to_its_exporter() {
        let first = ThreadBuffers::new(8, usize::MAX);
        let second = ThreadBuffers::new(8, usize::MAX);
        assert!(matches!(first.push(item()), Pushed::Buffered));
        assert!(matches!(second.push(item()), Pushed::Buffered));
        assert!(first.take_own().is_empty(), "this thread now buffers for the second exporter");
        let mut swept = 0;
        first.sweep(|items| swept += items.len());
        assert_eq!(swept, 1);
        assert_eq!(second.take_own().len(), 1);
    }
}
