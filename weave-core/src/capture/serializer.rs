//! The JSON-writing `serde::Serializer` adapter.
