//! The LLM-as-judge scorer: a prompt template filled with the row's columns and the
//! output, sent to a [`JudgeModel`], its reply parsed into a verdict.

use super::output::output_text;
use super::parse::parse_judgement;
use super::template::{fill, placeholders};
use super::traits::JudgeModel;
use serde::Serialize;
use serde_json::{Map, Value};
use weave_eval::{BoxError, Columns, Scorer, ScorerInput};

/// The system prompt of [`LLMAsAJudgeScorer`] unless you give one.
pub const DEFAULT_JUDGE_SYSTEM_PROMPT: &str = "You grade the answers of an AI system. Read the task and the answer, \
then reply with a JSON object only: {\"score\": <a number from 0 to 1, 1 being best>, \"reason\": <one sentence>}.";

/// Fills `template` from `input` (`{output}` and the row's columns), asks `model` with
/// `system`, and reads its verdict.
pub(crate) async fn ask_judge<M: JudgeModel>(
    model: &M,
    system: &str,
    template: &str,
    input: &ScorerInput,
) -> Result<Map<String, Value>, BoxError> {
    let prompt = fill(template, |name| match name {
        "output" => Some(output_text(input.output())),
        column => input.value(column).map(output_text),
    })?;
    let reply = model.complete(system.to_string(), prompt).await?;
    parse_judgement(&reply).ok_or_else(|| format!("the judge's reply holds no verdict: {reply:?}").into())
}

/// The columns a template asks for (all its placeholders but `{output}`).
pub(crate) fn template_columns(template: &str) -> Columns {
    let names = placeholders(template).unwrap_or_default();
    Columns::only(names.into_iter().filter(|n| n != "output"))
}

/// Scores with an LLM (Weave's `LLMAsAJudgeScorer`): `scoring_prompt` is a template with
/// `{output}` and the row's columns by name; the verdict is the JSON object of the reply
/// (by default `{"score", "reason"}`), or `{"score": n}` for a bare number.
///
/// ```
/// use weave_llm::scorers::{JudgeModel, LLMAsAJudgeScorer};
/// # struct Stub;
/// # impl JudgeModel for Stub {
/// #     fn model_id(&self) -> String { "stub".into() }
/// #     async fn complete(&self, _: String, _: String) -> Result<String, weave_eval::BoxError> { Ok("1".into()) }
/// # }
/// # let model = Stub;
/// let judge = LLMAsAJudgeScorer::new(model, "Question: {question}\nExpected: {expected}\nAnswer: {output}\nIs the answer right?");
/// # let _ = judge;
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct LLMAsAJudgeScorer<M> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    model_id: String,
    system_prompt: String,
    scoring_prompt: String,
    #[serde(skip)]
    model: M,
}

impl<M: JudgeModel> LLMAsAJudgeScorer<M> {
    /// A judge asking `model` with `scoring_prompt` (see the type's documentation).
    pub fn new(model: M, scoring_prompt: impl Into<String>) -> Self {
        LLMAsAJudgeScorer {
            name: None,
            model_id: model.model_id(),
            system_prompt: DEFAULT_JUDGE_SYSTEM_PROMPT.to_string(),
            scoring_prompt: scoring_prompt.into(),
            model,
        }
    }

    /// With another system prompt (it should ask for the JSON verdict you want).
    pub fn system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = prompt.into();
        self
    }

    /// Stores its scores under `name` (default: `LLMAsAJudgeScorer`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

impl<M: JudgeModel> Scorer for LLMAsAJudgeScorer<M> {
    type Output = Value;

    fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| "LLMAsAJudgeScorer".to_string())
    }

    fn columns(&self) -> Columns {
        template_columns(&self.scoring_prompt)
    }

    async fn score(&self, input: ScorerInput) -> Result<Value, BoxError> {
        ask_judge(&self.model, &self.system_prompt, &self.scoring_prompt, &input).await.map(Value::Object)
    }
}
