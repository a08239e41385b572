//! The response envelope `{success, data, error, traceId}` (spec 1.3) and the
//! one error type of the edge.
//!
//! The trace id of the request in flight lives in a task-local set by the
//! outermost middleware, so every response built anywhere below it (handlers,
//! extractor rejections, fallbacks, the panic handler) carries the same id.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sonarly_domain::clock::{Clock, SystemClock};
use sonarly_domain::id::new_trace_id;
use sonarly_domain::{DomainError, ErrorCode, FieldIssue, Timestamp};
use utoipa::ToSchema;

tokio::task_local! {
    pub(crate) static TRACE_ID: String;
}

/// The trace id of the current request (a fresh one outside a request).
pub fn current_trace_id() -> String {
    TRACE_ID.try_with(Clone::clone).unwrap_or_else(|_| new_trace_id(SystemClock.now()))
}

/// A successful response: `{success: true, data, error: null, traceId}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<T> {
    /// Always true on success.
    pub success: bool,
    pub data: T,
    /// Always null on success.
    #[schema(value_type = Option<Object>)]
    pub error: Option<()>,
    /// Include this when contacting support.
    #[schema(example = "trace_01HYR7X8Q4M8K9P2V6N3B5C0D1")]
    pub trace_id: String,
}

/// Builds a success response with `status`.
pub fn respond<T: Serialize>(status: StatusCode, data: T) -> Response {
    let body = Envelope { success: true, data, error: None, trace_id: current_trace_id() };
    json_response(status, &body)
}

pub fn ok<T: Serialize>(data: T) -> Response {
    respond(StatusCode::OK, data)
}

fn json_response<B: Serialize>(status: StatusCode, body: &B) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "response serialization failed");
            ApiError::from(DomainError::internal()).into_response()
        }
    }
}

/// `error` of a failed response.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[schema(example = "VALIDATION_ERROR")]
    pub code: String,
    pub message: String,
    /// Human-readable details, such as which fields failed and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// For validation errors: each failing field and why (an addition to the documented shape).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldIssueBody>,
}

#[derive(Serialize, ToSchema)]
pub struct FieldIssueBody {
    pub field: String,
    pub message: String,
}

/// A failed response: `{success: false, data: null, error, traceId}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEnvelope {
    pub success: bool,
    #[schema(value_type = Option<Object>)]
    pub data: Option<()>,
    pub error: ErrorBody,
    pub trace_id: String,
}

/// Every failure the edge can answer with. Wraps the domain's error so the
/// mapping to status and code happens once.
#[derive(Debug)]
pub struct ApiError {
    pub error: DomainError,
    /// Extra headers (e.g. `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        DomainError::new(code, message).into()
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::invalid_field(field, message).into()
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        Self { error, headers: Vec::new() }
    }
}

/// The moment a refused request can pass, left on the response by
/// [`ApiError`] for the middleware that reads the clock ([`set_retry_after`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAt(pub Timestamp);

/// Turns a [`RetryAt`] left on `response` into `Retry-After`: whole seconds
/// from `now`, rounded up and at least 1 (the request was just refused). An
/// explicit `Retry-After` already on the response wins.
pub fn set_retry_after(response: &mut Response, now: Timestamp) {
    let Some(RetryAt(at)) = response.extensions_mut().remove::<RetryAt>() else { return };
    if response.headers().contains_key("retry-after") {
        return;
    }
    let ms = at.as_millis().saturating_sub(now.as_millis()).max(0) as u64;
    response.headers_mut().insert("retry-after", HeaderValue::from(ms.div_ceil(1000).max(1)));
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_at = self.error.retry_at;
        let status = StatusCode::from_u16(self.error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorEnvelope {
            success: false,
            data: None,
            error: ErrorBody {
                code: self.error.code.as_str().to_owned(),
                message: self.error.message,
                details: self.error.details,
                fields: self
                    .error
                    .fields
                    .into_iter()
                    .map(|FieldIssue { field, message }| FieldIssueBody { field, message })
                    .collect(),
            },
            trace_id: current_trace_id(),
        };
        let mut response = json_response(status, &body);
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        if let Some(at) = retry_at {
            response.extensions_mut().insert(RetryAt(at));
        } else if status == StatusCode::SERVICE_UNAVAILABLE && !response.headers().contains_key("retry-after") {
            // Busy for a moment: a client may come back in a second.
            response.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
        }
        response
    }
}

pub type ApiResult = Result<Response, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(retry_at: Timestamp) -> Response {
        ApiError::from(DomainError::new(ErrorCode::QuotaExceeded, "exhausted").with_retry_at(retry_at)).into_response()
    }

    fn retry_after(response: &Response) -> Option<&str> {
        response.headers().get("retry-after").and_then(|v| v.to_str().ok())
    }

    #[test]
    fn retry_after_counts_whole_seconds_up_to_the_retry_moment() {
        let now = Timestamp::from_millis(1_000_000);
        for (later_ms, expected) in [(1, "1"), (1_000, "1"), (1_001, "2"), (90_000, "90"), (-5_000, "1")] {
            let mut response = refused(Timestamp::from_millis(1_000_000 + later_ms));
            assert_eq!(retry_after(&response), None, "set only once the clock is known");
            set_retry_after(&mut response, now);
            assert_eq!(retry_after(&response), Some(expected), "{later_ms} ms later");
        }
    }

    #[test]
    fn an_explicit_retry_after_wins_and_errors_without_a_moment_get_none() {
        let now = Timestamp::from_millis(0);
        let mut explicit = ApiError::from(DomainError::new(ErrorCode::RateLimitExceeded, "slow down"))
            .with_header("retry-after", "7".into())
            .into_response();
        explicit.extensions_mut().insert(RetryAt(Timestamp::from_millis(60_000)));
        set_retry_after(&mut explicit, now);
        assert_eq!(retry_after(&explicit), Some("7"));
        let mut plain = ApiError::new(ErrorCode::NotFound, "gone").into_response();
        set_retry_after(&mut plain, now);
        assert_eq!(retry_after(&plain), None);
    }
}
