//! The viewer's HTTP server, started in-process on 127.0.0.1:0 over a store the SDK
//! recorded: every page, asset and API route, the filters, feedback writes, live
//! indexing of calls written meanwhile, and safety (escaping, headers, host and origin
//! checks).

mod support;

use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use support::{copy_of_store, fixture, JS_URL, SCRIPT};
use weave_cli::server::{self, RunningServer, ServerConfig};
use weave_cli::store::Store;

fn start(path: &Path) -> RunningServer {
    server::spawn(Store::open(path).expect("the store opens"), ServerConfig::default()).expect("the server starts")
}

fn server() -> &'static RunningServer {
    static SERVER: std::sync::OnceLock<RunningServer> = std::sync::OnceLock::new();
    SERVER.get_or_init(|| start(&fixture().path))
}

fn get(path: &str) -> Response {
    reqwest::blocking::get(format!("{}{}", server().url(), path.trim_start_matches('/'))).expect("a response")
}

fn get_json(path: &str) -> Value {
    let response = get(path);
    assert_eq!(response.status(), 200, "GET {path}");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    response.json().expect("JSON")
}

fn page(path: &str) -> String {
    let response = get(path);
    assert_eq!(response.status(), 200, "GET {path}");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{csp}");
    let html = response.text().unwrap();
    for id in ["nav-traces", "nav-evals", "nav-ops", "nav-threads"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{path} lacks #{id}");
    }
    // No inline script: every script tag loads a file of the viewer.
    for tag in html.split("<script").skip(1) {
        assert!(tag.starts_with(" src=\"/assets/"), "{path}: inline script {tag}");
    }
    html
}

#[test]
fn every_page_is_a_shell_with_its_script() {
    let f = fixture();
    for (path, script) in [
        ("/".to_string(), "traces"),
        (format!("/trace/{}?call={}", f.agent_trace, f.error_call), "trace"),
        ("/evals".to_string(), "evals"),
        (format!("/compare?ids={},{}", f.evals[0], f.evals[1]), "compare"),
        ("/ops".to_string(), "ops"),
        ("/ops/answer".to_string(), "op"),
        ("/threads".to_string(), "threads"),
        (format!("/thread/{}", f.thread), "thread"),
    ] {
        let html = page(&path);
        assert!(html.contains(&format!("<script src=\"/assets/{script}.js\"></script>")), "{path}");
        assert!(html.contains("<script src=\"/assets/app.js\"></script>"), "{path}");
    }
    assert!(page(&format!("/trace/{}", f.agent_trace)).contains("<title>answer · weave</title>"));
    let missing = get("/no/such/page");
    assert_eq!(missing.status(), 404);
    assert!(missing.text().unwrap().contains("Nothing at /no/such/page"));
    let api_missing = get("/api/nothing");
    assert_eq!(api_missing.status(), 404);
    assert!(api_missing.json::<Value>().unwrap()["error"].as_str().unwrap().contains("/api/nothing"));
}

#[test]
fn assets_are_served_from_the_binary_and_never_write_html() {
    for (name, content_type, _) in weave_cli::server::assets_list() {
        let response = get(&format!("/assets/{name}"));
        assert_eq!(response.status(), 200, "{name}");
        assert_eq!(response.headers()["content-type"], *content_type);
        let body = response.text().unwrap();
        assert!(!body.is_empty(), "{name}");
        // The one URL a script may hold: the SVG namespace (no request is made to it).
        let body = body.replace("http://www.w3.org/2000/svg", "");
        for forbidden in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "http://",
            "https://",
        ] {
            if name.ends_with(".js") {
                assert!(!body.contains(forbidden), "{name} uses {forbidden}");
            }
        }
    }
    assert_eq!(get("/assets/nope.js").status(), 404);
    assert_eq!(get("/favicon.ico").status(), 200);
}

#[test]
fn traces_are_roots_newest_first_filtered_and_paged() {
    let f = fixture();
    let body = get_json("/api/traces");
    let calls = body["calls"].as_array().unwrap();
    assert!(calls.iter().all(|c| c["parent_id"].is_null()));
    let starts: Vec<i64> = calls.iter().map(|c| c["started_at_us"].as_i64().unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]));
    let agent = calls.iter().find(|c| c["id"] == f.agent_root.as_str()).expect("the agent trace");
    assert_eq!(agent["calls"], 5);
    assert_eq!(agent["status"], "descendant_error");
    assert!(agent["tokens"].as_u64().unwrap() > 0);
    assert!(agent["cost"].as_f64().unwrap() > 0.0, "gpt-4o and gpt-4o-mini have list prices");
    assert_eq!(agent["cost_estimated"], true, "an op's usage has no recorded cost: {agent}");

    let by_op = get_json("/api/traces?op=answer");
    assert_eq!(by_op["calls"].as_array().unwrap().len(), 1);
    assert_eq!(get_json("/api/traces?status=error")["calls"].as_array().unwrap().len(), 0, "no root failed");
    assert_eq!(get_json("/api/calls?status=error")["calls"][0]["id"], f.error_call.as_str());
    assert_eq!(get_json("/api/traces?text=Weave%20record")["calls"].as_array().unwrap().len(), 1);
    assert_eq!(get_json("/api/traces?attr=env%3Dstaging")["calls"][0]["op"], "retrieve");
    assert!(get_json("/api/traces?until=2000-01-01")["calls"].as_array().unwrap().is_empty());
    assert!(!get_json("/api/traces?since=1d")["calls"].as_array().unwrap().is_empty());
    assert_eq!(get_json(&format!("/api/calls?trace_id={}", f.agent_trace))["calls"].as_array().unwrap().len(), 5);

    let first = get_json("/api/traces?limit=2");
    assert_eq!(first["calls"].as_array().unwrap().len(), 2);
    assert_eq!(first["has_more"], true);
    let second = get_json("/api/traces?limit=2&offset=2");
    assert_ne!(first["calls"][0]["id"], second["calls"][0]["id"]);

    for bad in ["status=great", "since=soon", "attr=x", "limit=many"] {
        let response = get(&format!("/api/traces?{bad}"));
        assert_eq!(response.status(), 400, "{bad}");
        assert!(response.json::<Value>().unwrap()["error"].is_string());
    }
    let status = get_json("/api/status");
    assert!(status["version"].as_i64().unwrap() > 0);
    assert!(status["store"].as_str().unwrap().ends_with("weave.db"));
    assert!(status["indexing"]["percent"].as_u64().is_some_and(|p| p <= 100), "{status}");
}

#[test]
fn a_trace_is_a_tree_with_timing_and_a_summary() {
    let f = fixture();
    let trace = get_json(&format!("/api/trace/{}", f.agent_trace));
    let calls = trace["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 5);
    assert_eq!(calls[0]["op"], "answer");
    assert_eq!(calls[0]["depth"], 0);
    assert_eq!(calls[0]["children"], 4);
    assert!(calls[1..].iter().all(|c| c["depth"] == 1));
    assert!(trace["end_us"].as_i64().unwrap() >= trace["start_us"].as_i64().unwrap());
    assert_eq!(trace["summary"]["errors"], 1);
    assert_eq!(trace["summary"]["usage"]["gpt-4o-mini"]["requests"], 1);
    assert_eq!(trace["summary"]["status_counts"], json!({"success": 4, "error": 1}));
    assert_eq!(get("/api/trace/nope").status(), 404);
}

#[test]
fn a_call_has_its_values_exception_source_and_feedback() {
    let f = fixture();
    let call = get_json(&format!("/api/call/{}", f.error_call));
    assert_eq!(call["inputs"]["query"], "What does Weave record?");
    assert_eq!(call["status"], "error");
    assert!(call["exception"]["message"].as_str().unwrap().contains("offline"));
    assert!(call["exception"]["traceback"].is_array());
    let code = call["op_source"]["code"].as_str().unwrap();
    assert!(code.contains("fn web_search"), "{code}");
    assert!(!code.contains("RUST_SOURCE"), "the Rust source, not the obj.py that carries it: {code}");
    assert_eq!(call["op_source"]["version"], "v0");
    assert!(call["attributes"]["weave"]["kind"] == "tool");
    assert!(call["feedback"].as_array().unwrap().is_empty());
    let root = get_json(&format!("/api/call/{}", f.agent_root));
    assert!(root["output"].as_str().unwrap().starts_with("answer to:"));
    assert_eq!(root["summary"]["usage"]["gpt-4o"]["requests"], 1);
    assert_eq!(get("/api/call/nope").status(), 404);
    assert_eq!(get_json(&format!("/api/call/{}/feedback", f.agent_root))["feedback"], json!([]));
    assert_eq!(get("/api/call/nope/feedback").status(), 404);
}

#[test]
fn reactions_and_notes_are_saved_as_the_sdk_saves_them() {
    let f = fixture();
    let (_dir, path) = copy_of_store();
    let server = start(&path);
    let client = Client::new();
    let url = |p: &str| format!("{}{}", server.url(), p.trim_start_matches('/'));
    let post =
        |body: &Value| client.post(url(&format!("/api/call/{}/feedback", f.agent_root))).json(body).send().unwrap();
    let reaction = post(&json!({"emoji": "👍"}));
    assert_eq!(reaction.status(), 201);
    assert_eq!(reaction.json::<Value>().unwrap()["feedback_type"], "wandb.reaction.1");
    assert_eq!(post(&json!({"note": "looks right"})).status(), 201);
    for bad in [
        json!({}),
        json!({"emoji": ""}),
        json!({"note": "  "}),
        json!({"note": "x".repeat(1025)}),
        json!({"emoji": "a", "note": "b"}),
    ] {
        assert_eq!(post(&bad).status(), 400, "{bad}");
    }
    let unknown = client.post(url("/api/call/nope/feedback")).json(&json!({"emoji": "👍"})).send().unwrap();
    assert_eq!(unknown.status(), 404);
    let form = client
        .post(url(&format!("/api/call/{}/feedback", f.agent_root)))
        .header("content-type", "text/plain")
        .body("{\"emoji\": \"x\"}")
        .send()
        .unwrap();
    assert_eq!(form.status(), 415, "a cross-site form post is refused");
    let foreign = client
        .post(url(&format!("/api/call/{}/feedback", f.agent_root)))
        .header("origin", "http://evil.example")
        .json(&json!({"emoji": "x"}))
        .send()
        .unwrap();
    assert_eq!(foreign.status(), 403);

    let listed: Value =
        client.get(url(&format!("/api/call/{}/feedback", f.agent_root))).send().unwrap().json().unwrap();
    let kinds: Vec<(&str, &Value)> = listed["feedback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["feedback_type"].as_str().unwrap(), &x["payload"]))
        .collect();
    assert_eq!(
        kinds,
        [("wandb.reaction.1", &json!({"emoji": "👍"})), ("wandb.note.1", &json!({"note": "looks right"}))]
    );
    // The rows are shaped like the SDK's: the call's ref, the project.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let (project, weave_ref): (String, String) = conn
        .query_row("SELECT project_id, weave_ref FROM feedback WHERE feedback_type = 'wandb.note.1'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(project, support::PROJECT);
    assert_eq!(weave_ref, format!("weave:///{}/call/{}", support::PROJECT, f.agent_root));
}

#[test]
fn refs_resolve_to_what_they_name() {
    let f = fixture();
    let run = get_json(&format!("/api/call/{}", f.evals[0]));
    let evaluation = run["inputs"]["self"].as_str().unwrap().to_string();
    let body = get_json(&format!("/api/ref?uri={}", urlencode(&evaluation)));
    assert_eq!(body["value"]["_type"], "Evaluation");
    let dataset = body["value"]["dataset"].as_str().unwrap();
    let rows = get_json(&format!("/api/ref?uri={}", urlencode(&format!("{dataset}/attr/rows/index/1/key/question"))));
    assert_eq!(rows["value"], "capital of Italy?");
    assert_eq!(get("/api/ref?uri=weave%3A%2F%2F%2Fa%2Fb%2Fobject%2Fx%3Ay").status(), 404);
    assert_eq!(get("/api/ref").status(), 400);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn ops_have_versions_stats_source_and_diffs() {
    let ops = get_json("/api/ops");
    let list = ops["ops"].as_array().unwrap();
    let answer = list.iter().find(|o| o["name"] == "answer").expect("answer");
    assert_eq!(answer["versions"], 1);
    assert_eq!(answer["stats"]["calls"], 1);
    let search = list.iter().find(|o| o["name"] == "web_search").unwrap();
    assert_eq!(search["stats"]["error_rate"], 1.0);
    let chat = list.iter().find(|o| o["name"] == "chat_completion").unwrap();
    assert_eq!(chat["stats"]["calls"], 2);
    assert!(chat["stats"]["p50_ms"].as_f64().unwrap() <= chat["stats"]["p95_ms"].as_f64().unwrap());

    let op = get_json("/api/ops/chat_completion");
    let version = &op["versions"][0];
    assert!(version["source"].as_str().unwrap().contains("fn chat_completion"));
    assert_eq!(version["stats"]["calls"], 2);
    assert_eq!(op["calls"].as_array().unwrap().len(), 2);
    let digest = version["digest"].as_str().unwrap();
    let same = get_json(&format!("/api/ops/chat_completion/diff?a={digest}&b={digest}"));
    assert_eq!(same["changed"], 0);
    assert_eq!(get("/api/ops/chat_completion/diff").status(), 400);
    assert_eq!(get(&format!("/api/ops/chat_completion/diff?a={digest}&b=nope")).status(), 404);
    assert_eq!(get("/api/ops/no_such_op").status(), 404);
}

/// The cost weave-llm records for one request of `model`, computed with its own
/// `cost_summary` and the shipped prices.
fn recorded_cost(model: &str, prompt_tokens: u64, completion_tokens: u64) -> f64 {
    let usage = weave_llm::Usage::new(prompt_tokens, completion_tokens);
    let summary =
        weave_llm::cost::cost_summary(model, &usage, weave_llm::PriceTable::bundled()).expect("a listed model");
    weave_llm::total_cost(&Value::Object(summary))
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-12)
}

#[test]
fn recorded_costs_are_shown_per_call_per_model_and_rolled_up() {
    let f = fixture();
    let claude = recorded_cost("claude-sonnet-4-5", 800, 150);
    let mini = recorded_cost("gpt-4o-mini", 1200, 300);

    let call = get_json(&format!("/api/call/{}", f.costs_llm_call));
    assert!(close(&call["cost"], claude), "{}", call["cost"]);
    assert_eq!(call["cost_estimated"], false);
    assert_eq!(
        call["costs"],
        json!([{"model": "claude-sonnet-4-5", "requests": 1, "prompt_tokens": 800, "completion_tokens": 150,
                "cost": call["cost"], "estimated": false}])
    );

    let traces = get_json("/api/traces?op=plan_trip");
    let root = &traces["calls"][0];
    assert_eq!(root["id"], f.costs_root.as_str());
    assert!(close(&root["cost"], claude + mini), "{root}");
    assert_eq!(root["cost_estimated"], false);

    let trace = get_json(&format!("/api/trace/{}", f.costs_trace));
    let models: Vec<&str> =
        trace["summary"]["costs"].as_array().unwrap().iter().map(|m| m["model"].as_str().unwrap()).collect();
    assert_eq!(models, support::RECORDED_MODELS);
    assert_eq!(trace["summary"]["costs"][1]["prompt_tokens"], 1200);

    // Usage only (an op returning `usage`, no recorded cost): estimated at weave-llm's prices.
    let agent = get_json(&format!("/api/call/{}", f.agent_root));
    assert_eq!(agent["cost_estimated"], true);
    let estimated: Vec<&Value> = agent["costs"].as_array().unwrap().iter().collect();
    assert_eq!(estimated.len(), 2);
    assert!(estimated.iter().all(|m| m["estimated"] == true));
    let table = weave_llm::PriceTable::bundled();
    let price = |m: &str| table.get(m).map(|e| e.price.clone()).expect("a listed model");
    let usage = &agent["summary"]["usage"];
    let tokens = |m: &str, k: &str| usage[m][k].as_f64().unwrap();
    let expected: f64 = ["gpt-4o", "gpt-4o-mini"]
        .iter()
        .map(|m| tokens(m, "prompt_tokens") * price(m).input + tokens(m, "completion_tokens") * price(m).output)
        .sum();
    assert!(close(&agent["cost"], expected), "{} vs {expected}", agent["cost"]);
    // No usage, no cost.
    let failed = get_json(&format!("/api/call/{}", f.error_call));
    assert_eq!((failed["cost"].clone(), failed["cost_estimated"].clone()), (Value::Null, json!(false)));
    assert_eq!(failed["costs"], json!([]));
}

#[test]
fn evaluations_list_and_compare() {
    let f = fixture();
    let evals = get_json("/api/evals");
    let runs = evals["evals"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["model"]["version"], "v1");
    assert_eq!(runs[0]["dataset"]["rows"], 3);
    assert_eq!(runs[0]["evaluation"]["class"], "Evaluation");
    // Each prediction made one recorded gpt-4o-mini call (40 in, 2 out): 3 rows × 2 trials.
    let per_prediction = recorded_cost("gpt-4o-mini", 40, 2);
    for run in runs {
        assert!(close(&run["cost"], 6.0 * per_prediction), "{}", run["cost"]);
        assert_eq!(run["cost_estimated"], false);
    }

    let ids = format!("{},{}", f.evals[0], f.evals[1]);
    let summary = get_json(&format!("/api/compare?ids={ids}"));
    assert_eq!(summary["runs"].as_array().unwrap().len(), 2);
    assert_eq!(summary["runs"][0]["key"], "run1");
    assert!(close(&summary["runs"][0]["cost"], 6.0 * per_prediction), "the compare page shows each run's cost");
    let metric =
        summary["metrics"].as_array().unwrap().iter().find(|m| m["path"] == "exact_match.true_fraction").unwrap();
    assert!((metric["deltas"][1].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(summary["input_columns"], json!(["expected", "question"]));
    assert_eq!(summary["rows_total"], 6);

    let rows = get_json(&format!("/api/compare/rows?ids={ids}"));
    assert_eq!(rows["count"], 6);
    assert_eq!(rows["rows"][0]["trials"], 2);
    assert_eq!(rows["rows"][1]["trial"], 1);
    assert_eq!(rows["rows"][0]["runs"][0]["output"], "Paris");
    let filtered =
        get_json(&format!("/api/compare/rows?ids={ids}&q=exact_match%20%3D%20false%20AND%20length%20%3E%205"));
    assert_eq!(filtered["count"], 4, "Italy and Spain are 'unknown' (7 characters) in run 1");
    let grouped = get_json(&format!("/api/compare/rows?ids={ids}&group_by=exact_match"));
    assert_eq!(grouped["groups"]["groups"][1]["key"], true);
    assert_eq!(grouped["groups"]["groups"][1]["runs"][1]["count"], 4);
    let sorted = get_json(&format!("/api/compare/rows?ids={ids}&sort=inputs.question&desc=1"));
    assert_eq!(sorted["rows"][0]["inputs"]["question"], "capital of Spain?");

    assert_eq!(get(&format!("/api/compare/rows?ids={ids}&q=%28")).status(), 400);
    assert_eq!(get("/api/compare").status(), 400);
    assert_eq!(get(&format!("/api/compare?ids={},nope", f.evals[0])).status(), 404);
}

#[test]
fn threads_show_their_turns_in_order() {
    let f = fixture();
    let threads = get_json("/api/threads");
    let thread = &threads["threads"][0];
    assert_eq!(thread["thread_id"], f.thread.as_str());
    assert_eq!(thread["turns"], 2);
    let turns = get_json(&format!("/api/thread/{}", f.thread));
    let turns = turns["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[0]["inputs"]["message"], "hello");
    assert_eq!(turns[1]["output"], "reply to and then?");
    assert_eq!(get("/api/thread/nope").status(), 404);
}

#[test]
fn captured_markup_is_escaped_in_html_and_plain_in_json() {
    let f = fixture();
    let html = page(&format!("/trace/{}", f.unsafe_trace));
    assert!(html.contains("show &lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    assert!(!html.contains(SCRIPT), "{html}");
    let reflected = page("/ops/%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert!(!reflected.contains(SCRIPT) && reflected.contains("&lt;script&gt;"), "{reflected}");
    let thread = page("/thread/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E");
    assert!(!thread.contains("<img"), "{thread}");

    let call = get_json(&format!("/api/call/{}", f.unsafe_call));
    assert_eq!(call["inputs"]["comment"], SCRIPT);
    assert_eq!(call["output"]["link"], JS_URL);
    assert_eq!(call["name"], format!("show {SCRIPT}"));
    let raw = get(&format!("/api/call/{}", f.unsafe_call)).text().unwrap();
    assert!(raw.contains("\"comment\":\"<script>alert(1)</script>\""), "plain JSON strings: {raw}");
    let listed = get_json(&format!("/api/traces?text={}", urlencode("javascript:")));
    assert_eq!(listed["calls"][0]["id"], f.unsafe_call.as_str());
}

#[test]
fn requests_for_other_host_names_are_refused() {
    let client = Client::new();
    let response = client.get(format!("{}api/traces", server().url())).header("host", "evil.example").send().unwrap();
    assert_eq!(response.status(), 403);
    let ok = client.get(format!("{}api/status", server().url())).header("host", "localhost:1234").send().unwrap();
    assert_eq!(ok.status(), 200);
}

#[test]
fn calls_written_while_the_viewer_runs_show_up() {
    let _ = fixture(); // its SDK client is done before this test starts its own
    let (_dir, path) = copy_of_store();
    let server = start(&path);
    let sink = weave::store::LocalStore::create(&path, support::PROJECT).unwrap();
    let weave = weave::builder().project(support::PROJECT).sink(sink).init().unwrap();
    live_op("fresh");
    assert!(weave.finish().completed);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let body: Value =
            reqwest::blocking::get(format!("{}api/traces?op=live_op", server.url())).unwrap().json().unwrap();
        if body["calls"].as_array().is_some_and(|c| c.len() == 1) {
            break;
        }
        assert!(Instant::now() < deadline, "the new call never showed up: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[weave::op]
fn live_op(word: &str) -> String {
    word.to_uppercase()
}
