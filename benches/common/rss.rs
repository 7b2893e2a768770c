//! The process's memory, read from `/proc/self/status` (Linux; 0 elsewhere): shared by the
//! benchmarks (`benches/peers.rs`, `benches/soak.rs`).

#![allow(dead_code)]

/// The peak resident set size (`VmHWM`), in KiB.
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// Starts a new peak for `peak_rss_kib` (Linux: `5` into `/proc/self/clear_refs` sets the
/// peak to the current RSS), so a measure's peak is not an earlier bench's.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The resident set size now (`VmRSS`), in KiB.
pub fn current_rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}
