//! A response gathered from its streamed events, as Weave's OpenAI integration gathers
//! it: the response of the latest `response.created` / `in_progress` / `completed` /
//! `failed` / `incomplete` event (the completed one holds everything), and until one
//! ends the stream, the text deltas gathered by output index.

use super::accumulate::Accumulate;
use super::json::to_json_without_nulls;
use async_openai::types::responses::ResponseStreamEvent;
use serde_json::Value;

/// The response of a stream so far (see the module documentation).
#[derive(Debug, Default, Clone)]
pub struct ResponseAccumulator {
    response: Option<Value>,
    texts: Vec<String>,
}

impl Accumulate<ResponseStreamEvent> for ResponseAccumulator {
    fn add(&mut self, event: &ResponseStreamEvent) {
        let response = match event {
            ResponseStreamEvent::ResponseCreated(e) => &e.response,
            ResponseStreamEvent::ResponseInProgress(e) => &e.response,
            ResponseStreamEvent::ResponseCompleted(e) => &e.response,
            ResponseStreamEvent::ResponseFailed(e) => &e.response,
            ResponseStreamEvent::ResponseIncomplete(e) => &e.response,
            ResponseStreamEvent::ResponseOutputTextDelta(e) => {
                let index = e.output_index as usize;
                if self.texts.len() <= index {
                    self.texts.resize_with(index + 1, String::new);
                }
                self.texts[index].push_str(&e.delta);
                return;
            }
            _ => return,
        };
        self.response = Some(to_json_without_nulls(response));
        self.texts.clear();
    }

    /// Python's integration records no time to first token for responses.
    fn has_content(&self, _event: &ResponseStreamEvent) -> bool {
        false
    }

    fn is_extra(&self, _event: &ResponseStreamEvent) -> bool {
        false
    }

    fn output(&self) -> Value {
        let mut output = self.response.clone().unwrap_or_else(|| Value::Object(Default::default()));
        if !self.texts.is_empty() {
            if let Value::Object(map) = &mut output {
                map.insert("output_text_so_far".into(), self.texts.clone().into());
            }
        }
        output
    }
}
