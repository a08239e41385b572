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
        LinkedInError::BudgetSpent { kind, until } => DomainError::new(
            ErrorCode::UpstreamError,
            format!("The LinkedIn account's {kind} budget is spent (or it is outside its working hours); retry after {until}."),
        )
        .with_details("BUDGET_SPENT"),
        other => {
            tracing::warn!(error = %other, "upstream failure");
            DomainError::new(ErrorCode::UpstreamError, "LinkedIn is not responding as expected; retry later.")
                .with_details(other.reason_code())
        }
    }
}
