//! The `weave` binary, run as a user runs it, on a store recorded by the SDK in-process:
//! every command, its formats and filters, and its errors (missing or corrupt store, bad
//! arguments) with their exit codes.

mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::fixture;

fn weave() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weave"));
    command.env_remove("WEAVE_LOCAL_STORE_PATH");
    command
}

fn run(args: &[&str]) -> Output {
    let f = fixture();
    weave().arg("--store").arg(&f.path).args(args).output().expect("weave runs")
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "weave {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).expect("JSON output")
}

#[test]
fn calls_lists_newest_first_with_each_filter() {
    let f = fixture();
    let all = json(&["calls", "--format", "json", "--limit", "1000"]);
    let all = all.as_array().unwrap();
    let starts: Vec<i64> = all.iter().map(|c| c["started_at_us"].as_i64().unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let roots = json(&["calls", "--roots", "--format", "json", "--limit", "1000"]);
    let ops: Vec<&str> = roots.as_array().unwrap().iter().map(|c| c["op"].as_str().unwrap()).collect();
    assert!(ops.contains(&"answer") && ops.contains(&"Evaluation.evaluate"), "{ops:?}");
    assert!(roots.as_array().unwrap().iter().all(|c| c["parent_id"].is_null()));

    let answer = json(&["calls", "--op", "answer", "--format", "json"]);
    assert_eq!(answer.as_array().unwrap().len(), 1);
    assert_eq!(answer[0]["id"], f.agent_root.as_str());
    assert_eq!(answer[0]["status"], "descendant_error");
    assert_eq!(answer[0]["calls"], 5);
    assert!(answer[0]["tokens"].as_u64().unwrap() > 10);
    assert_eq!(answer[0]["summary"]["usage"]["gpt-4o"]["requests"], 1);

    let errors = json(&["calls", "--status", "error", "--format", "json"]);
    assert_eq!(errors.as_array().unwrap().len(), 1);
    assert_eq!(errors[0]["id"], f.error_call.as_str());
    assert!(errors[0]["error"].as_str().unwrap().contains("offline"));

    let text = json(&["calls", "--text", "weave RECORD", "--roots", "--format", "json"]);
    assert_eq!(text.as_array().unwrap().len(), 1, "{text}");

    let attr = json(&["calls", "--attr", "env=staging", "--format", "json"]);
    assert_eq!(attr.as_array().unwrap().len(), 1);
    assert_eq!(attr[0]["inputs"]["query"], "with attributes");

    assert!(!json(&["calls", "--since", "1h", "--format", "json"]).as_array().unwrap().is_empty());
    assert!(json(&["calls", "--until", "2000-01-01", "--format", "json"]).as_array().unwrap().is_empty());
    assert_eq!(json(&["calls", "--trace", &f.agent_trace, "--format", "json"]).as_array().unwrap().len(), 5);
    assert_eq!(json(&["calls", "--limit", "2", "--format", "json"]).as_array().unwrap().len(), 2);
}

#[test]
fn calls_prints_a_table_and_csv() {
    let table = ok(&["calls", "--op", "answer"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("STARTED_AT") && lines[0].contains("TRACE_ID"), "{table}");
    assert!(lines[1].contains("answer") && lines[1].contains("descendant_error"), "{table}");

    let csv = ok(&["calls", "--op", "web_search", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[1], "op");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 1);
    assert_eq!(&records[0][1], "web_search");
    let error = headers.iter().position(|h| h == "error").expect("an error column");
    assert!(records[0][error].contains("offline"), "{csv}");

    // Recorded costs print as they are, estimates with `~`.
    let recorded = ok(&["calls", "--op", "plan_trip"]);
    assert!(recorded.lines().next().unwrap().contains("COST"), "{recorded}");
    assert!(recorded.contains(" $0.0") && !recorded.contains("~$"), "{recorded}");
    assert!(lines[1].contains("~$0.0"), "{table}");
    let csv = ok(&["calls", "--op", "anthropic.Messages.create", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let record = reader.records().next().expect("a row").unwrap();
    let cost: f64 = record[column("cost")].parse().expect("a number");
    let price = weave_llm::PriceTable::bundled().get("claude-sonnet-4-5").expect("a listed model").price.clone();
    assert!((cost - (800.0 * price.input + 150.0 * price.output)).abs() < 1e-12, "{csv}");
    assert_eq!(&record[column("cost_estimated")], "false");

    let paged = ok(&["calls", "--limit", "1"]);
    assert!(paged.contains("(more: --offset 1)"), "{paged}");
}

#[test]
fn calls_rejects_bad_filters_as_usage_errors() {
    for args in [
        &["calls", "--status", "great"][..],
        &["calls", "--since", "yesterday"],
        &["calls", "--attr", "novalue"],
        &["calls", "--limit", "0"],
        &["calls", "--format", "xml"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

#[test]
fn tree_prints_the_trace_by_trace_or_call_id() {
    let f = fixture();
    let tree = ok(&["tree", &f.agent_trace]);
    let lines: Vec<&str> = tree.lines().collect();
    assert_eq!(lines.len(), 5, "{tree}");
    assert!(lines[0].starts_with("✓ answer") && lines[0].contains("(1 error below)"), "{tree}");
    assert!(lines.iter().any(|l| l.starts_with("  ✗ web_search") && l.contains("offline")), "{tree}");
    assert_eq!(ok(&["tree", &f.error_call]), tree, "a call id prints its trace");
    let with_ids = ok(&["tree", &f.agent_trace, "--ids"]);
    assert!(with_ids.lines().next().unwrap().ends_with(&format!("[{}]", f.agent_root)));
    let as_json = json(&["tree", &f.agent_trace, "--format", "json"]);
    assert_eq!(as_json[0]["depth"], 0);
    assert_eq!(as_json[1]["depth"], 1);

    let out = run(&["tree", "no-such-trace"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no trace no-such-trace"));
}

#[test]
fn evals_lists_the_runs_with_model_dataset_and_summary() {
    let f = fixture();
    let runs = json(&["evals", "--format", "json"]);
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["id"], f.evals[1].as_str(), "newest first");
    assert_eq!(runs[0]["model"]["name"], "geo-bot");
    assert_eq!(runs[0]["model"]["version"], "v1");
    assert_eq!(runs[1]["model"]["version"], "v0");
    assert_eq!(runs[0]["dataset"]["name"], "capitals");
    assert_eq!(runs[0]["dataset"]["rows"], 3);
    assert_eq!(runs[0]["scorers"], serde_json::json!(["exact_match", "length"]));
    assert_eq!(runs[0]["trials"], 2);
    assert!((runs[0]["summary"]["exact_match"]["true_fraction"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);

    let table = ok(&["evals"]);
    assert!(table.lines().nth(1).unwrap().contains("geo-bot:v1"), "{table}");
    assert!(table.contains("capitals:v0"), "{table}");
    let csv = ok(&["evals", "--format", "csv"]);
    assert_eq!(csv.lines().count(), 3, "{csv}");
}

#[test]
fn compare_shows_metrics_with_deltas_and_filtered_rows() {
    let f = fixture();
    let (a, b) = (f.evals[0].as_str(), f.evals[1].as_str());
    let table = ok(&["compare", a, b]);
    let line = table.lines().find(|l| l.starts_with("exact_match.true_fraction")).expect("the metric");
    assert!(line.contains("0.3333") && line.contains("0.6667") && line.contains("+0.3333"), "{table}");

    let doc = json(&["compare", a, b, "--query", "exact_match = false", "--format", "json"]);
    // Run 1 misses Italy and Spain, run 2 Spain: rows Italy and Spain, two trials each.
    assert_eq!(doc["rows"]["count"], 4, "{doc}");
    assert_eq!(doc["summary"]["runs"][1]["label"], "geo-bot:v1");

    let only_first =
        json(&["compare", a, b, "--query", "run1.exact_match = false AND run2.exact_match = true", "--format", "json"]);
    assert_eq!(only_first["rows"]["count"], 2);
    assert_eq!(only_first["rows"]["rows"][0]["inputs"]["question"], "capital of Italy?");

    let groups = ok(&["compare", a, b, "--group-by", "exact_match"]);
    assert!(groups.lines().any(|l| l.starts_with("true") && l.contains("run2") && l.contains(" 4 ")), "{groups}");

    let csv = ok(&["compare", a, b, "--rows", "--format", "csv"]);
    assert!(csv.starts_with("row,trial,inputs,run1.output"), "{csv}");
    assert_eq!(csv.lines().count(), 7, "6 rows (3 × 2 trials) and a header: {csv}");

    let bad = run(&["compare", a, b, "--query", "exact_match ="]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bad query"));
    let unknown = run(&["compare", a, "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no evaluation run"));
    let not_eval = run(&["compare", &f.agent_root]);
    assert_eq!(not_eval.status.code(), Some(1));
}

#[test]
fn a_missing_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nothing.db");
    for command in [&["calls"][..], &["evals"], &["tree", "x"], &["compare", "x"], &["ui", "--port", "0"]] {
        let out = weave().arg("--store").arg(&path).args(command).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&path.display().to_string()) && stderr.contains("does not exist"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // The default is .weave/weave.db under the working directory.
    let out = weave().arg("calls").current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".weave/weave.db"));
}

#[test]
fn a_corrupt_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, "this is not a database, just text that is long enough to be read as a header...")
        .unwrap();
    let truncated = dir.path().join("truncated.db");
    let bytes = std::fs::read(&fixture().path).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len().min(100)]).unwrap();
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
    for path in [&garbage, &truncated, &other, &dir.path().to_path_buf()] {
        let out = weave().arg("--store").arg(path).arg("calls").output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("error: ") && stderr.contains(&path.display().to_string()), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn the_store_comes_from_the_environment_without_store() {
    let f = fixture();
    let out = weave().env("WEAVE_LOCAL_STORE_PATH", &f.path).args(["calls", "--op", "answer"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("answer"));
}

/// Starts `weave ui`, returns the child and the URL it printed.
fn start_ui(
    extra: &[&str],
    path_env: Option<&str>,
) -> (std::process::Child, String, BufReader<std::process::ChildStdout>) {
    let f = fixture();
    let mut command = weave();
    command.arg("--store").arg(&f.path).args(["ui", "--port", "0"]).args(extra);
    if let Some(p) = path_env {
        command.env("PATH", p);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line.split_whitespace().last().expect("a URL").to_string();
    (child, url, stdout)
}

fn interrupt(child: &std::process::Child) {
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

fn wait(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "weave ui did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ui_serves_on_loopback_prints_its_url_and_stops_on_ctrl_c() {
    let (mut child, url, mut stdout) = start_ui(&[], None);
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with(":0/"), "{url}");
    let page = reqwest::blocking::get(&url).unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().unwrap().contains("id=\"nav-traces\""));
    let traces: Value = reqwest::blocking::get(format!("{url}api/traces")).unwrap().json().unwrap();
    assert!(!traces["calls"].as_array().unwrap().is_empty());
    interrupt(&child);
    let status = wait(&mut child);
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("stopped"), "{rest}");
}

#[test]
fn ui_warns_for_another_host_and_when_no_browser_opens() {
    let empty = tempfile::tempdir().unwrap();
    let (mut child, url, _stdout) =
        start_ui(&["--host", "0.0.0.0", "--open"], Some(&empty.path().display().to_string()));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(reqwest::blocking::get(&url).unwrap().status(), 200);
    interrupt(&child);
    assert!(wait(&mut child).success());
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("warning: listening on 0.0.0.0"), "{stderr}");
    assert!(stderr.contains("could not open a browser"), "{stderr}");
}

#[test]
fn ui_says_when_the_port_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = run(&["ui", "--port", &port]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("could not listen on 127.0.0.1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
