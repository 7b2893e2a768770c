//! Evaluation: two versions of a small question-answering model, scored over a dataset
//! with an exact-match scorer, a numeric scorer and a scorer type with its own summary,
//! each row run twice (trials = 2). The summaries are printed side by side, and both runs
//! are recorded in the embedded local store as Weave evaluations
//! (`Evaluation.evaluate` → `Evaluation.predict_and_score` → predict and scores →
//! `Evaluation.summarize`).
//!
//! Run: `cargo run --example evaluation` (offline; set `WEAVE_PROJECT` to choose the
//! project). Show the traces again with `cargo run --example show_traces`.

use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use weave::eval::{compare, BoxError, Columns, Dataset, Evaluation, Model, Row, Scorer, ScorerInput};

/// A stand-in for an LLM call: looks the answer up in the model's notes, locally.
#[weave::op(kind = "llm")]
async fn lookup(notes: &BTreeMap<String, String>, question: &str, fallback: &str) -> String {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let question = question.to_lowercase();
    notes
        .iter()
        .find(|(keyword, _)| question.contains(keyword.as_str()))
        .map_or_else(|| fallback.to_string(), |(_, answer)| answer.clone())
}

/// The model: its fields are its attributes, so each configuration is a version.
#[derive(Serialize)]
struct QaModel {
    name: String,
    notes: BTreeMap<String, String>,
    fallback: String,
}

// `#[weave::op]` on the block: the UI shows it as the code of `QaModel.predict`.
#[weave::op]
impl Model for QaModel {
    type Output = String;

    async fn predict(&self, input: &Row) -> Result<String, BoxError> {
        let question: String = input.get("question")?;
        Ok(lookup(&self.notes, &question, &self.fallback).await)
    }
}

/// A scorer type with its own summary: how many answers stay under a word budget.
#[derive(Serialize)]
struct Conciseness {
    max_words: usize,
}

#[weave::op]
impl Scorer for Conciseness {
    type Output = Value;

    fn columns(&self) -> Columns {
        Columns::only(Vec::<String>::new())
    }

    async fn score(&self, input: ScorerInput) -> Result<Value, BoxError> {
        let words = input.output().as_str().unwrap_or_default().split_whitespace().count();
        Ok(json!({"words": words, "concise": words <= self.max_words}))
    }

    fn summarize(&self, scores: &[Value]) -> Option<Value> {
        let words: Vec<u64> = scores.iter().filter_map(|s| s["words"].as_u64()).collect();
        let concise = scores.iter().filter(|s| s["concise"] == true).count();
        Some(json!({
            "concise_fraction": concise as f64 / scores.len().max(1) as f64,
            "longest_answer_words": words.iter().max().copied().unwrap_or(0),
        }))
    }
}

fn notes(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(String::from).collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let project = std::env::var("WEAVE_PROJECT").unwrap_or_else(|_| "weave-rs-evaluation".to_string());
    let weave = weave::init(&project)?;

    let dataset = Dataset::from_rows(
        "trivia-qa",
        [
            json!({"question": "What is the capital of France?", "expected": "Paris"}),
            json!({"question": "How many legs does a spider have?", "expected": "8"}),
            json!({"question": "What color is the sky on a clear day?", "expected": "blue"}),
            json!({"question": "What is 12 times 12?", "expected": "144"}),
            json!({"question": "Who wrote Hamlet?", "expected": "Shakespeare"}),
        ],
    )?;

    let exact_match = weave::scorer_fn!("exact_match", |input| async move {
        let expected: String = input.column("expected")?;
        Ok::<_, BoxError>(input.output().as_str().is_some_and(|o| o.trim().eq_ignore_ascii_case(&expected)))
    })
    .columns(["expected"]);
    // A number per row: the share of the expected answer's words found in the output.
    let recall = weave::scorer_fn!("token_recall", |input| async move {
        let expected = words(&input.column::<String>("expected")?);
        let output = words(input.output().as_str().unwrap_or_default());
        let found = expected.iter().filter(|w| output.contains(w)).count();
        Ok::<_, BoxError>(found as f64 / expected.len().max(1) as f64)
    })
    .columns(["expected"]);

    let evaluation = Evaluation::builder(dataset)
        .scorer(exact_match)
        .scorer(recall)
        .scorer(Conciseness { max_words: 3 })
        .trials(2)
        .build();

    let v1 = QaModel {
        name: "trivia-bot".into(),
        notes: notes(&[("france", "Paris"), ("spider", "Eight legs"), ("sky", "The sky is blue")]),
        fallback: "I don't know".into(),
    };
    let v2 = QaModel {
        name: "trivia-bot".into(),
        notes: notes(&[
            ("france", "Paris"),
            ("spider", "8"),
            ("sky", "blue"),
            ("12 times 12", "144"),
            ("hamlet", "William Shakespeare"),
        ]),
        fallback: "unknown".into(),
    };

    let comparison = compare(&evaluation, &[&v1, &v2]).await?;
    println!("{comparison}");
    for (label, outcome) in comparison.labels.iter().zip(&comparison.outcomes) {
        println!("{label}: {}", serde_json::to_string(&outcome.summary)?);
    }

    let store_path = weave.local_store_path().map(|p| p.to_path_buf());
    let destination = weave.destination();
    let report = weave.finish();
    if !report.completed {
        eprintln!("weave: not everything was flushed: {report:?}");
    }
    let Some(path) = store_path else {
        println!("\ncalls went to {destination}");
        return Ok(());
    };
    let store = weave::store::LocalStore::open(&path)?;
    for outcome in &comparison.outcomes {
        let Some(call_id) = outcome.call_id else { continue };
        let evaluate = store
            .calls(&weave::store::CallQuery { roots_only: true, ..Default::default() })?
            .into_iter()
            .find(|c| c.id == call_id.to_string());
        if let Some(evaluate) = evaluate {
            let calls = store.trace(&evaluate.trace_id)?.len();
            println!(
                "\n{} ({}): trace {} with {calls} calls",
                outcome.display_name, outcome.model_name, evaluate.trace_id
            );
        }
    }
    println!("\nstored in {} (project {project})", path.display());
    println!("show the traces with: cargo run --example show_traces 2");
    Ok(())
}
