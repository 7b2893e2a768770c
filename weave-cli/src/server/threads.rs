//! The threads pages (`/threads`, `/thread/{thread_id}`): conversations and their turns
//! in order. API: `/api/threads`, `/api/thread/{thread_id}`.

use super::error::ApiError;
use super::shell::{page, Section};
use super::state::AppState;
use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/threads", get(threads_page))
        .route("/thread/{thread_id}", get(thread_page))
        .route("/api/threads", get(threads))
        .route("/api/thread/{thread_id}", get(thread))
}

async fn threads_page() -> Html<String> {
    page(Section::Threads, "threads", "Threads", "Threads")
}

async fn thread_page(Path(thread_id): Path<String>) -> Html<String> {
    page(Section::Threads, "thread", &format!("Thread {thread_id}"), &format!("Thread {thread_id}"))
}

async fn threads(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let threads = state.read(|store| Ok(store.threads()?)).await?;
    Ok(Json(json!({"threads": threads})))
}

async fn thread(State(state): State<AppState>, Path(thread_id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = thread_id.clone();
    let turns = state.read(move |store| Ok(store.thread_turns(&id)?)).await?;
    if turns.is_empty() {
        return Err(ApiError::not_found(format!("there is no thread {thread_id}")));
    }
    Ok(Json(json!({"thread_id": thread_id, "turns": turns})))
}
