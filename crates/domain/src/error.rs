//! The one error type of the domain. Every failure that can reach a client is a
//! `DomainError` carrying one `ErrorCode`; the code owns its HTTP status, so the
//! mapping from failure to documented code happens in exactly one place.

use crate::Timestamp;
use serde::Serialize;
use std::fmt;

/// Machine-readable error codes. The first nine are documented by Sonarly; the
/// rest name the documented statuses the docs left unnamed (see docs/decisions.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    Unauthorized,
    ScopeDenied,
    NotFound,
    ValidationError,
    AudienceNotReady,
    IdempotencyConflict,
    InsufficientCredits,
    QuotaExceeded,
    RateLimitExceeded,
    /// 409 for "resource is in a state that prevents this operation".
    Conflict,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    UpstreamError,
    InternalError,
    /// 503 from `/readyz` while the database is unreachable or not migrated.
    ServiceUnavailable,
    /// 408: the request body did not arrive within the server's body timeout.
    RequestTimeout,
    /// 414: the request target is longer than the server reads.
    UriTooLong,
    /// 431: too many request headers, or too many bytes of them.
    HeadersTooLarge,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "UNAUTHORIZED",
            Self::ScopeDenied => "SCOPE_DENIED",
            Self::NotFound => "NOT_FOUND",
            Self::ValidationError => "VALIDATION_ERROR",
            Self::AudienceNotReady => "AUDIENCE_NOT_READY",
            Self::IdempotencyConflict => "IDEMPOTENCY_CONFLICT",
            Self::InsufficientCredits => "INSUFFICIENT_CREDITS",
            Self::QuotaExceeded => "QUOTA_EXCEEDED",
            Self::RateLimitExceeded => "RATE_LIMIT_EXCEEDED",
            Self::Conflict => "CONFLICT",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::UpstreamError => "UPSTREAM_ERROR",
            Self::InternalError => "INTERNAL_ERROR",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::RequestTimeout => "REQUEST_TIMEOUT",
            Self::UriTooLong => "URI_TOO_LONG",
            Self::HeadersTooLarge => "HEADERS_TOO_LARGE",
        }
    }

    /// The HTTP status. `ValidationError` defaults to 400; business-rule
    /// failures use [`DomainError::unprocessable`] for 422.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::ScopeDenied => 403,
            Self::NotFound => 404,
            Self::ValidationError => 400,
            Self::AudienceNotReady | Self::IdempotencyConflict | Self::Conflict => 409,
            Self::InsufficientCredits => 402,
            Self::QuotaExceeded | Self::RateLimitExceeded => 429,
            Self::MethodNotAllowed => 405,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::UpstreamError => 502,
            Self::InternalError => 500,
            Self::ServiceUnavailable => 503,
            Self::RequestTimeout => 408,
            Self::UriTooLong => 414,
            Self::HeadersTooLarge => 431,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failing input: where (`field`, a JSON path or parameter name) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldIssue {
    pub field: String,
    pub message: String,
}

impl FieldIssue {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// A failure a client can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    pub code: ErrorCode,
    pub status: u16,
    pub message: String,
    pub details: Option<String>,
    pub fields: Vec<FieldIssue>,
    /// When a retry of a refused request can pass (e.g. a quota's reset); the
    /// edge turns it into `Retry-After`.
    pub retry_at: Option<Timestamp>,
}

impl DomainError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            status: code.http_status(),
            message: message.into(),
            details: None,
            fields: vec![],
            retry_at: None,
        }
    }

    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    /// Marks the moment a retry can pass.
    pub fn with_retry_at(mut self, at: Timestamp) -> Self {
        self.retry_at = Some(at);
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found."))
    }

    /// 400 VALIDATION_ERROR: the request does not match the schema.
    pub fn invalid(issues: Vec<FieldIssue>) -> Self {
        let details = issues.iter().map(|i| format!("{}: {}", i.field, i.message)).collect::<Vec<_>>().join("; ");
        Self {
            code: ErrorCode::ValidationError,
            status: 400,
            message: "Request validation failed.".into(),
            details: Some(details),
            fields: issues,
            retry_at: None,
        }
    }

    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldIssue::new(field, message)])
    }

    /// 422 VALIDATION_ERROR: well-formed, but refused by a business rule or by
    /// the current state of the resource.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self { status: 422, ..Self::new(ErrorCode::ValidationError, message) }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::InternalError, "Internal server error.")
    }

    /// 503 SERVICE_UNAVAILABLE: the server is overloaded for a moment
    /// (e.g. every database connection busy); nothing changed, retry shortly.
    pub fn unavailable() -> Self {
        Self::new(ErrorCode::ServiceUnavailable, "The server is busy; retry in a moment.")
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for DomainError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_documented_statuses() {
        assert_eq!(ErrorCode::Unauthorized.http_status(), 401);
        assert_eq!(ErrorCode::ScopeDenied.http_status(), 403);
        assert_eq!(ErrorCode::AudienceNotReady.http_status(), 409);
        assert_eq!(ErrorCode::IdempotencyConflict.as_str(), "IDEMPOTENCY_CONFLICT");
        assert_eq!(ErrorCode::InsufficientCredits.http_status(), 402);
        assert_eq!(DomainError::unprocessable("no").status, 422);
        assert_eq!(ErrorCode::RequestTimeout.http_status(), 408);
        assert_eq!(ErrorCode::UriTooLong.as_str(), "URI_TOO_LONG");
        assert_eq!(ErrorCode::HeadersTooLarge.http_status(), 431);
    }

    #[test]
    fn invalid_lists_every_field_in_details() {
        let e = DomainError::invalid(vec![FieldIssue::new("limit", "too big"), FieldIssue::new("cursor", "bad")]);
        assert_eq!(e.status, 400);
        assert_eq!(e.details.as_deref(), Some("limit: too big; cursor: bad"));
    }
}
