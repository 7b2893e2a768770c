//! `weave evals`: evaluation runs, newest first.

use super::error::CliError;
use super::output::{self, Format};
use crate::store::Store;
use clap::Args;
use serde_json::Value;
use std::io::Write;

/// The arguments of `weave evals`.
#[derive(Debug, Args)]
pub struct EvalsArgs {
    /// At most this many runs
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// How to print them
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

const HEADERS: [&str; 9] = ["started_at", "id", "name", "model", "dataset", "scorers", "status", "summary", "trace_id"];

/// A summary in one line: `exact_match.true_fraction=0.8 token_recall.mean=1`.
pub fn summary_line(summary: &Value) -> String {
    let mut flat = Vec::new();
    crate::compare::flatten(summary, "", &mut flat);
    flat.iter()
        .filter(|(path, v)| v.is_number() && !path.ends_with("true_count"))
        .map(|(path, v)| format!("{path}={}", output::json_cell(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn model_label(model: &Value) -> String {
    let name = model["name"].as_str().unwrap_or_default();
    match model["version"].as_str() {
        Some(v) => format!("{name}:{v}"),
        None => name.to_string(),
    }
}

fn row(info: &Value) -> Vec<String> {
    let scorers: Vec<String> = info["scorers"].as_array().into_iter().flatten().map(output::json_cell).collect();
    vec![
        info["started_at_us"].as_i64().map(output::time).unwrap_or_default(),
        output::json_cell(&info["id"]),
        output::json_cell(&info["name"]),
        model_label(&info["model"]),
        model_label(&info["dataset"]),
        scorers.join(","),
        output::json_cell(&info["status"]),
        summary_line(&info["summary"]),
        output::json_cell(&info["trace_id"]),
    ]
}

/// Runs `weave evals`.
pub fn run(store: &Store, args: &EvalsArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let (runs, _) = store.evals(args.limit.max(1), 0)?;
    let infos: Vec<&Value> = runs.iter().map(|r| &r.info).collect();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &infos).map_err(|e| CliError::new(e.to_string()))?;
            writeln!(out)?;
        }
        Format::Csv => output::csv(out, &HEADERS, &infos.iter().map(|i| row(i)).collect::<Vec<_>>())?,
        Format::Table => {
            if infos.is_empty() {
                writeln!(out, "no evaluation runs in {}", store.path().display())?;
                return Ok(());
            }
            let headers = HEADERS.map(str::to_uppercase);
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            output::table(out, &headers, &infos.iter().map(|i| row(i)).collect::<Vec<_>>())?;
        }
    }
    Ok(())
}
