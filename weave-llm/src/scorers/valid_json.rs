//! Is the output valid JSON?

use serde::Serialize;
use serde_json::{json, Value};
use weave_eval::{BoxError, Columns, Scorer, ScorerInput};

/// Whether the output is a string holding valid JSON (Weave's `ValidJSONScorer`):
/// `{"json_valid": bool}`. An output that is already a JSON object or array counts as
/// valid.
///
/// ```
/// use serde_json::json;
/// use weave_eval::{Row, Scorer, ScorerInput};
/// use weave_llm::scorers::ValidJSONScorer;
///
/// let input = ScorerInput::new(json!("{\"a\": 1}"), Row::new(), Row::new());
/// let score = futures_executor_block_on(ValidJSONScorer.score(input)).unwrap();
/// assert_eq!(score, json!({"json_valid": true}));
/// # fn futures_executor_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ValidJSONScorer;

impl Scorer for ValidJSONScorer {
    type Output = Value;

    fn name(&self) -> String {
        "ValidJSONScorer".to_string()
    }

    fn columns(&self) -> Columns {
        Columns::only(Vec::<String>::new())
    }

    async fn score(&self, input: ScorerInput) -> Result<Value, BoxError> {
        let valid = match input.output() {
            Value::String(text) => serde_json::from_str::<Value>(text).is_ok(),
            Value::Object(_) | Value::Array(_) => true,
            _ => false,
        };
        Ok(json!({"json_valid": valid}))
    }
}
