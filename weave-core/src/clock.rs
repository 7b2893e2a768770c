//! The wall clock behind [`crate::time::Timestamp::now`]: one read of the CPU's time-stamp
//! counter per event where that counter is trustworthy, the system clock elsewhere.
//!
//! Every call reads the clock twice (start and end), and a system clock read through the
//! vDSO costs 20 to 30 ns on a virtual machine, a tenth of an op call. Where the CPU has an
//! invariant time-stamp counter (or the kernel itself keeps time with it), a thread reads
//! the system clock once as its anchor and then counts cycles from there: one `rdtsc`, a
//! multiplication and an addition. The cycle length is measured from the system clock
//! itself (between two anchors at least 10 ms apart, so there is no calibration loop at
//! start-up), and each thread takes a fresh anchor every 100 ms of counted time, so the
//! counter's error never adds up: the time given stays within microseconds of the system
//! clock, and follows it within 100 ms when it is stepped or when the counter stood still
//! (a suspended machine). Until the first measurement, and on other CPUs, the
//! system clock is read directly.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the unix epoch, now.
#[inline]
pub(crate) fn now_micros() -> i64 {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        tsc::now_nanos().div_euclid(1000)
    }
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    {
        system_nanos().div_euclid(1000)
    }
}

/// Nanoseconds since the unix epoch from the system clock (negative before it).
fn system_nanos() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod tsc {
    use super::system_nanos;
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

    /// How long a thread counts cycles from one anchor.
    const ANCHOR_NANOS: f64 = 1e8;
    /// The shortest span a cycle length is measured over.
    const MIN_MEASURE_NANOS: i64 = 10_000_000;
    /// A new measurement that differs from the last by more than this is not taken (the
    /// machine was suspended, or the clock was stepped, between the two anchors).
    const MAX_RATE_CHANGE: f64 = 0.05;

    const UNKNOWN: u8 = 0;
    const USABLE: u8 = 1;
    const UNUSABLE: u8 = 2;
    static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// Nanoseconds per cycle (an `f64`'s bits), 0 until measured.
    static NANOS_PER_CYCLE: AtomicU64 = AtomicU64::new(0);
    /// The same rate in fixed point (nanoseconds per cycle times 2^32), 0 until measured:
    /// the hot path converts with one integer multiply, not a chain of float operations
    /// (the conversion from `u64`, the multiply, the conversion back: a tenth of an op's
    /// `finish` in its profile).
    static NANOS_PER_CYCLE_Q32: AtomicU64 = AtomicU64::new(0);
    /// Cycles per anchor span, 0 until measured.
    static ANCHOR_CYCLES: AtomicU64 = AtomicU64::new(0);

    thread_local! {
        /// This thread's anchor: the counter and the system clock read together (0, 0:
        /// none yet).
        static ANCHOR: Cell<(u64, i64)> = const { Cell::new((0, 0)) };
    }

    use crate::sys::rdtsc;

    #[inline]
    pub(super) fn now_nanos() -> i64 {
        let cycles = rdtsc();
        let anchor_cycles = ANCHOR_CYCLES.load(Ordering::Relaxed);
        if anchor_cycles != 0 {
            if let Ok((at, at_nanos)) = ANCHOR.try_with(Cell::get) {
                let since = cycles.wrapping_sub(at);
                let rate_q32 = NANOS_PER_CYCLE_Q32.load(Ordering::Relaxed);
                if at != 0 && since < anchor_cycles && rate_q32 != 0 {
                    // `since` is under 100 ms of cycles, so `since * rate_q32` is under
                    // 1e8 * 2^32 (times 1.05, were the two statics a measurement apart).
                    return at_nanos.saturating_add((since.saturating_mul(rate_q32) >> 32) as i64);
                }
            }
        }
        slow(cycles)
    }

    /// Reads the system clock: the time to give, and a new anchor (and a measurement of
    /// the cycle length) when this thread's anchor is old enough.
    #[cold]
    #[inline(never)]
    fn slow(cycles: u64) -> i64 {
        let nanos = system_nanos();
        if !usable() {
            return nanos;
        }
        let _ = ANCHOR.try_with(|anchor| {
            let (at, at_nanos) = anchor.get();
            let elapsed = nanos.saturating_sub(at_nanos);
            if at != 0 && cycles > at && elapsed < MIN_MEASURE_NANOS {
                // Too soon to measure: keep counting from the old anchor.
                return;
            }
            if at != 0 && cycles > at && elapsed > 0 {
                measured(elapsed as f64 / (cycles - at) as f64);
            }
            anchor.set((cycles, nanos));
        });
        nanos
    }

    /// The last measurement of the cycle length (an `f64`'s bits), 0 until one is made: a
    /// measurement is used only when it agrees with the one before it.
    static LAST_MEASURED: AtomicU64 = AtomicU64::new(0);

    fn measured(rate: f64) {
        let previous = f64::from_bits(LAST_MEASURED.swap(rate.to_bits(), Ordering::Relaxed));
        if accepted(previous, rate) {
            NANOS_PER_CYCLE.store(rate.to_bits(), Ordering::Relaxed);
            NANOS_PER_CYCLE_Q32.store((rate * 4_294_967_296.0) as u64, Ordering::Relaxed);
            ANCHOR_CYCLES.store((ANCHOR_NANOS / rate) as u64, Ordering::Relaxed);
        }
    }

    /// Whether a measurement of the cycle length is used: it agrees with the measurement
    /// before it (`previous`, 0 for none). One measurement alone is never used, so a bad
    /// one (a preemption between the two clock reads of an anchor, a suspend, a clock
    /// step) cannot fix a wrong rate: the first pair of agreeing measurements sets the
    /// rate, and any later agreeing pair replaces it.
    fn accepted(previous: f64, rate: f64) -> bool {
        rate.is_finite()
            && rate > 0.0
            && previous.is_finite()
            && previous > 0.0
            && ((rate - previous) / previous).abs() <= MAX_RATE_CHANGE
    }

    /// True when the counter runs at a constant rate on every core: the CPU says its
    /// counter is invariant, or the kernel keeps time with it.
    fn usable() -> bool {
        match STATE.load(Ordering::Relaxed) {
            USABLE => true,
            UNUSABLE => false,
            _ => {
                let usable = invariant_tsc() || kernel_clocksource_is_tsc();
                STATE.store(if usable { USABLE } else { UNUSABLE }, Ordering::Relaxed);
                usable
            }
        }
    }

    fn invariant_tsc() -> bool {
        use std::arch::x86_64::__cpuid;
        // Leaf 0x80000007 is read only when the highest extended leaf says it exists.
        __cpuid(0x8000_0000).eax >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0
    }

    fn kernel_clocksource_is_tsc() -> bool {
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .is_ok_and(|source| source.trim() == "tsc")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn stays_close_to_the_system_clock_across_anchors() {
            // Long enough for a measurement and a re-anchor or two.
            let until = system_nanos() + 400_000_000;
            let mut worst = 0i64;
            let mut last = now_nanos();
            while system_nanos() < until {
                let before = system_nanos();
                let now = now_nanos();
                let after = system_nanos();
                // Within 1 ms of the system clock read around it.
                let off = if now < before {
                    before - now
                } else if now > after {
                    now - after
                } else {
                    0
                };
                worst = worst.max(off);
                assert!(now + 1_000_000 >= last, "time went back by more than 1 ms: {last} -> {now}");
                last = now;
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            assert!(worst < 1_000_000, "the counter drifted {worst} ns from the system clock");
        }

        #[test]
        fn a_bad_first_measurement_is_never_kept() {
            // A first measurement twice the real cycle length (preempted between its two
            // clock reads), then good ones: only the good pair is used.
            let samples = [0.8, 0.4, 0.401, 0.399];
            let mut used = None;
            let mut previous = 0.0;
            for rate in samples {
                if accepted(previous, rate) {
                    used = Some(rate);
                }
                previous = rate;
            }
            assert_eq!(used, Some(0.399));
            assert!(!accepted(0.0, 0.8) && !accepted(0.8, 0.4));
        }

        #[test]
        fn a_wild_measurement_is_not_taken() {
            assert!(!accepted(0.0, 0.4), "a first measurement alone is not used");
            assert!(accepted(0.4, 0.41));
            assert!(!accepted(0.4, 0.8), "a suspend or a clock step between anchors");
            assert!(!accepted(0.4, f64::NAN));
            assert!(!accepted(0.0, -1.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_the_system_time() {
        let before = system_nanos() / 1000;
        let now = now_micros();
        let after = system_nanos() / 1000;
        assert!(now + 1000 >= before && now <= after + 1000, "{before} <= {now} <= {after}");
    }
}
