use serde::Serialize;
use weave::eval::{BoxError, Scorer, ScorerInput};

#[derive(Serialize)]
struct Exact;

#[weave::op(crate = "weave", name = "exact", kind = "scorer")]
impl Scorer for Exact {
    type Output = bool;

    async fn score(&self, input: ScorerInput) -> Result<bool, BoxError> {
        Ok(input.output().is_string())
    }
}

fn main() {}
