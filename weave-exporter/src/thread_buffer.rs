//! Per-thread hand-off buffers: finished calls are gathered in a small buffer owned by the
//! thread that made them and handed to the worker as one batch, so the application pays
//! one channel send (and one cross-core cache transfer) per batch instead of per call.
//!
//! Each buffer sits behind its own [`BiasedLock`], which its thread takes on the hot path
//! with plain stores (no atomic read-modify-write; others pay with a `membarrier`). The
//! worker takes a buffer's items when it sweeps (every
//! [`crate::ExporterConfig::max_batch_delay`], so a thread that makes a few calls and then
//! goes idle is not left holding them), and `flush` and `shutdown` sweep every buffer from
//! the calling thread before they send their marker, so "everything exported before the
//! flush" includes what threads still buffer. A thread that exits marks its buffer
//! orphaned; the next sweep takes what is left and forgets the buffer.

use crate::config::ExporterConfig;
use crate::item::{estimated_bytes, estimated_call_bytes};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use weave_core::export::{ExportItem, FinishedCall};
use weave_core::sync::BiasedLock;

/// Items a thread buffers at most, with a large enough queue.
pub(crate) const MAX_THREAD_BATCH: usize = 64;

/// Identifies the exporter a thread's buffer belongs to.
static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

struct ThreadBuffer {
    /// Taken as owner only by the thread that registered the buffer (it is reached
    /// through that thread's `SLOT`); by others (sweeps) with `lock`.
    items: BiasedLock<Items>,
    /// Set when the owning thread no longer uses this buffer (it exited, or it now exports
    /// to another exporter): the buffer is forgotten once a sweep has emptied it.
    orphaned: AtomicBool,
}

/// A buffer's items and their estimated size.
#[derive(Default)]
struct Items {
    items: Vec<ExportItem>,
    bytes: usize,
}

impl Items {
    /// Takes the items, leaving `empty` in their place.
    fn take(&mut self, empty: Vec<ExportItem>) -> Vec<ExportItem> {
        self.bytes = 0;
        std::mem::replace(&mut self.items, empty)
    }
}

/// This thread's buffer, for the exporter `owner`.
struct Slot {
    owner: u64,
    buffer: Arc<ThreadBuffer>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.buffer.orphaned.store(true, Ordering::Release);
    }
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

/// Asks for the memory the next item will be copied into, now, for writing.
///
/// The buffer's memory was last read by the worker, on the other core: copying a record
/// into it first takes each cache line back, and the next atomic instruction on this
/// thread waits until all of them are back. Asked for one call ahead, the lines arrive
/// while that call runs. Where the CPU has `prefetchw` (CPUID `PRFCHW`, checked once),
/// the lines are asked for with the intent to write, so they arrive exclusive, with the
/// other core's copies already invalidated; elsewhere a read prefetch (`prefetcht0`)
/// brings them close, and the write still has to claim them.
#[inline]
fn prefetch_next_slot(items: &Vec<ExportItem>) {
    #[cfg(target_arch = "x86_64")]
    if items.len() < items.capacity() {
        let next = items.as_ptr().wrapping_add(items.len()).cast::<i8>();
        let for_writing = has_prefetchw();
        for line in (0..std::mem::size_of::<ExportItem>()).step_by(64) {
            let at = next.wrapping_add(line);
            if for_writing {
                // SAFETY: `prefetchw` exists on this CPU (checked by `has_prefetchw`); a
                // prefetch only hints the cache, reads and writes nothing, and cannot
                // fault; the address is inside the vector's allocation (`len < capacity`).
                unsafe { std::arch::asm!("prefetchw [{0}]", in(reg) at, options(nostack, preserves_flags, readonly)) };
            } else {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                // SAFETY: as above; `prefetcht0` exists on every x86_64 CPU.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(at) };
            }
        }
    }
}

/// True when the CPU has `prefetchw` (CPUID leaf 0x8000_0001, ECX bit 8), read once.
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_prefetchw() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| {
        // SAFETY: `cpuid` exists on every x86_64 CPU; leaf 0x8000_0001 is read only when
        // the highest extended leaf says it exists.
        #[allow(unused_unsafe)]
        unsafe {
            use std::arch::x86_64::__cpuid;
            __cpuid(0x8000_0000).eax >= 0x8000_0001 && __cpuid(0x8000_0001).ecx & (1 << 8) != 0
        }
    })
}

/// The per-thread buffers of one exporter.
pub(crate) struct ThreadBuffers {
    owner: u64,
    capacity: usize,
    max_bytes: usize,
    registry: Mutex<Vec<Arc<ThreadBuffer>>>,
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
            registry: Mutex::new(Vec::new()),
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
        let bytes = estimated_bytes(&item);
        let mut item = Some(item);
        self.push_with(bytes, |slot| match item.take() {
            Some(item) => {
                slot.write(item);
                true
            }
            None => false,
        })
        .unwrap_or_else(|| Pushed::HandOff(item.into_iter().collect()))
    }

    /// Adds a finished call to this thread's buffer, moving it straight into its slot.
    pub(crate) fn push_finished(&self, call: &mut FinishedCall<'_>) -> Pushed {
        let bytes = call.parts().map_or(0, |(start, end)| estimated_call_bytes(start, end));
        self.push_with(bytes, |slot| call.write_to(slot))
            .unwrap_or_else(|| Pushed::HandOff(call.take().into_iter().collect()))
    }

    /// Adds the item that `write` writes into the buffer's next slot (returning whether it
    /// wrote one), of `bytes` estimated bytes. `None`, with `write` not called, when this
    /// thread has no buffer (the buffers hold one item, or the thread is being torn down).
    ///
    /// The buffer is looked up first and the item written once, into its slot: items are
    /// a few hundred bytes, and every move on the way is a copy. Its size is estimated
    /// before, from where the item was: read back from the slot just written, it waited
    /// for the copy's stores, whose lines come back from the worker's core (a tenth of the
    /// application thread's time in an op call).
    #[inline]
    fn push_with(&self, bytes: usize, write: impl FnOnce(&mut MaybeUninit<ExportItem>) -> bool) -> Option<Pushed> {
        let buffer = (self.capacity > 1).then(|| self.this_thread()).flatten()?;
        // SAFETY: see `this_thread`; nothing below changes this thread's slot.
        let buffer = unsafe { buffer.as_ref() };
        // SAFETY: this buffer was registered by this thread (`this_thread`), and only its
        // registering thread takes it as owner.
        let mut items = unsafe { buffer.items.lock_as_owner() };
        let items = &mut *items;
        items.items.reserve(1);
        let len = items.items.len();
        let Some(slot) = items.items.spare_capacity_mut().first_mut() else { return Some(Pushed::Buffered) };
        if !write(slot) {
            return Some(Pushed::Buffered);
        }
        // An item that would take the buffer past one batch's bytes starts the next.
        let pushed = if len > 0 && items.bytes + bytes > self.max_bytes {
            // SAFETY: the slot was written (above) and is not counted in the length, so
            // this read is its only owner.
            let item = unsafe { slot.assume_init_read() };
            let full = items.take(self.spare());
            items.bytes = bytes;
            items.items.push(item);
            Pushed::HandOff(full)
        } else {
            // SAFETY: the slot at `len` (within the capacity reserved above) was written.
            unsafe { items.items.set_len(len + 1) };
            items.bytes += bytes;
            if items.items.len() < self.capacity {
                Pushed::Buffered
            } else {
                Pushed::HandOff(items.take(self.spare()))
            }
        };
        prefetch_next_slot(&items.items);
        Some(pushed)
    }

    /// This thread's buffer for this exporter (registered on first use); `None` while the
    /// thread exits.
    ///
    /// A pointer rather than a counted reference (two atomic operations a call): it stays
    /// valid until this thread's slot changes, and only this function (called for another
    /// exporter) or the slot's destruction at thread exit changes it, so the caller may use
    /// it until it next calls into the buffers.
    fn this_thread(&self) -> Option<NonNull<ThreadBuffer>> {
        SLOT.try_with(|slot| {
            let mut slot = slot.try_borrow_mut().ok()?;
            match &*slot {
                Some(s) if s.owner == self.owner => Some(NonNull::from(&*s.buffer)),
                _ => {
                    let fresh = self.register();
                    let buffer = NonNull::from(&*fresh.buffer);
                    *slot = Some(fresh);
                    Some(buffer)
                }
            }
        })
        .ok()
        .flatten()
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
            let slot = slot.try_borrow().ok()?;
            let own = slot.as_ref().filter(|s| s.owner == self.owner)?;
            // SAFETY: `SLOT` is this thread's: it registered this buffer.
            let items = unsafe { own.buffer.items.lock_as_owner() }.take(Vec::new());
            Some(items)
        })
        .ok()
        .flatten()
        .unwrap_or_default()
    }

    /// Takes what every thread buffers, handing each non-empty buffer's items to `out`, and
    /// forgets the buffers of threads that are gone.
    pub(crate) fn sweep(&self, mut out: impl FnMut(Vec<ExportItem>)) {
        let buffers: Vec<Arc<ThreadBuffer>> = {
            let mut registry = self.registry.lock();
            // An orphaned buffer gets no new items: after this sweep empties it, it is done.
            let all = registry.clone();
            registry.retain(|b| !b.orphaned.load(Ordering::Acquire));
            all
        };
        for buffer in buffers {
            // Swept buffers are mostly idle: no room is kept for them.
            let items = buffer.items.lock().take(Vec::new());
            if !items.is_empty() {
                out(items);
            }
        }
    }

    fn register(&self) -> Slot {
        let buffer = Arc::new(ThreadBuffer {
            items: BiasedLock::new(Items { items: Vec::with_capacity(self.capacity), bytes: 0 }),
            orphaned: AtomicBool::new(false),
        });
        self.registry.lock().push(Arc::clone(&buffer));
        Slot { owner: self.owner, buffer }
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
        assert!(buffers.registry.lock().is_empty(), "the exited thread's buffer is forgotten");
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
