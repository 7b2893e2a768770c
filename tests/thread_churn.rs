//! Thread churn: a program that makes one op call on each of many short-lived threads
//! keeps a bounded amount of memory (issue "Nothing lost without a word": 3.5 KB of RSS
//! were kept per thread before; each exited thread's ring stayed until the next sweep,
//! and its 63 unused spare records were freed instead of reused). Measured in a child
//! process, whose memory is its own.

mod support;

/// Threads that come and go before the first measure: the spare records, the allocator's
/// pools and the exporter's buffers reach their working size.
const WARM_UP_THREADS: usize = 1_000;
/// Threads that come and go between the two measures.
const THREADS: usize = 40_000;
/// What those may add, at most: 8 MiB, 210 bytes a thread. Measured: 1.5 to 4.1 MiB; with
/// each exited thread's ring freed by the next sweep and its spare records freed, 2.6 to
/// 12.9 MiB (the issue measured 3.5 KB a thread, growing, on an earlier design).
const MAX_GROWTH_BYTES: usize = 8 << 20;

#[weave::op]
fn one_call(i: usize) -> usize {
    i + 1
}

/// This process's resident memory, in bytes.
fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: usize = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kib * 1024
}

fn churn(threads: usize) {
    for i in 0..threads {
        let handle = std::thread::spawn(move || one_call(i));
        assert_eq!(handle.join().expect("the thread ends"), i + 1);
    }
}

#[test]
fn thread_churn_entry() {
    if support::scenario().as_deref() != Some("churn") {
        return;
    }
    // A sink that encodes each call and keeps nothing: what grows is what the threads left.
    let weave = weave::builder()
        .project("churn/tests")
        .sink(weave::export::DiscardSink::encoding("churn/tests"))
        .init()
        .expect("init");
    churn(WARM_UP_THREADS);
    weave::flush();
    let before = rss_bytes();
    churn(THREADS);
    weave::flush();
    let after = rss_bytes();
    let report = weave.finish();
    assert_eq!(report.written, (WARM_UP_THREADS + THREADS) as u64, "every call is written: {report:?}");
    println!("RSS_GROWTH_BYTES={}", after.saturating_sub(before));
}

#[test]
fn short_lived_threads_that_make_one_call_keep_bounded_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = support::run_scenario("thread_churn_entry", "churn", dir.path(), &[]);
    support::assert_exit_code(&output, 0, "the churn scenario");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let growth: usize = stdout
        .lines()
        .find_map(|line| line.split("RSS_GROWTH_BYTES=").nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RSS figure in the child's output:\n{stdout}"));
    assert!(
        growth <= MAX_GROWTH_BYTES,
        "{THREADS} more short-lived threads added {growth} bytes of RSS ({} a thread; at most {MAX_GROWTH_BYTES} bytes in all)",
        growth / THREADS
    );
}
