//! What a panic inside an op costs the application thread, against the same panic in a
//! plain function: `cargo run --release --example panic_cost` (or `--profile bench`, which
//! keeps line tables, or a debug build, which has full debug information: looking up a
//! backtrace's symbols costs the more, the more debug information the binary has).
//! `cargo run --release --example panic_cost -- 1000` for 1000 calls each (200 by default).
//!
//! Both functions panic the same way and are caught with `catch_unwind`; the panic hook
//! under weave's is a silent one (nothing printed), so the difference is what weave adds.
//! The calls go through the real exporter to a JSON-lines file: its worker encodes each
//! call (the exception, and so its backtrace, included) on its own thread.
//!
//! Prints, in microseconds per call:
//! - the first call of an op (one-time set-up, no panic), for reference;
//! - the first panic of each kind, cold;
//! - spaced: op panics 20 ms apart, while the exporter's worker writes (and encodes) the
//!   previous ones, the first of which reads the binary's debug information;
//! - back to back: `n` panics of each kind in a row, after a flush;
//!
//! then how long the exporter takes to flush, and the traceback of one exported call.

use std::time::{Duration, Instant};

#[weave::op]
#[inline(never)]
fn op_returns(n: u64) -> u64 {
    n + 1
}

#[inline(never)]
fn plain_panics(n: u64) -> u64 {
    if n < u64::MAX {
        panic!("plain panic {n}");
    }
    n
}

#[weave::op]
#[inline(never)]
fn op_panics(n: u64) -> u64 {
    if n < u64::MAX {
        panic!("op panic {n}");
    }
    n
}

/// Nanoseconds of each of `iterations` calls of `f`, sorted.
fn each(iterations: usize, mut f: impl FnMut(u64)) -> Vec<f64> {
    let mut times = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let started = Instant::now();
        f(i as u64);
        times.push(started.elapsed().as_nanos() as f64);
    }
    times.sort_by(f64::total_cmp);
    times
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}

fn report(name: &str, sorted: &[f64]) {
    println!(
        "{name:<36} median {:>9.1} µs   p99 {:>9.1} µs   max {:>9.1} µs",
        quantile(sorted, 0.5) / 1e3,
        quantile(sorted, 0.99) / 1e3,
        quantile(sorted, 1.0) / 1e3
    );
}

fn plain_panic(i: u64) {
    let _ = std::hint::black_box(std::panic::catch_unwind(|| plain_panics(i)));
}

fn op_panic(i: u64) {
    let _ = std::hint::black_box(std::panic::catch_unwind(|| op_panics(i)));
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(200);
    std::panic::set_hook(Box::new(|_| {}));
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("calls.jsonl");
    let sink = weave::export::JsonlSink::file(&path, "bench/panic-cost")?;
    let settings = weave::Settings { print_call_link: false, ..weave::Settings::default() };
    let config = weave::export::ExporterConfig { max_batch_delay: Duration::from_millis(1), ..Default::default() };
    let weave =
        weave::builder().project("bench/panic-cost").settings(settings).sink(sink).exporter_config(config).init()?;

    let first_op_call = each(1, |i| {
        std::hint::black_box(op_returns(i));
    });
    let first_plain = each(1, plain_panic);
    let first_op = each(1, op_panic);
    let mut spaced = Vec::new();
    for i in 0..20 {
        std::thread::sleep(Duration::from_millis(20));
        let started = Instant::now();
        op_panic(i);
        spaced.push(started.elapsed().as_nanos() as f64);
    }
    spaced.sort_by(f64::total_cmp);
    let _ = weave.flush();

    let plain = each(iterations, plain_panic);
    let op = each(iterations, op_panic);
    let flush_started = Instant::now();
    let flushed = weave.flush();
    let flush_time = flush_started.elapsed();

    report("first call of an op (no panic)", &first_op_call);
    report("first panic, plain fn", &first_plain);
    report("first panic, #[op]", &first_op);
    report("#[op] panics 20 ms apart", &spaced);
    println!("then {iterations} calls each, back to back:");
    report("panic in a plain fn", &plain);
    report("panic in an #[op]", &op);
    println!("{:<36} median {:>9.1} µs", "#[op] minus plain", (quantile(&op, 0.5) - quantile(&plain, 0.5)) / 1e3);
    println!(
        "exporter flush after the back-to-back calls: {:.1} ms ({} calls written in all)",
        flush_time.as_secs_f64() * 1e3,
        flushed.written
    );
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    if let Some(line) = text.lines().find(|l| l.contains("op panic")) {
        let call: serde_json::Value = serde_json::from_str(line)?;
        let exception: serde_json::Value = serde_json::from_str(call["exception"].as_str().unwrap_or("null"))?;
        let frames = exception["traceback"].as_array().cloned().unwrap_or_default();
        println!("traceback of an exported call ({} frames):", frames.len());
        for frame in frames {
            println!("    {} ({}:{})", frame["function_name"], frame["filename"], frame["line_number"]);
        }
    }
    weave.finish();
    Ok(())
}
