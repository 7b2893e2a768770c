//! `cargo bench --bench soak`: a few minutes of overflow, for the exporter's accounting and
//! memory (issue 18). Not run in CI.
//!
//! Two threads make op calls as fast as they can for `WEAVE_SOAK_SECONDS` (default 120)
//! into a queue of 1,000 in front of a slow sink (2 ms a batch), with the fallback file
//! rotated at `WEAVE_SOAK_FALLBACK_MIB` (default 64 MiB, so the four files stay under
//! 256 MiB of disk). Every 10 s it prints
//!
//! ```text
//! MEASURE soak t=<s> made=.. written=.. dropped=.. failed=.. lost=.. rotated_out=.. in_files=.. pending=.. rss_mib=..
//! ```
//!
//! (`in_files` read from the files while they are written: approximate until the end), and
//! at the end the shutdown's report checked against the files: `made == written +
//! in_files + lost` (`MEASURE soak_invariant ... holds=true`; the bench panics if not).

#[path = "../weave-exporter/tests/accounting/mod.rs"]
mod accounting;
#[path = "common/rss.rs"]
mod rss;

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weave::export::{ExportItem, ExporterConfig, FlushReport, QueueExporter, Sink, SinkError};
use weave_core::project::ProjectId;
use weave_core::runtime;
use weave_core::runtime::Client;

const THREADS: usize = 2;
const QUEUE: usize = 1_000;
const SINK_BATCH_DELAY: Duration = Duration::from_millis(2);
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// Calls a thread makes between two updates of its published count.
const PUBLISH_EVERY: u64 = 1024;

#[weave::op]
#[inline(never)]
fn soak_op(a: u64, b: &str) -> usize {
    a as usize + b.len()
}

/// Takes its time over each batch, so that the queue overflows.
struct SlowSink;

impl Sink for SlowSink {
    fn write_batch(&mut self, _batch: &[ExportItem]) -> Result<(), SinkError> {
        std::thread::sleep(SINK_BATCH_DELAY);
        Ok(())
    }

    fn describe(&self) -> String {
        "a slow sink".to_string()
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let seconds = env_u64("WEAVE_SOAK_SECONDS", 120);
    let fallback_mib = env_u64("WEAVE_SOAK_FALLBACK_MIB", 64);
    let dir = tempfile::tempdir().expect("temp dir");
    let fallback = dir.path().join("fallback.jsonl");
    let settings = weave::Settings { print_call_link: false, max_calls_queue_size: QUEUE, ..Default::default() };
    let config = ExporterConfig {
        max_queue_size: QUEUE,
        fallback_path: fallback.clone(),
        fallback_max_bytes: fallback_mib * 1024 * 1024,
        ..ExporterConfig::default()
    };
    // Installed by hand (not `weave::init`) to keep a handle on the exporter's counters.
    let exporter = Arc::new(QueueExporter::start(Box::new(SlowSink), config));
    let project = ProjectId::parse("bench/soak", "local").expect("project");
    runtime::install(Client::new(project, settings, exporter.clone()));
    println!(
        "soak: {seconds} s, {THREADS} threads, queue {QUEUE}, sink {SINK_BATCH_DELAY:?} a batch, fallback files of {fallback_mib} MiB"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let made: Arc<Vec<AtomicU64>> = Arc::new((0..THREADS).map(|_| AtomicU64::new(0)).collect());
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (stop, made) = (stop.clone(), made.clone());
            std::thread::spawn(move || {
                let mut n: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..PUBLISH_EVERY {
                        black_box(soak_op(black_box(n), "soak"));
                        n += 1;
                    }
                    made[t].store(n, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let made_so_far = || made.iter().map(|m| m.load(Ordering::Relaxed)).sum::<u64>();

    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut next = start + SAMPLE_EVERY;
    while next <= end {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        sample(start.elapsed(), made_so_far(), &exporter.counters(), &fallback);
        next += SAMPLE_EVERY;
    }
    std::thread::sleep(end.saturating_duration_since(Instant::now()));
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().expect("a soak thread");
    }
    let made = made_so_far();
    let stopped = Instant::now();
    let report = runtime::uninstall(Duration::from_secs(60)).expect("the soak's client");
    let shutdown_s = stopped.elapsed().as_secs_f64();
    sample(start.elapsed(), made, &report, &fallback);
    let files = accounting::assert_accounted(made, &report, &fallback);
    println!(
        "MEASURE soak_invariant made={made} written={} in_files={} lost={} pending={} shutdown_s={shutdown_s:.1} holds={}",
        report.written,
        files.total(),
        report.lost,
        report.pending,
        made == report.written + files.total() + report.lost
    );
}

/// Prints one `MEASURE soak` line.
fn sample(t: Duration, made: u64, report: &FlushReport, fallback: &Path) {
    let in_files = accounting::read_fallback_files(fallback).total();
    println!(
        "MEASURE soak t={:.0} made={made} written={} dropped={} failed={} lost={} rotated_out={} in_files={in_files} pending={} rss_mib={:.1}",
        t.as_secs_f64(),
        report.written,
        report.dropped,
        report.failed,
        report.lost,
        report.rotated_out,
        report.pending,
        rss::current_rss_kib() as f64 / 1024.0
    );
}
