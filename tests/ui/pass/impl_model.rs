//! `#[op]` on an `impl Model` block: the block as written plus `source_code`; the methods
//! keep their signatures (native `async fn`), generics and where clauses included.

use serde::Serialize;
use weave::eval::{BoxError, Model, Row};

#[derive(Serialize)]
struct QaModel {
    prompt: String,
}

#[weave::op]
impl Model for QaModel {
    type Output = String;

    // A comment in the block.
    async fn predict(&self, input: &Row) -> Result<String, BoxError> {
        let question: String = input.get("question")?;
        Ok(format!("{} {question}", self.prompt))
    }
}

#[derive(Serialize)]
struct Wrapper<M> {
    inner: M,
}

#[weave::op]
impl<M> weave::eval::Model for Wrapper<M>
where
    M: Model<Output = String>,
{
    type Output = String;

    async fn predict(&self, input: &Row) -> Result<String, BoxError> {
        Ok(self.inner.predict(input).await?.to_uppercase())
    }

    fn name(&self) -> String {
        format!("wrapped-{}", self.inner.name())
    }
}

fn main() {
    let model = QaModel { prompt: "Q:".into() };
    let source = model.source_code().unwrap();
    assert!(source.starts_with("#[weave::op]\nimpl Model for QaModel {\n"), "{source}");
    assert!(source.contains("    // A comment in the block.\n"), "{source}");
    let wrapper = Wrapper { inner: QaModel { prompt: "Q:".into() } };
    assert!(wrapper.source_code().unwrap().contains("impl<M> weave::eval::Model for Wrapper<M>\nwhere\n"));
    assert_eq!(wrapper.name(), "wrapped-QaModel");
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let row = Row::new().with("question", "why?");
    assert_eq!(rt.block_on(wrapper.predict(&row)).unwrap(), "Q: WHY?");
}
