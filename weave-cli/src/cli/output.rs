//! Printing listings: aligned columns for people, CSV for spreadsheets (JSON is printed
//! by each command), as the [`Format`] a command is given asks.

use clap::ValueEnum;
use std::io::Write;

/// How a listing is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Aligned columns, for people.
    #[default]
    Table,
    /// JSON, for scripts.
    Json,
    /// CSV with a header line.
    Csv,
}

/// The widest a table cell is printed (longer text ends with `…`).
const MAX_CELL: usize = 60;

/// One cell of text, on one line and at most `MAX_CELL` characters.
pub fn cell(text: &str) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if flat.chars().count() > MAX_CELL {
        let mut short: String = flat.chars().take(MAX_CELL - 1).collect();
        short.push('…');
        short
    } else {
        flat
    }
}

/// Prints rows under headers, each column as wide as its widest cell.
pub fn table(out: &mut dyn Write, headers: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, c) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(headers.to_vec()))?;
    for row in &rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// Prints rows as CSV with a header line.
pub fn csv(out: &mut dyn Write, headers: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(headers).map_err(std::io::Error::other)?;
    for row in rows {
        writer.write_record(row).map_err(std::io::Error::other)?;
    }
    writer.flush()
}

/// `2026-01-02 03:04:05` (UTC) for microseconds since the epoch.
pub fn time(us: i64) -> String {
    let text = weave_core::time::Timestamp::from_unix_micros(us).to_string();
    text.get(..19).map(|s| s.replace('T', " ")).unwrap_or(text)
}

/// `12.3 ms`, `1.25 s`; empty for none.
pub fn latency_ms(ms: Option<f64>) -> String {
    match ms {
        None => String::new(),
        Some(ms) if ms < 1000.0 => format!("{ms:.1} ms"),
        Some(ms) => format!("{:.2} s", ms / 1000.0),
    }
}

/// A number without a pointless fraction: `3`, `0.25`, `0.333`.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A cost in USD: `$0.0123`, `$1.50`; `~$0.0123` when estimated.
pub fn cost(usd: f64, estimated: bool) -> String {
    let mark = if estimated { "~" } else { "" };
    if usd < 0.01 {
        format!("{mark}${usd:.5}")
    } else {
        format!("{mark}${usd:.3}")
    }
}

/// A JSON value as a cell: strings as they are, the rest as JSON.
pub fn json_cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), number),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_long_cells_are_cut() {
        let mut out = Vec::new();
        let long = "x".repeat(100);
        table(&mut out, &["A", "BB"], &[vec!["1".into(), "two\nlines".into()], vec![long.clone(), "z".into()]])
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], format!("1{}two lines", " ".repeat(61)));
        assert!(lines[2].starts_with(&format!("{}…", "x".repeat(59))));
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let mut out = Vec::new();
        csv(&mut out, &["a", "b"], &[vec!["x,y".into(), "say \"hi\"".into()]]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n");
    }

    #[test]
    fn numbers_and_times_read_well() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(1.0 / 3.0), "0.3333");
        assert_eq!(time(0), "1970-01-01 00:00:00");
        assert_eq!(latency_ms(Some(1500.0)), "1.50 s");
        assert_eq!(latency_ms(Some(2.26)), "2.3 ms");
        assert_eq!(cost(0.001234, false), "$0.00123");
        assert_eq!(cost(1.5, true), "~$1.500");
    }
}
