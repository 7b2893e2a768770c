//! The ops pages (`/ops`, `/ops/{name}`): each op, its versions and their code (a diff
//! between two), its calls, error rate and p50/p95 latency. API: `/api/ops`,
//! `/api/ops/{name}`, `/api/ops/{name}/diff?a={digest}&b={digest}`.

use super::error::ApiError;
use super::params::Params;
use super::shell::{page, Section};
use super::state::AppState;
use crate::diff;
use axum::extract::{Path, RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ops", get(ops_page))
        .route("/ops/{name}", get(op_page))
        .route("/api/ops", get(ops))
        .route("/api/ops/{name}", get(op))
        .route("/api/ops/{name}/diff", get(op_diff))
}

async fn ops_page() -> Html<String> {
    page(Section::Ops, "ops", "Ops", "Ops")
}

async fn op_page(Path(name): Path<String>) -> Html<String> {
    page(Section::Ops, "op", &format!("Op {name}"), &name)
}

async fn ops(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let ops = state.read(|store| Ok(store.ops()?)).await?;
    Ok(Json(json!({"ops": ops, "stats_sample": crate::store::ops::STATS_SAMPLE})))
}

async fn op(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    let op_name = name.clone();
    state
        .read(move |store| Ok(store.op_detail(&op_name)?))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("there is no op {name}")))
}

async fn op_diff(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw.as_deref());
    let (a, b) = match (params.get("a"), params.get("b")) {
        (Some(a), Some(b)) => (a.to_string(), b.to_string()),
        _ => return Err(ApiError::bad_request("give the two versions' digests as ?a=…&b=…")),
    };
    let (op_name, da, db) = (name.clone(), a.clone(), b.clone());
    let (old, new) = state
        .read(move |store| Ok((store.op_version_source(&op_name, &da)?, store.op_version_source(&op_name, &db)?)))
        .await?;
    let (Some(old), Some(new)) = (old, new) else {
        return Err(ApiError::not_found(format!("op {name} has no source for version {a} or {b}")));
    };
    let lines = diff::diff(&old, &new);
    let changed = lines.iter().filter(|l| !matches!(l, diff::Line::Same(_))).count();
    Ok(Json(json!({"name": name, "a": a, "b": b, "changed": changed, "lines": diff::to_json(&lines)})))
}
