//! `#[op]` on an `impl Scorer` block (through the trait's full path, and with
//! `crate = "..."`, accepted and unused), with generics and a where clause.

use serde::Serialize;
use serde_json::{json, Value};
use weave::eval::{BoxError, Columns, ScorerInput};

#[derive(Serialize)]
struct Length<T> {
    max: T,
}

#[weave::op(crate = "weave")]
impl<T> weave::eval::Scorer for Length<T>
where
    T: Copy + Into<usize> + Serialize + Send + Sync,
{
    type Output = Value;

    fn columns(&self) -> Columns {
        Columns::only(["expected"])
    }

    async fn score(&self, input: ScorerInput) -> Result<Value, BoxError> {
        /* Short enough? */
        let len = input.output().as_str().unwrap_or("").len();
        Ok(json!({"len": len, "short": len <= self.max.into()}))
    }

    fn summarize(&self, scores: &[Value]) -> Option<Value> {
        Some(json!({"scored": scores.len()}))
    }
}

fn main() {
    use weave::eval::Scorer;
    let scorer = Length { max: 3u8 };
    let source = scorer.source_code().unwrap();
    assert!(source.starts_with("#[weave::op(crate = \"weave\")]\nimpl<T> weave::eval::Scorer for Length<T>\n"));
    assert!(source.contains("/* Short enough? */"), "{source}");
    assert_eq!(scorer.columns(), Columns::only(["expected"]));
}
