//! `scorer_fn!`, `sync_scorer_fn!`, `model_fn!`, `op_model!`: the functions' arguments, the
//! source set, builder calls chained after them, and use in an evaluation.

use weave::eval::{AnyScorer, BoxError, Dataset, Evaluation, Model, Row};

#[weave::op]
async fn answer(question: String) -> String {
    question
}

fn main() {
    let exact = weave::scorer_fn!("exact", |input| async move {
        // Compares with the expected column.
        let expected: String = input.column("expected")?;
        Ok::<_, BoxError>(input.output().as_str() == Some(expected.as_str()))
    })
    .columns(["expected"])
    .column_map([("expected", "answer")]);
    assert!(exact.scorer_source_code().unwrap().contains("// Compares with the expected column."));

    let long = weave::sync_scorer_fn!("long", |input| Ok::<_, BoxError>(input.output().to_string().len() > 3),);
    assert!(long.scorer_source_code().unwrap().starts_with("weave::sync_scorer_fn!(\"long\""));

    let echo = weave::model_fn!("echo", |row: Row| async move { Ok::<_, BoxError>(row.get::<String>("question")?) });
    assert!(echo.source_code().unwrap().contains("row.get::<String>(\"question\")"));

    let name = String::from("answer");
    let op = weave::op_model!(name, |row: Row| async move { Ok::<_, BoxError>(answer(row.get("question")?).await) });
    assert!(op.traces_itself());

    let dataset = Dataset::new("d", vec![Row::new().with("question", "Paris").with("answer", "Paris")]);
    let evaluation = Evaluation::builder(dataset).scorer(exact).scorer(long).progress(false).build();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let outcome = rt.block_on(evaluation.evaluate(&echo)).unwrap();
    assert_eq!(outcome.summary["exact"]["true_count"], 1);
    rt.block_on(evaluation.evaluate(&op)).unwrap();
}
