//! Feedback on calls: reactions (`wandb.reaction.1`, an emoji) and notes
//! (`wandb.note.1`), added from inside a call ([`crate::CurrentCall::add_reaction`],
//! [`crate::CurrentCall::add_note`]) or by call id ([`add_reaction`], [`add_note`]).
//! Feedback goes out through the exporter, like calls (`/feedback/batch/create`).

use crate::export::ExportItem;
use crate::ids::Id;
use crate::json::JsonObject;
use crate::refs::call_ref_uri;
use crate::runtime::{current_client, Client};
use serde_json::Value;
use std::fmt;

/// The feedback type of a reaction.
pub const REACTION_TYPE: &str = "wandb.reaction.1";
/// The feedback type of a note.
pub const NOTE_TYPE: &str = "wandb.note.1";
/// The longest note Weave accepts, in characters.
pub const MAX_NOTE_CHARS: usize = 1024;

/// One feedback item for the exporter (`ExportItem::Feedback`).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackItem {
    /// The feedback's id (UUIDv7).
    pub id: Id,
    /// The project, `entity/project`.
    pub project_id: String,
    /// The call the feedback is about.
    pub call_id: Id,
    /// `wandb.reaction.1`, `wandb.note.1`, ...
    pub feedback_type: String,
    /// `{"emoji": ..}`, `{"note": ..}`, ...
    pub payload: JsonObject,
    /// For `wandb.runnable.*` feedback (a scorer's result): the scorer's op or object ref.
    pub runnable_ref: Option<String>,
    /// For `wandb.runnable.*` feedback: the ref of the call that produced it.
    pub call_ref: Option<String>,
}

impl FeedbackItem {
    /// The ref of the call the feedback is about (`weave:///e/p/call/<id>`).
    pub fn weave_ref(&self) -> String {
        call_ref_uri(&self.project_id, &self.call_id.to_string())
    }

    /// The item as `/feedback/batch/create` sends it.
    pub fn wire(&self) -> JsonObject {
        let mut obj = JsonObject::new();
        obj.insert("id".into(), Value::String(self.id.to_string()));
        obj.insert("project_id".into(), Value::String(self.project_id.clone()));
        obj.insert("weave_ref".into(), Value::String(self.weave_ref()));
        obj.insert("creator".into(), Value::Null);
        obj.insert("feedback_type".into(), Value::String(self.feedback_type.clone()));
        obj.insert("payload".into(), Value::Object(self.payload.clone()));
        for key in ["annotation_ref", "trigger_ref", "wb_user_id"] {
            obj.insert(key.into(), Value::Null);
        }
        let optional = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
        obj.insert("runnable_ref".into(), optional(&self.runnable_ref));
        obj.insert("call_ref".into(), optional(&self.call_ref));
        obj
    }
}

/// Why feedback could not be added.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FeedbackError {
    /// No client is running (call `weave::init` first, and keep its guard alive).
    NotInitialized,
    /// The note is empty or longer than [`MAX_NOTE_CHARS`].
    InvalidNote(String),
    /// The reaction is empty.
    EmptyReaction,
    /// A runnable ref that is not a `weave:///` op or object ref.
    InvalidRunnableRef(String),
}

impl fmt::Display for FeedbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedbackError::NotInitialized => f.write_str("weave is not initialized: call weave::init first"),
            FeedbackError::InvalidNote(why) => write!(f, "invalid note: {why}"),
            FeedbackError::EmptyReaction => f.write_str("a reaction needs an emoji"),
            FeedbackError::InvalidRunnableRef(r) => write!(f, "{r:?} is not a weave:/// op or object ref"),
        }
    }
}

impl std::error::Error for FeedbackError {}

/// Adds a reaction (an emoji such as `"👍"`) to the call `call_id` of the current
/// project. Returns the feedback's id.
pub fn add_reaction(call_id: Id, emoji: &str) -> Result<Id, FeedbackError> {
    let client = current_client().ok_or(FeedbackError::NotInitialized)?;
    send_reaction(&client, call_id, emoji)
}

/// Adds a note (at most [`MAX_NOTE_CHARS`] characters) to the call `call_id` of the
/// current project. Returns the feedback's id.
pub fn add_note(call_id: Id, note: &str) -> Result<Id, FeedbackError> {
    let client = current_client().ok_or(FeedbackError::NotInitialized)?;
    send_note(&client, call_id, note)
}

/// Adds feedback of any type (`payload` as the server expects it for that type) to the
/// call `call_id` of the current project. Returns the feedback's id.
pub fn add_feedback(call_id: Id, feedback_type: &str, payload: JsonObject) -> Result<Id, FeedbackError> {
    let client = current_client().ok_or(FeedbackError::NotInitialized)?;
    Ok(send(&client, call_id, feedback_type, payload))
}

/// The feedback type prefix of a scorer's result (`wandb.runnable.<scorer name>`).
pub const RUNNABLE_TYPE_PREFIX: &str = "wandb.runnable";

/// Adds a scorer's result to the call `call_id` as Weave does for every score:
/// `wandb.runnable.<name>` feedback with payload `{"output": output}`, where `runnable_ref`
/// is the scorer's op or object ref (its name names the type) and `score_call_id` the
/// call that produced the score. Returns the feedback's id.
pub fn add_runnable_feedback(
    call_id: Id,
    runnable_ref: &str,
    score_call_id: Id,
    output: Value,
) -> Result<Id, FeedbackError> {
    let client = current_client().ok_or(FeedbackError::NotInitialized)?;
    let name = runnable_ref
        .split_once("/op/")
        .or_else(|| runnable_ref.split_once("/object/"))
        .and_then(|(_, tail)| tail.split(['/', ':']).next())
        .filter(|name| runnable_ref.starts_with("weave:///") && !name.is_empty())
        .ok_or_else(|| FeedbackError::InvalidRunnableRef(runnable_ref.to_string()))?;
    let mut payload = JsonObject::new();
    payload.insert("output".into(), output);
    let id = Id::now_v7();
    let item = FeedbackItem {
        id,
        project_id: client.project_id_str().to_string(),
        call_id,
        feedback_type: format!("{RUNNABLE_TYPE_PREFIX}.{name}"),
        payload,
        runnable_ref: Some(runnable_ref.to_string()),
        call_ref: Some(call_ref_uri(client.project_id_str(), &score_call_id.to_string())),
    };
    client.exporter().export(ExportItem::Feedback(Box::new(item)));
    Ok(id)
}

pub(crate) fn send_reaction(client: &Client, call_id: Id, emoji: &str) -> Result<Id, FeedbackError> {
    if emoji.trim().is_empty() {
        return Err(FeedbackError::EmptyReaction);
    }
    let mut payload = JsonObject::new();
    payload.insert("emoji".into(), Value::String(emoji.to_string()));
    Ok(send(client, call_id, REACTION_TYPE, payload))
}

pub(crate) fn send_note(client: &Client, call_id: Id, note: &str) -> Result<Id, FeedbackError> {
    if note.trim().is_empty() {
        return Err(FeedbackError::InvalidNote("it is empty".to_string()));
    }
    let chars = note.chars().count();
    if chars > MAX_NOTE_CHARS {
        return Err(FeedbackError::InvalidNote(format!("{chars} characters, at most {MAX_NOTE_CHARS} are allowed")));
    }
    let mut payload = JsonObject::new();
    payload.insert("note".into(), Value::String(note.to_string()));
    Ok(send(client, call_id, NOTE_TYPE, payload))
}

fn send(client: &Client, call_id: Id, feedback_type: &str, payload: JsonObject) -> Id {
    let id = Id::now_v7();
    let item = FeedbackItem {
        id,
        project_id: client.project_id_str().to_string(),
        call_id,
        feedback_type: feedback_type.to_string(),
        payload,
        runnable_ref: None,
        call_ref: None,
    };
    client.exporter().export(ExportItem::Feedback(Box::new(item)));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_names_the_call_ref() {
        let call_id = Id::now_v7();
        let mut payload = JsonObject::new();
        payload.insert("emoji".into(), Value::String("👍".into()));
        let item = FeedbackItem {
            id: Id::now_v7(),
            project_id: "e/p".into(),
            call_id,
            feedback_type: REACTION_TYPE.into(),
            payload,
            runnable_ref: None,
            call_ref: None,
        };
        let wire = Value::Object(item.wire());
        assert_eq!(wire["weave_ref"], Value::String(format!("weave:///e/p/call/{call_id}")));
        assert_eq!(wire["feedback_type"], "wandb.reaction.1");
        assert_eq!(wire["payload"]["emoji"], "👍");
    }
}
