//! Several models over one evaluation, side by side: each model runs the evaluation in
//! turn (its own `Evaluation.evaluate` trace), and the summaries are lined up metric by
//! metric, the outputs row by row.

use crate::{AnyModel, EvalError, Evaluation, EvaluationOutcome};
use serde_json::Value;
use std::fmt;

/// Runs `evaluation` for each model, one after the other, and returns the side-by-side
/// [`Comparison`] (print it to see the table).
///
/// ```no_run
/// # async fn run(evaluation: weave_eval::Evaluation, a: impl weave_eval::Model, b: impl weave_eval::Model) {
/// let comparison = weave_eval::compare(&evaluation, &[&a, &b]).await.unwrap();
/// println!("{comparison}");
/// # }
/// ```
pub async fn compare(evaluation: &Evaluation, models: &[&dyn AnyModel]) -> Result<Comparison, EvalError> {
    let mut outcomes = Vec::with_capacity(models.len());
    for model in models {
        outcomes.push(evaluation.run(*model, None).await?);
    }
    Ok(Comparison::new(outcomes))
}

/// Evaluation outcomes of several models, to be read side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// A column label for each model: its name, plus its version when two share a name.
    pub labels: Vec<String>,
    /// Each model's outcome, in the order given.
    pub outcomes: Vec<EvaluationOutcome>,
}

impl Comparison {
    /// A comparison of outcomes (of one evaluation).
    pub fn new(outcomes: Vec<EvaluationOutcome>) -> Comparison {
        let labels = outcomes
            .iter()
            .map(|outcome| {
                let shared = outcomes.iter().filter(|o| o.model_name == outcome.model_name).count() > 1;
                match (&outcome.model_ref, shared) {
                    (Some(model_ref), true) => {
                        let digest = model_ref.rsplit(':').next().unwrap_or_default();
                        format!("{}:{}", outcome.model_name, digest.chars().take(8).collect::<String>())
                    }
                    _ => outcome.model_name.clone(),
                }
            })
            .collect();
        Comparison { labels, outcomes }
    }

    /// Each summary leaf (`scorer.key.stat`, e.g. `exact_match.true_fraction`) with its
    /// value for each model (`None` where a model has none), in the order first seen.
    pub fn metrics(&self) -> Vec<(String, Vec<Option<Value>>)> {
        let flat: Vec<Vec<(String, Value)>> = self.outcomes.iter().map(|o| flatten(&o.summary)).collect();
        let mut paths: Vec<String> = Vec::new();
        for leaves in &flat {
            for (path, _) in leaves {
                if !paths.contains(path) {
                    paths.push(path.clone());
                }
            }
        }
        paths
            .into_iter()
            .map(|path| {
                let values =
                    flat.iter().map(|leaves| leaves.iter().find(|(p, _)| *p == path).map(|(_, v)| v.clone())).collect();
                (path, values)
            })
            .collect()
    }

    /// The summaries side by side, one metric per line.
    pub fn summary_table(&self) -> String {
        let mut lines = vec![header("metric", &self.labels)];
        for (path, values) in self.metrics() {
            let mut cells = vec![path];
            cells.extend(values.iter().map(|v| v.as_ref().map_or("-".to_string(), format_value)));
            lines.push(cells);
        }
        render(&lines)
    }

    /// The outputs side by side, one row × trial per line (`row/trial`, then the row's
    /// `question`, `input`, `prompt` or `query` column, else its first column).
    pub fn outputs_table(&self) -> String {
        let mut lines = vec![header("row/trial", &self.labels)];
        let Some(first) = self.outcomes.first() else {
            return render(&lines);
        };
        for (i, row) in first.rows.iter().enumerate() {
            let key = ["question", "input", "prompt", "query"]
                .iter()
                .find_map(|column| row.row.value(column))
                .or_else(|| row.row.values().next())
                .map(format_value)
                .unwrap_or_default();
            let mut cells = vec![format!("{}/{} {}", row.row_index, row.trial, key)];
            for outcome in &self.outcomes {
                cells.push(outcome.rows.get(i).map_or("-".to_string(), |r| match &r.model_error {
                    Some(error) => format!("error: {error}"),
                    None => format_value(&r.output),
                }));
            }
            lines.push(cells);
        }
        render(&lines)
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary_table())?;
        f.write_str("\n")?;
        f.write_str(&self.outputs_table())
    }
}

fn header(first: &str, labels: &[String]) -> Vec<String> {
    let mut cells = vec![first.to_string()];
    cells.extend(labels.iter().cloned());
    cells
}

/// Leaves of a summary as dotted paths.
fn flatten(value: &Value) -> Vec<(String, Value)> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, child) in map {
                    let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                    walk(&path, child, out);
                }
            }
            other => out.push((prefix.to_string(), other.clone())),
        }
    }
    let mut out = Vec::new();
    if let Value::Object(map) = value {
        for (key, child) in map {
            walk(key, child, &mut out);
        }
    }
    out
}

const MAX_CELL: usize = 40;

fn format_value(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => format!("{f:.4}").trim_end_matches('0').trim_end_matches('.').to_string(),
            _ => n.to_string(),
        },
        other => other.to_string(),
    };
    let text = text.replace('\n', " ");
    if text.chars().count() > MAX_CELL {
        let cut: String = text.chars().take(MAX_CELL - 3).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn render(lines: &[Vec<String>]) -> String {
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| lines.iter().filter_map(|l| l.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let cells: Vec<String> = line.iter().enumerate().map(|(c, s)| format!("{s:<w$}", w = widths[c])).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summaries_flatten_to_dotted_leaves() {
        let leaves =
            flatten(&json!({"exact": {"true_count": 1, "true_fraction": 0.5}, "model_latency": {"mean": 0.1}}));
        let paths: Vec<&str> = leaves.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["exact.true_count", "exact.true_fraction", "model_latency.mean"]);
        assert_eq!(format_value(&json!(0.123456)), "0.1235");
        assert_eq!(format_value(&json!(1.0)), "1");
    }
}
