//! `weave tree TRACE_ID`: a trace's calls as an indented tree.

use super::error::CliError;
use super::output::Format;
use crate::store::calls::full_json;
use crate::store::Store;
use clap::Args;
use std::io::Write;
use weave_exporter::local_store::TraceTree;

/// The most calls of a trace printed.
const MAX_CALLS: usize = 100_000;

/// The arguments of `weave tree`.
#[derive(Debug, Args)]
pub struct TreeArgs {
    /// The trace's id (a call's id works too: its trace is printed)
    pub trace_id: String,
    /// Print each call's id after its line
    #[arg(long)]
    pub ids: bool,
    /// `table` (the tree) or `json` (the calls in tree order, with depth)
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Runs `weave tree`.
pub fn run(store: &Store, args: &TreeArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let mut calls = store.trace_calls(&args.trace_id, MAX_CALLS)?;
    if calls.is_empty() {
        if let Some(call) = store.call(&args.trace_id)? {
            calls = store.trace_calls(&call.trace_id, MAX_CALLS)?;
        }
    }
    if calls.is_empty() {
        return Err(CliError::new(format!(
            "there is no trace {} in {} (list them with `weave calls --roots`)",
            args.trace_id,
            store.path().display()
        )));
    }
    let tree = TraceTree::build(calls);
    match args.format {
        Format::Json => {
            let lines: Vec<serde_json::Value> = tree
                .lines()
                .iter()
                .map(|line| {
                    let mut v = full_json(&line.call);
                    v["depth"] = line.depth.into();
                    v
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &lines).map_err(|e| CliError::new(e.to_string()))?;
            writeln!(out)?;
        }
        Format::Table | Format::Csv => {
            if args.ids {
                let text = tree.to_string();
                for (line, tree_line) in text.lines().zip(tree.lines()) {
                    writeln!(out, "{line}  [{}]", tree_line.call.id)?;
                }
            } else {
                write!(out, "{tree}")?;
            }
        }
    }
    Ok(())
}
