//! The edit distance between the output and the target.

use super::output::output_text;
use serde::Serialize;
use serde_json::{json, Value};
use weave_eval::{BoxError, Columns, Scorer, ScorerInput};

/// The Levenshtein distance (insertions, deletions and substitutions of characters)
/// from `a` to `b`.
///
/// ```
/// assert_eq!(weave_llm::scorers::levenshtein("kitten", "sitting"), 3);
/// ```
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The edit distance from the output to the row's `target` column (Weave's
/// `LevenshteinScorer`): `{"levenshtein_distance": n}`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct LevenshteinScorer;

impl Scorer for LevenshteinScorer {
    type Output = Value;

    fn name(&self) -> String {
        "LevenshteinScorer".to_string()
    }

    fn columns(&self) -> Columns {
        Columns::only(["target"])
    }

    async fn score(&self, input: ScorerInput) -> Result<Value, BoxError> {
        let target: String = input.column("target")?;
        Ok(json!({"levenshtein_distance": levenshtein(&output_text(input.output()), &target)}))
    }
}

#[cfg(test)]
mod tests {
    use super::levenshtein;

    #[test]
    fn distances() {
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("flaw", "lawn"), 2);
        assert_eq!(levenshtein("héllo", "hello"), 1);
    }
}
