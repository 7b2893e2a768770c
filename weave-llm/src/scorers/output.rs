//! The model output as the text a scorer compares or puts in a prompt.

/// The model output as text: a string as is, anything else as JSON.
pub(crate) fn output_text(output: &serde_json::Value) -> String {
    match output {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
