//! The one error type of the client, which says whether a retry can help.

use std::time::Duration;

/// Everything a call can fail with.
///
/// [`Error::is_retryable`] says whether the same request could succeed later;
/// the client already retried it as often as its [`RetryPolicy`](crate::RetryPolicy)
/// allows before returning it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error envelope (or, behind a proxy, a non-JSON error page).
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The request did not complete: connection refused or reset, TLS, DNS...
    #[error("cannot reach the Sonarly server: {0}")]
    Transport(#[source] reqwest::Error),
    /// No answer within the configured timeout (the request may have been applied).
    #[error("the Sonarly server did not answer in time: {0}")]
    Timeout(#[source] reqwest::Error),
    /// A success answer whose body is not what the route documents.
    #[error("cannot decode the answer ({status}) of the Sonarly server: {source}")]
    Decode {
        /// HTTP status of the answer.
        status: u16,
        /// What did not match.
        #[source]
        source: serde_json::Error,
    },
    /// The client was given something it cannot send (a base URL, an API key or a body).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

/// An error answered by the server: `{success: false, error: {code, message, details}, traceId}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status, e.g. 404.
    pub status: u16,
    /// Machine-readable code, e.g. `NOT_FOUND` or `VALIDATION_ERROR`; `HTTP_<status>` for an
    /// answer without an error envelope (e.g. a proxy's error page).
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// More detail, e.g. which fields failed and why.
    pub details: Option<String>,
    /// For validation errors: each failing field and why.
    pub fields: Vec<FieldIssue>,
    /// The request's trace id: include it when contacting support.
    pub trace_id: Option<String>,
    /// When the server asked to wait before retrying (`Retry-After`).
    pub retry_after: Option<Duration>,
}

/// One failing field of a validation error.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[non_exhaustive]
pub struct FieldIssue {
    /// The field, e.g. `name` or `Idempotency-Key`.
    pub field: String,
    /// Why it failed.
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)?;
        if let Some(details) = &self.details {
            write!(f, " ({details})")?;
        }
        if let Some(trace) = &self.trace_id {
            write!(f, " [trace {trace}]")?;
        }
        Ok(())
    }
}

impl ApiError {
    /// True for the statuses a retry can cure: 429 (rate limited), 502 and 503.
    pub fn is_retryable(&self) -> bool {
        matches!(self.status, 429 | 502 | 503)
    }
}

impl Error {
    /// True when the same request may succeed later: 429, 502 and 503 answers and connection
    /// failures. A POST without an `Idempotency-Key` is still only retried by the client when
    /// nothing reached the server (connection refused).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => api.is_retryable(),
            Error::Transport(e) => e.is_connect(),
            Error::Timeout(_) | Error::Decode { .. } | Error::InvalidInput(_) => false,
        }
    }

    /// The server's error, when it answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The error code of the server's answer (e.g. `NOT_FOUND`), if any.
    pub fn code(&self) -> Option<&str> {
        self.api().map(|a| a.code.as_str())
    }

    /// The HTTP status of the server's answer, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The trace id of the server's answer, if any.
    pub fn trace_id(&self) -> Option<&str> {
        self.api().and_then(|a| a.trace_id.as_deref())
    }

    /// How long the server asked to wait (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(|a| a.retry_after)
    }

    /// True when nothing was sent: the connection could not be opened.
    pub(crate) fn nothing_sent(&self) -> bool {
        matches!(self, Error::Transport(e) if e.is_connect())
    }

    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        if e.is_timeout() { Error::Timeout(e) } else { Error::Transport(e) }
    }

    pub(crate) fn encode(e: serde_json::Error) -> Self {
        Error::InvalidInput(format!("cannot encode the request body: {e}"))
    }
}
