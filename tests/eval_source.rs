//! The source code models and scorers give the evaluation for their ops: `#[weave::op]`
//! on an `impl Model` / `impl Scorer` block (the block's text, comments included), and the
//! closure macros `scorer_fn!`, `sync_scorer_fn!`, `model_fn!`, `op_model!` (the text of
//! the invocation as written). Each also still runs in an evaluation.

use serde::Serialize;
use serde_json::json;
use std::fmt::Debug;
use weave::eval::{AnyScorer, BoxError, Dataset, Evaluation, Model, Row, Scorer, ScorerInput};

// ---------------------------------------------------------------------------------------
// `#[weave::op]` on impl blocks

#[derive(Serialize)]
struct QaModel {
    prefix: String,
}

#[weave::op]
impl Model for QaModel {
    type Output = String;

    async fn predict(&self, input: &Row) -> Result<String, BoxError> {
        // Prefixes the question: a comment inside the impl block.
        let question: String = input.get("question")?;
        Ok(format!("{}{}", self.prefix, question))
    }
}

#[test]
fn an_op_impl_model_block_gives_its_source_with_comments() {
    let model = QaModel { prefix: "A: ".into() };
    let source = Model::source_code(&model).expect("#[weave::op] sets source_code");
    assert_eq!(
        source,
        "#[weave::op]\n\
         impl Model for QaModel {\n    \
             type Output = String;\n\
         \n    \
             async fn predict(&self, input: &Row) -> Result<String, BoxError> {\n        \
                 // Prefixes the question: a comment inside the impl block.\n        \
                 let question: String = input.get(\"question\")?;\n        \
                 Ok(format!(\"{}{}\", self.prefix, question))\n    \
             }\n\
         }\n"
    );
}

/// A scorer with generics and a where clause, through the trait's full path.
#[derive(Serialize)]
struct Contains<T> {
    needles: Vec<T>,
}

mod scorers {
    use super::*;

    /// Documented, indented, in a module: the text is dedented.
    #[weave::op(crate = "weave")]
    impl<T> weave::eval::Scorer for Contains<T>
    where
        T: AsRef<str> + Serialize + Send + Sync,
    {
        type Output = bool;

        async fn score(&self, input: ScorerInput) -> Result<bool, BoxError> {
            let output = input.output().as_str().unwrap_or_default();
            // Every needle must appear in the output.
            Ok(self.needles.iter().all(|n| output.contains(n.as_ref())))
        }
    }
}

#[test]
fn an_op_impl_scorer_block_with_generics_gives_its_source() {
    let scorer = Contains { needles: vec!["A"] };
    let source = Scorer::source_code(&scorer).expect("#[weave::op] sets source_code");
    assert!(source.starts_with("/// Documented, indented, in a module: the text is dedented.\n"), "{source}");
    assert!(source.contains("\n#[weave::op(crate = \"weave\")]\nimpl<T> weave::eval::Scorer for Contains<T>\n"));
    assert!(source.contains("\n        // Every needle must appear in the output.\n"), "{source}");
    assert!(source.ends_with("\n}\n"), "{source}");
}

// ---------------------------------------------------------------------------------------
// The closure macros

fn exact_scorer() -> impl AnyScorer + weave::eval::IntoScorer + Debug {
    weave::scorer_fn!("exact", |input| async move {
        // The output must equal the expected column.
        let expected: String = input.column("expected")?;
        Ok::<_, BoxError>(input.output().as_str() == Some(expected.as_str()))
    })
    .columns(["expected"])
}

#[test]
fn scorer_fn_gives_the_invocation_text_with_its_comments_and_chains() {
    let scorer = exact_scorer();
    assert_eq!(
        scorer.scorer_source_code(),
        Some(
            "weave::scorer_fn!(\"exact\", |input| async move {\n    \
                 // The output must equal the expected column.\n    \
                 let expected: String = input.column(\"expected\")?;\n    \
                 Ok::<_, BoxError>(input.output().as_str() == Some(expected.as_str()))\n\
             })\n"
        )
    );
    // The builder call after the macro applied.
    assert_eq!(scorer.scorer_columns(), weave::eval::Columns::only(["expected"]));
}

#[test]
fn sync_scorer_fn_on_one_line_keeps_only_the_invocation() {
    let scorer = weave::sync_scorer_fn!("short", |i| Ok::<_, BoxError>(i.output() == "a")).columns(["q"]);
    assert_eq!(
        scorer.scorer_source_code(),
        Some("weave::sync_scorer_fn!(\"short\", |i| Ok::<_, BoxError>(i.output() == \"a\"))\n")
    );
    assert_eq!(scorer.scorer_columns(), weave::eval::Columns::only(["q"]));
}

#[test]
fn model_fn_and_op_model_give_the_closure_text_with_its_comments() {
    let model = weave::model_fn!(
        "echo",
        // Answers with the question itself.
        |row: Row| async move { Ok::<_, BoxError>(row.get::<String>("question")?) }
    );
    let source = Model::source_code(&model).expect("model_fn! sets the source");
    assert!(source.starts_with("weave::model_fn!(\n    \"echo\",\n    // Answers with the question itself.\n"));
    assert!(source.contains("|row: Row| async move { Ok::<_, BoxError>(row.get::<String>(\"question\")?) }"));

    #[weave::op]
    async fn answer(question: String) -> String {
        question
    }
    let model = weave::op_model!("answer", |row: Row| async move {
        // The op's own call is the prediction.
        Ok::<_, BoxError>(answer(row.get("question")?).await)
    });
    let source = Model::source_code(&model).expect("op_model! sets the source");
    assert!(source.starts_with("weave::op_model!(\"answer\", |row: Row| async move {\n"), "{source}");
    assert!(source.contains("\n    // The op's own call is the prediction.\n"), "{source}");
}

// A function of the `weave::eval` path without the macro keeps no source.
#[test]
fn the_plain_functions_keep_none() {
    let scorer = weave::eval::scorer_fn("plain", |_input| async move { Ok::<_, BoxError>(true) });
    assert_eq!(scorer.scorer_source_code(), None);
}

// ---------------------------------------------------------------------------------------
// They still evaluate as before.

#[tokio::test]
async fn the_annotated_model_and_scorers_run_in_an_evaluation() {
    let cap = weave::testing::capture();
    let dataset = Dataset::from_rows(
        "qa",
        [json!({"question": "Paris", "expected": "A: Paris"}), json!({"question": "Rome", "expected": "Oslo"})],
    )
    .unwrap();
    let evaluation = Evaluation::builder(dataset)
        .scorer(exact_scorer())
        .scorer(Contains { needles: vec!["A: ".to_string()] })
        .progress(false)
        .build();
    let outcome = evaluation.evaluate(&QaModel { prefix: "A: ".into() }).await.unwrap();
    let mut summary = outcome.summary.clone();
    summary.as_object_mut().unwrap().remove("model_latency");
    assert_eq!(
        summary,
        json!({
            "exact": {"true_count": 1, "true_fraction": 0.5},
            "Contains": {"true_count": 2, "true_fraction": 1.0},
        })
    );
    let ops: Vec<String> = cap.calls().iter().map(|c| c.op_name().to_string()).collect();
    assert!(ops.contains(&"QaModel.predict".to_string()), "{ops:?}");
    assert!(ops.contains(&"Contains.score".to_string()), "{ops:?}");

    // Every op the evaluation stores carries real source: the user's blocks and closures,
    // and the SDK's own evaluation code.
    let saved = cap.saved_ops();
    let source_of = |name: &str| {
        saved.iter().find(|(n, _)| n == name).map(|(_, s)| s.clone()).unwrap_or_else(|| panic!("{name} not saved"))
    };
    for (name, source) in &saved {
        assert!(!source.contains("is not known"), "{name} stores a placeholder:\n{source}");
    }
    assert!(source_of("QaModel.predict").contains("impl Model for QaModel"));
    assert!(source_of("QaModel.predict").contains("a comment inside the impl block"));
    assert!(source_of("Contains.score").contains("weave::eval::Scorer for Contains<T>"));
    assert!(source_of("exact").contains("scorer_fn!"));
    assert!(source_of("Evaluation.evaluate").contains("async fn run("));
    assert!(source_of("Evaluation.predict_and_score").contains("async fn predict_and_score("));
    assert!(source_of("Evaluation.summarize").contains("fn summarize(&self, rows: &[RowResult])"));
    assert!(source_of("Scorer.summarize").contains("pub fn auto_summarize("));
}

#[tokio::test]
async fn an_unannotated_model_stores_a_note_saying_how_to_store_its_source() {
    #[derive(Serialize)]
    struct Plain;
    impl Model for Plain {
        type Output = String;
        async fn predict(&self, _input: &Row) -> Result<String, BoxError> {
            Ok("x".into())
        }
    }
    let cap = weave::testing::capture();
    let dataset = Dataset::from_rows("d", [json!({"q": 1})]).unwrap();
    Evaluation::builder(dataset).progress(false).build().evaluate(&Plain).await.unwrap();
    let saved = cap.saved_ops();
    let (_, source) = saved.iter().find(|(n, _)| n == "Plain.predict").unwrap();
    assert!(source.contains("#[weave::op]") && source.contains("impl Model"), "{source}");
}
