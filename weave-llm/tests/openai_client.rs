//! The traced async-openai client against the fake OpenAI server (real HTTP, chunked
//! SSE): what each call records, streams passed through unchanged, usage, costs, errors,
//! cancellation, and the API key kept out of everything recorded.

use futures_util::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;
use weave_core::manual::CallBuilder;
use weave_core::testing::{capture, CaptureGuard, CapturedCall};
use weave_llm::fake::{FakeOpenAi, Reply};
use weave_llm::openai::async_openai::config::OpenAIConfig;
use weave_llm::openai::async_openai::types::chat::{CreateChatCompletionRequest, CreateChatCompletionStreamResponse};
use weave_llm::openai::async_openai::types::embeddings::CreateEmbeddingRequest;
use weave_llm::openai::async_openai::types::responses::CreateResponse;
use weave_llm::openai::async_openai::Client;
use weave_llm::openai::{TracedClient, CHAT_COMPLETIONS_OP, EMBEDDINGS_OP, RESPONSES_OP};
use weave_llm::{costs, total_cost};

const API_KEY: &str = "sk-weave-test-DO-NOT-RECORD-8c1f";

fn bare_client(fake: &FakeOpenAi) -> Client<OpenAIConfig> {
    Client::with_config(OpenAIConfig::new().with_api_base(fake.base_url()).with_api_key(API_KEY))
}

fn client(fake: &FakeOpenAi) -> TracedClient {
    TracedClient::new(bare_client(fake))
}

fn chat_request(extra: Value) -> CreateChatCompletionRequest {
    let mut request = json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Answer briefly."},
                     {"role": "user", "content": "What is the capital of France?"}],
        "temperature": 0.0,
    });
    if let (Value::Object(r), Value::Object(e)) = (&mut request, extra) {
        r.extend(e);
    }
    serde_json::from_value(request).unwrap()
}

fn only(calls: &CaptureGuard, op: &str) -> CapturedCall {
    let found = calls.calls_of(op);
    assert_eq!(found.len(), 1, "{op}: {found:#?}");
    found.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_chat_completion_is_recorded_as_pythons_integration_records_it() {
    let calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    fake.push(Reply::text("Paris is the capital.").cached_tokens(2));
    let response = client(&fake).chat().create(chat_request(json!({}))).await.unwrap();
    assert_eq!(response.choices[0].message.content.as_deref(), Some("Paris is the capital."));

    let call = only(&calls, CHAT_COMPLETIONS_OP);
    assert_eq!(call.attributes()["weave"]["kind"], "llm");
    let inputs = call.inputs().as_object().unwrap();
    let mut keys: Vec<&str> = inputs.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["messages", "model", "self", "temperature"]);
    assert_eq!(inputs["self"]["client"]["base_url"], fake.base_url());
    assert_eq!(inputs["messages"][1]["content"], "What is the capital of France?");
    let output = call.output();
    assert_eq!(output["object"], "chat.completion");
    assert_eq!(output["choices"][0]["message"]["content"], "Paris is the capital.");
    assert!(output["choices"][0].get("logprobs").is_none(), "empty fields are left out: {output}");
    // 8 prompt words, 4 completion words (the fake counts words); the cache count copied
    // up as Weave's integration does.
    assert_eq!(
        call.summary()["usage"]["gpt-4o-mini"],
        json!({"requests": 1, "prompt_tokens": 8, "completion_tokens": 4, "total_tokens": 12,
               "prompt_tokens_details": {"cached_tokens": 2}, "cache_read_input_tokens": 2})
    );
    let cost = &costs(call.summary())["gpt-4o-mini"];
    let expected = 6.0 * 1.5e-7 + 2.0 * 7.5e-8 + 4.0 * 6e-7;
    assert!((cost.total() - expected).abs() < 1e-15, "{cost:?}");
    assert_eq!((cost.provider_id.as_str(), cost.prompt_token_cost_unit.as_str()), ("openai", "USD"));
}

async fn collect_chunks(
    mut stream: impl futures_util::Stream<Item = Result<CreateChatCompletionStreamResponse, impl std::fmt::Debug>> + Unpin,
) -> Vec<Value> {
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.next().await {
        chunks.push(serde_json::to_value(chunk.unwrap()).unwrap());
    }
    chunks
}

#[tokio::test]
async fn a_stream_passes_every_chunk_through_and_records_the_completion() {
    let calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    let text = "Paris is the capital of France.";
    // The same reply through the bare client and through the wrapper.
    fake.push(Reply::text(text));
    fake.push(Reply::text(text));
    let bare = collect_chunks(bare_client(&fake).chat().create_stream(chat_request(json!({}))).await.unwrap()).await;
    let traced = collect_chunks(client(&fake).chat().create_stream(chat_request(json!({}))).await.unwrap()).await;
    // Unchanged (but for the completion's id, one per request), and without the usage
    // chunk the wrapper asked for.
    let without_id = |chunks: Vec<Value>| {
        chunks.into_iter().map(|mut c| c.as_object_mut().map(|o| o.remove("id")).map(|_| c)).collect::<Vec<_>>()
    };
    assert_eq!(without_id(traced.clone()), without_id(bare));
    assert!(traced.iter().all(|c| !c["choices"].as_array().unwrap().is_empty()));
    let sent = fake.requests();
    assert_eq!(sent[0].body.get("stream_options"), None);
    assert_eq!(sent[1].body["stream_options"], json!({"include_usage": true}));

    let call = only(&calls, CHAT_COMPLETIONS_OP);
    assert_eq!(call.inputs()["stream"], true);
    assert!(call.inputs().get("stream_options").is_none(), "recorded as the caller asked: {}", call.inputs());
    let output = call.output();
    assert_eq!(output["object"], "chat.completion");
    assert_eq!(output["choices"][0]["message"], json!({"content": text, "role": "assistant"}));
    assert_eq!(output["choices"][0]["finish_reason"], "stop");
    assert_eq!(output["usage"]["completion_tokens"], 6);
    let ttft = output["time_to_first_token"].as_f64().unwrap();
    assert!(ttft > 0.0 && ttft < 10.0, "{ttft}");
    assert_eq!(call.summary()["usage"]["gpt-4o-mini"]["total_tokens"], 14);
    assert!(total_cost(call.summary()) > 0.0);
}

#[tokio::test]
async fn a_caller_asking_for_usage_gets_the_usage_chunk() {
    let calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    let request = chat_request(json!({"stream_options": {"include_usage": true}}));
    let chunks = collect_chunks(client(&fake).chat().create_stream(request).await.unwrap()).await;
    let last = chunks.last().unwrap();
    assert!(last["choices"].as_array().unwrap().is_empty());
    assert_eq!(last["usage"]["prompt_tokens"], 8);
    let call = only(&calls, CHAT_COMPLETIONS_OP);
    assert_eq!(call.inputs()["stream_options"], json!({"include_usage": true}));
    assert_eq!(call.summary()["usage"]["gpt-4o-mini"]["prompt_tokens"], 8);
}

#[tokio::test]
async fn streamed_tool_calls_are_merged_by_index() {
    let calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    fake.push(
        Reply::tool_call("get_weather", r#"{"city": "Paris", "unit": "celsius"}"#)
            .and_tool_call("get_time", r#"{"timezone": "Europe/Paris"}"#),
    );
    let tools = json!({"tools": [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]});
    let chunks = collect_chunks(client(&fake).chat().create_stream(chat_request(tools)).await.unwrap()).await;
    assert!(chunks.len() > 6, "arguments arrive in pieces: {}", chunks.len());
    let call = only(&calls, CHAT_COMPLETIONS_OP);
    let choice = &call.output()["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(
        choice["message"]["tool_calls"],
        json!([
            {"id": "call_0", "type": "function",
             "function": {"name": "get_weather", "arguments": r#"{"city": "Paris", "unit": "celsius"}"#}},
            {"id": "call_1", "type": "function",
             "function": {"name": "get_time", "arguments": r#"{"timezone": "Europe/Paris"}"#}}
        ])
    );
    assert_eq!(call.inputs()["tools"][0]["function"]["name"], "get_weather");
}

#[tokio::test]
async fn a_stream_dropped_early_is_recorded_as_cancelled_with_what_arrived() {
    let calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    fake.push(Reply::text("one two three four five six seven eight").chunk_delay(Duration::from_millis(20)));
    let mut stream = client(&fake).chat().create_stream(chat_request(json!({}))).await.unwrap();
    for _ in 0..3 {
        stream.next().await.unwrap().unwrap();
    }
    drop(stream);
    let call = only(&calls, CHAT_COMPLETIONS_OP);
    let exception = call.exception().unwrap();
    assert_eq!(exception["type"], "Cancelled");
    // What arrived is the call's output: the accumulated completion so far.
    let content = call.output()["choices"][0]["message"]["content"].as_str().unwrap().to_string();
    assert!(content.starts_with("one two"), "{content}");
    assert!(!content.contains("eight"), "only what arrived: {content}");
    assert_eq!(call.summary()["status_counts"], json!({"success": 0, "error": 1}));
}

#[tokio::test]
async fn a_stream_that_breaks_midway_is_recorded_with_what_arrived_and_the_error() {
    let calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    fake.push(Reply::text("one two three four five six seven eight").break_after(3));
    let mut stream = client(&fake).chat().create_stream(chat_request(json!({}))).await.unwrap();
    let mut arrived = Vec::new();
    let error = loop {
        match stream.next().await {
            Some(Ok(chunk)) => arrived.push(chunk),
            Some(Err(error)) => break error,
            None => panic!("the stream ended without its error after {} chunks", arrived.len()),
        }
    };
    assert_eq!(arrived.len(), 3, "{arrived:?}");
    assert!(stream.next().await.is_none(), "nothing after the error");

    let call = only(&calls, CHAT_COMPLETIONS_OP);
    let exception = call.exception().unwrap();
    // A broken connection, as Python's client names it.
    assert_eq!(exception["type"], "APIConnectionError");
    assert_eq!(exception["message"], error.to_string());
    // The output is what arrived before the break: the chunks' text, gathered.
    let expected: String =
        arrived.iter().filter_map(|c| c.choices.first()?.delta.content.clone()).collect::<Vec<_>>().concat();
    assert!(!expected.is_empty());
    assert_eq!(call.output()["choices"][0]["message"]["content"], expected.as_str());
    assert_eq!(call.summary()["status_counts"], json!({"success": 0, "error": 1}));
}

#[tokio::test]
async fn calls_not_streamed_record_openais_request_id_as_python_does() {
    let calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    // Built with the request-id layer: each response's `x-request-id` (the fake numbers
    // them from `req_fake_0`, one per response) is in the call's output.
    let client = TracedClient::with_config(OpenAIConfig::new().with_api_base(fake.base_url()).with_api_key(API_KEY));
    client.chat().create(chat_request(json!({}))).await.unwrap();
    let embedding: CreateEmbeddingRequest =
        serde_json::from_value(json!({"model": "text-embedding-3-small", "input": "hello"})).unwrap();
    client.embeddings().create(embedding).await.unwrap();
    let response: CreateResponse = serde_json::from_value(json!({"model": "gpt-4o-mini", "input": "hi"})).unwrap();
    client.responses().create(response).await.unwrap();
    // Python records none for a stream: its output is gathered from chunks.
    let stream = client.chat().create_stream(chat_request(json!({}))).await.unwrap();
    collect_chunks(stream).await;
    // A client built without the layer: the id is unknown, recorded as `null`.
    TracedClient::new(bare_client(&fake)).chat().create(chat_request(json!({}))).await.unwrap();

    let chats = calls.calls_of(CHAT_COMPLETIONS_OP);
    assert_eq!(chats.len(), 3);
    assert_eq!(chats[0].output()["request_id"], "req_fake_0");
    assert_eq!(only(&calls, EMBEDDINGS_OP).output()["request_id"], "req_fake_1");
    assert_eq!(only(&calls, RESPONSES_OP).output()["request_id"], "req_fake_2");
    assert!(chats[1].output().get("request_id").is_none(), "{}", chats[1].output());
    assert_eq!(chats[2].output()["request_id"], Value::Null);
}

#[tokio::test]
async fn a_buffer_in_front_of_the_request_id_layer_keeps_the_ids_with_their_calls() {
    use weave_llm::openai::async_openai::error::OpenAIError;
    use weave_llm::openai::async_openai::middleware::ReqwestService;
    use weave_llm::openai::RequestIdLayer;
    let calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    // tower's buffer calls the layer's service on its own task; the response future it
    // returns is awaited by the request's task, where the call's slot is.
    let http = tower::ServiceBuilder::new()
        .map_err(|e: tower::BoxError| OpenAIError::InvalidArgument(e.to_string()))
        .buffer(8)
        .layer(RequestIdLayer)
        .service(ReqwestService::new(reqwest::Client::new()));
    let client = TracedClient::new(bare_client(&fake).with_http_service(http));
    let (chat_a, chat_b) = (client.chat(), client.chat());
    let (first, second) = tokio::join!(chat_a.create(chat_request(json!({}))), chat_b.create(chat_request(json!({}))));
    first.unwrap();
    second.unwrap();
    let mut ids: Vec<Value> =
        calls.calls_of(CHAT_COMPLETIONS_OP).iter().map(|c| c.output()["request_id"].clone()).collect();
    ids.sort_by_key(|id| id.to_string());
    assert_eq!(ids, [json!("req_fake_0"), json!("req_fake_1")]);
}

#[tokio::test]
async fn errors_are_recorded_with_pythons_exception_names() {
    let calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    let client = client(&fake);
    // Not retried by async-openai.
    fake.push(Reply::quota_exceeded());
    let error = client.chat().create(chat_request(json!({}))).await.unwrap_err();
    assert!(error.to_string().contains("quota"), "{error}");
    // Retried 3 times by async-openai, failing each time: one call, failed.
    fake.push(Reply::error(500, "upstream failed").times(4));
    client.chat().create_stream(chat_request(json!({}))).await.unwrap_err();
    // A 429 that passes on retry: one call, successful.
    fake.push(Reply::error(429, "slow down"));
    client.chat().create(chat_request(json!({}))).await.unwrap();

    let recorded = calls.calls_of(CHAT_COMPLETIONS_OP);
    let kinds: Vec<Value> = recorded.iter().map(|c| c.exception().map_or(Value::Null, |e| e["type"].clone())).collect();
    assert_eq!(kinds, [json!("RateLimitError"), json!("InternalServerError"), Value::Null]);
    assert!(recorded[1].exception().unwrap()["message"].as_str().unwrap().contains("upstream failed"));
    assert_eq!(fake.requests().len(), 1 + 4 + 2);
}

#[tokio::test]
async fn embeddings_and_responses_are_recorded_with_usage_and_cost() {
    let calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    let client = client(&fake);
    let request: CreateEmbeddingRequest =
        serde_json::from_value(json!({"model": "text-embedding-3-small", "input": ["a cat", "a big dog"]})).unwrap();
    let response = client.embeddings().create(request).await.unwrap();
    assert_eq!(response.data.len(), 2);
    let call = only(&calls, EMBEDDINGS_OP);
    assert_eq!(call.inputs()["input"], json!(["a cat", "a big dog"]));
    assert_eq!(call.summary()["usage"]["text-embedding-3-small"]["prompt_tokens"], 5);
    assert!((total_cost(call.summary()) - 5.0 * 2e-8).abs() < 1e-15);

    fake.push(Reply::text("Bonjour à tous."));
    let request: CreateResponse = serde_json::from_value(json!({"model": "gpt-4.1", "input": "Say hello"})).unwrap();
    client.responses().create(request.clone()).await.unwrap();
    let mut stream = client.responses().create_stream(request).await.unwrap();
    let mut events = 0;
    while let Some(event) = stream.next().await {
        event.unwrap();
        events += 1;
    }
    assert_eq!(events, 1 + 4 + 1); // created, the 4 words of "You said: Say hello", completed
    let recorded = calls.calls_of(RESPONSES_OP);
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].output()["output"][0]["content"][0]["text"], "Bonjour à tous.");
    assert_eq!(recorded[1].inputs()["stream"], true);
    assert_eq!(recorded[1].output()["status"], "completed");
    for call in &recorded {
        let usage = &call.summary()["usage"]["gpt-4.1"];
        assert_eq!((usage["requests"].clone(), usage["input_tokens"].clone()), (json!(1), json!(2)));
        assert_eq!(usage["cache_read_input_tokens"], 0);
        assert!(total_cost(call.summary()) > 0.0);
    }
}

#[tokio::test]
async fn usage_and_cost_roll_up_to_the_callers_calls() {
    let calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    let client = client(&fake);
    let agent = CallBuilder::new("agent").start();
    let context = agent.context();
    for _ in 0..2 {
        context.wrap(client.chat().create(chat_request(json!({})))).await.unwrap();
    }
    let stream = context.wrap(client.chat().create_stream(chat_request(json!({})))).await.unwrap();
    collect_chunks(stream).await;
    agent.finish(&"done");
    let agent = only(&calls, "agent");
    let usage = &agent.summary()["usage"]["gpt-4o-mini"];
    assert_eq!((usage["requests"].clone(), usage["prompt_tokens"].clone()), (json!(3), json!(24)));
    let cost = &costs(agent.summary())["gpt-4o-mini"];
    assert_eq!((cost.requests, cost.prompt_token_cost), (3, 1.5e-7));
    for call in calls.calls_of(CHAT_COMPLETIONS_OP) {
        assert_eq!(call.parent_id(), Some(agent.id()));
    }
}

#[tokio::test]
async fn the_api_key_is_never_recorded_or_printed() {
    let calls = capture();
    let fake = FakeOpenAi::start().unwrap();
    let client = client(&fake);
    client.chat().create(chat_request(json!({}))).await.unwrap();
    collect_chunks(client.chat().create_stream(chat_request(json!({}))).await.unwrap()).await;
    fake.push(Reply::error(401, "Incorrect API key provided: sk-weave-***"));
    let error = client.chat().create(chat_request(json!({}))).await.unwrap_err();
    assert!(!format!("{error} {error:?} {client:?}").contains(API_KEY));
    let recorded = calls.finish();
    assert_eq!(recorded.len(), 3);
    for call in recorded {
        let wire = call.wire().to_string();
        assert!(!wire.contains(API_KEY) && !wire.contains("DO-NOT-RECORD"), "{wire}");
    }
    // It was sent, in the header only.
    let sent = fake.requests();
    assert!(sent.iter().all(|r| r.authorization.as_deref() == Some(&format!("Bearer {API_KEY}")[..])));
    assert!(sent.iter().all(|r| !r.body.to_string().contains(API_KEY)));
}

#[test]
fn traced_streams_and_clients_go_to_other_tasks() {
    fn send<T: Send + 'static>() {}
    send::<weave_llm::openai::TracedChatStream>();
    send::<weave_llm::openai::TracedResponseStream>();
    send::<TracedClient>();
    send::<weave_llm::LlmCall>();
}
