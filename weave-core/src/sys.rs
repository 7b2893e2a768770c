//! The runtime's only `unsafe` code: three calls into the platform that have no safe form.
//!
//! - [`rdtsc`]: the CPU's time-stamp counter (x86_64), read by the clock. The instruction
//!   exists on every x86_64 CPU and has no preconditions; `core::arch` marks it `unsafe`
//!   only because it is an intrinsic.
//! - [`stack_return_addresses`]: a panicking op's stack, walked without the `backtrace`
//!   crate's global lock. That lock serializes the platform's unwinding API (dbghelp on
//!   Windows) and the crate's symbol cache; on unix the frames come from the system
//!   unwinder (`_Unwind_Backtrace`), which any number of threads may call at once (panics
//!   unwind through it concurrently), and walking the stack reads no symbol cache. Not
//!   taking the lock matters: the exporter's worker holds it while it looks symbols up
//!   (the first lookup reads the binary's debug information, a tenth of a second), and a
//!   panicking thread must not wait for that. Elsewhere the locked, safe walk is used.
//! - [`prefetch_for_writing`]: asks the CPU for the cache lines of a value the thread is
//!   about to write (`_mm_prefetch` with `_MM_HINT_ET0`, x86_64). A prefetch is a hint: it
//!   reads and writes nothing, cannot fault, and changes no result; `core::arch` marks it
//!   `unsafe` only because it takes a raw pointer. The pointer comes from a reference here.
//!
//! Nothing here hands out a pointer: the functions are safe to call from anywhere, any
//! number of times, on any thread.

#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

/// The time-stamp counter.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` exists on every x86_64 CPU and has no preconditions.
    unsafe { std::arch::x86_64::_rdtsc() }
}

/// Asks for the cache lines of `value` now, for writing them soon.
///
/// A spare call record's box was last read by the exporter's thread, on another core:
/// each of its lines must come back before this thread's writes to it land, and the
/// thread's next atomic instruction waits until they have. On a machine where the two
/// threads run on distant cores (another core complex or socket) that wait was about two
/// thirds of an op call. Asked for one call ahead, the lines arrive while that call runs.
///
/// LLVM emits `prefetchw` (the lines arrive owned, the other core's copies already
/// invalidated) when the build targets a CPU that has it (`-C target-cpu=native` on any
/// x86_64 CPU of the last ten years); for the baseline x86_64 target, which does not
/// promise it, LLVM emits a read prefetch (`prefetcht0`), harmless but of no help here.
/// Stable Rust has no other way to ask for a write prefetch than inline assembly.
#[inline]
pub(crate) fn prefetch_for_writing<T: ?Sized>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_ET0};
        let start = (value as *const T).cast::<i8>();
        for offset in (0..std::mem::size_of_val(value)).step_by(64) {
            // SAFETY: a prefetch reads and writes no memory and cannot fault, whatever the
            // address; this one is inside `value`, a live reference. `prefetchw` and
            // `prefetcht0` are the only instructions LLVM emits for it on x86_64, where
            // SSE (which has `prefetcht0`) is always present.
            unsafe { _mm_prefetch::<_MM_HINT_ET0>(start.wrapping_add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// This thread's stack's return addresses, newest first, at most `max`.
#[inline(never)]
pub(crate) fn stack_return_addresses(max: usize) -> Vec<usize> {
    let mut addresses = Vec::with_capacity(max.min(64));
    let mut keep = |frame: &backtrace::Frame| {
        addresses.push(frame.ip() as usize);
        addresses.len() < max
    };
    #[cfg(unix)]
    // SAFETY: on unix the walk calls the system unwinder, which is thread-safe, and reads
    // no symbol cache (see the module's docs): nothing the crate's lock guards is touched.
    unsafe {
        backtrace::trace_unsynchronized(&mut keep)
    };
    #[cfg(not(unix))]
    backtrace::trace(&mut keep);
    addresses
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefetching_a_value_changes_nothing_in_it() {
        let values = vec![7u64; 100];
        super::prefetch_for_writing(&values[..3]);
        super::prefetch_for_writing(&[0u8; 1000]);
        super::prefetch_for_writing(&());
        assert!(values.iter().all(|v| *v == 7));
    }
}
