//! Use cases: one function per operation, shared by the API, the CLI and the
//! engine. Each takes the store and the clock it needs and returns a
//! `DomainError` that the edge maps to the documented envelope.

pub mod accounts;
pub mod audiences;
pub mod auth;
pub mod campaigns;
pub mod composer;
pub mod events;
pub mod inbox;
pub mod keys;
pub mod linkedin;
pub mod metrics;
pub mod prospecting;
pub mod prospects;
pub mod provider_input;
pub mod responses;
pub mod signals;
pub mod templates;
pub mod upstream;
pub mod webhooks;

use sonarly_domain::DomainError;
use sonarly_store::StoreError;

pub type AppResult<T> = Result<T, DomainError>;

/// Turns a storage failure into a 500 after logging it; clients never see
/// database messages.
pub(crate) trait StoreResultExt<T> {
    fn or_internal(self) -> AppResult<T>;
}

impl<T> StoreResultExt<T> for Result<T, StoreError> {
    #[track_caller]
    fn or_internal(self) -> AppResult<T> {
        self.map_err(|e| {
            let at = std::panic::Location::caller();
            if e.is_retryable() {
                tracing::warn!(error = %e, location = %at, "storage busy: answered 503");
                return DomainError::unavailable();
            }
            tracing::error!(error = %e, location = %at, "storage failure");
            DomainError::internal()
        })
    }
}

/// Validates a display name: trimmed, 1 to 200 characters.
pub(crate) fn validate_name(field: &str, name: &str) -> AppResult<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(DomainError::invalid_field(field, "must not be empty"));
    }
    if trimmed.chars().count() > 200 {
        return Err(DomainError::invalid_field(field, "must be at most 200 characters"));
    }
    Ok(trimmed.to_owned())
}

/// A list's `status` filter: absent, or one of the set's values (400 naming
/// the values otherwise).
pub(crate) fn status_filter<T>(
    text: Option<&str>,
    parse: fn(&str) -> Result<T, sonarly_domain::state::UnknownValue>,
    names: fn() -> String,
) -> AppResult<Option<T>> {
    text.map(parse).transpose().map_err(|_| DomainError::invalid_field("status", format!("must be one of {}", names())))
}
