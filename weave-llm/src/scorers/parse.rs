//! A judge's reply read as its verdict: the first JSON object in it (also inside a
//! Markdown code fence), else the first number, else a yes/no word.

use serde_json::{json, Map, Value};

/// The verdict in `reply`: a JSON object as written; a number as `{"score": n}`;
/// `yes`/`true`/`pass` or `no`/`false`/`fail` as `{"score": 1.0 or 0.0}`. `None` if none.
///
/// ```
/// use serde_json::json;
/// use weave_llm::scorers::parse_judgement;
/// let reply = "Sure.\n```json\n{\"score\": 0.8, \"reason\": \"close\"}\n```";
/// assert_eq!(parse_judgement(reply), Some(json!({"score": 0.8, "reason": "close"}).as_object().unwrap().clone()));
/// assert_eq!(parse_judgement("I'd say 7/10")
///     .and_then(|v| v["score"].as_f64()), Some(7.0));
/// ```
pub fn parse_judgement(reply: &str) -> Option<Map<String, Value>> {
    if let Some(object) = first_object(reply) {
        return Some(object);
    }
    let score = first_number(reply).or_else(|| yes_no(reply))?;
    json!({"score": score}).as_object().cloned()
}

fn first_object(text: &str) -> Option<Map<String, Value>> {
    let mut start = 0;
    while let Some(i) = text[start..].find('{') {
        let from = start + i;
        let mut stream = serde_json::Deserializer::from_str(&text[from..]).into_iter::<Map<String, Value>>();
        if let Some(Ok(object)) = stream.next() {
            return Some(object);
        }
        start = from + 1;
    }
    None
}

fn first_number(text: &str) -> Option<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .find_map(|w| w.trim_end_matches('.').parse().ok())
}

fn yes_no(text: &str) -> Option<f64> {
    let word = text.split(|c: char| !c.is_alphabetic()).find(|w| !w.is_empty())?.to_ascii_lowercase();
    match word.as_str() {
        "yes" | "true" | "pass" | "correct" => Some(1.0),
        "no" | "false" | "fail" | "incorrect" => Some(0.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_words_and_skips_broken_objects() {
        assert_eq!(parse_judgement("Yes, it is."), json!({"score": 1.0}).as_object().cloned());
        assert_eq!(parse_judgement("{oops} then {\"a\": 1}"), json!({"a": 1}).as_object().cloned());
        assert_eq!(parse_judgement("No, not at all."), json!({"score": 0.0}).as_object().cloned());
        assert_eq!(parse_judgement("hmm"), None);
    }
}
