//! Objects, ops' files and tables of rows, read by name and digest.

use super::{Error, Store};
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

/// An object (or op) version as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObject {
    /// `entity/project`.
    pub project_id: String,
    /// The object's name.
    pub name: String,
    /// Its digest (version).
    pub digest: String,
    /// `object` or `op`.
    pub kind: String,
    /// Its value.
    pub val: Value,
    /// When it was first saved (RFC 3339).
    pub created_at: String,
}

/// The value of the object `name:digest` of `project_id`.
pub fn object_val(conn: &Connection, project_id: &str, name: &str, digest: &str) -> rusqlite::Result<Option<Value>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT val FROM objects WHERE project_id = ?1 AND object_id = ?2 AND digest = ?3")?
        .query_row([project_id, name, digest], |r| r.get(0))
        .optional()?;
    Ok(text.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t))))
}

/// Every version of the object or op `name` (of any project), oldest first.
pub fn versions(conn: &Connection, name: &str) -> rusqlite::Result<Vec<StoredObject>> {
    let mut stmt = conn.prepare_cached(
        "SELECT project_id, object_id, digest, kind, val, created_at FROM objects WHERE object_id = ?1 \
         ORDER BY created_at, digest",
    )?;
    let rows = stmt.query_map([name], |r| {
        let val: String = r.get(4)?;
        Ok(StoredObject {
            project_id: r.get(0)?,
            name: r.get(1)?,
            digest: r.get(2)?,
            kind: r.get(3)?,
            val: serde_json::from_str(&val).unwrap_or(Value::String(val)),
            created_at: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// The text of a file (an op's `obj.py`).
pub fn file_text(conn: &Connection, project_id: &str, digest: &str) -> rusqlite::Result<Option<String>> {
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT content FROM files WHERE project_id = ?1 AND digest = ?2")?
        .query_row([project_id, digest], |r| r.get(0))
        .optional()?;
    Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// The source code of an op version (its `obj.py`), from the op object's `files`.
pub fn op_source(conn: &Connection, project_id: &str, name: &str, digest: &str) -> rusqlite::Result<Option<String>> {
    let Some(val) = object_val(conn, project_id, name, digest)? else { return Ok(None) };
    let Some(file) = val.get("files").and_then(|f| f.get(weave_core::op::OP_SOURCE_FILE)).and_then(Value::as_str)
    else {
        return Ok(None);
    };
    file_text(conn, project_id, file)
}

/// The row digests of a table.
pub fn table_digests(conn: &Connection, project_id: &str, digest: &str) -> rusqlite::Result<Option<Vec<String>>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT row_digests FROM tables WHERE project_id = ?1 AND digest = ?2")?
        .query_row([project_id, digest], |r| r.get(0))
        .optional()?;
    Ok(text.map(|t| serde_json::from_str(&t).unwrap_or_default()))
}

/// One row of a table, by its digest.
pub fn table_row(conn: &Connection, project_id: &str, row_digest: &str) -> rusqlite::Result<Option<Value>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT val FROM table_rows WHERE project_id = ?1 AND digest = ?2")?
        .query_row([project_id, row_digest], |r| r.get(0))
        .optional()?;
    Ok(text.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t))))
}

/// The rows of a table (at most `max`), in order, with their digests.
pub fn table_rows(
    conn: &Connection,
    project_id: &str,
    digest: &str,
    max: usize,
) -> rusqlite::Result<Option<Vec<(String, Value)>>> {
    let Some(digests) = table_digests(conn, project_id, digest)? else { return Ok(None) };
    let mut rows = Vec::with_capacity(digests.len().min(max));
    for row_digest in digests.into_iter().take(max) {
        let val = table_row(conn, project_id, &row_digest)?.unwrap_or(Value::Null);
        rows.push((row_digest, val));
    }
    Ok(Some(rows))
}

impl Store {
    /// Every version of an object or op named `name`.
    pub fn versions(&self, name: &str) -> Result<Vec<StoredObject>, Error> {
        self.read("could not read objects", |conn| versions(conn, name))
    }
}
