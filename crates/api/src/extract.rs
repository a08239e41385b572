//! Our own extractors. Axum's rejections are plain text; these report the
//! failing field inside the envelope instead (400 VALIDATION_ERROR, 413, 415).
//!
//! They also hold the edge's input policy (docs/decisions.md, "Input at the
//! edge"), applied here once for every route:
//! - **JSON bodies** must be objects; a struct anywhere below must be an
//!   object too, never an array read by position ([`strict`]). Strings and
//!   keys may not hold U+0000 or another C0 control character other than tab,
//!   line feed and carriage return (400 naming the field). A number written
//!   with a zero fraction (`5.0`) counts as the integer it equals. Error
//!   messages speak JSON, never Rust types ([`messages`]).
//! - **Path segments** with a control character name nothing: 404 NOT_FOUND,
//!   like an unknown id.
//! - **Query values** with a control character: 400 naming the parameter.
//! - **`Idempotency-Key`**: 1 to 256 visible ASCII characters (no spaces).

mod messages;
mod strict;

use crate::envelope::ApiError;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::{Number, Value};
use sonarly_domain::{DomainError, ErrorCode};

/// A JSON body. Malformed JSON, a wrong content type, a missing field or a
/// wrong type each answer with the envelope and the failing JSON path.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(unsupported_media_type());
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

fn unsupported_media_type() -> ApiError {
    ApiError::new(ErrorCode::UnsupportedMediaType, "Request bodies must be JSON (Content-Type: application/json).")
}

/// A JSON body plus the canonical hash of what was sent, for routes whose
/// resources remember their Idempotency-Key and request.
pub struct HashedJson<T>(pub T, pub String);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for HashedJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(unsupported_media_type());
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

/// The `Idempotency-Key` header, validated: 1 to 256 visible ASCII characters
/// (`!` to `~`; no spaces or control characters).
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get("idempotency-key") else { return Ok(None) };
    let bytes = raw.as_bytes();
    if bytes.len() > crate::idempotency::MAX_KEY_LEN {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            format!("must be at most {} characters", crate::idempotency::MAX_KEY_LEN),
        ));
    }
    if bytes.is_empty() || !bytes.iter().all(|b| (b'!'..=b'~').contains(b)) {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1 to 256 visible ASCII characters (no spaces or control characters)",
        ));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// Whether a body string may not hold `c`: U+0000 and the other C0 controls,
/// except tab, line feed and carriage return (text may have lines).
pub fn refused_in_text(c: char) -> bool {
    c <= '\u{1f}' && !matches!(c, '\t' | '\n' | '\r')
}

/// Whether a path segment or query value may not hold `c`: any control
/// character (C0, DEL, C1). Ids, cursors and filters are single tokens.
pub fn refused_in_token(c: char) -> bool {
    c.is_control()
}

/// Parses a JSON body under the edge's policy (see the module docs), naming
/// the failing path on error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::from(DomainError::invalid_field("body", format!("is not valid JSON ({e})"))))?;
    if !value.is_object() {
        return Err(ApiError::invalid("body", format!("must be a JSON object (got {})", kind(&value))));
    }
    if let Some(field) = first_refused_text(&value, &mut String::new()) {
        return Err(ApiError::invalid(
            field,
            "must not contain U+0000 or other control characters (tab, line feed and carriage return are allowed)",
        ));
    }
    integral_floats_to_integers(&mut value);
    serde_path_to_error::deserialize(strict::Strict(value)).map_err(|e| {
        let path = e.path().to_string();
        let found = messages::humanize(&strip_position(&e.into_inner().to_string()));
        let parent = if path == "." { None } else { Some(path) };
        // The path of an unknown field already ends with the field itself.
        let unknown = found.message == messages::UNKNOWN_FIELD;
        let field = match (parent, found.subfield) {
            (Some(parent), Some(sub)) if unknown && (parent == sub || parent.ends_with(&format!(".{sub}"))) => parent,
            (Some(parent), Some(sub)) => format!("{parent}.{sub}"),
            (Some(parent), None) => parent,
            (None, Some(sub)) => sub,
            (None, None) => "body".to_owned(),
        };
        DomainError::invalid_field(field, found.message).into()
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The path (`name`, `steps[2].text`) of the first string or key holding a
/// character [`refused_in_text`]; `path` is the path of `value`.
fn first_refused_text(value: &Value, path: &mut String) -> Option<String> {
    let refused = |s: &str| s.chars().any(refused_in_text);
    match value {
        Value::String(s) if refused(s) => Some(if path.is_empty() { "body".into() } else { path.clone() }),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = first_refused_text(item, path);
            path.truncate(len);
            found
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            // A refused key is named escaped, so the answer carries no control character.
            path.push_str(&key.escape_default().to_string());
            let found = if refused(key) { Some(path.clone()) } else { first_refused_text(item, path) };
            path.truncate(len);
            found
        }),
        _ => None,
    }
}

/// `5.0` is the integer 5: numbers with a zero fraction become integers, so
/// integer fields accept them; a fraction still fails on an integer field.
fn integral_floats_to_integers(value: &mut Value) {
    match value {
        Value::Number(n) => {
            // Exactly representable as i64 below 2^63 in magnitude (2^63 is exact as f64).
            if let Some(f) = n.as_f64().filter(|_| n.is_f64())
                && f.fract() == 0.0
                && f.abs() < (1u64 << 63) as f64
            {
                *n = Number::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_to_integers),
        Value::Object(map) => map.values_mut().for_each(integral_floats_to_integers),
        _ => {}
    }
}

/// serde_json appends " at line 1 column 12"; the path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Query parameters; a malformed query string or a value holding a control
/// character is a 400 in the envelope naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let malformed = |e: axum::extract::rejection::QueryRejection| {
            let text = e.body_text();
            let detail = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
            let found = messages::humanize(detail);
            ApiError::invalid(found.subfield.unwrap_or_else(|| "query".into()), found.message)
        };
        let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map_err(malformed)?;
        if let Some((name, _)) =
            pairs.0.iter().find(|(name, value)| format!("{name}{value}").chars().any(refused_in_token))
        {
            let name = if name.chars().any(refused_in_token) { "query".to_owned() } else { name.clone() };
            return Err(ApiError::invalid(name, "must not contain control characters"));
        }
        axum::extract::Query::<T>::try_from_uri(&parts.uri).map(|q| ApiQuery(q.0)).map_err(malformed)
    }
}

/// Path parameters. A segment holding a control character can name no
/// resource: 404 NOT_FOUND, as for an unknown id. Other failures are a 400
/// naming the parameter.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(params) = RawPathParams::from_request_parts(parts, state).await
            && let Some((name, _)) = params.iter().find(|(_, value)| value.chars().any(refused_in_token))
        {
            return Err(ApiError::new(ErrorCode::NotFound, format!("Nothing has this {name}.")));
        }
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| ApiPath(p.0)).map_err(path_error)
    }
}

fn path_error(rejection: axum::extract::rejection::PathRejection) -> ApiError {
    use axum::extract::path::ErrorKind;
    use axum::extract::rejection::PathRejection;
    let PathRejection::FailedToDeserializePathParams(e) = rejection else {
        return ApiError::invalid("path", "could not be read");
    };
    match e.into_kind() {
        ErrorKind::InvalidUtf8InPathParam { key } => ApiError::invalid(key, "is not valid UTF-8 once percent-decoded"),
        ErrorKind::ParseErrorAtKey { key, .. } | ErrorKind::DeserializeError { key, .. } => {
            ApiError::invalid(key, "is not valid")
        }
        _ => ApiError::invalid("path", "could not be read"),
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
        #[serde(default)]
        limit: Option<u32>,
        #[serde(default)]
        nested: Option<Nested>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Nested {
        note: String,
    }

    fn field_and_message(body: &str) -> (String, String) {
        let err = parse_json::<Body>(body.as_bytes()).unwrap_err();
        assert_eq!(err.error.status, 400, "{body}");
        let issue = &err.error.fields[0];
        (issue.field.clone(), issue.message.clone())
    }

    #[test]
    fn json_errors_name_the_path() {
        assert_eq!(field_and_message(r#"{"name": "x", "tags": [1, "two"]}"#).0, "tags[1]");
        assert_eq!(field_and_message(r#"{"tags": []}"#), ("name".into(), "is required".into()));
        assert_eq!(field_and_message(r#"{"name": "x", "tags": [], "nested": {}}"#).0, "nested.note");
        assert_eq!(field_and_message(r#"{"name": "#).0, "body");
        assert!(parse_json::<Body>(br#"{"name": "x", "tags": [1]}"#).is_ok());
    }

    #[test]
    fn a_body_must_be_an_object_and_so_must_every_struct_inside() {
        assert_eq!(field_and_message(r#"["x", [1]]"#), ("body".into(), "must be a JSON object (got an array)".into()));
        assert_eq!(field_and_message("null").0, "body");
        assert_eq!(
            field_and_message(r#"{"name": "x", "tags": [], "nested": ["n"]}"#),
            ("nested".into(), "must be an object (got an array)".into())
        );
    }

    #[test]
    fn control_characters_in_strings_and_keys_name_the_field() {
        for (body, field) in [
            ("{\"name\": \"a\\u0000b\", \"tags\": []}", "name"),
            ("{\"name\": \"x\", \"tags\": [], \"nested\": {\"note\": \"\\u001b[31m\"}}", "nested.note"),
            ("{\"name\": \"x\", \"tags\": [], \"extra\": [\"ok\", \"\\u0007\"]}", "extra[1]"),
            ("{\"name\": \"x\", \"tags\": [], \"k\\u0000\": 1}", "k\\u{0}"),
        ] {
            let (named, message) = field_and_message(body);
            assert_eq!(named, field, "{body}");
            assert!(message.contains("control characters"), "{message}");
        }
        let text = "{\"name\": \"line one\\nline two\\r\\n\\tindented\", \"tags\": []}";
        assert!(parse_json::<Body>(text.as_bytes()).is_ok(), "tab, LF and CR are text");
    }

    #[test]
    fn integral_floats_are_integers_and_fractions_are_refused_by_name() {
        let body = parse_json::<Body>(br#"{"name": "x", "tags": [1.0, 2e0], "limit": 5.0}"#).unwrap();
        assert_eq!((body.tags, body.limit), (vec![1, 2], Some(5)));
        assert_eq!(
            field_and_message(r#"{"name": "x", "tags": [], "limit": 5.5}"#),
            ("limit".into(), "must be a non-negative integer (got 5.5)".into())
        );
        assert_eq!(field_and_message(r#"{"name": "x", "tags": [], "limit": -1.0}"#).0, "limit");
    }

    #[test]
    fn idempotency_keys_are_visible_ascii_without_spaces() {
        let check = |value: &str| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert("idempotency-key", value.parse().unwrap());
            idempotency_key(&headers)
        };
        assert_eq!(check("retry-2026-05-23_001~!").unwrap().as_deref(), Some("retry-2026-05-23_001~!"));
        for bad in ["a b", " ", "a\tb", "", &"k".repeat(257)] {
            let err = check(bad).unwrap_err();
            assert_eq!(err.error.fields[0].field, "Idempotency-Key", "{bad:?}");
        }
        assert!(check(&"k".repeat(256)).is_ok());
    }
}
