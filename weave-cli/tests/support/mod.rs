//! A store made by running the SDK in-process, once per test binary: a quickstart-like
//! agent trace (nested calls, an error, token usage), a call whose captured values hold
//! `<script>` and a `javascript:` URL, a conversation thread, attributes, and two
//! evaluation runs (two versions of a model, two scorers, two trials) as the evaluation
//! example makes them.
#![allow(dead_code)] // each test binary uses a part of it

use serde::Serialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use weave::eval::{BoxError, Dataset, Evaluation, Model, Row};
use weave::store::{CallQuery, LocalStore};

/// The project the fixture records into.
pub const PROJECT: &str = "local/cli-test";

/// The text the unsafe call captures.
pub const SCRIPT: &str = "<script>alert(1)</script>";
/// The URL the unsafe call returns.
pub const JS_URL: &str = "javascript:alert(1)";

/// The fixture store and the ids tests need.
pub struct Fixture {
    _dir: tempfile::TempDir,
    /// The store file.
    pub path: PathBuf,
    /// The agent trace (root `answer`).
    pub agent_trace: String,
    /// Its root call.
    pub agent_root: String,
    /// The failing call inside it (`web_search`).
    pub error_call: String,
    /// The trace of the call holding `<script>`.
    pub unsafe_trace: String,
    /// That call.
    pub unsafe_call: String,
    /// The two `Evaluation.evaluate` calls, oldest first.
    pub evals: Vec<String>,
    /// The thread id.
    pub thread: String,
    /// The trace whose LLM calls weave-llm recorded, costs included (root `plan_trip`).
    pub costs_trace: String,
    /// Its root call.
    pub costs_root: String,
    /// Its Anthropic call (`anthropic.Messages.create`).
    pub costs_llm_call: String,
}

/// The models `plan_trip` calls, with weave-llm's recorded costs.
pub const RECORDED_MODELS: [&str; 2] = ["claude-sonnet-4-5", "gpt-4o-mini"];

#[derive(Serialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

#[derive(Serialize)]
struct Completion {
    model: String,
    content: String,
    usage: Usage,
}

#[weave::op(kind = "llm")]
fn chat_completion(model: &str, prompt: &str) -> Completion {
    let words = prompt.split_whitespace().count() as u64;
    Completion {
        model: model.to_string(),
        content: format!("answer to: {prompt}"),
        usage: Usage { prompt_tokens: words, completion_tokens: 5, total_tokens: words + 5 },
    }
}

#[weave::op(kind = "tool")]
fn retrieve(query: &str) -> Vec<String> {
    vec![format!("a document about {query}")]
}

#[derive(Debug)]
struct SearchError(String);

impl std::fmt::Display for SearchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "web search is offline (query: {:?})", self.0)
    }
}

impl std::error::Error for SearchError {}

#[weave::op(kind = "tool")]
fn web_search(query: &str) -> Result<Vec<String>, SearchError> {
    Err(SearchError(query.to_string()))
}

#[weave::op(kind = "agent")]
fn answer(question: &str) -> String {
    let docs = retrieve(question);
    let _ = web_search(question);
    let first = chat_completion("gpt-4o-mini", &docs.join(" "));
    let second = chat_completion("gpt-4o", question);
    format!("{} / {}", first.content, second.content)
}

fn unsafe_title(view: &weave::CallView<'_>) -> String {
    format!("show {}", view.inputs["comment"].as_str().unwrap_or_default())
}

/// Captures markup and a javascript: link, and names itself after them.
#[weave::op(display_name = unsafe_title)]
fn render_comment(comment: &str) -> Value {
    json!({"html": comment, "link": JS_URL, "note": "<img src=x onerror=alert(2)>"})
}

#[weave::op]
fn chat_turn(message: &str) -> String {
    format!("reply to {message}")
}

/// Two LLM calls recorded with weave-llm, as any client's would be: an OpenAI-shaped and
/// an Anthropic-shaped response, each with its usage (so its cost is recorded).
#[weave::op(kind = "agent")]
fn plan_trip(city: &str) -> String {
    let request =
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": format!("Plan a day in {city}")}]});
    let call = weave_llm::LlmCall::start("openai.chat.completions.create", &request);
    call.finish(&json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Museums, then dinner."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500},
    }));
    let request = json!({"model": "claude-sonnet-4-5", "max_tokens": 256, "messages": [{"role": "user", "content": "Check the plan"}]});
    let call = weave_llm::LlmCall::start("anthropic.Messages.create", &request);
    call.finish(&json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "It works."}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 800, "output_tokens": 150},
    }));
    format!("a day in {city}")
}

#[derive(Serialize)]
struct QaModel {
    name: String,
    answers: Vec<(String, String)>,
}

impl Model for QaModel {
    type Output = String;

    async fn predict(&self, input: &Row) -> Result<String, BoxError> {
        let question: String = input.get("question")?;
        // An LLM call per prediction, so that the evaluation's summary rolls up its cost.
        let call = weave_llm::LlmCall::start(
            "openai.chat.completions.create",
            &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]}),
        );
        call.finish(&json!({"model": "gpt-4o-mini", "choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 2, "total_tokens": 42}}));
        Ok(self
            .answers
            .iter()
            .find(|(k, _)| question.contains(k.as_str()))
            .map_or_else(|| "unknown".to_string(), |(_, v)| v.clone()))
    }
}

fn record(path: &Path) {
    let sink = LocalStore::create(path, PROJECT).expect("a store");
    let weave = weave::builder().project(PROJECT).sink(sink).init().expect("weave starts");
    answer("What does Weave record?");
    render_comment(SCRIPT);
    plan_trip("Lisbon");
    {
        let _thread = weave::thread("conversation-1");
        chat_turn("hello");
        chat_turn("and then?");
    }
    {
        let _attrs = weave::attributes([("env", "staging")]);
        retrieve("with attributes");
    }
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let dataset = Dataset::from_rows(
            "capitals",
            [
                json!({"question": "capital of France?", "expected": "Paris"}),
                json!({"question": "capital of Italy?", "expected": "Rome"}),
                json!({"question": "capital of Spain?", "expected": "Madrid"}),
            ],
        )
        .expect("a dataset");
        let exact = weave::scorer_fn!("exact_match", |input| async move {
            let expected: String = input.column("expected")?;
            Ok::<_, BoxError>(input.output().as_str() == Some(expected.as_str()))
        })
        .columns(["expected"]);
        let length = weave::scorer_fn!("length", |input| async move {
            Ok::<_, BoxError>(input.output().as_str().unwrap_or_default().len() as f64)
        });
        let evaluation = Evaluation::builder(dataset).scorer(exact).scorer(length).trials(2).build();
        let v1 = QaModel { name: "geo-bot".into(), answers: vec![("France".into(), "Paris".into())] };
        let v2 = QaModel {
            name: "geo-bot".into(),
            answers: vec![("France".into(), "Paris".into()), ("Italy".into(), "Rome".into())],
        };
        evaluation.evaluate(&v1).await.expect("run 1");
        evaluation.evaluate(&v2).await.expect("run 2");
    });
    let report = weave.finish();
    assert!(report.completed, "{report:?}");
}

fn build() -> Fixture {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join(".weave").join("weave.db");
    record(&path);
    let store = LocalStore::open(&path).expect("the store opens");
    let all = store.calls(&CallQuery::default()).expect("calls");
    let find = |op: &str| all.iter().find(|c| c.op_base_name == op).unwrap_or_else(|| panic!("no {op} call"));
    let root = find("answer");
    let unsafe_call = find("render_comment");
    let evals: Vec<String> =
        all.iter().filter(|c| c.op_base_name == "Evaluation.evaluate").map(|c| c.id.clone()).collect();
    assert_eq!(evals.len(), 2);
    let costs_root = find("plan_trip");
    Fixture {
        agent_trace: root.trace_id.clone(),
        agent_root: root.id.clone(),
        error_call: find("web_search").id.clone(),
        unsafe_trace: unsafe_call.trace_id.clone(),
        unsafe_call: unsafe_call.id.clone(),
        evals,
        thread: "conversation-1".into(),
        costs_trace: costs_root.trace_id.clone(),
        costs_root: costs_root.id.clone(),
        costs_llm_call: find("anthropic.Messages.create").id.clone(),
        path,
        _dir: dir,
    }
}

/// The fixture, made on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

/// A copy of the fixture's store in a directory of its own (for tests that write).
pub fn copy_of_store() -> (tempfile::TempDir, PathBuf) {
    let f = fixture();
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("weave.db");
    std::fs::copy(&f.path, &path).expect("copy the store");
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", f.path.display()));
        if side.exists() {
            std::fs::copy(&side, format!("{}{suffix}", path.display())).expect("copy the WAL");
        }
    }
    (dir, path)
}
