//! A published object version as the exporter receives it ([`ObjectItem`], `ExportItem::Object`),
//! the ref that names it ([`ObjectRef`], `weave:///{entity}/{project}/object/{name}:{digest}`),
//! and why one could not be made ([`PublishError`]). Publishing itself is
//! [`crate::object::publish`], which re-exports these.

use crate::json::JsonObject;
use crate::refs::{object_ref_uri, sanitize_object_name, RefForm};
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

/// Why [`crate::object::publish`] failed, or an [`ObjectItem`] could not be made.
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
