//! Feedback on calls: read (reactions, notes, scorers' results) and written (a reaction
//! or a note from the viewer, as the SDK writes them: `wandb.reaction.1` `{emoji}` and
//! `wandb.note.1` `{note}`, keyed by the call's ref).

use super::{Error, ErrorKind, Store};
use rusqlite::params;
use serde_json::{json, Value};
use weave_core::feedback::{MAX_NOTE_CHARS, NOTE_TYPE, REACTION_TYPE};
use weave_core::ids::Id;
use weave_core::refs::call_ref_uri;
use weave_core::time::Timestamp;

/// The longest reaction accepted, in characters (an emoji can be several code points).
pub const MAX_EMOJI_CHARS: usize = 16;

/// One feedback row.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    /// Its id.
    pub id: String,
    /// `wandb.reaction.1`, `wandb.note.1`, `wandb.runnable.<scorer>`, ...
    pub feedback_type: String,
    /// `{"emoji"}`, `{"note"}`, `{"output"}`, ...
    pub payload: Value,
    /// When it was added.
    pub created_at: String,
}

impl Feedback {
    /// As JSON for the API.
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "feedback_type": self.feedback_type, "payload": self.payload, "created_at": self.created_at})
    }
}

/// What the viewer adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewFeedback {
    /// An emoji.
    Reaction(String),
    /// A note.
    Note(String),
}

impl NewFeedback {
    /// Checks the text: a non-empty emoji of at most [`MAX_EMOJI_CHARS`], a non-empty
    /// note of at most `MAX_NOTE_CHARS` (Weave's limit).
    pub fn validate(&self) -> Result<(), String> {
        match self {
            NewFeedback::Reaction(e) if e.trim().is_empty() => Err("a reaction needs an emoji".into()),
            NewFeedback::Reaction(e) if e.chars().count() > MAX_EMOJI_CHARS => {
                Err(format!("a reaction is at most {MAX_EMOJI_CHARS} characters"))
            }
            NewFeedback::Note(n) if n.trim().is_empty() => Err("a note cannot be empty".into()),
            NewFeedback::Note(n) if n.chars().count() > MAX_NOTE_CHARS => {
                Err(format!("a note is at most {MAX_NOTE_CHARS} characters"))
            }
            _ => Ok(()),
        }
    }
}

impl Store {
    /// The feedback on a call, oldest first.
    pub fn feedback(&self, project_id: &str, call_id: &str) -> Result<Vec<Feedback>, Error> {
        let weave_ref = call_ref_uri(project_id, call_id);
        self.read("could not read feedback", |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, feedback_type, payload, created_at FROM feedback WHERE weave_ref = ?1 \
                 ORDER BY created_at, id",
            )?;
            let rows = stmt.query_map([&weave_ref], |r| {
                let payload: String = r.get(2)?;
                Ok(Feedback {
                    id: r.get(0)?,
                    feedback_type: r.get(1)?,
                    payload: serde_json::from_str(&payload).unwrap_or(Value::String(payload)),
                    created_at: r.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Adds a reaction or a note to the call `call_id` (which must exist), in one short
    /// transaction. Returns the new feedback.
    pub fn add_feedback(&self, call_id: &str, feedback: &NewFeedback) -> Result<Feedback, Error> {
        if let Err(why) = feedback.validate() {
            return Err(Error::new(self.path(), ErrorKind::Other, why));
        }
        let Some(call) = self.call(call_id)? else {
            return Err(Error::new(self.path(), ErrorKind::Other, format!("there is no call {call_id}")));
        };
        let (feedback_type, payload) = match feedback {
            NewFeedback::Reaction(emoji) => (REACTION_TYPE, json!({"emoji": emoji})),
            NewFeedback::Note(note) => (NOTE_TYPE, json!({"note": note})),
        };
        let row = Feedback {
            id: Id::now_v7().to_string(),
            feedback_type: feedback_type.to_string(),
            payload,
            created_at: Timestamp::now().to_string(),
        };
        let weave_ref = call_ref_uri(&call.project_id, &call.id);
        self.write("could not save feedback", |conn| {
            conn.execute(
                "INSERT INTO feedback (project_id, id, weave_ref, feedback_type, payload, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![call.project_id, row.id, weave_ref, row.feedback_type, row.payload.to_string(), row.created_at],
            )
        })?;
        Ok(row)
    }
}
