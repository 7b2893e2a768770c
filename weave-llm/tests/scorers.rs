//! The scorers in an evaluation, the judges asking the fake OpenAI server through the
//! traced client: their scores, their LLM calls under the score calls, and the cost of
//! the whole evaluation on its `Evaluation.evaluate` call.

use serde_json::{json, Value};
use weave_core::testing::capture;
use weave_eval::{model_fn, BoxError, Dataset, Evaluation, Row, Scorer, ScorerInput};
use weave_llm::fake::{FakeOpenAi, Reply};
use weave_llm::openai::async_openai::config::OpenAIConfig;
use weave_llm::openai::async_openai::types::chat::CreateChatCompletionRequest;
use weave_llm::openai::async_openai::Client;
use weave_llm::openai::{OpenAiModel, TracedClient, CHAT_COMPLETIONS_OP, EMBEDDINGS_OP};
use weave_llm::scorers::{
    ContextRelevancyScorer, EmbeddingSimilarityScorer, HallucinationFreeScorer, LLMAsAJudgeScorer, LevenshteinScorer,
    StringMatchScorer, ValidJSONScorer,
};
use weave_llm::{costs, total_cost};

fn client(fake: &FakeOpenAi) -> TracedClient {
    TracedClient::new(Client::with_config(OpenAIConfig::new().with_api_base(fake.base_url()).with_api_key("sk-test")))
}

fn input(output: Value, columns: Value) -> ScorerInput {
    let row = Row::from_object(columns.as_object().cloned().unwrap_or_default());
    ScorerInput::new(output, row.clone(), row)
}

#[tokio::test]
async fn the_plain_scorers_score_as_weaves() {
    let s = |output: &str, target: &str| input(json!(output), json!({"target": target}));
    assert_eq!(ValidJSONScorer.score(s("[1, 2]", "")).await.unwrap(), json!({"json_valid": true}));
    assert_eq!(ValidJSONScorer.score(s("{oops", "")).await.unwrap(), json!({"json_valid": false}));
    assert_eq!(StringMatchScorer.score(s("PARIS", "It is Paris.")).await.unwrap(), json!({"string_in_input": true}));
    assert_eq!(StringMatchScorer.score(s("Rome", "It is Paris.")).await.unwrap(), json!({"string_in_input": false}));
    assert_eq!(LevenshteinScorer.score(s("Pariss", "Paris")).await.unwrap(), json!({"levenshtein_distance": 1}));
    assert!(StringMatchScorer.score(input(json!("x"), json!({}))).await.is_err(), "no target column");
}

#[tokio::test]
async fn embedding_similarity_asks_the_embedder() {
    let _calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    let scorer = EmbeddingSimilarityScorer::new(OpenAiModel::new(client(&fake), "text-embedding-3-small"));
    // The fake embeds texts as their letter frequencies.
    let same = scorer.score(input(json!("Paris"), json!({"target": "sirap"}))).await.unwrap();
    assert!((same["similarity_score"].as_f64().unwrap() - 1.0).abs() < 1e-6, "{same}");
    assert_eq!(same["is_similar"], true);
    let far = scorer.score(input(json!("xyz"), json!({"target": "abc"}))).await.unwrap();
    assert_eq!(far, json!({"similarity_score": 0.0, "is_similar": false}));
}

#[tokio::test]
async fn judges_fail_clearly_on_replies_without_a_verdict() {
    let _calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    fake.push(Reply::text("I cannot say."));
    let judge = HallucinationFreeScorer::new(OpenAiModel::new(client(&fake), "gpt-4o-mini"));
    let error = judge.score(input(json!("Paris"), json!({"context": "Paris is in France"}))).await.unwrap_err();
    assert!(error.to_string().contains("no verdict"), "{error}");
    let judge = LLMAsAJudgeScorer::new(OpenAiModel::new(client(&fake), "gpt-4o-mini"), "{question}: {output}");
    let error = judge.score(input(json!("Paris"), json!({}))).await.unwrap_err();
    assert!(error.to_string().contains("{question}"), "{error}");
}

#[tokio::test]
async fn an_evaluation_with_judges_records_their_calls_and_counts_their_cost() {
    let calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    // Every chat reply is one verdict that suits every judge (and is valid JSON).
    let verdict = json!({"score": 0.9, "reason": "right", "has_hallucination": false, "conclusion": "supported",
                         "relevancy_score": 0.75});
    fake.push(Reply::text(verdict.to_string()).times(1000));
    let client = client(&fake);
    let judge = OpenAiModel::new(client.clone(), "gpt-4o-mini");
    let dataset = Dataset::from_rows(
        "capitals",
        [
            json!({"question": "Capital of France?", "query": "Capital of France?", "target": "Paris",
                   "context": "Paris is the capital of France."}),
            json!({"question": "Capital of Italy?", "query": "Capital of Italy?", "target": "Rome",
                   "context": "Rome is the capital of Italy."}),
        ],
    )
    .unwrap();
    let evaluation = Evaluation::builder(dataset)
        .scorer(LLMAsAJudgeScorer::new(judge.clone(), "Question: {question}\nAnswer: {output}\nExpected: {target}"))
        .scorer(HallucinationFreeScorer::new(judge.clone()))
        .scorer(ContextRelevancyScorer::new(judge))
        .scorer(ValidJSONScorer)
        .scorer(StringMatchScorer)
        .scorer(LevenshteinScorer)
        .scorer(EmbeddingSimilarityScorer::new(OpenAiModel::new(client.clone(), "text-embedding-3-small")))
        .concurrency(1)
        .progress(false)
        .build();
    let model = model_fn("asker", move |row: Row| {
        let client = client.clone();
        async move {
            let question: String = row.get("question")?;
            let request: CreateChatCompletionRequest = serde_json::from_value(
                json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]}),
            )?;
            let response = client.chat().create(request).await?;
            Ok::<_, BoxError>(response.choices[0].message.content.clone().unwrap_or_default())
        }
    });
    let outcome = evaluation.evaluate(&model).await.unwrap();
    assert_eq!(outcome.scorer_errors(), 0);
    let summary = &outcome.summary;
    assert_eq!(summary["LLMAsAJudgeScorer"]["score"]["mean"], 0.9);
    assert_eq!(summary["HallucinationFreeScorer"]["has_hallucination"]["true_count"], 0);
    assert_eq!(summary["ContextRelevancyScorer"]["is_relevant"]["true_fraction"], 1.0);
    assert_eq!(summary["ValidJSONScorer"]["json_valid"]["true_fraction"], 1.0);
    assert!(summary["EmbeddingSimilarityScorer"]["similarity_score"]["mean"].is_number());

    // The judges' LLM calls are children of their score calls.
    let recorded = calls.calls();
    let op_of = |id: Option<&str>| {
        recorded.iter().find(|c| Some(c.id()) == id).map(|c| c.op_name().to_string()).unwrap_or_default()
    };
    let mut parents: Vec<String> = calls.calls_of(CHAT_COMPLETIONS_OP).iter().map(|c| op_of(c.parent_id())).collect();
    parents.sort();
    parents.dedup();
    assert_eq!(
        parents,
        ["ContextRelevancyScorer.score", "HallucinationFreeScorer.score", "LLMAsAJudgeScorer.score", "asker"]
    );
    assert!(calls.calls_of(EMBEDDINGS_OP).iter().all(|c| op_of(c.parent_id()) == "EmbeddingSimilarityScorer.score"));

    // The whole evaluation's cost: 2 predictions and 3 judges per row, 2 embeddings.
    let evaluate = &calls.calls_of("Evaluation.evaluate")[0];
    let costs = costs(evaluate.summary());
    assert_eq!(costs["gpt-4o-mini"].requests, 2 + 2 * 3);
    assert_eq!(costs["text-embedding-3-small"].requests, 2);
    assert!(total_cost(evaluate.summary()) > 0.0);
}
