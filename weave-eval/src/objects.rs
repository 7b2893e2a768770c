//! The Weave objects of an evaluation (Dataset, Model, Scorer, Evaluation,
//! EvaluationResults) and how they are stored: as the Python SDK stores them. Each is an
//! object version whose methods are op refs (`"predict": "weave:///…/op/…"`); a dataset's
//! rows and an evaluation's results are tables; calls take objects as refs
//! (`weave:///{entity}/{project}/object/{name}:{digest}`) and a dataset row as a row ref
//! (`…/attr/rows/id/{row digest}`, a column of it `…/key/{column}`).
//!
//! Digests are computed here as the store computes them ([`RefForm`]: the Weave server
//! digests the refs inside a value in its internal form, which its sink learns at
//! start-up), so every ref is known at once and uploads happen in the background.
//! Without a running client, or when the store cannot tell its ref form (a server without
//! `/service/projects_info`, or one that does not answer), values are passed inline.

use serde::Serialize;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use weave_core::call::JsonObject;
use weave_core::export::{ExportItem, Exporter, OpItem};
use weave_core::object::{ObjectItem, ObjectRef, PublishError, REF_FORM_WAIT};
use weave_core::op::{short_type_name, OpDef};
use weave_core::refs::{quote_ref_part, RefForm};
use weave_core::table::TableItem;

/// `{"_type": class, "name", "description", <fields>, "_class_name": class, "_bases": [...]}`,
/// the shape Weave gives a saved `weave.Object`. A `name` or `description` field of
/// `fields` wins over the arguments.
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

/// Adds method op refs (`"predict": <op ref>`) to an object value.
pub(crate) fn with_methods(mut object: Value, methods: &[(&str, Value)]) -> Value {
    if let Value::Object(map) = &mut object {
        for (name, op_ref) in methods {
            map.insert((*name).to_string(), op_ref.clone());
        }
    }
    object
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
    match weave_core::json::to_value(value) {
        Ok(Value::Object(fields)) => match fields.get("name") {
            Some(Value::String(name)) if !name.is_empty() => name.clone(),
            _ => type_name_of::<T>(),
        },
        _ => type_name_of::<T>(),
    }
}

/// The short name of type `T` (`my_crate::Echo<u8>` is `Echo<u8>`), as Weave names a
/// class: the class of a model's or scorer's object, and its ops' prefix.
pub(crate) fn type_name_of<T: ?Sized>() -> String {
    short_type_name(std::any::type_name::<T>()).to_string()
}

/// `sanitize_object_name`, as scorer names go through it.
pub(crate) fn sanitize(name: &str) -> String {
    weave_core::refs::sanitize_object_name(name)
}

/// An object as calls take it: its ref once published, else the value itself.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    /// The ref, when published.
    pub(crate) object_ref: Option<ObjectRef>,
    /// What goes into call inputs: the ref's URI, or the value.
    pub(crate) value: Value,
}

impl Published {
    /// A value passed inline.
    pub(crate) fn inline(value: Value) -> Published {
        Published { object_ref: None, value }
    }

    /// The ref of the row with digest `row_digest` of this object's `rows` table.
    pub(crate) fn row_ref(&self, row_digest: &str) -> Option<String> {
        let object_ref = self.object_ref.as_ref()?;
        Some(format!("{}/attr/rows/id/{}", object_ref.uri(), quote_ref_part(row_digest)))
    }
}

/// The ref of the value under `key` of the row (or dict) `row_ref` refers to.
pub(crate) fn key_ref(row_ref: &str, key: &str) -> String {
    format!("{row_ref}/key/{}", quote_ref_part(key))
}

/// A table as an object field takes it: its ref once published, else its rows; with its
/// rows' digests either way.
#[derive(Debug, Clone)]
pub(crate) struct PublishedTable {
    /// The table's ref URI, or its rows inline.
    pub(crate) value: Value,
    /// Each row's digest.
    pub(crate) row_digests: Vec<String>,
}

/// Saves an evaluation's ops, tables and objects in the current project, digested as its
/// store digests them; see the module docs.
pub(crate) struct Publisher {
    target: Option<Target>,
}

struct Target {
    project_id: String,
    form: RefForm,
    exporter: Arc<dyn Exporter>,
    capture_code: bool,
}

/// Said once per process when objects must be passed inline.
static INLINE_WARNED: AtomicBool = AtomicBool::new(false);

impl Publisher {
    /// The publisher of the running client (waits, a bounded time, for the exporter to
    /// know its store's ref form); passes everything inline without one.
    pub(crate) fn current() -> Publisher {
        match Publisher::try_current() {
            Ok(publisher) => publisher,
            Err(PublishError::RefFormUnknown(why)) => {
                if !INLINE_WARNED.swap(true, Ordering::Relaxed) {
                    eprintln!(
                        "weave: evaluation objects are stored inline, not as versioned objects, so the Weave UI \
                         cannot compare these evaluations: {why}"
                    );
                }
                Publisher { target: None }
            }
            Err(_) => Publisher { target: None },
        }
    }

    /// The publisher of the running client, or why there is none: no client, or the
    /// store cannot say (within a bounded wait) how it digests refs.
    pub(crate) fn try_current() -> Result<Publisher, PublishError> {
        let client = weave_core::runtime::current_client().ok_or(PublishError::NotInitialized)?;
        let form = client.exporter().ref_form().wait(REF_FORM_WAIT).map_err(PublishError::RefFormUnknown)?;
        Ok(Publisher {
            target: Some(Target {
                project_id: client.project_id_str().to_string(),
                form,
                exporter: Arc::clone(client.exporter()),
                capture_code: client.settings().capture_code,
            }),
        })
    }

    /// An op definition with this client's code-capture setting.
    pub(crate) fn op(&self, name: &str, source: &str, kind: Option<&'static str>, eager: bool) -> Arc<OpDef> {
        let capture_code = self.target.as_ref().is_none_or(|t| t.capture_code);
        Arc::new(OpDef::new(name, source, capture_code, kind, eager))
    }

    /// Saves `op` and returns its ref (its name, inline).
    pub(crate) fn op_ref(&self, op: &Arc<OpDef>) -> Value {
        let Some(target) = &self.target else {
            return Value::String(op.name().to_string());
        };
        let item = OpItem { project_id: target.project_id.clone(), op: Arc::clone(op).into() };
        target.exporter.export(ExportItem::Op(Box::new(item)));
        Value::String(op.ref_uri(&target.project_id))
    }

    /// Saves a table of `rows` and returns its ref (the rows, inline).
    pub(crate) fn table(&self, rows: Vec<Value>) -> PublishedTable {
        let Some(target) = &self.target else {
            let row_digests = rows.iter().map(|row| RefForm::AsWritten.row_digest(row)).collect();
            return PublishedTable { value: Value::Array(rows), row_digests };
        };
        let table = TableItem::new(target.project_id.clone(), rows, &target.form);
        let published = PublishedTable { value: Value::String(table.uri()), row_digests: table.row_digests.clone() };
        target.exporter.export(ExportItem::Table(Box::new(table)));
        published
    }

    /// Saves `value` as a version of the object `name` and returns its ref (the value,
    /// inline, when it cannot be saved).
    pub(crate) fn object(&self, name: &str, value: Value) -> Published {
        let Some(target) = &self.target else {
            return Published::inline(value);
        };
        match ObjectItem::in_form(target.project_id.clone(), name, value.clone(), &target.form) {
            Ok(item) => {
                let object_ref = item.object_ref();
                target.exporter.export(ExportItem::Object(Box::new(item)));
                Published { value: Value::String(object_ref.uri()), object_ref: Some(object_ref) }
            }
            Err(_) => Published::inline(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn row_and_key_refs_extend_the_object_ref() {
        let object_ref = ObjectRef::new("e", "p", "qa", "abc");
        let published = Published { value: json!(object_ref.uri()), object_ref: Some(object_ref) };
        let row = published.row_ref("R1").unwrap();
        assert_eq!(row, "weave:///e/p/object/qa:abc/attr/rows/id/R1");
        assert_eq!(key_ref(&row, "my column"), "weave:///e/p/object/qa:abc/attr/rows/id/R1/key/my%20column");
        assert_eq!(Published::inline(json!({"a": 1})).row_ref("R1"), None);
    }

    #[test]
    fn without_a_client_everything_is_inline() {
        let publisher = Publisher { target: None };
        let table = publisher.table(vec![json!({"a": 1})]);
        assert_eq!(table.value, json!([{"a": 1}]));
        assert_eq!(table.row_digests.len(), 1);
        assert_eq!(publisher.object("x", json!({"a": 1})).value, json!({"a": 1}));
        let op = publisher.op("f", "fn f() {}", None, false);
        assert_eq!(publisher.op_ref(&op), json!("f"));
    }
}
