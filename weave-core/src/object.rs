//! Published objects: [`publish`] saves any `Serialize` value as a versioned object of
//! the current project and returns its [`ObjectRef`]
//! (`weave:///{entity}/{project}/object/{name}:{digest}`).
//!
//! The digest is computed here, as Weave's server computes it
//! (`bytes_digest(json.dumps(val, sort_keys=True))`, see [`crate::refs::object_digest`]),
//! so the ref is known at once and the upload happens in the background like calls do.
//! An [`ObjectRef`] serializes as its URI, so a ref passed to an op is stored as the ref.
//!
//! Values that themselves hold `weave:///` refs are digested by the server after it
//! rewrites those refs to its internal form ([`RefForm`]): publishing such a value waits
//! (at most 10 s, once the exporter has started up: not at all) for the exporter to know
//! that form. Refs to objects of other projects are digested as written.

pub use crate::object_item::{ObjectItem, ObjectRef, PublishError};

use crate::export::ExportItem;
use crate::refs::RefForm;
use crate::switch::current_client;
use serde::Serialize;
use serde_json::Value;

/// Saves `value` as a new version of the object `name` (sanitized like Weave's object
/// names) in the current project and returns its ref. Publishing the same value again
/// gives the same ref. The upload happens in the background; the ref is usable at once
/// (pass it to ops, store it, print it).
///
/// ```
/// # let calls = weave_core::testing::capture();
/// let config = serde_json::json!({"model": "gpt-4o", "temperature": 0.5});
/// let r = weave_core::object::publish("my config", &config).unwrap();
/// assert!(r.uri().starts_with("weave:///test-entity/test-project/object/my-config:"));
/// ```
pub fn publish<T: Serialize + ?Sized>(name: &str, value: &T) -> Result<ObjectRef, PublishError> {
    let client = current_client().ok_or(PublishError::NotInitialized)?;
    let value = crate::json::to_value(value).map_err(|e| PublishError::Serialize(e.to_string()))?;
    // Only a value holding refs depends on how the store digests them.
    let form = if holds_ref(&value) {
        client.exporter().ref_form().wait(REF_FORM_WAIT).unwrap_or_default()
    } else {
        RefForm::AsWritten
    };
    let item = ObjectItem::in_form(client.project_id_str(), name, value, &form)?;
    let object_ref = item.object_ref();
    client.exporter().export(ExportItem::Object(Box::new(item)));
    Ok(object_ref)
}

/// How long publishing a value that holds refs waits, at most, for the exporter to know
/// how its store digests them (the server sink asks at start-up, in the background):
/// the timeout to give [`crate::store_ref_form::StoreRefForm::wait`] when publishing by
/// hand (`client.exporter().ref_form().wait(REF_FORM_WAIT)`, then
/// [`ObjectItem::in_form`] or [`crate::table::TableItem::new`] with that form).
pub const REF_FORM_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// True when the value holds a `weave:///` ref somewhere.
pub(crate) fn holds_ref(value: &Value) -> bool {
    match value {
        Value::String(s) => s.starts_with("weave:///"),
        Value::Array(items) => items.iter().any(holds_ref),
        Value::Object(map) => map.values().any(holds_ref),
        _ => false,
    }
}
