//! `POST /v1/embeddings`: one vector per input, the letter frequencies of its text (so
//! texts with the same letters are close).

use super::tokens::words;
use serde_json::{json, Value};

/// Dimensions of the fake's vectors: one per letter a-z.
pub const DIMENSIONS: usize = 26;

/// The response to an embeddings request.
pub(crate) fn embeddings(request: &Value) -> Value {
    let inputs: Vec<String> = match request.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            items.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), String::from)).collect()
        }
        _ => Vec::new(),
    };
    let tokens: u64 = inputs.iter().map(|s| words(s)).sum();
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| json!({"object": "embedding", "index": index, "embedding": letter_vector(text)}))
        .collect();
    json!({
        "object": "list",
        "data": data,
        "model": request.get("model").and_then(Value::as_str).unwrap_or("text-embedding-3-small"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })
}

/// The text's letter frequencies, scaled to length 1.
pub fn letter_vector(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; DIMENSIONS];
    for c in text.chars().filter(char::is_ascii_alphabetic) {
        v[(c.to_ascii_lowercase() as u8 - b'a') as usize] += 1.0;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}
