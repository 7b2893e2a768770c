//! `weave calls`: calls, newest first, with the traces page's filters.

use super::error::CliError;
use super::output::{self, Format};
use crate::store::calls::{brief_json, full_json, parse_time, CallFilter, Columns, StatusFilter};
use crate::store::Store;
use clap::Args;
use serde_json::Value;
use std::io::Write;

/// The arguments of `weave calls`.
#[derive(Debug, Args)]
pub struct CallsArgs {
    /// Only calls of this op (its name, e.g. `answer`)
    #[arg(long)]
    pub op: Option<String>,
    /// Only calls with this status: success, error, running (or descendant_error)
    #[arg(long)]
    pub status: Option<String>,
    /// Only calls started at or after: RFC 3339, a date, or an age such as 2h or 7d
    #[arg(long)]
    pub since: Option<String>,
    /// Only calls started before: RFC 3339, a date, or an age such as 30m
    #[arg(long)]
    pub until: Option<String>,
    /// Only calls with this attribute value, KEY=VALUE (a dotted key; repeatable)
    #[arg(long = "attr", value_name = "KEY=VALUE")]
    pub attrs: Vec<String>,
    /// Only calls whose inputs, output or display name contain this text
    #[arg(long)]
    pub text: Option<String>,
    /// Only calls of this trace
    #[arg(long)]
    pub trace: Option<String>,
    /// Only root calls (one per trace)
    #[arg(long)]
    pub roots: bool,
    /// At most this many calls
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Skip this many calls first
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// How to print them
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

impl CallsArgs {
    /// The filter these arguments ask for.
    pub fn filter(&self, now_us: i64) -> Result<CallFilter, CliError> {
        let time = |flag: &str, text: &Option<String>| -> Result<Option<i64>, CliError> {
            match text {
                None => Ok(None),
                Some(t) => parse_time(t, now_us).map(Some).ok_or_else(|| {
                    CliError::usage(format!(
                        "--{flag} {t:?} is not a time (use RFC 3339, a date such as 2026-01-31, or an age such as 2h)"
                    ))
                }),
            }
        };
        let status = match &self.status {
            None => None,
            Some(s) => Some(StatusFilter::parse(s).ok_or_else(|| {
                CliError::usage(format!("--status {s:?} is not one of success, error, running, descendant_error"))
            })?),
        };
        let mut attributes = Vec::new();
        for attr in &self.attrs {
            let (k, v) = attr
                .split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .ok_or_else(|| CliError::usage(format!("--attr {attr:?} is not KEY=VALUE")))?;
            attributes.push((k.trim().to_string(), v.to_string()));
        }
        if self.limit == 0 {
            return Err(CliError::usage("--limit must be at least 1"));
        }
        Ok(CallFilter {
            op: self.op.clone(),
            status,
            since_us: time("since", &self.since)?,
            until_us: time("until", &self.until)?,
            attributes,
            text: self.text.clone(),
            roots: self.roots,
            trace_id: self.trace.clone(),
            limit: self.limit,
            offset: self.offset,
            ..CallFilter::default()
        })
    }
}

/// The CSV's columns: `cost` is a number (USD), `cost_estimated` says whether it was
/// estimated from the usage rather than recorded by the SDK.
const HEADERS: [&str; 12] = [
    "started_at",
    "op",
    "name",
    "status",
    "latency",
    "tokens",
    "cost",
    "cost_estimated",
    "calls",
    "trace_id",
    "id",
    "error",
];

/// The table's columns: no error (too long) and no `cost_estimated`, an estimated cost
/// shows as `~$…`.
const TABLE_HEADERS: [&str; 10] =
    ["STARTED_AT", "OP", "NAME", "STATUS", "LATENCY", "TOKENS", "COST", "CALLS", "TRACE_ID", "ID"];

/// A call's cells for the table (`for_table`) or the CSV.
fn row(call: &Value, for_table: bool) -> Vec<String> {
    let s = |k: &str| output::json_cell(&call[k]);
    let mut cells = vec![
        call["started_at_us"].as_i64().map(output::time).unwrap_or_default(),
        s("op"),
        s("name"),
        s("status"),
        output::latency_ms(call["latency_ms"].as_f64()),
        s("tokens"),
    ];
    let cost = call["cost"].as_f64();
    let estimated = call["cost_estimated"].as_bool().unwrap_or(false);
    if for_table {
        cells.push(cost.map(|usd| output::cost(usd, estimated)).unwrap_or_default());
    } else {
        // Every digit: a cost is often well under a cent.
        cells.push(cost.map(|usd| usd.to_string()).unwrap_or_default());
        cells.push(estimated.to_string());
    }
    cells.extend([s("calls"), s("trace_id"), s("id")]);
    if !for_table {
        cells.push(s("error"));
    }
    cells
}

/// Runs `weave calls`.
pub fn run(store: &Store, args: &CallsArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let now = weave_core::time::Timestamp::now().unix_micros();
    let filter = args.filter(now)?;
    let columns = if args.format == Format::Json { Columns::Full } else { Columns::Light };
    let page = store.list_calls(&filter, columns)?;
    match args.format {
        Format::Json => {
            let calls: Vec<Value> = page.calls.iter().map(full_json).collect();
            serde_json::to_writer_pretty(&mut *out, &calls).map_err(|e| CliError::new(e.to_string()))?;
            writeln!(out)?;
        }
        Format::Csv => {
            let rows: Vec<Vec<String>> = page.calls.iter().map(|c| row(&brief_json(c), false)).collect();
            output::csv(out, &HEADERS, &rows)?;
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = page.calls.iter().map(|c| row(&brief_json(c), true)).collect();
            output::table(out, &TABLE_HEADERS, &rows)?;
            if page.has_more {
                writeln!(out, "(more: --offset {})", args.offset + page.calls.len())?;
            }
        }
    }
    Ok(())
}
