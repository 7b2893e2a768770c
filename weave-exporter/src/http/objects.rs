//! Saving ops and published objects on the trace server.
//!
//! An op is saved once per process: its `obj.py` (Python holding the captured Rust source,
//! see `OpDef::source_file`) through `/file/create` (multipart), then the op object
//! `{"_type":"CustomWeaveType","weave_type":{"type":"Op"},"files":{"obj.py":<digest>}}`
//! through `/obj/create`. Objects go through `/obj/create` as they are, tables through
//! `/table/create`. The digests the
//! server answers are checked against the ones computed locally (which are already in
//! the refs handed out); a difference is reported, since those refs would then not
//! resolve.

use super::client::{Body, Failure, HttpClient};
use super::routes::{obj_create, FILE_CREATE, OBJ_CREATE, TABLE_CREATE};
use serde_json::Value;
use weave_core::op::{OpDef, OP_SOURCE_FILE};

/// Saves an op's source file and op object in `project_id`.
pub(crate) fn save_op(client: &HttpClient, project_id: &str, op: &OpDef) -> Result<(), Failure> {
    let fields = [("project_id", project_id)];
    let body = Body::File { fields: &fields, file_name: OP_SOURCE_FILE, content: op.source_file().as_bytes() };
    let response = client.send(&format!("{}{FILE_CREATE}", client.trace_url()), "POST", &body, &[])?;
    check_digest(&response.json(), op.file_digest(), &format!("the source file of op {}", op.name()));
    let body = obj_create(project_id, op.name(), &op.object_value()).map_err(Failure::local)?;
    let response = client.post_json(OBJ_CREATE, &body, &[])?;
    check_digest(&response.json(), op.digest(), &format!("op {}", op.name()));
    Ok(())
}

/// Saves one object version; `digest` is the one in the ref handed out.
pub(crate) fn save_object(
    client: &HttpClient,
    project_id: &str,
    name: &str,
    digest: &str,
    val: &Value,
) -> Result<(), Failure> {
    let body = obj_create(project_id, name, val).map_err(Failure::local)?;
    let response = client.post_json(OBJ_CREATE, &body, &[])?;
    check_digest(&response.json(), digest, &format!("object {name}"));
    Ok(())
}

/// Saves one table (`/table/create`); `digest` is the one in the refs handed out.
pub(crate) fn save_table(client: &HttpClient, table: &Value, digest: &str) -> Result<(), Failure> {
    let body = serde_json::to_vec(&serde_json::json!({ "table": table })).map_err(|e| Failure::local(e.to_string()))?;
    let response = client.post_json(TABLE_CREATE, &body, &[])?;
    check_digest(&response.json(), digest, "a table");
    Ok(())
}

fn check_digest(response: &Value, expected: &str, what: &str) {
    if let Some(got) = response.get("digest").and_then(Value::as_str) {
        if got != expected {
            weave_core::warn!(
                "weave: the server stored {what} with digest {got}, but weave-rs computed {expected}; \
                 refs to it made by this process will not resolve"
            );
        }
    }
}
