//! Our own extractors. Axum's rejections are plain text; these report the
//! failing field inside the envelope instead (400 VALIDATION_ERROR, 413, 415).

use crate::envelope::ApiError;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use sonarly_domain::{DomainError, ErrorCode};

/// A JSON body. Malformed JSON, a wrong content type, a missing field or a
/// wrong type each answer with the envelope and the failing JSON path.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "Request bodies must be JSON (Content-Type: application/json).",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_rejection)?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub(crate) fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::PayloadTooLarge, "The request body is too large.")
    } else {
        ApiError::invalid("body", "could not be read")
    }
}

/// A JSON body plus the canonical hash of what was sent, for routes whose
/// resources remember their Idempotency-Key and request.
pub struct HashedJson<T>(pub T, pub String);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for HashedJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "Request bodies must be JSON (Content-Type: application/json).",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_rejection)?;
        let value = parse_json(&bytes)?;
        Ok(HashedJson(value, crate::idempotency::canonical_hash(&bytes)))
    }
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// The `Idempotency-Key` header, validated (at most 256 visible characters).
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get("idempotency-key") else { return Ok(None) };
    match raw.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= crate::idempotency::MAX_KEY_LEN => Ok(Some(k.to_owned())),
        Ok(k) if k.len() > crate::idempotency::MAX_KEY_LEN => Err(ApiError::invalid(
            "Idempotency-Key",
            format!("must be at most {} characters", crate::idempotency::MAX_KEY_LEN),
        )),
        _ => Err(ApiError::invalid("Idempotency-Key", "must be 1 to 256 visible ASCII characters")),
    }
}

/// Parses a JSON body, naming the failing path on error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            DomainError::invalid_field("body", format!("is not valid JSON ({inner})")).into()
        } else {
            let field = if path == "." { "body".to_owned() } else { path };
            DomainError::invalid_field(field, strip_position(&inner.to_string())).into()
        }
    })
}

/// serde_json appends " at line 1 column 12"; the path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Query parameters; a malformed query string is a 400 in the envelope.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::invalid("query", e.body_text()))
    }
}

/// Path parameters; a failure here is a 400 in the envelope.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::invalid("path", e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        tags: Vec<u32>,
    }

    #[test]
    fn json_errors_name_the_path() {
        let err = parse_json::<Body>(br#"{"name": "x", "tags": [1, "two"]}"#).unwrap_err();
        assert_eq!(err.error.status, 400);
        assert_eq!(err.error.fields[0].field, "tags[1]");
        let err = parse_json::<Body>(br#"{"tags": []}"#).unwrap_err();
        assert!(err.error.fields[0].message.contains("missing field `name`"));
        let err = parse_json::<Body>(br#"{"name": "#).unwrap_err();
        assert_eq!(err.error.fields[0].field, "body");
        assert!(parse_json::<Body>(br#"{"name": "x", "tags": [1]}"#).is_ok());
    }
}
