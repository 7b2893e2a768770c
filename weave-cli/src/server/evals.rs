//! The evaluation pages (`/evals`, `/compare?ids=a,b`): every run (model and version,
//! dataset, scorers, summary, when), and two or more runs compared (metrics side by side
//! with deltas, the per-row table with a query, sort and group-by). API: `/api/evals`,
//! `/api/compare?ids=`, `/api/compare/rows?ids=&q=&group_by=&sort=&desc=`.

use super::error::ApiError;
use super::params::Params;
use super::shell::{page, Section};
use super::state::AppState;
use crate::compare::{CompareError, Comparison, RowsRequest};
use axum::extract::{RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The most runs compared at once.
pub const MAX_COMPARED: usize = 8;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/evals", get(evals_page))
        .route("/compare", get(compare_page))
        .route("/api/evals", get(evals))
        .route("/api/compare", get(compare))
        .route("/api/compare/rows", get(compare_rows))
}

async fn evals_page() -> Html<String> {
    page(Section::Evals, "evals", "Evaluations", "Evaluations")
}

async fn compare_page() -> Html<String> {
    page(Section::Evals, "compare", "Compare evaluations", "Compare evaluations")
}

async fn evals(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw.as_deref());
    let (limit, offset) = (params.number("limit", 100)?, params.number("offset", 0)?);
    let (runs, has_more) = state.read(move |store| Ok(store.evals(limit, offset)?)).await?;
    let runs: Vec<Value> = runs.into_iter().map(|r| r.info).collect();
    Ok(Json(json!({"evals": runs, "has_more": has_more, "offset": offset})))
}

fn ids(params: &Params) -> Result<Vec<String>, ApiError> {
    let ids: Vec<String> = params
        .all("ids")
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::bad_request("give the runs to compare as ?ids=a,b"));
    }
    if ids.len() > MAX_COMPARED {
        return Err(ApiError::bad_request(format!("compare at most {MAX_COMPARED} runs at once")));
    }
    Ok(ids)
}

async fn load(state: &AppState, ids: Vec<String>) -> Result<Comparison, ApiError> {
    state
        .read(move |store| {
            Comparison::load(store, &ids).map_err(|e| match e {
                CompareError::Store(e) => ApiError::from(e),
                CompareError::NotFound(_) => ApiError::not_found(e.to_string()),
                CompareError::NoRuns => ApiError::bad_request(e.to_string()),
            })
        })
        .await
}

async fn compare(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw.as_deref());
    let comparison = load(&state, ids(&params)?).await?;
    Ok(Json(comparison.summary_json()))
}

async fn compare_rows(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw.as_deref());
    let request = RowsRequest {
        query: params.get("q").map(String::from),
        group_by: params.get("group_by").map(String::from),
        sort: params.get("sort").map(String::from),
        desc: params.flag("desc").unwrap_or(false),
    };
    let comparison = load(&state, ids(&params)?).await?;
    let rows = comparison.rows_json(&request).map_err(|e| ApiError::bad_request(format!("bad query: {e}")))?;
    Ok(Json(rows))
}
