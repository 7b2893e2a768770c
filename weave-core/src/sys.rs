//! The runtime's only `unsafe` code: calls into the platform that have no safe form.
//!
//! - [`rdtsc`]: the CPU's time-stamp counter (x86_64), read by the clock. The instruction
//!   exists on every x86_64 CPU and has no preconditions; `core::arch` marks it `unsafe`
//!   only because it is an intrinsic.
//! - [`evict_from_caches`] and [`prefetch_for_writing`]: the cache lines of a spare call
//!   record on their way back from the exporter's thread to an application thread
//!   (`_mm_clflush` and `_mm_prefetch`, x86_64; both in SSE2, which every x86_64 CPU has).
//!   Neither changes memory as the program sees it: a flush writes a line back and drops it
//!   from the caches, a prefetch only asks for it. `core::arch` marks them `unsafe` because
//!   they take a raw pointer; here the pointer comes from a reference, so it is valid.
//! - [`stack_return_addresses`]: a panicking op's stack, walked without the `backtrace`
//!   crate's global lock. That lock serializes the platform's unwinding API (dbghelp on
//!   Windows) and the crate's symbol cache; on unix the frames come from the system
//!   unwinder (`_Unwind_Backtrace`), which any number of threads may call at once (panics
//!   unwind through it concurrently), and walking the stack reads no symbol cache. Not
//!   taking the lock matters: the exporter's worker holds it while it looks symbols up
//!   (the first lookup reads the binary's debug information, a tenth of a second), and a
//!   panicking thread must not wait for that. Elsewhere the locked, safe walk is used.
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

/// Writes `value`'s cache lines back to memory and drops them from every core's caches.
///
/// The exporter's thread does this to a call record's box when it has written the call
/// and gives the box back: a line it read stays in its core's cache, and the application
/// thread that fills the box next would have to take each line back from that core (a
/// wait the thread's next atomic instruction makes in full; on a machine where the two
/// threads run on distant cores, two thirds of an op call). A line in no cache comes from
/// memory, and [`prefetch_for_writing`] asks for it early enough.
#[inline]
pub(crate) fn evict_from_caches<T: ?Sized>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    for line in lines(value) {
        // SAFETY: `clflush` (SSE2, on every x86_64 CPU) writes a line back if it is dirty
        // and drops it from the caches: memory's content, as any thread reads it, does not
        // change. The address is inside `value`, a live reference.
        unsafe { std::arch::x86_64::_mm_clflush(line.cast::<u8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Asks for `value`'s cache lines now, as the thread will write them soon.
///
/// LLVM emits `prefetchw` (the lines arrive owned) when the build targets a CPU that has it
/// (`-C target-cpu=native` on any x86_64 CPU of the last ten years) and `prefetcht0` (a
/// read) for the baseline x86_64 target. A line that no core holds (see
/// [`evict_from_caches`]) arrives owned either way, so the write that follows waits for
/// nothing.
#[inline]
pub(crate) fn prefetch_for_writing<T: ?Sized>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    for line in lines(value) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_ET0};
        // SAFETY: a prefetch reads and writes no memory and cannot fault; the address is
        // inside `value`, a live reference.
        unsafe { _mm_prefetch::<_MM_HINT_ET0>(line) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// An address in each 64-byte cache line of `value` (its first byte's, then every 64th).
#[cfg(target_arch = "x86_64")]
fn lines<T: ?Sized>(value: &T) -> impl Iterator<Item = *const i8> {
    let start = (value as *const T).cast::<i8>();
    (0..std::mem::size_of_val(value)).step_by(64).map(move |offset| start.wrapping_add(offset))
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
    fn flushing_and_prefetching_a_value_change_nothing_in_it() {
        let values: Vec<u64> = (0..100).collect();
        super::evict_from_caches(&values[..]);
        super::prefetch_for_writing(&values[3..]);
        super::evict_from_caches(&());
        super::prefetch_for_writing(&());
        assert_eq!(values, (0..100).collect::<Vec<u64>>());
    }
}
