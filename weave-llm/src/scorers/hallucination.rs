//! A judge of hallucinations: does the output claim what its context does not support?

use super::judge::{ask_judge, template_columns};
use super::traits::JudgeModel;
use serde::Serialize;
use serde_json::Value;
use weave_eval::{BoxError, Columns, Scorer, ScorerInput};

/// The system prompt of [`HallucinationFreeScorer`].
pub const HALLUCINATION_SYSTEM_PROMPT: &str = "You check answers against their source material. An answer \
hallucinates when it states a fact, number, name or quotation that the source does not contain or contradicts; \
answers that only rephrase, summarise or leave things out do not. Reply with a JSON object only: \
{\"has_hallucination\": true or false, \"conclusion\": <one sentence naming the unsupported claim, if any>}.";

/// The user prompt of [`HallucinationFreeScorer`].
pub const HALLUCINATION_USER_PROMPT: &str = "<source>\n{context}\n</source>\n\n<answer>\n{output}\n</answer>\n\n\
Does the answer contain anything the source does not support?";

/// Judges whether the output holds claims its `context` column does not support
/// (Weave's `HallucinationFreeScorer`): `{"has_hallucination": bool, "conclusion": str}`.
#[derive(Debug, Clone, Serialize)]
pub struct HallucinationFreeScorer<M> {
    model_id: String,
    system_prompt: String,
    user_prompt: String,
    #[serde(skip)]
    model: M,
}

impl<M: JudgeModel> HallucinationFreeScorer<M> {
    /// A judge asking `model`.
    pub fn new(model: M) -> Self {
        HallucinationFreeScorer {
            model_id: model.model_id(),
            system_prompt: HALLUCINATION_SYSTEM_PROMPT.to_string(),
            user_prompt: HALLUCINATION_USER_PROMPT.to_string(),
            model,
        }
    }
}

impl<M: JudgeModel> Scorer for HallucinationFreeScorer<M> {
    type Output = Value;

    fn name(&self) -> String {
        "HallucinationFreeScorer".to_string()
    }

    fn columns(&self) -> Columns {
        template_columns(&self.user_prompt)
    }

    async fn score(&self, input: ScorerInput) -> Result<Value, BoxError> {
        let verdict = ask_judge(&self.model, &self.system_prompt, &self.user_prompt, &input).await?;
        match verdict.get("has_hallucination") {
            Some(Value::Bool(_)) => Ok(Value::Object(verdict)),
            _ => Err(format!("the judge's verdict has no `has_hallucination`: {}", Value::Object(verdict)).into()),
        }
    }
}
