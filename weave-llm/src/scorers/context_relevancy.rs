//! A judge of retrieval: is the context relevant to the query?

use super::judge::{ask_judge, template_columns};
use super::traits::JudgeModel;
use serde::Serialize;
use serde_json::Value;
use weave_eval::{BoxError, Columns, Scorer, ScorerInput};

/// The system prompt of [`ContextRelevancyScorer`].
pub const RELEVANCY_SYSTEM_PROMPT: &str = "You rate retrieved passages. Given a query and a passage, rate how much \
of the passage helps answer the query: 1 when it holds the answer, 0 when it is off topic, in between when it is \
only partly useful. Reply with a JSON object only: {\"relevancy_score\": <a number from 0 to 1>, \"reason\": <one \
sentence>}.";

/// The user prompt of [`ContextRelevancyScorer`].
pub const RELEVANCY_USER_PROMPT: &str = "<query>\n{query}\n</query>\n\n<passage>\n{context}\n</passage>";

/// Judges how relevant the row's `context` is to its `query` (rename them with the
/// evaluation's column map): `{"relevancy_score": 0..1, "is_relevant": bool, "reason"}`.
#[derive(Debug, Clone, Serialize)]
pub struct ContextRelevancyScorer<M> {
    model_id: String,
    system_prompt: String,
    user_prompt: String,
    /// The score from which the context counts as relevant.
    threshold: f64,
    #[serde(skip)]
    model: M,
}

impl<M: JudgeModel> ContextRelevancyScorer<M> {
    /// A judge asking `model`; relevant from a score of 0.5.
    pub fn new(model: M) -> Self {
        ContextRelevancyScorer {
            model_id: model.model_id(),
            system_prompt: RELEVANCY_SYSTEM_PROMPT.to_string(),
            user_prompt: RELEVANCY_USER_PROMPT.to_string(),
            threshold: 0.5,
            model,
        }
    }

    /// Relevant from a score of `threshold`.
    pub fn threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }
}

impl<M: JudgeModel> Scorer for ContextRelevancyScorer<M> {
    type Output = Value;

    fn name(&self) -> String {
        "ContextRelevancyScorer".to_string()
    }

    fn columns(&self) -> Columns {
        template_columns(&self.user_prompt)
    }

    async fn score(&self, input: ScorerInput) -> Result<Value, BoxError> {
        let mut verdict = ask_judge(&self.model, &self.system_prompt, &self.user_prompt, &input).await?;
        let score =
            verdict.get("relevancy_score").or_else(|| verdict.get("score")).and_then(Value::as_f64).ok_or_else(
                || format!("the judge's verdict has no `relevancy_score`: {}", Value::Object(verdict.clone())),
            )?;
        verdict.insert("relevancy_score".into(), score.into());
        verdict.remove("score");
        verdict.insert("is_relevant".into(), (score >= self.threshold).into());
        Ok(Value::Object(verdict))
    }
}
