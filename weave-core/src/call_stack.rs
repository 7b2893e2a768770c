//! Each thread's stack of running sync calls.
//!
//! A sync op's call starts and ends on one thread, innermost first, so its state lives in
//! a frame of its thread's stack rather than in an allocation of its own: starting a call
//! pushes a frame, ending it pops the frame (rolling its summary into the parent's frame
//! below it, when the parent is on the same stack). The stack is behind a spin lock that
//! its own thread takes twice a call, uncontended (one atomic exchange each; releasing it
//! is a plain store, where a parking mutex makes a second atomic operation); other threads
//! take it only to reach a call they hold a handle on ([`crate::node::CallNode`]: a child
//! on another thread rolling its summary up, `current_call()` setting a name) and at
//! shutdown, to write the calls still running as unfinished. Every thread's stack is
//! listed here for that shutdown. No one holds it for more than a few hundred
//! instructions, and nothing that may block runs under it (no user code, no I/O). So a
//! stack that stays locked for [`STUCK_WAIT`] was locked by a thread that will never
//! release it (in a forked child, a thread of the parent held it at the fork): the
//! thread's calls are then run unrecorded, with a warning, rather than spinning forever.

use crate::call::{CallRecord, CallStart};
use crate::ids::Id;
use crate::json::JsonObject;
use crate::summary::Summary;
use parking_lot::Mutex;
use spin::mutex::{SpinMutex, SpinMutexGuard};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// What a running call gathers besides its start: its children's summaries, and what the
/// code inside it set (a display name, summary keys).
#[derive(Default)]
pub(crate) struct NodeState {
    pub(crate) children: Option<Summary>,
    pub(crate) display_name: Option<String>,
    pub(crate) user_summary: Option<JsonObject>,
}

impl NodeState {
    /// Adds a child's summary to this call's.
    pub(crate) fn add_child(&mut self, child: &Summary) {
        self.children.get_or_insert_with(Summary::default).add_child(child);
    }
}

/// What a call gathers while it runs, boxed when it first gathers anything (most calls
/// never do).
pub(crate) type Gathered = Option<Box<NodeState>>;

/// A call held by handle that a sync call's summary rolls up into when the call ends: a
/// `CallNode` (`node.rs`), which reaches the frames of sync calls through this module, so
/// the frames know it by this trait (called on that rare roll-up only).
pub(crate) trait SharedParent: Send + Sync {
    /// Adds a child's summary to the call's.
    fn add_child_summary(&self, child: &Summary);
}

/// One running sync call. Small (five words), as it is moved onto the stack on every
/// call: what only some calls have (children, a name set while running) is boxed when
/// it is first set.
pub(crate) struct Frame {
    /// The call's record: its start, and its end once it ends.
    pub(crate) record: Box<CallRecord>,
    /// What the call gathered while it ran, once it gathers anything.
    pub(crate) state: Gathered,
    /// Whose call it is (`Client::key`): the guard holds the client itself.
    pub(crate) client_key: usize,
    /// The parent when it is held by handle (an async or manual call, or a sync call of
    /// another thread); otherwise the parent, if any (`record.start.parent_id`), is a frame
    /// below this one on the same stack.
    pub(crate) shared_parent: Option<Arc<dyn SharedParent>>,
}

impl Frame {
    /// What the call gathers while it runs, made on first use.
    pub(crate) fn state_mut(&mut self) -> &mut NodeState {
        self.state.get_or_insert_default()
    }
}

/// A thread's stack of running sync calls.
pub(crate) struct ThreadCalls {
    frames: SpinMutex<Vec<Frame>>,
    /// Set when the stack stayed locked for [`STUCK_WAIT`]: its lock is then tried, not
    /// waited for (and the warning was given).
    stuck: AtomicBool,
}

/// How long a thread waits for a stack another thread holds before it takes the stack as
/// locked for good (see the module's docs).
const STUCK_WAIT: Duration = if cfg!(test) { Duration::from_millis(50) } else { Duration::from_secs(1) };

/// Every thread's stack, so that a shutdown reaches the calls running on other threads
/// (and those of a thread whose locals were destroyed while calls were open on it: a
/// thread calling `std::process::exit`). A stack is forgotten once its thread is gone and
/// it is empty.
static THREADS: Mutex<Vec<Arc<ThreadCalls>>> = Mutex::new(Vec::new());

thread_local! {
    static THIS_THREAD: Arc<ThreadCalls> = {
        let stack = Arc::new(ThreadCalls { frames: SpinMutex::new(Vec::new()), stuck: AtomicBool::new(false) });
        // Waited for at most `LOCK_WAIT`: in a forked child, a thread of the parent may have
        // held the list at the fork. The stack then works unlisted (in that child, whose
        // calls are not exported, a shutdown does not reach its running calls).
        if let Some(mut threads) = THREADS.try_lock_for(LOCK_WAIT) {
            threads.retain(|s| Arc::strong_count(s) > 1 || s.frames.try_lock().is_none_or(|frames| !frames.is_empty()));
            threads.push(Arc::clone(&stack));
        }
        stack
    };
}

/// Pushes the frame of a call starting on this thread. False when the thread's locals are
/// gone (the thread is exiting), or its stack is locked for good (see the module's docs):
/// the caller then runs the call unrecorded.
///
/// Out of line, with the frame's parts as arguments (in registers): a whole `Frame`
/// passed down through the thread-local's closure was written word by word and read back
/// sixteen bytes at a time, each read waiting for the writes to land (a tenth of a call).
#[inline(never)]
pub(crate) fn push(record: Box<CallRecord>, client_key: usize, shared_parent: Option<Arc<dyn SharedParent>>) -> bool {
    THIS_THREAD
        .try_with(|stack| {
            let Some(mut frames) = stack.lock() else { return false };
            frames.push(Frame { record, state: None, client_key, shared_parent });
            true
        })
        .unwrap_or(false)
}

/// A sync call taken off its thread's stack, ended.
pub(crate) struct Popped {
    pub(crate) record: Box<CallRecord>,
    /// The parent held by handle, for the caller to roll the summary into.
    pub(crate) shared_parent: Option<Arc<dyn SharedParent>>,
}

/// Pops the frame of call `id` from this thread's stack (the top one, but for guards
/// dropped out of order), ends its record with `end`, and rolls the record's summary into
/// the parent's frame when that is on this stack.
pub(crate) fn pop(id: &Id, end: impl FnOnce(&mut CallRecord, Gathered)) -> Option<Popped> {
    THIS_THREAD
        .try_with(|stack| {
            let mut frames = stack.lock()?;
            let at = position(&frames, id)?;
            let Frame { mut record, state, shared_parent, .. } = frames.remove(at);
            end(&mut record, state);
            if let (None, Some(parent), Some(end)) = (&shared_parent, &record.start.parent_id, &record.end) {
                if let Some(at) = position(&frames, parent) {
                    frames[at].state_mut().add_child(&end.summary);
                }
            }
            Some(Popped { record, shared_parent })
        })
        .ok()
        .flatten()
}

/// Where the frame of call `id` is on a stack (searched from the top, where it usually is).
fn position(frames: &[Frame], id: &Id) -> Option<usize> {
    frames.iter().rposition(|frame| frame.record.start.id == *id)
}

/// This thread's stack, to reach its frames from a handle.
pub(crate) fn this_thread() -> Option<Weak<ThreadCalls>> {
    THIS_THREAD.try_with(Arc::downgrade).ok()
}

impl ThreadCalls {
    /// `f` of the frame of call `id`, if it is still running.
    pub(crate) fn with_frame<R>(&self, id: &Id, f: impl FnOnce(&mut Frame) -> R) -> Option<R> {
        let mut frames = self.lock()?;
        position(&frames, id).map(|at| f(&mut frames[at]))
    }

    /// The frames, locked; `None` when another thread holds them for good.
    #[inline]
    fn lock(&self) -> Option<SpinMutexGuard<'_, Vec<Frame>>> {
        self.frames.try_lock().or_else(|| self.lock_held())
    }

    /// The frames, once the thread that holds them lets go (within [`STUCK_WAIT`]; not
    /// waited for again once that ran out, only tried).
    #[cold]
    #[inline(never)]
    fn lock_held(&self) -> Option<SpinMutexGuard<'_, Vec<Frame>>> {
        if self.stuck.load(Ordering::Relaxed) {
            let frames = self.frames.try_lock();
            if frames.is_some() {
                self.stuck.store(false, Ordering::Relaxed);
            }
            return frames;
        }
        let frames = lock_within(&self.frames, STUCK_WAIT);
        if frames.is_none() && !self.stuck.swap(true, Ordering::Relaxed) {
            crate::warn!(
                "weave: a thread's call stack stayed locked for {} ms (in a forked child, by a thread of its \
                 parent that held it at the fork); calls on that thread are not recorded while it stays locked",
                STUCK_WAIT.as_millis()
            );
        }
        frames
    }
}

/// `f` of the frame of call `id` on this thread's stack.
pub(crate) fn with_local_frame<R>(id: &Id, f: impl FnOnce(&mut Frame) -> R) -> Option<R> {
    THIS_THREAD.try_with(|stack| stack.with_frame(id, f)).ok().flatten()
}

/// How long a shutdown waits for a thread's stack, and a new thread or a shutdown for the
/// list of stacks (each held for a few microseconds at a time): only a lock that will
/// never be released (a forked child, whose parent's thread held it at the fork) makes it
/// wait that long, and that stack is then skipped (or the new one left unlisted).
const LOCK_WAIT: Duration = Duration::from_millis(100);

/// The starts of the calls of the client of key `client_key` (`Client::key`) running on
/// any thread.
pub(crate) fn running_starts(client_key: usize) -> Vec<CallStart> {
    let Some(stacks) = THREADS.try_lock_for(LOCK_WAIT).map(|threads| threads.clone()) else {
        return Vec::new();
    };
    let mut starts = Vec::new();
    for stack in stacks {
        let Some(frames) = lock_within(&stack.frames, LOCK_WAIT) else { continue };
        starts.extend(frames.iter().filter(|f| f.client_key == client_key).map(|f| f.record.start.clone()));
    }
    starts
}

/// `lock`'s guard, if it is free within `wait` (it is taken for microseconds at a time, so
/// only a lock that will never be released waits that long).
fn lock_within<T>(lock: &SpinMutex<T>, wait: Duration) -> Option<SpinMutexGuard<'_, T>> {
    let deadline = Instant::now() + wait;
    loop {
        if let Some(guard) = lock.try_lock() {
            return Some(guard);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{OpDef, OpHandle};
    use std::sync::mpsc;

    fn record(id: u128) -> Box<CallRecord> {
        let op = OpHandle::from(Arc::new(OpDef::new("held", "fn held() {}", true, None, false)));
        let mut record = Box::new(CallRecord::blank(op));
        record.start.id = Id::from_u128(id);
        record
    }

    #[test]
    fn a_stack_another_thread_keeps_locked_runs_its_calls_unrecorded_instead_of_spinning() {
        // A thread of its own, with a stack of its own.
        std::thread::spawn(|| {
            assert!(push(record(1), 1, None), "a free stack");
            let stack = this_thread().and_then(|s| s.upgrade()).expect("this thread's stack");
            // Another thread locks it and lets go only when told (a thread of a forked
            // child's parent never does).
            let (locked_tx, locked_rx) = mpsc::channel();
            let (release_tx, release_rx) = mpsc::channel::<()>();
            let holder = std::thread::spawn(move || {
                let frames = stack.frames.lock();
                locked_tx.send(()).unwrap();
                let _ = release_rx.recv();
                drop(frames);
            });
            locked_rx.recv().unwrap();
            assert!(!push(record(2), 1, None), "not recorded, once the wait ran out");
            assert!(!push(record(3), 1, None), "tried, not waited for");
            assert!(pop(&Id::from_u128(1), |_, _| {}).is_none(), "the frame is out of reach");
            release_tx.send(()).unwrap();
            holder.join().unwrap();
            // Let go: the stack is used again, with the frame pushed before.
            assert!(push(record(4), 1, None));
            assert!(pop(&Id::from_u128(4), |_, _| {}).is_some());
            assert!(pop(&Id::from_u128(1), |_, _| {}).is_some());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_new_thread_records_its_calls_while_the_list_of_stacks_stays_locked() {
        // Held as a thread of a forked child's parent may hold it at the fork: for good.
        let threads = THREADS.lock();
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let pushed = push(record(5), 1, None);
            let popped = pop(&Id::from_u128(5), |_, _| {}).is_some();
            let _ = done_tx.send((pushed, popped));
        });
        let done = done_rx.recv_timeout(Duration::from_secs(10));
        drop(threads);
        assert_eq!(done, Ok((true, true)), "the new thread's call, pushed and popped");
    }
}
