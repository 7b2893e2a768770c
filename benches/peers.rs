//! `cargo bench --bench peers`: the cost of `#[weave::op]` against a plain function,
//! `tracing` and `fastrace`, measured in the same run, plus exporter throughput (until
//! flushed, and until every call is queryable), the queries a viewer makes on a store of a
//! million calls, and a stalled sink. Ends with machine-readable lines:
//! `RATIO <name> <value>` and `THROUGHPUT <name> <calls_per_s>` (and `MEASURE ...`).
//!
//! The function under test takes two small arguments (`u64`, `&str`) and returns a small
//! value. Each figure is the median over criterion's samples of nanoseconds per call (over
//! bursts of calls, for the op into the local store).

#[path = "common/rss.rs"]
mod rss;

use criterion::{black_box, Criterion};
use rss::{current_rss_kib, peak_rss_kib, reset_peak_rss};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weave::export::{DiscardSink, ExportItem, ExporterConfig, Sink, SinkError};

#[inline(never)]
fn plain(a: u64, b: &str) -> usize {
    a as usize + b.len()
}

#[weave::op]
#[inline(never)]
fn op_fn(a: u64, b: &str) -> usize {
    a as usize + b.len()
}

#[weave::op]
#[inline(never)]
fn op_root_with_10_children(a: u64) -> usize {
    let mut total = 0;
    for i in 0..10 {
        total += op_fn(a + i, "child");
    }
    total
}

/// Fails for even `a`: an error call every other time.
#[weave::op]
#[inline(never)]
fn flaky(a: u64) -> Result<u64, std::io::Error> {
    if a.is_multiple_of(2) {
        Err(std::io::Error::other(format!("flaky {a}")))
    } else {
        Ok(a)
    }
}

/// A trace of `children + 1` calls.
#[weave::op]
#[inline(never)]
fn trace_of(children: u64) -> usize {
    (0..children).map(|i| op_fn(i, "child")).sum()
}

#[tracing::instrument(ret)]
#[inline(never)]
fn tracing_fn(a: u64, b: &str) -> usize {
    a as usize + b.len()
}

#[fastrace::trace(properties = { "a": "{a}", "b": "{b}" })]
#[inline(never)]
fn fastrace_fn(a: u64, b: &str) -> usize {
    a as usize + b.len()
}

struct DiscardReporter;

impl fastrace::collector::Reporter for DiscardReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        black_box(spans);
    }
}

/// Per-sample nanoseconds per call, by bench name.
static SAMPLES: Mutex<BTreeMap<String, Vec<f64>>> = Mutex::new(BTreeMap::new());

fn timed(name: &str, iters: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    let elapsed = start.elapsed();
    if let Ok(mut samples) = SAMPLES.lock() {
        samples.entry(name.to_string()).or_default().push(elapsed.as_nanos() as f64 / iters.max(1) as f64);
    }
    elapsed
}

fn median(name: &str) -> f64 {
    let samples = SAMPLES.lock().map(|s| s.get(name).cloned().unwrap_or_default()).unwrap_or_default();
    let mut v = samples;
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn bench(c: &mut Criterion, name: &str, mut f: impl FnMut(u64)) {
    let mut i = 0u64;
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            timed(name, iters, || {
                i = i.wrapping_add(1);
                f(black_box(i));
            })
        })
    });
}

/// Like [`bench`], with a `flush` (not timed) after every burst of calls: the op's cost
/// into a sink that keeps up with the calls on average, as a store does with an
/// application's calls. Each burst is a sample of the median. Its own, shorter,
/// measurement time: the flushes take longer than the calls.
fn bench_in_bursts(c: &mut Criterion, name: &str, flush: impl Fn(), mut f: impl FnMut(u64)) {
    const BURST: u64 = 50_000;
    let mut i = 0u64;
    let mut group = c.benchmark_group("bursts");
    group.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1)).sample_size(20);
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let burst = left.min(BURST);
                total += timed(name, burst, || {
                    i = i.wrapping_add(1);
                    f(black_box(i));
                });
                flush();
                left -= burst;
            }
            total
        })
    });
    group.finish();
}

/// Keeps the fallback file of dropped calls out of the working directory.
fn exporter(temp: &std::path::Path) -> ExporterConfig {
    ExporterConfig { fallback_path: temp.join("dropped.jsonl"), ..ExporterConfig::default() }
}

fn settings() -> weave::Settings {
    weave::Settings { print_call_link: false, max_calls_queue_size: 2_000_000, ..weave::Settings::default() }
}

/// A sink that blocks in every write until released: the worker is stuck.
struct StalledSink {
    released: Arc<AtomicBool>,
}

impl Sink for StalledSink {
    fn write_batch(&mut self, _batch: &[ExportItem]) -> Result<(), SinkError> {
        while !self.released.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    fn describe(&self) -> String {
        "a stalled sink".to_string()
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(800))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40)
        .without_plots()
        .configure_from_args();
    let temp = std::env::temp_dir().join(format!("weave-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&temp);

    bench(&mut c, "plain", |i| {
        black_box(plain(i, "hello"));
    });
    bench(&mut c, "op_before_init", |i| {
        black_box(op_fn(i, "hello"));
    });
    {
        let weave = weave::builder()
            .project("bench/disabled")
            .settings(weave::Settings { disabled: true, ..settings() })
            .exporter_config(exporter(&temp))
            .init()
            .expect("init");
        bench(&mut c, "op_disabled", |i| {
            black_box(op_fn(i, "hello"));
        });
        weave.finish();
    }
    {
        let weave = weave::builder()
            .project("bench/discard")
            .settings(settings())
            .sink(DiscardSink::encoding("bench/discard"))
            .exporter_config(exporter(&temp))
            .init()
            .expect("init");
        bench(&mut c, "op_enabled_discard", |i| {
            black_box(op_fn(i, "hello"));
        });
        bench(&mut c, "op_nested_root_10_children", |i| {
            black_box(op_root_with_10_children(i));
        });
        let report = weave.finish();
        println!("MEASURE discard_pipeline_dropped {}", report.dropped);
    }
    {
        let store = temp.join("store.db");
        let weave = weave::builder()
            .project("bench/local")
            .settings(weave::Settings { local_store_path: Some(store), ..settings() })
            .exporter_config(exporter(&temp))
            .init()
            .expect("init");
        bench_in_bursts(
            &mut c,
            "op_enabled_local_store",
            || {
                weave.flush();
            },
            |i| {
                black_box(op_fn(i, "hello"));
            },
        );
        // Calls made back to back, 4 or 5 times faster than the store writes them: the
        // queue overflows (the dropped calls go to the fallback file, and once it is behind,
        // are lost), and the figure is mostly how the store's and the fallback file's
        // threads share the CPUs with the calls.
        bench(&mut c, "op_local_store_overflowing", |i| {
            black_box(op_fn(i, "hello"));
        });
        let report = weave.finish();
        println!("MEASURE local_store_pipeline_dropped {} lost {}", report.dropped, report.lost);
    }
    {
        let subscriber = tracing_subscriber::fmt().with_writer(std::io::sink).finish();
        tracing::subscriber::with_default(subscriber, || {
            bench(&mut c, "tracing_fmt_ret", |i| {
                black_box(tracing_fn(i, "hello"));
            });
        });
    }
    {
        fastrace::set_reporter(DiscardReporter, fastrace::collector::Config::default());
        bench(&mut c, "fastrace_root_and_span", |i| {
            let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
            let _guard = root.set_local_parent();
            black_box(fastrace_fn(i, "hello"));
        });
        fastrace::flush();
    }

    // `--profile-time` (criterion's profiling mode, e.g. under callgrind) runs only the
    // selected criterion benches.
    let profiling = std::env::args().any(|a| a == "--profile-time");
    if !profiling {
        throughput(&temp);
        queryable(&temp);
        stalled_sink(&temp);
        llm_stream(&temp);
    }
    let _ = std::fs::remove_dir_all(&temp);

    let plain_ns = median("plain");
    let figures = [
        "plain",
        "op_before_init",
        "op_disabled",
        "op_enabled_discard",
        "op_enabled_local_store",
        "op_local_store_overflowing",
        "op_nested_root_10_children",
        "tracing_fmt_ret",
        "fastrace_root_and_span",
    ];
    for name in figures {
        println!("MEASURE ns_per_call_{name} {:.2}", median(name));
    }
    println!("MEASURE disabled_minus_plain_ns {:.2}", median("op_disabled") - plain_ns);
    println!("MEASURE before_init_minus_plain_ns {:.2}", median("op_before_init") - plain_ns);
    println!("MEASURE nested_ns_per_op_call {:.2}", median("op_nested_root_10_children") / 11.0);
    println!("RATIO op_vs_fastrace {:.3}", median("op_enabled_discard") / median("fastrace_root_and_span"));
    println!("RATIO op_vs_tracing_fmt {:.3}", median("op_enabled_discard") / median("tracing_fmt_ret"));
    println!(
        "RATIO op_local_store_vs_fastrace {:.3}",
        median("op_enabled_local_store") / median("fastrace_root_and_span")
    );
    println!("RATIO disabled_vs_plain {:.3}", median("op_disabled") / plain_ns);
    println!("RATIO before_init_vs_plain {:.3}", median("op_before_init") / plain_ns);
    let stats = THROUGHPUT_LINES.lock().map(|l| l.clone()).unwrap_or_default();
    for line in stats {
        println!("{line}");
    }
}

static THROUGHPUT_LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn report_line(line: String) {
    if let Ok(mut lines) = THROUGHPUT_LINES.lock() {
        lines.push(line);
    }
}

/// N op calls from 1 and 2 threads into the local store: time until flushed.
fn throughput(temp: &std::path::Path) {
    const N: u64 = 1_000_000;
    for threads in [1u64, 2] {
        let store = temp.join(format!("throughput-{threads}.db"));
        let weave = weave::builder()
            .project("bench/throughput")
            .settings(weave::Settings { local_store_path: Some(store.clone()), ..settings() })
            .exporter_config(exporter(temp))
            .init()
            .expect("init");
        reset_peak_rss();
        let rss_at_start = current_rss_kib();
        let start = Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..N / threads {
                        black_box(op_fn(i + t, "hello"));
                    }
                })
            })
            .collect();
        for h in handles {
            let _ = h.join();
        }
        let calls_done = start.elapsed();
        let report = weave.finish();
        let flushed = start.elapsed();
        let peak_rss = peak_rss_kib();
        // What the run left un-indexed (the writer indexes as it goes, but not once the
        // shutdown has started: the calls still queued then are only logged), indexed.
        let index_start = Instant::now();
        let stored = weave::store::LocalStore::open(&store)
            .and_then(|s| s.index_calls().and_then(|()| s.count_calls(None)))
            .unwrap_or(0);
        let index_s = index_start.elapsed().as_secs_f64();
        let per_s = N as f64 / flushed.as_secs_f64();
        report_line(format!("THROUGHPUT local_store_{threads}_thread {per_s:.0}"));
        report_line(format!("MEASURE local_store_index_s={index_s:.3} threads={threads}"));
        report_line(format!(
            "MEASURE local_store_{threads}_thread calls={N} stored={stored} dropped={} app_s={:.3} flushed_s={:.3} rss_at_start_mib={} peak_rss_mib={}",
            report.dropped,
            calls_done.as_secs_f64(),
            flushed.as_secs_f64(),
            rss_at_start / 1024,
            peak_rss / 1024
        ));
    }
}

/// A million calls into the local store, from the first call until a count query returns
/// them all (written and indexed): `THROUGHPUT local_store_queryable`. Most are roots
/// (`op_fn`), one in a hundred is `flaky` (half of those fail), and one trace has 1,000
/// calls. Then the queries a viewer makes, on that store opened read-only: the traces
/// page (roots newest first, 50), that trace, and a filtered page (`flaky` calls that
/// failed, newest first, 50), each timed cold (first) and warm (median of 5).
fn queryable(temp: &std::path::Path) {
    use weave::store::{CallQuery, LocalStore, Status};
    const N: u64 = 1_000_000;
    const TRACE: u64 = 1_000;
    let store = temp.join("queryable.db");
    let weave = weave::builder()
        .project("bench/queryable")
        .settings(weave::Settings { local_store_path: Some(store.clone()), ..settings() })
        .exporter_config(exporter(temp))
        .init()
        .expect("init");
    let roots = N - TRACE;
    let start = Instant::now();
    for i in 0..roots {
        if i == roots / 2 {
            black_box(trace_of(TRACE - 1));
        }
        if i % 100 == 0 {
            let _ = black_box(flaky(i / 100));
        } else {
            black_box(op_fn(i, "hello"));
        }
    }
    let calls_done = start.elapsed();
    let flush = weave.flush();
    let flushed = start.elapsed();
    // A viewer polls the store, read-only, with a count query (it returns the calls
    // indexed: the writing process indexes the rest of the burst once it has written it).
    let mut stored = 0;
    let mut backlog = None;
    let give_up = Instant::now() + Duration::from_secs(300);
    if let Ok(viewer) = LocalStore::open_read_only(&store) {
        backlog = viewer.index_backlog().ok();
        loop {
            stored = viewer.count_calls(None).unwrap_or(0);
            if stored >= N || Instant::now() > give_up {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let queryable = start.elapsed();
    report_line(format!("THROUGHPUT local_store_queryable {:.0}", N as f64 / queryable.as_secs_f64()));
    report_line(format!(
        "MEASURE local_store_queryable calls={N} stored={stored} dropped={} app_s={:.3} flushed_s={:.3} queryable_s={:.3} backlog_at_flush_entries={}",
        flush.dropped,
        calls_done.as_secs_f64(),
        flushed.as_secs_f64(),
        queryable.as_secs_f64(),
        backlog.map_or(0, |b| b.entries)
    ));

    let Ok(viewer) = LocalStore::open_read_only(&store) else {
        report_line("MEASURE local_store_queries error=could-not-open-read-only".to_string());
        weave.finish();
        return;
    };
    let traces = CallQuery { roots_only: true, newest_first: true, limit: Some(50), ..CallQuery::default() };
    let trace_id = viewer
        .calls(&CallQuery { op_name: Some("trace_of".into()), limit: Some(1), ..CallQuery::default() })
        .ok()
        .and_then(|calls| calls.into_iter().next())
        .map(|call| call.trace_id)
        .unwrap_or_default();
    let failed = CallQuery {
        op_name: Some("flaky".into()),
        status: Some(Status::Error),
        newest_first: true,
        limit: Some(50),
        ..CallQuery::default()
    };
    let (traces_cold, traces_warm, traces_n) = time_query(|| viewer.calls(&traces).map(|c| c.len()).unwrap_or(0));
    let (trace_cold, trace_warm, trace_n) = time_query(|| viewer.trace(&trace_id).map(|c| c.len()).unwrap_or(0));
    let (failed_cold, failed_warm, failed_n) = time_query(|| viewer.calls(&failed).map(|c| c.len()).unwrap_or(0));
    let (count_cold, count_warm, _) = time_query(|| viewer.count_calls(None).unwrap_or(0) as usize);
    report_line(format!(
        "MEASURE local_store_query_ms calls={stored} traces_page={traces_cold:.1}/{traces_warm:.1} (rows={traces_n}) \
         trace_of_1000={trace_cold:.1}/{trace_warm:.1} (rows={trace_n}) \
         flaky_errors_page={failed_cold:.1}/{failed_warm:.1} (rows={failed_n}) count={count_cold:.1}/{count_warm:.1} \
         (cold/warm median of 5)"
    ));
    drop(viewer);
    weave.finish();
}

/// Milliseconds of the first run of `query` and the median of the next five, and what the
/// first returned.
fn time_query(mut query: impl FnMut() -> usize) -> (f64, f64, usize) {
    let start = Instant::now();
    let rows = black_box(query());
    let cold = start.elapsed().as_secs_f64() * 1e3;
    let mut warm: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            black_box(query());
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    warm.sort_by(|a, b| a.total_cmp(b));
    (cold, warm[2], rows)
}

/// A sink that never returns: the app's op latency must not grow and memory must stay
/// under the queue's bound (overflowing calls go to the fallback file). The latency is
/// compared with the same loop into a discarding sink, measured the same way just before
/// (the median of several rounds of calls, so one slow moment of this noisy machine does
/// not decide it).
fn stalled_sink(temp: &std::path::Path) {
    const QUEUE: usize = 10_000;
    let discard = weave::builder()
        .project("bench/stalled-reference")
        .settings(weave::Settings { max_calls_queue_size: QUEUE, ..settings() })
        .sink(DiscardSink::encoding("bench/stalled-reference"))
        .exporter_config(exporter(temp))
        .init()
        .expect("init");
    let reference_ns = rounds_median_ns();
    discard.finish();

    let released = Arc::new(AtomicBool::new(false));
    let weave = weave::builder()
        .project("bench/stalled")
        .settings(weave::Settings { enable_disk_fallback: true, max_calls_queue_size: QUEUE, ..settings() })
        .sink(StalledSink { released: released.clone() })
        .exporter_config(ExporterConfig { fallback_path: temp.join("fallback.jsonl"), ..ExporterConfig::default() })
        .init()
        .expect("init");
    let rss_before = current_rss_kib();
    let stalled_ns = rounds_median_ns();
    let rss_after = current_rss_kib();
    released.store(true, Ordering::Relaxed);
    let report = weave.finish();
    report_line(format!(
        "MEASURE stalled_sink ns_per_call={stalled_ns:.1} discarding_ns_per_call={reference_ns:.1} dropped={} lost={} rss_growth_mib={:.1} queue_bound={QUEUE}",
        report.dropped,
        report.lost,
        (rss_after.saturating_sub(rss_before)) as f64 / 1024.0
    ));
    report_line(format!("RATIO stalled_vs_discard {:.3}", stalled_ns / reference_ns));
}

/// Nanoseconds per op call: the median of rounds of calls (200,000 calls in all, so a
/// stalled sink's fallback file stays small).
fn rounds_median_ns() -> f64 {
    const ROUNDS: usize = 9;
    const CALLS: u64 = 22_222;
    let mut per_call: Vec<f64> = (0..ROUNDS)
        .map(|round| {
            let start = Instant::now();
            for i in 0..CALLS {
                black_box(op_fn(i + round as u64 * CALLS, "hello"));
            }
            start.elapsed().as_nanos() as f64 / CALLS as f64
        })
        .collect();
    per_call.sort_by(|a, b| a.total_cmp(b));
    per_call[ROUNDS / 2]
}

/// A streamed chat completion of 500 content chunks from the fake OpenAI server (real
/// HTTP, SSE), read to its end through async-openai's bare client and through weave-rs's
/// traced client, in alternating rounds of the same run: the
/// wrapper's cost per chunk (accumulating it, plus the call's start and end spread over
/// the chunks), as `RATIO llm_stream_per_chunk` (traced / bare) and
/// `MEASURE llm_stream_overhead_us_per_chunk`.
fn llm_stream(temp: &std::path::Path) {
    use weave_llm::fake::{FakeOpenAi, Reply};
    use weave_llm::openai::async_openai::{config::OpenAIConfig, types::chat::CreateChatCompletionRequest, Client};
    use weave_llm::openai::TracedClient;

    const CHUNKS: usize = 500;
    const ROUNDS: usize = 41;
    let weave = weave::builder()
        .project("bench/llm")
        .settings(settings())
        .sink(DiscardSink::encoding("bench/llm"))
        .exporter_config(exporter(temp))
        .init()
        .expect("init");
    let fake = FakeOpenAi::start().expect("fake OpenAI server");
    fake.push(Reply::text(vec!["token"; CHUNKS].join(" ")).times(usize::MAX));
    let bare = Client::with_config(OpenAIConfig::new().with_api_base(fake.base_url()).with_api_key("sk-bench"));
    let traced = TracedClient::new(bare.clone());
    let request: CreateChatCompletionRequest = serde_json::from_value(serde_json::json!({
        "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say token 500 times."}]
    }))
    .expect("request");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let (mut bare_ns, mut traced_ns) = (Vec::new(), Vec::new());
    runtime.block_on(async {
        use futures_util::StreamExt;
        for round in 0..ROUNDS + 1 {
            let start = Instant::now();
            let mut stream = bare.chat().create_stream(request.clone()).await.expect("bare stream");
            let mut n = 0;
            while let Some(chunk) = stream.next().await {
                black_box(chunk.expect("chunk"));
                n += 1;
            }
            let bare_round = start.elapsed().as_nanos() as f64;
            let start = Instant::now();
            let mut stream = traced.chat().create_stream(request.clone()).await.expect("traced stream");
            let mut m = 0;
            while let Some(chunk) = stream.next().await {
                black_box(chunk.expect("chunk"));
                m += 1;
            }
            let traced_round = start.elapsed().as_nanos() as f64;
            assert_eq!(n, m, "the caller sees the same chunks");
            if round > 0 {
                // The first round warms the connection pool up.
                bare_ns.push(bare_round / CHUNKS as f64);
                traced_ns.push(traced_round / CHUNKS as f64);
            }
        }
    });
    drop(fake);
    weave.finish();
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (bare_chunk, traced_chunk) = (median(bare_ns), median(traced_ns));
    report_line(format!(
        "MEASURE llm_stream ns_per_chunk_bare={bare_chunk:.0} ns_per_chunk_traced={traced_chunk:.0} chunks={CHUNKS} rounds={ROUNDS}"
    ));
    report_line(format!("MEASURE llm_stream_overhead_us_per_chunk {:.3}", (traced_chunk - bare_chunk) / 1000.0));
    report_line(format!("RATIO llm_stream_per_chunk {:.3}", traced_chunk / bare_chunk));
}
