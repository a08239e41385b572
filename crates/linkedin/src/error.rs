//! Typed provider failures. The engine decides what to do from the kind:
//! retry later, pause the account, fail the action, or count it as done.

use std::time::Duration;

/// Which LinkedIn limit was hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// The weekly (or cooldown) invitation limit.
    WeeklyInvitations,
    /// A per-day cap on an action, enforced by LinkedIn itself.
    DailyActions,
    /// No InMail credits left.
    InMailCredits,
    /// Too many profiles viewed or fetched today (LinkedIn's "commercial use" wall for profiles).
    ProfileViews,
    /// Too many searches (LinkedIn's commercial use limit).
    Searches,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkedInError {
    /// Too many requests; wait `retry_after` if given, else back off on our own schedule.
    #[error("rate limited by LinkedIn")]
    RateLimited { retry_after: Option<Duration> },
    /// A LinkedIn limit is reached; nothing of this kind works until it resets.
    #[error("LinkedIn limit reached: {0:?}")]
    LimitReached(LimitKind),
    /// Direct messages need a first-degree connection.
    #[error("not connected with the recipient")]
    NotConnected,
    /// The person cannot be reached (unknown, locked, blocked, refuses InMail…).
    #[error("recipient not reachable: {0}")]
    NotReachable(String),
    /// The action was already performed (e.g. invited recently); success for idempotency.
    #[error("already done: {0}")]
    AlreadyDone(String),
    /// The LinkedIn account needs attention (disconnected, expired, restricted): stop its queue.
    #[error("LinkedIn account disconnected: {0}")]
    AccountDisconnected(String),
    /// The seat's owner must act on LinkedIn (a checkpoint, two-factor code, in-app validation,
    /// new credentials) before the seat can act again: stop its queue until they have.
    #[error("LinkedIn asks the account owner to act: {0}")]
    ActionRequired(String),
    /// The product or route is not available on this account (e.g. no Sales Navigator, or its
    /// session is disconnected, or another session holds this route): only this kind of call stops.
    #[error("feature not available on this account: {0}")]
    FeatureUnavailable(String),
    /// Our input was refused (too long, malformed…): fail, never retry.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The thing asked for does not exist (chat, post, profile).
    #[error("not found: {0}")]
    NotFound(String),
    /// Our credentials for the provider are wrong (not the LinkedIn account's).
    #[error("provider credentials rejected: {0}")]
    Unauthorized(String),
    /// The provider failed in a way that may pass: retry with backoff.
    #[error("transient upstream failure: {0}")]
    Transient(String),
    /// Not a LinkedIn answer: the seat's own budget for this kind of call is spent (or the seat is
    /// outside its working hours); nothing was called. Try again at `until`.
    #[error("the seat's {kind} budget is spent until {until}")]
    BudgetSpent { kind: &'static str, until: sonarly_domain::Timestamp },
}

impl LinkedInError {
    /// Whether trying the same call again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Transient(_) | Self::BudgetSpent { .. })
    }

    /// Whether the whole account must stop sending until someone looks at it.
    pub fn stops_account(&self) -> bool {
        matches!(self, Self::AccountDisconnected(_) | Self::Unauthorized(_) | Self::ActionRequired(_))
    }

    /// A short machine-readable reason, for recording on failed actions.
    pub fn reason_code(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::LimitReached(LimitKind::WeeklyInvitations) => "INVITATION_LIMIT_REACHED",
            Self::LimitReached(LimitKind::DailyActions) => "DAILY_LIMIT_REACHED",
            Self::LimitReached(LimitKind::InMailCredits) => "NO_INMAIL_CREDITS",
            Self::LimitReached(LimitKind::ProfileViews) => "PROFILE_LIMIT_REACHED",
            Self::LimitReached(LimitKind::Searches) => "SEARCH_LIMIT_REACHED",
            Self::NotConnected => "NOT_CONNECTED",
            Self::NotReachable(_) => "NOT_REACHABLE",
            Self::AlreadyDone(_) => "ALREADY_DONE",
            Self::AccountDisconnected(_) => "ACCOUNT_DISCONNECTED",
            Self::ActionRequired(_) => "ACTION_REQUIRED",
            Self::FeatureUnavailable(_) => "FEATURE_UNAVAILABLE",
            Self::InvalidInput(_) => "INVALID_INPUT",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Unauthorized(_) => "PROVIDER_UNAUTHORIZED",
            Self::Transient(_) => "UPSTREAM_ERROR",
            Self::BudgetSpent { .. } => "BUDGET_SPENT",
        }
    }
}

pub type LinkedInResult<T> = Result<T, LinkedInError>;
