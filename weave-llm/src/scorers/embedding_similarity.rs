//! How close the output is to the target, by the cosine of their embeddings.

use super::output::output_text;
use super::traits::Embedder;
use serde::Serialize;
use serde_json::{json, Value};
use weave_eval::{BoxError, Columns, Scorer, ScorerInput};

/// The cosine similarity of two vectors (0 when either is all zeros).
///
/// ```
/// let s = weave_llm::scorers::cosine_similarity(&[1.0, 0.0], &[1.0, 1.0]);
/// assert!((s - 0.70710677).abs() < 1e-6);
/// ```
pub fn cosine_similarity(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let (na, nb) = (norm(a), norm(b));
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// The cosine similarity of the output's and the row's `target` column's embeddings
/// (Weave's `EmbeddingSimilarityScorer`): `{"similarity_score", "is_similar"}`, similar
/// from `threshold` (default 0.5).
#[derive(Debug, Clone, Serialize)]
pub struct EmbeddingSimilarityScorer<E> {
    model_id: String,
    threshold: f64,
    #[serde(skip)]
    embedder: E,
}

impl<E: Embedder> EmbeddingSimilarityScorer<E> {
    /// A scorer embedding with `embedder`.
    pub fn new(embedder: E) -> Self {
        EmbeddingSimilarityScorer { model_id: embedder.model_id(), threshold: 0.5, embedder }
    }

    /// Similar from a cosine of `threshold` (between -1 and 1).
    pub fn threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold.clamp(-1.0, 1.0);
        self
    }
}

impl<E: Embedder> Scorer for EmbeddingSimilarityScorer<E> {
    type Output = Value;

    fn name(&self) -> String {
        "EmbeddingSimilarityScorer".to_string()
    }

    fn columns(&self) -> Columns {
        Columns::only(["target"])
    }

    async fn score(&self, input: ScorerInput) -> Result<Value, BoxError> {
        let target: String = input.column("target")?;
        let vectors = self.embedder.embed(vec![output_text(input.output()), target]).await?;
        let [output, target] = vectors.as_slice() else {
            return Err(format!("the embedder gave {} vectors for 2 texts", vectors.len()).into());
        };
        let similarity = cosine_similarity(output, target);
        Ok(json!({"similarity_score": similarity, "is_similar": similarity >= self.threshold}))
    }
}
