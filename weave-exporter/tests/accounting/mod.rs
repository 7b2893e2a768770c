//! The accounting invariant, checked against the files (shared by the exporter's tests and
//! the workspace's load and fault tests, which include this file by path): every item
//! exported is written by the sink, in a fallback file, counted as lost, or still pending,
//! and exactly one of these (see `weave_core::export::FlushReport`).

#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use weave_core::export::FlushReport;
use weave_exporter::fallback::{rotated_path, KEPT_ROTATED_FILES};

/// What the fallback file and its rotated files hold: one line per item.
#[derive(Debug, Default)]
pub struct FallbackLines {
    /// Lines of dropped items (`queue_full`, `shutdown`).
    pub dropped: u64,
    /// Lines of items the sink failed to write (`sink_error: ...`).
    pub failed: u64,
    /// The ids of the calls in them, oldest file first.
    pub call_ids: Vec<String>,
    /// Lines by reason (up to its first escaped character) ...
    pub reasons: BTreeMap<String, u64>,
    /// ... and by kind (`call_finished`, `object`, ...).
    pub kinds: BTreeMap<String, u64>,
}

impl FallbackLines {
    /// All the lines.
    pub fn total(&self) -> u64 {
        self.dropped + self.failed
    }
}

/// Reads the fallback file at `path` and its rotated files (missing ones hold nothing; read
/// while the exporter writes, a rotation can move lines between two reads).
/// Lines are read by their fixed layout (`{"reason":..,"project_id":..,"kind":..,"item":{..`),
/// and every 500th is parsed in full: a load test's files hold hundreds of thousands.
pub fn read_fallback_files(path: &Path) -> FallbackLines {
    let mut lines = FallbackLines::default();
    let files = (1..=KEPT_ROTATED_FILES).rev().map(|n| rotated_path(path, n)).chain([path.to_path_buf()]);
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("reading {}: {e}", file.display()),
        };
        // Complete lines only: a file read while it is written may end mid-line.
        let complete = text.split_inclusive('\n').filter(|l| l.ends_with('\n'));
        for (n, line) in complete.map(|l| l.trim_end_matches('\n')).enumerate() {
            assert!(line.starts_with(r#"{"reason":""#), "a fallback line: {line}");
            let reason = string_after(line, r#"{"reason":""#);
            let kind = string_after(line, r#","kind":""#);
            if n % 500 == 0 {
                let entry: serde_json::Value = serde_json::from_str(line).expect("a fallback line is JSON");
                assert_eq!(entry["kind"].as_str(), Some(kind), "{line}");
                assert!(entry["reason"].as_str().is_some_and(|r| r.starts_with(reason)), "{line}");
            }
            *lines.reasons.entry(reason.to_string()).or_default() += 1;
            *lines.kinds.entry(kind.to_string()).or_default() += 1;
            if line.starts_with(r#"{"reason":"sink_error"#) {
                lines.failed += 1;
            } else {
                lines.dropped += 1;
            }
            if line.contains(r#","kind":"call_"#) {
                let item = &line[line.find(r#","item":{"#).expect("an item")..];
                let id_at = item.find(r#","id":""#).expect("a call id") + 7;
                lines.call_ids.push(item[id_at..id_at + 36].to_string());
            }
        }
    }
    lines
}

/// The JSON string that follows `key` in `line`, up to its end or its first escape.
fn string_after<'a>(line: &'a str, key: &str) -> &'a str {
    let at = line.find(key).unwrap_or_else(|| panic!("{key} in {line}")) + key.len();
    let len = line[at..].find(['"', '\\']).unwrap_or_else(|| panic!("the end of {key} in {line}"));
    &line[at..at + len]
}

/// Asserts the accounting invariant of `report` for `made` items exported, against the
/// fallback files at `fallback`: `made == written + in the files + lost + pending`; once
/// nothing is pending, `dropped` and `failed` each equal their lines in the files plus
/// their part of `lost`. Returns what the files hold.
pub fn assert_accounted(made: u64, report: &FlushReport, fallback: &Path) -> FallbackLines {
    let files = read_fallback_files(fallback);
    let in_files = files.total();
    assert_eq!(
        report.written + in_files + report.lost + report.pending,
        made,
        "every item is written ({}), in a fallback file ({in_files}), lost ({}) or pending ({}): {report:?}",
        report.written,
        report.lost,
        report.pending,
    );
    assert!(report.lost_dropped <= report.lost && report.rotated_out <= report.lost, "{report:?}");
    if report.pending == 0 {
        assert_eq!(
            report.dropped,
            files.dropped + report.lost_dropped,
            "the dropped items are in the files ({}) or lost: {report:?}",
            files.dropped
        );
        assert_eq!(
            report.failed,
            files.failed + (report.lost - report.lost_dropped),
            "the failed items are in the files ({}) or lost: {report:?}",
            files.failed
        );
    }
    files
}

/// Asserts that no call is both written by the sink (`sink_ids`) and in a fallback file,
/// nor twice in the files.
pub fn assert_nowhere_twice(sink_ids: &[String], files: &FallbackLines) {
    let in_files: HashSet<&String> = files.call_ids.iter().collect();
    assert_eq!(in_files.len(), files.call_ids.len(), "a call is in the fallback files twice");
    let both: Vec<&String> = sink_ids.iter().filter(|id| in_files.contains(id)).take(5).collect();
    assert!(both.is_empty(), "calls both written by the sink and in a fallback file: {both:?}");
}
