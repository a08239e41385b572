//! The Idempotency-Key layer, opted into by POST routes (spec 1.6).
//!
//! Records are scoped to the account group in the path (or the API key for
//! routes outside a group), the method and the path. The body is hashed in
//! canonical form (JSON re-serialized with sorted keys), so whitespace or key
//! order do not make a retry look different. Same key and body replay the
//! first status and body (with this request's trace id and an
//! `Idempotent-Replayed: true` header); a different body, or a duplicate while
//! the first is still running, answers 409 IDEMPOTENCY_CONFLICT. Server errors
//! are not recorded, so a retry after a 5xx runs again.

use crate::AppState;
use crate::envelope::{ApiError, current_trace_id};
use crate::middleware::Principal;
use axum::body::Body;
use axum::extract::{RawPathParams, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sonarly_domain::ErrorCode;
use sonarly_store::{IdempotencyBegin, IdempotencyRequest, StoredResponse};

pub const MAX_KEY_LEN: usize = 256;
/// How long a first attempt holds its key before a retry may take over.
const LOCK_MS: i64 = 60_000;
/// Bodies above this are refused before hashing.
const MAX_BODY_BYTES: usize = 1024 * 1024;

pub async fn enforce(State(state): State<AppState>, params: RawPathParams, req: Request, next: Next) -> Response {
    let key = match crate::extract::idempotency_key(req.headers()) {
        Ok(Some(k)) => k,
        Ok(None) => return next.run(req).await,
        Err(e) => return e.into_response(),
    };
    let group_in_path = params.iter().find(|(name, _)| *name == "accountGroupId").map(|(_, value)| value.to_owned());
    let principal = req.extensions().get::<Principal>().map(|p| p.0.clone());
    // Checked here, before any record is read, so another group's stored
    // answers can never be replayed or even detected (404 like any other route).
    if let (Some(group), Some(key)) = (&group_in_path, &principal)
        && !key.can_access_group(group)
    {
        return ApiError::from(sonarly_app::accounts::account_not_found()).into_response();
    }
    let scope_id = group_in_path.or_else(|| principal.map(|k| k.id.clone())).unwrap_or_default();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => return ApiError::new(ErrorCode::PayloadTooLarge, "The request body is too large.").into_response(),
    };
    let request_hash = canonical_hash(&bytes);
    let record = IdempotencyRequest {
        scope_id: &scope_id,
        method: &method,
        path: &path,
        key: &key,
        request_hash: &request_hash,
    };
    let begin = match state.store.idempotency_begin(&record, state.clock.now(), LOCK_MS).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "idempotency record failed");
            return ApiError::from(sonarly_domain::DomainError::internal()).into_response();
        }
    };
    match begin {
        IdempotencyBegin::Fresh => {
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            finish(&state, &record, response).await
        }
        IdempotencyBegin::Replay(stored) => replay(stored),
        IdempotencyBegin::Mismatch => ApiError::new(
            ErrorCode::IdempotencyConflict,
            "This Idempotency-Key was already used with a different request body.",
        )
        .into_response(),
        IdempotencyBegin::InProgress => ApiError::new(
            ErrorCode::IdempotencyConflict,
            "A request with this Idempotency-Key is still being processed; retry later.",
        )
        .into_response(),
    }
}

/// Stores the first answer (unless it is a server error) and returns it.
async fn finish(state: &AppState, record: &IdempotencyRequest<'_>, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "could not buffer response for idempotency");
            let _ = state.store.idempotency_release(record).await;
            return ApiError::from(sonarly_domain::DomainError::internal()).into_response();
        }
    };
    let outcome = if parts.status.is_server_error() {
        state.store.idempotency_release(record).await
    } else {
        let stored =
            StoredResponse { status: parts.status.as_u16(), body: String::from_utf8_lossy(&bytes).into_owned() };
        state.store.idempotency_complete(record, &stored).await
    };
    if let Err(e) = outcome {
        tracing::error!(error = %e, "could not record idempotent response");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    // The stored body carries the first request's trace id; answer with this one.
    let body = match serde_json::from_str::<serde_json::Value>(&stored.body) {
        Ok(mut value) => {
            if let Some(obj) = value.as_object_mut() {
                obj.insert("traceId".into(), serde_json::Value::String(current_trace_id()));
            }
            value.to_string()
        }
        Err(_) => stored.body,
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// SHA-256 of the body in canonical form: JSON is re-serialized with sorted
/// keys and no whitespace; anything else is hashed as sent.
pub fn canonical_hash(bytes: &[u8]) -> String {
    let canonical = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) => value.to_string().into_bytes(),
        Err(_) => bytes.to_vec(),
    };
    hex_digest(&canonical)
}

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_key_order_and_whitespace() {
        assert_eq!(canonical_hash(br#"{"a":1,"b":[1,2]}"#), canonical_hash(b"{ \"b\": [1, 2],\n \"a\": 1 }"));
        assert_ne!(canonical_hash(br#"{"a":1}"#), canonical_hash(br#"{"a":2}"#));
        assert_ne!(canonical_hash(b""), canonical_hash(b"{}"));
    }
}
