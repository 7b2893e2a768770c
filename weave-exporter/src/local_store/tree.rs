//! [`TraceTree`]: the calls of a trace as an indented tree, one line per call with its
//! status, name, duration and error:
//!
//! ```text
//! ✓ answer 47.1 ms (1 error below)
//!   ✓ retrieve 0.1 ms
//!   ✗ web_search 0.0 ms: web search is offline (query: "…")
//!   ✓ summarize 15.8 ms
//!     ✓ chat_completion 15.5 ms
//! ```

use super::error::StoreError;
use super::query::{Status, StoredCall};
use super::store::LocalStore;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Duration;

/// One line of a [`TraceTree`].
#[derive(Debug, Clone, PartialEq)]
pub struct TreeLine {
    /// The nesting level (0 for a root).
    pub depth: usize,
    /// The call.
    pub call: StoredCall,
}

/// The calls of a trace in tree order (each call followed by its children, in start
/// order). Calls whose parent is not in the trace are shown as roots.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceTree {
    lines: Vec<TreeLine>,
}

impl TraceTree {
    /// Arranges calls (of one trace) into a tree.
    pub fn build(mut calls: Vec<StoredCall>) -> TraceTree {
        calls.sort_by(|a, b| a.started_at.cmp(&b.started_at).then_with(|| a.id.cmp(&b.id)));
        let index: HashMap<&str, usize> = calls.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); calls.len()];
        let mut roots = Vec::new();
        for (i, call) in calls.iter().enumerate() {
            match call.parent_id.as_deref().and_then(|p| index.get(p)) {
                Some(&parent) if parent != i => children[parent].push(i),
                _ => roots.push(i),
            }
        }
        let mut order: Vec<(usize, usize)> = Vec::with_capacity(calls.len());
        let mut seen: HashSet<usize> = HashSet::with_capacity(calls.len());
        // Roots first, then anything unreachable from them (a parent cycle in bad data).
        let starts: Vec<usize> = roots.into_iter().chain(0..calls.len()).collect();
        for start in starts {
            if seen.contains(&start) {
                continue;
            }
            let mut stack = vec![(start, 0usize)];
            while let Some((node, depth)) = stack.pop() {
                if !seen.insert(node) {
                    continue;
                }
                order.push((node, depth));
                for &child in children[node].iter().rev() {
                    stack.push((child, depth + 1));
                }
            }
        }
        let mut slots: Vec<Option<StoredCall>> = calls.into_iter().map(Some).collect();
        let lines =
            order.into_iter().filter_map(|(i, depth)| slots[i].take().map(|call| TreeLine { depth, call })).collect();
        TraceTree { lines }
    }

    /// The lines, in display order.
    pub fn lines(&self) -> &[TreeLine] {
        &self.lines
    }

    /// True for a tree with no calls.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

impl fmt::Display for TraceTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            let call = &line.call;
            let indent = "  ".repeat(line.depth);
            let status = call.status();
            let symbol = match status {
                Status::Success | Status::DescendantError => "✓",
                Status::Error => "✗",
                Status::Running => "…",
            };
            write!(f, "{indent}{symbol} {}", call.trace_name())?;
            match call.latency() {
                Some(latency) => write!(f, " {}", format_duration(latency))?,
                None => f.write_str(" (running)")?,
            }
            match status {
                Status::Error => {
                    if let Some(message) = call.exception_message() {
                        write!(f, ": {}", one_line(&message, 200))?;
                    }
                }
                Status::DescendantError => {
                    let n = call.descendant_errors();
                    write!(f, " ({n} error{} below)", if n == 1 { "" } else { "s" })?;
                }
                Status::Success | Status::Running => {}
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// `0.4 ms`, `12.3 ms`, `1.25 s`.
pub(crate) fn format_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn one_line(text: &str, max_chars: usize) -> String {
    let first = text.lines().next().unwrap_or_default();
    let mut out: String = first.chars().take(max_chars).collect();
    if out.len() < first.len() || first.len() < text.trim_end().len() {
        out.push('…');
    }
    out
}

impl LocalStore {
    /// The calls of a trace as a tree.
    pub fn trace_tree(&self, trace_id: &str) -> Result<TraceTree, StoreError> {
        Ok(TraceTree::build(self.trace(trace_id)?))
    }

    /// The calls of a trace as an indented tree, one line per call (see [`TraceTree`]).
    pub fn render_tree(&self, trace_id: &str) -> Result<String, StoreError> {
        Ok(self.trace_tree(trace_id)?.to_string())
    }
}
