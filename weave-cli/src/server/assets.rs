//! The viewer's JavaScript, CSS and icon, built into the binary (`include_str!`), served
//! under `/assets/`.

use super::state::AppState;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Every asset: name, content type, content.
pub const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("../../assets/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../assets/app.js")),
    ("traces.js", "text/javascript; charset=utf-8", include_str!("../../assets/traces.js")),
    ("trace.js", "text/javascript; charset=utf-8", include_str!("../../assets/trace.js")),
    ("ops.js", "text/javascript; charset=utf-8", include_str!("../../assets/ops.js")),
    ("op.js", "text/javascript; charset=utf-8", include_str!("../../assets/op.js")),
    ("evals.js", "text/javascript; charset=utf-8", include_str!("../../assets/evals.js")),
    ("compare.js", "text/javascript; charset=utf-8", include_str!("../../assets/compare.js")),
    ("threads.js", "text/javascript; charset=utf-8", include_str!("../../assets/threads.js")),
    ("thread.js", "text/javascript; charset=utf-8", include_str!("../../assets/thread.js")),
    ("favicon.svg", "image/svg+xml", include_str!("../../assets/favicon.svg")),
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/assets/{name}", get(asset)).route("/favicon.ico", get(favicon))
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => {
            ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "no-cache")], *body).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

async fn favicon() -> Response {
    asset(Path("favicon.svg".to_string())).await
}
