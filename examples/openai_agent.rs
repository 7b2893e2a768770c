//! A tool-calling agent over a streamed chat completion, traced by weave-rs's async-openai
//! wrapper: each turn is an `openai.chat.completions.create` call (the caller prints the
//! chunks as they come), each tool an op, and the agent's call sums the usage and cost of
//! them all, per model.
//!
//! Run: `cargo run --example openai_agent --features openai`. With `OPENAI_API_KEY` set it
//! asks the endpoint of `OPENAI_BASE_URL` (default OpenAI's; `OPENAI_MODEL` picks the
//! model, default `gpt-4o-mini`); without, a fake OpenAI-compatible server started in
//! this process answers, so it runs offline.

use futures_util::StreamExt;
use serde_json::{json, Value};
use std::io::Write;
use std::time::Duration;
use weave::llm::fake::{FakeOpenAi, Reply};
use weave::llm::openai::async_openai::config::OpenAIConfig;
use weave::llm::openai::async_openai::types::chat::CreateChatCompletionRequest;
use weave::llm::openai::TracedClient;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The tools the model may call, as the chat API describes them.
fn tools() -> Value {
    json!([
        {"type": "function", "function": {
            "name": "get_weather", "description": "The current weather in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {
            "name": "get_local_time", "description": "The local time in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
    ])
}

/// A weather service (a stand-in).
#[weave::op(kind = "tool")]
fn get_weather(city: String) -> Value {
    json!({"city": city, "temperature_c": 18, "sky": "sunny"})
}

/// A clock (a stand-in).
#[weave::op(kind = "tool")]
fn get_local_time(city: String) -> Value {
    json!({"city": city, "time": "14:05"})
}

fn run_tool(name: &str, arguments: &str) -> Value {
    let city = serde_json::from_str::<Value>(arguments)
        .ok()
        .and_then(|a| a["city"].as_str().map(String::from))
        .unwrap_or_default();
    match name {
        "get_weather" => get_weather(city),
        "get_local_time" => get_local_time(city),
        other => json!({"error": format!("no tool named {other}")}),
    }
}

/// A tool call gathered from the stream's deltas: (id, name, arguments).
#[derive(Default, Clone)]
struct ToolCall(String, String, String);

/// The agent: streams the model's turn (printing its text as it comes), runs the tools it
/// asks for, and goes again until it answers.
#[weave::op(kind = "agent", skip(client))]
async fn run_agent(client: &TracedClient, model: &str, question: String) -> Result<String, BoxError> {
    let mut messages = vec![
        json!({"role": "system", "content": "You answer questions about cities. Use the tools."}),
        json!({"role": "user", "content": question}),
    ];
    for _turn in 0..5 {
        let request: CreateChatCompletionRequest =
            serde_json::from_value(json!({"model": model, "messages": messages, "tools": tools()}))?;
        let mut stream = client.chat().create_stream(request).await?;
        let (mut text, mut calls) = (String::new(), Vec::<ToolCall>::new());
        while let Some(chunk) = stream.next().await {
            for choice in chunk?.choices {
                if let Some(piece) = choice.delta.content {
                    print!("{piece}");
                    std::io::stdout().flush()?;
                    text.push_str(&piece);
                }
                for delta in choice.delta.tool_calls.into_iter().flatten() {
                    let index = delta.index as usize;
                    if calls.len() <= index {
                        calls.resize(index + 1, ToolCall::default());
                    }
                    let call = &mut calls[index];
                    call.0.push_str(delta.id.as_deref().unwrap_or_default());
                    if let Some(function) = delta.function {
                        call.1.push_str(function.name.as_deref().unwrap_or_default());
                        call.2.push_str(function.arguments.as_deref().unwrap_or_default());
                    }
                }
            }
        }
        if calls.is_empty() {
            println!();
            return Ok(text);
        }
        let requested: Vec<Value> = calls
            .iter()
            .map(|ToolCall(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}}))
            .collect();
        messages.push(json!({"role": "assistant", "tool_calls": requested}));
        for ToolCall(id, name, arguments) in &calls {
            println!("[tool] {name}({arguments})");
            messages
                .push(json!({"role": "tool", "tool_call_id": id, "content": run_tool(name, arguments).to_string()}));
        }
    }
    Err("no answer after 5 turns".into())
}

/// The fake's script: the model asks for both tools, then answers.
fn offline_fake() -> Result<FakeOpenAi, std::io::Error> {
    let fake = FakeOpenAi::start()?;
    fake.push(
        Reply::tool_call("get_weather", r#"{"city": "Paris"}"#)
            .and_tool_call("get_local_time", r#"{"city": "Paris"}"#)
            .chunk_delay(Duration::from_millis(5)),
    );
    fake.push(
        Reply::text("In Paris it is 14:05, 18 °C and sunny: a fine afternoon for a walk along the Seine.")
            .chunk_delay(Duration::from_millis(25)),
    );
    Ok(fake)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let weave = weave::init(std::env::var("WEAVE_PROJECT").unwrap_or_else(|_| "weave-rs-openai-agent".into()))?;

    let (config, fake, model) = match std::env::var("OPENAI_API_KEY") {
        Ok(_) => (OpenAIConfig::new(), None, std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into())),
        Err(_) => {
            let fake = offline_fake()?;
            println!("(no OPENAI_API_KEY: a local fake OpenAI server answers, at {})\n", fake.base_url());
            let config = OpenAIConfig::new().with_api_base(fake.base_url()).with_api_key("sk-offline");
            (config, Some(fake), "gpt-4o-mini".to_string())
        }
    };
    let client = TracedClient::with_config(config);
    let answer =
        run_agent(&client, &model, "What is the weather like in Paris, and what time is it there?".into()).await?;
    drop(fake);

    let store_path = weave.local_store_path().map(|p| p.to_path_buf());
    let destination = weave.destination();
    weave.finish();
    let Some(path) = store_path else {
        println!("\nanswer: {answer}\ncalls went to {destination}");
        return Ok(());
    };
    let store = weave::store::LocalStore::open(&path)?;
    let roots = store.calls(&weave::store::CallQuery { roots_only: true, ..Default::default() })?;
    let Some(root) = roots.into_iter().filter(|c| c.op_base_name == "run_agent").max_by_key(|c| c.started_at) else {
        return Ok(());
    };
    println!("\ntrace {}:", root.trace_id);
    print!("{}", store.render_tree(&root.trace_id)?);
    println!("\nusage and cost of the agent's call, per model:");
    for (model, usage) in root.summary["usage"].as_object().into_iter().flatten() {
        println!("  {model}: {usage}");
    }
    for (model, cost) in weave::llm::costs(&root.summary) {
        println!(
            "  {model}: {} requests, {} prompt + {} completion tokens, {:.6} {}",
            cost.requests,
            cost.prompt_tokens,
            cost.completion_tokens,
            cost.total(),
            cost.prompt_token_cost_unit
        );
    }
    println!(
        "total: {:.6} USD (prices of {})",
        weave::llm::total_cost(&root.summary),
        weave::llm::prices::current().date()
    );
    println!("\nstored in {}", path.display());
    Ok(())
}
