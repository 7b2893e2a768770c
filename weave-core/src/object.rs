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

use crate::json::JsonObject;
use crate::refs::{object_ref_uri, sanitize_object_name, RefForm};
use crate::runtime::current_client;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::fmt;

/// A ref to one version of a published object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    entity: String,
    project: String,
    name: String,
    digest: String,
}

impl ObjectRef {
    /// A ref to version `digest` of object `name` in `entity/project`.
    pub fn new(
        entity: impl Into<String>,
        project: impl Into<String>,
        name: impl Into<String>,
        digest: impl Into<String>,
    ) -> ObjectRef {
        ObjectRef { entity: entity.into(), project: project.into(), name: name.into(), digest: digest.into() }
    }

    /// Parses `weave:///{entity}/{project}/object/{name}:{digest}` (extra path after the
    /// digest, such as `/attr/rows`, is refused).
    pub fn parse(uri: &str) -> Option<ObjectRef> {
        let rest = uri.strip_prefix("weave:///")?;
        let mut parts = rest.splitn(4, '/');
        let (entity, project, kind, tail) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if kind != "object" || entity.is_empty() || project.is_empty() || tail.contains('/') {
            return None;
        }
        let (name, digest) = tail.rsplit_once(':')?;
        if name.is_empty() || digest.is_empty() {
            return None;
        }
        Some(ObjectRef::new(entity, project, name, digest))
    }

    /// The entity.
    pub fn entity(&self) -> &str {
        &self.entity
    }

    /// The project.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// `entity/project`.
    pub fn project_id(&self) -> String {
        format!("{}/{}", self.entity, self.project)
    }

    /// The object's name (sanitized as Weave does).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version's digest.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The `weave:///` URI.
    pub fn uri(&self) -> String {
        object_ref_uri(&self.project_id(), &self.name, &self.digest)
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri())
    }
}

impl Serialize for ObjectRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.uri())
    }
}

impl<'de> Deserialize<'de> for ObjectRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ObjectRef, D::Error> {
        let text = String::deserialize(deserializer)?;
        ObjectRef::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("not a weave:/// object ref: {text:?}")))
    }
}

/// One object version for the exporter to save (`ExportItem::Object`).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectItem {
    /// The project, `entity/project`.
    pub project_id: String,
    /// The object id (sanitized name).
    pub name: String,
    /// The digest computed locally (the version in the ref handed out).
    pub digest: String,
    /// The value as stored.
    pub value: Value,
}

impl ObjectItem {
    /// The item for `value` published as `name` in `project_id`: sanitizes the name and
    /// computes the digest.
    pub fn new(project_id: impl Into<String>, name: &str, value: Value) -> Result<ObjectItem, PublishError> {
        ObjectItem::in_form(project_id, name, value, &RefForm::AsWritten)
    }

    /// [`ObjectItem::new`] for a store that digests the refs inside values in `form`.
    pub fn in_form(
        project_id: impl Into<String>,
        name: &str,
        value: Value,
        form: &RefForm,
    ) -> Result<ObjectItem, PublishError> {
        let sanitized = sanitize_object_name(name);
        if sanitized.is_empty() {
            return Err(PublishError::InvalidName(name.to_string()));
        }
        let digest = form.object_digest(&value);
        Ok(ObjectItem { project_id: project_id.into(), name: sanitized, digest, value })
    }

    /// The ref of this version.
    pub fn object_ref(&self) -> ObjectRef {
        let (entity, project) = self.project_id.split_once('/').unwrap_or(("", self.project_id.as_str()));
        ObjectRef::new(entity, project, self.name.clone(), self.digest.clone())
    }

    /// The item as `/obj/create` sends it (without the `obj` wrapper): `project_id`,
    /// `object_id`, `val` and the nulls Weave's client sends.
    pub fn wire(&self) -> JsonObject {
        let mut obj = JsonObject::new();
        obj.insert("project_id".into(), Value::String(self.project_id.clone()));
        obj.insert("object_id".into(), Value::String(self.name.clone()));
        obj.insert("val".into(), self.value.clone());
        obj.insert("builtin_object_class".into(), Value::Null);
        obj.insert("expected_digest".into(), Value::Null);
        obj.insert("wb_user_id".into(), Value::Null);
        obj
    }
}

/// Why [`publish`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// No client is running (call `weave::init` first, and keep its guard alive).
    NotInitialized,
    /// The name is empty once sanitized.
    InvalidName(String),
    /// The value could not be turned into JSON (e.g. a map with non-string keys).
    Serialize(String),
    /// The store cannot say (yet) how it digests the refs inside a value, so a value
    /// holding refs cannot be given a ref that resolves (e.g. the trace server does not
    /// answer).
    RefFormUnknown(String),
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::NotInitialized => f.write_str("weave is not initialized: call weave::init first"),
            PublishError::InvalidName(name) => write!(f, "{name:?} is not a usable object name"),
            PublishError::Serialize(e) => write!(f, "the object could not be serialized to JSON: {e}"),
            PublishError::RefFormUnknown(why) => {
                write!(f, "the object holds refs, which cannot be digested now: {why}")
            }
        }
    }
}

impl std::error::Error for PublishError {}

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
    client.exporter().export(crate::export::ExportItem::Object(Box::new(item)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refs_round_trip_and_serialize_as_uris() {
        let r = ObjectRef::new("e", "p", "cfg", "abc");
        assert_eq!(r.uri(), "weave:///e/p/object/cfg:abc");
        assert_eq!(ObjectRef::parse(&r.uri()), Some(r.clone()));
        assert_eq!(serde_json::to_value(&r).unwrap(), json!("weave:///e/p/object/cfg:abc"));
        assert_eq!(serde_json::from_value::<ObjectRef>(json!("weave:///e/p/object/cfg:abc")).unwrap(), r);
        assert_eq!(ObjectRef::parse("weave:///e/p/op/f:abc"), None);
        assert_eq!(ObjectRef::parse("weave:///e/p/object/cfg:abc/attr/rows"), None);
    }

    #[test]
    fn items_sanitize_names_and_digest_the_value() {
        let item = ObjectItem::new("e/p", "my config!", json!({"b": 1, "a": [1.5]})).unwrap();
        assert_eq!(item.name, "my-config");
        assert_eq!(item.digest, crate::refs::object_digest(&json!({"a": [1.5], "b": 1})));
        assert_eq!(item.object_ref().uri(), format!("weave:///e/p/object/my-config:{}", item.digest));
        assert!(matches!(ObjectItem::new("e/p", "!!", json!(1)), Err(PublishError::InvalidName(_))));
    }
}
