//! Mapping provider failures to the documented API errors.

use sonarly_domain::{DomainError, ErrorCode};
use sonarly_linkedin::LinkedInError;

/// A LinkedIn failure during a synchronous request: 502 for upstream trouble,
/// 422 for input LinkedIn refused, 409 when the account cannot do it.
pub fn upstream_error(e: LinkedInError) -> DomainError {
    match e {
        LinkedInError::InvalidInput(m) | LinkedInError::NotFound(m) | LinkedInError::NotReachable(m) => {
            DomainError::unprocessable(format!("LinkedIn refused the request: {m}"))
        }
        LinkedInError::FeatureUnavailable(m) => {
            DomainError::conflict(format!("Not available on the connected LinkedIn account: {m}"))
        }
        // Not LinkedIn failing: the seat's own budget says wait. A rate limit, with the moment it lifts.
        LinkedInError::BudgetSpent { kind, until } => DomainError::new(
            ErrorCode::RateLimitExceeded,
            format!("The LinkedIn account's daily {kind} budget is spent; retry after {until}."),
        )
        .with_details("BUDGET_SPENT")
        .with_retry_at(until),
        other => {
            tracing::warn!(error = %other, "upstream failure");
            DomainError::new(ErrorCode::UpstreamError, "LinkedIn is not responding as expected; retry later.")
                .with_details(other.reason_code())
        }
    }
}
