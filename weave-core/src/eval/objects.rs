//! The Weave objects an evaluation refers to (Dataset, Model, Scorer, Evaluation) and how
//! they appear in call inputs: published (`weave::publish`) and passed as their
//! `weave:///` ref when they hold no refs themselves; inline otherwise.
//!
//! An object holding refs (an Evaluation holds its dataset's and scorers' refs) is kept
//! inline: its digest is computed by the server after rewriting the refs inside to internal
//! project ids, which a client cannot reproduce, so a ref computed here would name a
//! version the server stores under another digest. This is the one place to change when
//! that is solved (and when tables can be published for dataset rows).

use crate::call::JsonObject;
use crate::object::ObjectRef;
use serde::Serialize;
use serde_json::Value;

/// `{"_type": class, "name", "description", <fields>, "_class_name": class, "_bases": [...]}`,
/// the shape Weave gives a saved `weave.Object`.
pub(crate) fn object_value(
    class: &str,
    name: Option<&str>,
    description: Option<&str>,
    fields: JsonObject,
    bases: &[&str],
) -> Value {
    let mut object = JsonObject::new();
    object.insert("_type".into(), Value::String(class.to_string()));
    object.insert("name".into(), name.map_or(Value::Null, |n| Value::String(n.to_string())));
    object.insert("description".into(), description.map_or(Value::Null, |d| Value::String(d.to_string())));
    for (key, value) in fields {
        if !key.starts_with('_') {
            object.insert(key, value);
        }
    }
    object.insert("_class_name".into(), Value::String(class.to_string()));
    object.insert("_bases".into(), Value::Array(bases.iter().map(|b| Value::String(b.to_string())).collect()));
    Value::Object(object)
}

/// The fields of a serialized value: an object's entries, nothing for `null`, and any
/// other value under `value`.
pub(crate) fn fields_of(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        Value::Null => JsonObject::new(),
        other => {
            let mut map = JsonObject::new();
            map.insert("value".into(), other);
            map
        }
    }
}

/// An object's name: its `name` field when it serializes to an object with a non-empty
/// string `name`, else its type's name (as Weave names a `weave.Object`).
pub(crate) fn name_field_or_type<T: Serialize + ?Sized>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::Object(fields)) => match fields.get("name") {
            Some(Value::String(name)) if !name.is_empty() => name.clone(),
            _ => super::model::type_name_of::<T>(),
        },
        _ => super::model::type_name_of::<T>(),
    }
}

/// An object as a call input: its ref when it could be published, else the value itself.
#[derive(Debug, Clone)]
pub(crate) struct ObjectInput {
    /// The ref, when published.
    pub(crate) object_ref: Option<ObjectRef>,
    /// What goes into call inputs.
    pub(crate) value: Value,
}

impl ObjectInput {
    /// Publishes `value` as `name` when it holds no refs (and a client is running).
    pub(crate) fn publish(name: &str, value: Value) -> ObjectInput {
        if holds_ref(&value) {
            return ObjectInput { object_ref: None, value };
        }
        match crate::object::publish(name, &value) {
            Ok(object_ref) => ObjectInput { value: Value::String(object_ref.uri()), object_ref: Some(object_ref) },
            Err(_) => ObjectInput { object_ref: None, value },
        }
    }

    /// A value passed inline.
    pub(crate) fn inline(value: Value) -> ObjectInput {
        ObjectInput { object_ref: None, value }
    }
}

fn holds_ref(value: &Value) -> bool {
    match value {
        Value::String(s) => s.starts_with("weave:///"),
        Value::Array(items) => items.iter().any(holds_ref),
        Value::Object(map) => map.values().any(holds_ref),
        _ => false,
    }
}

/// `sanitize_object_name`, as scorer names go through it.
pub(crate) fn sanitize(name: &str) -> String {
    crate::refs::sanitize_object_name(name)
}
