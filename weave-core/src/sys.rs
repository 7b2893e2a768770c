//! The runtime's only `unsafe` code: two calls into the platform that have no safe form.
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
//!
//! Nothing here hands out a pointer or takes one: both functions are safe to call from
//! anywhere, any number of times, on any thread.

#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

/// The time-stamp counter.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` exists on every x86_64 CPU and has no preconditions.
    unsafe { std::arch::x86_64::_rdtsc() }
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
