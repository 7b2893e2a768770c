//! Requests and responses as Weave's OpenAI integration records them: JSON without the
//! fields left empty (pydantic's `model_dump(exclude_none=True)`).

use serde::Serialize;
use serde_json::Value;

/// `value` as JSON with the `null` fields of its objects removed, at any depth.
pub(crate) fn to_json_without_nulls(value: &impl Serialize) -> Value {
    let mut json =
        serde_json::to_value(value).unwrap_or_else(|e| Value::String(format!("[weave: could not serialize: {e}]")));
    strip_nulls(&mut json);
    json
}

/// Removes the `null` fields of objects, at any depth (array items are kept).
pub(crate) fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// A serde enum's name as it is sent (`"assistant"`, `"stop"`, `"function"`).
pub(crate) fn wire_name(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_go_at_any_depth_but_not_in_arrays() {
        let mut v = json!({"a": null, "b": {"c": null, "d": 1}, "e": [null, {"f": null}]});
        strip_nulls(&mut v);
        assert_eq!(v, json!({"b": {"d": 1}, "e": [null, {}]}));
    }
}
