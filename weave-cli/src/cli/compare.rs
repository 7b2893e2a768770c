//! `weave compare EVAL_CALL_ID…`: evaluation runs' summary metrics side by side with the
//! difference to the first, and with `--rows` (or `--query`, `--group-by`) their rows.

use super::error::CliError;
use super::output::{self, Format};
use crate::compare::{CompareError, Comparison, RowsRequest};
use crate::store::Store;
use clap::Args;
use serde_json::{json, Value};
use std::io::Write;

/// The arguments of `weave compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The runs' `Evaluation.evaluate` call ids (see `weave evals`); the first is the baseline
    #[arg(required = true, num_args = 1..)]
    pub ids: Vec<String>,
    /// Also print the per-row table
    #[arg(long)]
    pub rows: bool,
    /// Only rows matching this expression, e.g. "exact_match = false AND model_latency > 0.5"
    #[arg(long)]
    pub query: Option<String>,
    /// Group the rows by this column and print count and mean per run
    #[arg(long)]
    pub group_by: Option<String>,
    /// Sort the rows by this column
    #[arg(long)]
    pub sort: Option<String>,
    /// Sort descending
    #[arg(long)]
    pub desc: bool,
    /// How to print
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

fn signed(x: f64) -> String {
    let s = output::number(x);
    if x > 0.0 {
        format!("+{s}")
    } else {
        s
    }
}

fn metric_rows(summary: &Value) -> (Vec<String>, Vec<Vec<String>>) {
    let runs = summary["runs"].as_array().cloned().unwrap_or_default();
    let mut headers = vec!["metric".to_string()];
    for (i, _) in runs.iter().enumerate() {
        headers.push(format!("run{}", i + 1));
        if i > 0 {
            headers.push(format!("Δ run{}", i + 1));
        }
    }
    let mut rows = Vec::new();
    for m in summary["metrics"].as_array().into_iter().flatten() {
        let mut row = vec![output::json_cell(&m["path"])];
        for i in 0..runs.len() {
            row.push(m["values"][i].as_f64().map(output::number).unwrap_or_default());
            if i > 0 {
                row.push(m["deltas"][i].as_f64().map(signed).unwrap_or_default());
            }
        }
        rows.push(row);
    }
    (headers, rows)
}

fn table_rows(rows: &Value) -> (Vec<String>, Vec<Vec<String>>) {
    let runs = rows["runs"].as_array().cloned().unwrap_or_default();
    let scores: Vec<String> =
        rows["score_columns"].as_array().into_iter().flatten().filter_map(|s| s.as_str().map(String::from)).collect();
    let mut headers = vec!["row".to_string(), "trial".to_string(), "inputs".to_string()];
    for run in &runs {
        let key = run["key"].as_str().unwrap_or("run");
        headers.push(format!("{key}.output"));
        for s in &scores {
            headers.push(format!("{key}.{s}"));
        }
    }
    let mut out = Vec::new();
    for row in rows["rows"].as_array().into_iter().flatten() {
        let mut line = vec![
            (row["index"].as_u64().unwrap_or(0) + 1).to_string(),
            (row["trial"].as_u64().unwrap_or(0) + 1).to_string(),
            row["inputs"].to_string(),
        ];
        for i in 0..runs.len() {
            let run = &row["runs"][i];
            line.push(match run["error"].as_str() {
                Some(e) => format!("error: {e}"),
                None => output::json_cell(&run["output"]),
            });
            for s in &scores {
                line.push(output::json_cell(&run["scores"][s]));
            }
        }
        out.push(line);
    }
    (headers, out)
}

fn group_rows(rows: &Value) -> (Vec<String>, Vec<Vec<String>>) {
    let groups = &rows["groups"];
    let runs = rows["runs"].as_array().cloned().unwrap_or_default();
    let columns: Vec<String> =
        groups["columns"].as_array().into_iter().flatten().filter_map(|s| s.as_str().map(String::from)).collect();
    let mut headers = vec![groups["by"].as_str().unwrap_or("key").to_string(), "run".into(), "count".into()];
    headers.extend(columns.iter().map(|c| format!("mean {c}")));
    let mut out = Vec::new();
    for g in groups["groups"].as_array().into_iter().flatten() {
        for (i, run) in runs.iter().enumerate() {
            let stats = &g["runs"][i];
            if stats.is_null() {
                continue;
            }
            let mut line =
                vec![g["key"].to_string(), output::json_cell(&run["key"]), output::json_cell(&stats["count"])];
            line.extend(columns.iter().map(|c| output::json_cell(&stats["columns"][c]["mean"])));
            out.push(line);
        }
    }
    (headers, out)
}

fn print(out: &mut dyn Write, format: Format, headers: &[String], rows: &[Vec<String>]) -> Result<(), CliError> {
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    match format {
        Format::Csv => output::csv(out, &headers, rows)?,
        _ => output::table(out, &headers, rows)?,
    }
    Ok(())
}

/// Runs `weave compare`.
pub fn run(store: &Store, args: &CompareArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let comparison = Comparison::load(store, &args.ids).map_err(|e| match e {
        CompareError::Store(e) => CliError::from(e),
        other => CliError::new(other.to_string()),
    })?;
    let summary = comparison.summary_json();
    let want_rows = args.rows || args.query.is_some() || args.group_by.is_some() || args.sort.is_some();
    let rows = if want_rows {
        let request = RowsRequest {
            query: args.query.clone(),
            group_by: args.group_by.clone(),
            sort: args.sort.clone(),
            desc: args.desc,
        };
        Some(comparison.rows_json(&request).map_err(|e| CliError::usage(format!("bad query: {e}")))?)
    } else {
        None
    };
    if args.format == Format::Json {
        let doc = json!({"summary": summary, "rows": rows});
        serde_json::to_writer_pretty(&mut *out, &doc).map_err(|e| CliError::new(e.to_string()))?;
        writeln!(out)?;
        return Ok(());
    }
    if args.format == Format::Table {
        for (i, run) in summary["runs"].as_array().into_iter().flatten().enumerate() {
            writeln!(
                out,
                "run{}  {}  {}  {}",
                i + 1,
                output::json_cell(&run["id"]),
                output::json_cell(&run["label"]),
                output::json_cell(&run["name"])
            )?;
        }
        writeln!(out)?;
    }
    if !(args.format == Format::Csv && want_rows) {
        let (headers, metric_lines) = metric_rows(&summary);
        print(out, args.format, &headers, &metric_lines)?;
    }
    if let Some(rows) = rows {
        if args.format == Format::Table {
            writeln!(
                out,
                "\n{} of {} rows{}",
                rows["count"],
                rows["total"],
                args.query.as_deref().map(|q| format!(" match {q}")).unwrap_or_default()
            )?;
        }
        let (headers, lines) = if rows["groups"].is_null() { table_rows(&rows) } else { group_rows(&rows) };
        print(out, args.format, &headers, &lines)?;
    }
    Ok(())
}
