//! `#[op]` on an `impl Model` block: the block as written, plus `source_code`; its methods
//! are not made ops (the evaluation records their calls itself).

use crate::support::block_on;
use serde::Serialize;
use weave::eval::{BoxError, Model, Row};
use weave::testing::capture;

#[derive(Serialize)]
struct Echo;

#[weave::op]
impl Model for Echo {
    type Output = String;

    async fn predict(&self, input: &Row) -> Result<String, BoxError> {
        Ok(input.get("question")?)
    }
}

#[test]
fn an_impl_blocks_methods_run_as_written_and_are_not_recorded() {
    let cap = capture();
    let row = Row::new().with("question", "why?");
    assert_eq!(block_on(Echo.predict(&row)).unwrap(), "why?");
    assert!(cap.calls().is_empty(), "{:#?}", cap.calls());
    let source = Echo.source_code().expect("#[op] adds source_code");
    assert!(source.starts_with("#[weave::op]\nimpl Model for Echo {\n"), "{source}");
}
