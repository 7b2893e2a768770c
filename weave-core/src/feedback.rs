//! Feedback on calls: reactions (`wandb.reaction.1`, an emoji) and notes
//! (`wandb.note.1`), added from inside a call ([`crate::CurrentCall::add_reaction`],
//! [`crate::CurrentCall::add_note`]) or by call id ([`add_reaction`], [`add_note`]).
//! Feedback goes out through the exporter, like calls (`/feedback/batch/create`).

pub use crate::feedback_item::FeedbackItem;

use crate::client::Client;
use crate::export::ExportItem;
use crate::ids::Id;
use crate::json::JsonObject;
use crate::refs::call_ref_uri;
use crate::switch::current_client;
use serde_json::Value;
use std::fmt;

/// The feedback type of a reaction.
pub const REACTION_TYPE: &str = "wandb.reaction.1";
/// The feedback type of a note.
pub const NOTE_TYPE: &str = "wandb.note.1";
/// The longest note Weave accepts, in characters.
pub const MAX_NOTE_CHARS: usize = 1024;

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
