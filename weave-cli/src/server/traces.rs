//! The traces page (`/`): root calls newest first, paged, filtered by op, status, time
//! range, attribute and text (the filter is the page's query string). API:
//! `/api/traces` (roots), `/api/calls` (any calls), `/api/status` (what changed, for
//! live updates).

use super::error::ApiError;
use super::params::Params;
use super::shell::{page, Section};
use super::state::AppState;
use crate::store::calls::{brief_json, parse_time, subtree_size, CallFilter, Columns, StatusFilter};
use axum::extract::{RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(traces_page))
        .route("/api/traces", get(traces))
        .route("/api/calls", get(calls))
        .route("/api/status", get(status))
}

async fn traces_page() -> Html<String> {
    page(Section::Traces, "traces", "Traces", "Traces")
}

/// The filter a query string asks for: `op`, `status`, `since`, `until`, `attr`
/// (`KEY=VALUE`, repeatable), `text`, `trace_id`, `thread_id`, `roots`, `limit`, `offset`.
pub(crate) fn filter_from(params: &Params, roots_default: bool) -> Result<CallFilter, ApiError> {
    let now = weave_core::time::Timestamp::now().unix_micros();
    let time = |key: &str| -> Result<Option<i64>, ApiError> {
        match params.get(key) {
            None => Ok(None),
            Some(t) => parse_time(t, now).map(Some).ok_or_else(|| {
                ApiError::bad_request(format!("{key}={t:?} is not a time (RFC 3339, a date, or an age such as 2h)"))
            }),
        }
    };
    let status = match params.get("status") {
        None => None,
        Some(s) => Some(StatusFilter::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!("status={s:?} is not one of success, error, running, descendant_error"))
        })?),
    };
    let mut attributes = Vec::new();
    for attr in params.all("attr") {
        let (k, v) = attr
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| ApiError::bad_request(format!("attr={attr:?} is not KEY=VALUE")))?;
        attributes.push((k.trim().to_string(), v.to_string()));
    }
    Ok(CallFilter {
        op: params.get("op").map(|s| s.trim().to_string()),
        status,
        since_us: time("since")?,
        until_us: time("until")?,
        attributes,
        text: params.get("text").map(String::from),
        roots: params.flag("roots").unwrap_or(roots_default),
        trace_id: params.get("trace_id").map(String::from),
        thread_id: params.get("thread_id").map(String::from),
        limit: params.number("limit", 50)?,
        offset: params.number("offset", 0)?,
        oldest_first: params.flag("oldest_first").unwrap_or(false),
    })
}

async fn list(state: AppState, filter: CallFilter) -> Result<Json<Value>, ApiError> {
    let (limit, offset) = (filter.page_size(), filter.offset);
    let page = state
        .read(move |store| {
            let page = store.list_calls(&filter, Columns::Light)?;
            let mut out = Vec::with_capacity(page.calls.len());
            for call in &page.calls {
                let mut brief = brief_json(call);
                if call.parent_id.is_none() && subtree_size(call).is_none() {
                    brief["calls"] = store.trace_size(&call.trace_id)?.into();
                }
                out.push(brief);
            }
            Ok((out, page.has_more))
        })
        .await?;
    Ok(Json(json!({"calls": page.0, "has_more": page.1, "limit": limit, "offset": offset})))
}

async fn traces(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let filter = filter_from(&Params::parse(raw.as_deref()), true)?;
    list(state, CallFilter { roots: true, ..filter }).await
}

async fn calls(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let filter = filter_from(&Params::parse(raw.as_deref()), false)?;
    list(state, filter).await
}

async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let (newest, rowid, path, backlog) = state
        .read(|store| {
            let (newest, rowid) = store.latest()?;
            Ok((newest, rowid, store.path().display().to_string(), store.backlog()))
        })
        .await?;
    Ok(Json(json!({
        "store": path,
        "newest_started_us": newest,
        "version": rowid,
        // Calls written but not shown yet (the viewer indexes them a step a second), and
        // how much of what was written is shown.
        "indexing": {
            "entries": backlog.entries,
            "calls": backlog.estimated_calls,
            "percent": backlog.percent_done(rowid.max(0) as u64),
        },
    })))
}
