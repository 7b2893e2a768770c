//! Is the output found in the target?

use super::output::output_text;
use serde::Serialize;
use serde_json::{json, Value};
use weave_eval::{BoxError, Columns, Scorer, ScorerInput};

/// Whether the output, lowercased, is found in the row's `target` column, lowercased
/// (Weave's `StringMatchScorer`): `{"string_in_input": bool}`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StringMatchScorer;

impl Scorer for StringMatchScorer {
    type Output = Value;

    fn name(&self) -> String {
        "StringMatchScorer".to_string()
    }

    fn columns(&self) -> Columns {
        Columns::only(["target"])
    }

    async fn score(&self, input: ScorerInput) -> Result<Value, BoxError> {
        let target: String = input.column("target")?;
        let found = target.to_lowercase().contains(&output_text(input.output()).to_lowercase());
        Ok(json!({"string_in_input": found}))
    }
}
