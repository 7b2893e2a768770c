//! The fake's token counts: words, so that the same request gives the same usage
//! whichever client sends it.

use serde_json::Value;

/// Words of every string in a request's messages (`messages[].content`, text parts
/// included) or `input` (a string, a list of strings, or response-API items).
pub(crate) fn prompt_tokens(body: &Value) -> u64 {
    let source = body.get("messages").or_else(|| body.get("input")).unwrap_or(&Value::Null);
    count_words(source)
}

fn count_words(value: &Value) -> u64 {
    match value {
        Value::String(s) => words(s),
        Value::Array(items) => items.iter().map(count_words).sum(),
        Value::Object(obj) => ["content", "text", "input", "output", "arguments"]
            .iter()
            .filter_map(|key| obj.get(*key))
            .map(count_words)
            .sum(),
        _ => 0,
    }
}

/// Whitespace-separated words of `text`.
pub(crate) fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// The last user message's text (chat `messages` or responses `input`).
pub(crate) fn last_user_text(body: &Value) -> String {
    let items = body.get("messages").or_else(|| body.get("input"));
    match items {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
            .map(|m| text_of(m.get("content").unwrap_or(&Value::Null)))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => {
            parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join(" ")
        }
        _ => String::new(),
    }
}

/// `text` cut into the pieces a stream sends: each word with the whitespace before it.
pub(crate) fn stream_pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() && in_word {
            pieces.push(&text[start..i]);
            start = i;
            in_word = false;
        } else if !c.is_whitespace() {
            in_word = true;
        }
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pieces_keep_the_text() {
        assert_eq!(stream_pieces("Hello big  world"), ["Hello", " big", "  world"]);
        assert_eq!(stream_pieces("").len(), 0);
    }

    #[test]
    fn counts_words_of_messages() {
        let body = json!({"messages": [{"role": "system", "content": "be brief"},
                                       {"role": "user", "content": [{"type": "text", "text": "hi there"}]}]});
        assert_eq!(prompt_tokens(&body), 4);
        assert_eq!(last_user_text(&body), "hi there");
    }
}
