//! Evaluation fixtures shared by the evaluation tests (in-process and against the real
//! Weave client).

use serde::Serialize;
use weave::eval::{BoxError, Columns, Scorer, ScorerInput};

/// Weave's `LenScorer`-like class scorer: the output's length divided by `divisor`.
#[derive(Serialize)]
pub struct LenScorer {
    pub divisor: usize,
}

impl Scorer for LenScorer {
    type Output = usize;

    fn columns(&self) -> Columns {
        Columns::only(Vec::<String>::new())
    }

    async fn score(&self, input: ScorerInput) -> Result<usize, BoxError> {
        Ok(input.output().as_str().unwrap_or_default().len() / self.divisor)
    }
}
