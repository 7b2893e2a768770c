//! The trace page (`/trace/{trace_id}?call={id}`): the call tree with a timing waterfall,
//! and the selected call's inputs, output, exception, attributes, summary, op source and
//! feedback. API: `/api/trace/{trace_id}`, `/api/call/{id}`, `/api/call/{id}/feedback`
//! (GET, and POST to add a reaction or a note), `/api/ref?uri=` (what a ref names).

use super::error::ApiError;
use super::params::Params;
use super::shell::{page, Section};
use super::state::AppState;
use crate::store::calls::{brief_json, full_json, op_version};
use crate::store::costs::CallCost;
use crate::store::feedback::NewFeedback;
use crate::store::refs::Resolver;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use weave_exporter::local_store::TraceTree;

/// The most calls of a trace shown.
pub const MAX_TRACE_CALLS: usize = 20_000;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/trace/{trace_id}", get(trace_page))
        .route("/api/trace/{trace_id}", get(trace))
        .route("/api/call/{id}", get(call))
        .route("/api/call/{id}/feedback", get(feedback).post(add_feedback))
        .route("/api/ref", get(resolve_ref))
}

async fn trace_page(State(state): State<AppState>, Path(trace_id): Path<String>) -> Result<Html<String>, ApiError> {
    let id = trace_id.clone();
    // The root's name in the title and heading (escaped by the shell).
    let name = state
        .read(move |store| {
            let calls = store.trace_calls(&id, 1)?;
            Ok(calls.first().map(|c| c.trace_name().to_string()))
        })
        .await?;
    let heading = name.unwrap_or_else(|| format!("Trace {trace_id}"));
    Ok(page(Section::Traces, "trace", &heading, &heading))
}

async fn trace(State(state): State<AppState>, Path(trace_id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = trace_id.clone();
    let calls = state.read(move |store| Ok(store.trace_calls(&id, MAX_TRACE_CALLS + 1)?)).await?;
    if calls.is_empty() {
        return Err(ApiError::not_found(format!("there is no trace {trace_id}")));
    }
    let truncated = calls.len() > MAX_TRACE_CALLS;
    let tree = TraceTree::build(calls.into_iter().take(MAX_TRACE_CALLS).collect());
    let mut children: HashMap<&str, usize> = HashMap::new();
    for line in tree.lines() {
        if let Some(parent) = line.call.parent_id.as_deref() {
            *children.entry(parent).or_default() += 1;
        }
    }
    let start = tree.lines().iter().map(|l| l.call.started_at.unix_micros()).min().unwrap_or(0);
    let end = tree
        .lines()
        .iter()
        .map(|l| l.call.ended_at.map_or(l.call.started_at.unix_micros(), |t| t.unix_micros()))
        .max()
        .unwrap_or(start);
    let mut errors = 0;
    let mut nodes = Vec::with_capacity(tree.lines().len());
    for line in tree.lines() {
        let mut node = brief_json(&line.call);
        node["depth"] = line.depth.into();
        node["children"] = children.get(line.call.id.as_str()).copied().unwrap_or(0).into();
        if line.call.exception.is_some() {
            errors += 1;
        }
        nodes.push(node);
    }
    let root = tree.lines().first().map(|l| &l.call);
    Ok(Json(json!({
        "trace_id": trace_id,
        "calls": nodes,
        "truncated": truncated,
        "start_us": start,
        "end_us": end,
        "summary": {
            "calls": tree.lines().len(),
            "errors": errors,
            "usage": root.and_then(|r| r.summary.get("usage").cloned()),
            "costs": root.and_then(|r| CallCost::of(&r.summary)).map(|c| c.models_json()),
            "status_counts": root.and_then(|r| r.summary.get("status_counts").cloned()),
        },
    })))
}

async fn call(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let call_id = id.clone();
    let detail = state
        .read(move |store| {
            let Some(call) = store.call(&call_id)? else { return Ok(None) };
            let mut out = full_json(&call);
            let digest = op_version(&call.op_name).map(String::from);
            let versions = store.versions(&call.op_base_name)?;
            let version_index =
                versions.iter().filter(|v| v.kind == "op").position(|v| Some(&v.digest) == digest.as_ref());
            let source = match &digest {
                Some(d) => store.op_version_source(&call.op_base_name, d)?,
                None => None,
            };
            out["op_source"] = json!({
                "name": call.op_base_name,
                "digest": digest,
                "version": version_index.map(|i| format!("v{i}")),
                "versions": versions.iter().filter(|v| v.kind == "op").count(),
                "code": source,
            });
            let feedback = store.feedback(&call.project_id, &call.id)?;
            out["feedback"] = Value::Array(feedback.iter().map(|f| f.to_json()).collect());
            Ok(Some(out))
        })
        .await?;
    detail.map(Json).ok_or_else(|| ApiError::not_found(format!("there is no call {id}")))
}

async fn feedback(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let call_id = id.clone();
    let list = state
        .read(move |store| {
            let Some(call) = store.call(&call_id)? else { return Ok(None) };
            Ok(Some(store.feedback(&call.project_id, &call.id)?))
        })
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no call {id}")))?;
    Ok(Json(json!({"feedback": list.iter().map(|f| f.to_json()).collect::<Vec<_>>()})))
}

/// `{"emoji": "👍"}` adds a reaction, `{"note": "text"}` a note.
async fn add_feedback(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Map<String, Value>>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(String::from);
    let new = match (text("emoji"), text("note")) {
        (Some(emoji), None) => NewFeedback::Reaction(emoji),
        (None, Some(note)) => NewFeedback::Note(note),
        _ => return Err(ApiError::bad_request("send {\"emoji\": \"…\"} or {\"note\": \"…\"}")),
    };
    new.validate().map_err(ApiError::bad_request)?;
    let call_id = id.clone();
    let added = state
        .read(move |store| {
            if store.call(&call_id)?.is_none() {
                return Ok(None);
            }
            Ok(Some(store.add_feedback(&call_id, &new)?))
        })
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no call {id}")))?;
    Ok((StatusCode::CREATED, Json(added.to_json())))
}

async fn resolve_ref(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw.as_deref());
    let uri = params.get("uri").ok_or_else(|| ApiError::bad_request("give the ref as ?uri="))?.to_string();
    let shown = uri.clone();
    let value = state
        .read(move |store| Ok(store.read("could not resolve a ref", |conn| Resolver::new(conn).resolve(&uri))?))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{shown} names nothing in this store")))?;
    Ok(Json(json!({"ref": shown, "value": value})))
}
