//! One feedback item on a call as the exporter receives it (`ExportItem::Feedback`) and its
//! `/feedback/batch/create` form. Adding feedback is [`crate::feedback`], which re-exports it.

use crate::ids::Id;
use crate::json::JsonObject;
use crate::refs::call_ref_uri;
use serde_json::Value;

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
            feedback_type: "wandb.reaction.1".into(),
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
