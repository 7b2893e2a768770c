//! Quickstart: a small question-answering "agent" traced with `#[weave::op]`.
//!
//! It retrieves documents, calls a tool that fails (and handles it), summarizes the
//! documents concurrently on tokio tasks, asks a (faked, local) LLM for the answer, then
//! prints the trace tree it just recorded in the embedded local store.
//!
//! Run: `cargo run --example quickstart` (set `WEAVE_PROJECT` to choose the project,
//! `WEAVE_DISABLED=true` to run without tracing).

use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Serialize)]
struct Document {
    id: u32,
    title: String,
    text: String,
}

#[derive(Debug, Serialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

/// What an OpenAI-style chat completion returns: `model` and `usage` let Weave count tokens.
#[derive(Debug, Serialize)]
struct Completion {
    model: String,
    content: String,
    usage: Usage,
}

#[derive(Debug)]
struct SearchError {
    query: String,
}

impl std::fmt::Display for SearchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "web search is offline (query: {:?})", self.query)
    }
}

impl std::error::Error for SearchError {}

const CORPUS: [(&str, &str); 4] = [
    ("Weave", "Weave is a toolkit for tracing and evaluating LLM applications."),
    ("Ops", "An op is a function whose calls are recorded with inputs, outputs and timing."),
    ("Traces", "Calls made inside an op become its children, forming a trace tree."),
    ("Evaluations", "Evaluations score a model's outputs over a dataset."),
];

/// Finds the documents sharing the most words with the query.
#[weave::op(kind = "tool")]
fn retrieve(query: &str, top_k: usize) -> Vec<Document> {
    let words: Vec<String> = query.to_lowercase().split_whitespace().map(str::to_string).collect();
    let mut scored: Vec<(usize, Document)> = CORPUS
        .iter()
        .enumerate()
        .map(|(i, (title, text))| {
            let score = words.iter().filter(|w| text.to_lowercase().contains(w.as_str())).count();
            (score, Document { id: i as u32, title: title.to_string(), text: text.to_string() })
        })
        .collect();
    scored.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    scored.into_iter().take(top_k).map(|(_, d)| d).collect()
}

/// A tool that fails: the error is recorded on its call, and the agent carries on.
#[weave::op(kind = "tool")]
fn web_search(query: &str) -> Result<Vec<String>, SearchError> {
    Err(SearchError { query: query.to_string() })
}

/// A stand-in for an LLM API call: answers locally, with token usage.
#[weave::op(kind = "llm")]
async fn chat_completion(model: &str, prompt: String) -> Completion {
    tokio::time::sleep(Duration::from_millis(15)).await;
    let prompt_tokens = prompt.split_whitespace().count() as u64;
    let content = format!("Based on {} words of context: Weave records every call of an op.", prompt_tokens);
    let completion_tokens = content.split_whitespace().count() as u64;
    Completion {
        model: model.to_string(),
        content,
        usage: Usage { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens },
    }
}

/// Summarizes one document (runs on its own tokio task).
#[weave::op]
async fn summarize(document: Document) -> String {
    let completion = chat_completion("gpt-4o-mini", format!("Summarize: {}", document.text)).await;
    format!("{}: {}", document.title, completion.content)
}

/// The agent: retrieval, a failing tool, a concurrent fan-out, then the answer.
#[weave::op(kind = "agent")]
async fn answer(question: String) -> String {
    let documents = retrieve(&question, 2);
    let web = web_search(&question).unwrap_or_default(); // handled: the agent goes on without it
    let tasks: Vec<_> = documents.into_iter().map(|d| weave::spawn(summarize(d))).collect();
    let mut summaries = Vec::new();
    for task in tasks {
        if let Ok(summary) = task.await {
            summaries.push(summary);
        }
    }
    let prompt = format!("Question: {question}\nContext:\n{}\nWeb: {}", summaries.join("\n"), web.len());
    chat_completion("gpt-4o", prompt).await.content
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let project = std::env::var("WEAVE_PROJECT").unwrap_or_else(|_| "weave-rs-quickstart".to_string());
    let weave = weave::init(&project)?;
    let answer = answer("What does Weave record for an op?".to_string()).await;
    println!("answer: {answer}\n");

    let store_path = weave.local_store_path().map(|p| p.to_path_buf());
    let destination = weave.destination();
    let report = weave.finish();
    if !report.completed {
        eprintln!("weave: not everything was flushed: {report:?}");
    }
    let Some(path) = store_path else {
        println!("calls went to {destination}; no trace tree to show");
        return Ok(());
    };
    let store = weave::store::LocalStore::open(&path)?;
    let latest_root = store
        .calls(&weave::store::CallQuery { roots_only: true, ..Default::default() })?
        .into_iter()
        .filter(|c| c.op_base_name == "answer")
        .max_by_key(|c| c.started_at);
    if let Some(root) = latest_root {
        println!("trace {} ({} calls)", root.trace_id, store.trace(&root.trace_id)?.len());
        print!("{}", store.render_tree(&root.trace_id)?);
    }
    println!("\nstored in {} (project {project})", path.display());
    println!("show the latest traces again with: cargo run --example show_traces");
    Ok(())
}
