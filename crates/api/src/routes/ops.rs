//! Operations: liveness, readiness, the OpenAPI document and the docs page.

use crate::AppState;
use crate::envelope::{ApiError, ApiResult, ok};
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use sonarly_domain::ErrorCode;

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

/// The process is up.
pub async fn healthz() -> ApiResult {
    Ok(ok(Health { status: "ok" }))
}

/// The database answers and every migration is applied.
pub async fn readyz(State(state): State<AppState>) -> ApiResult {
    if state.store.is_ready().await {
        Ok(ok(Health { status: "ready" }))
    } else {
        Err(ApiError::new(ErrorCode::ServiceUnavailable, "The database is unreachable or not migrated."))
    }
}

pub async fn openapi_json(State(state): State<AppState>) -> Response {
    let mut response = state.openapi_json.as_ref().clone().into_response();
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    response
}

/// A self-contained page that renders `/v1/openapi.json` (no CDN, works offline).
pub async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
