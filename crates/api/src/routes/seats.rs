//! `GET` and `PATCH /v1/accounts/{accountGroupId}/linkedin-accounts/{linkedinAccountId}`: one
//! seat, and changing its settings after it was connected: its name, working hours, caps,
//! read budgets, spacing and ramp-up (additions to the documented API; see docs/decisions.md,
//! "Seat settings"). The rules are checked as a whole by the use case
//! ([`sonarly_app::linkedin::update_seat`]); this handler only maps the body onto them.

use super::GroupAccess;
use super::linkedin_accounts::{SeatPath, seat_view};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok};
use crate::extract::{ApiJson, ApiPath};
use serde::Deserialize;
use sonarly_app::linkedin::update_seat;
use sonarly_domain::linkedin_account::{RulesChange, WorkingHours};
use sonarly_domain::{DomainError, FieldIssue};
use utoipa::ToSchema;

/// The most any daily cap or budget, or the weekly invitation cap, may be set to.
const CAP_MAX: u32 = 100_000;
/// The longest spacing between two actions: a day.
const SPACING_MAX: u32 = 86_400;
/// The oldest a pending invitation may get before it is withdrawn: ten years.
const WITHDRAW_DAYS_MAX: u32 = 3_650;

/// Daily caps to change; a field left out keeps the seat's.
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DailyCapsBody {
    #[schema(maximum = 100000)]
    pub messages: Option<u32>,
    #[schema(maximum = 100000)]
    pub inmails: Option<u32>,
    #[schema(maximum = 100000)]
    pub invitations: Option<u32>,
    #[schema(maximum = 100000)]
    pub profile_visits: Option<u32>,
    #[schema(maximum = 100000)]
    pub engagements: Option<u32>,
    #[schema(maximum = 100000)]
    pub withdrawals: Option<u32>,
}

/// Daily read budgets to change; a field left out keeps the seat's.
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadBudgetsBody {
    #[schema(maximum = 100000)]
    pub profile_fetches: Option<u32>,
    #[schema(maximum = 100000)]
    pub search_pages: Option<u32>,
    #[schema(maximum = 100000)]
    pub relation_reads: Option<u32>,
    #[schema(maximum = 100000)]
    pub inbox_reads: Option<u32>,
    #[schema(maximum = 100000)]
    pub activity_reads: Option<u32>,
}

/// The random spacing between two actions of the seat, in seconds; a bound left out keeps the seat's.
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpacingBody {
    #[schema(maximum = 86400)]
    pub min: Option<u32>,
    #[schema(maximum = 86400)]
    pub max: Option<u32>,
}

/// Body of `PATCH …/linkedin-accounts/{linkedinAccountId}`: the settings to change. Every field
/// is optional; one left out keeps the seat's value. The result is checked as a whole (e.g. the
/// minimum spacing must not exceed the maximum).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeatSettingsBody {
    /// A display name for the seat.
    #[schema(example = "Avery (sales)", min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Option<String>,
    /// IANA time zone of the seat's working hours and of its days (caps count from local midnight).
    #[schema(example = "Europe/Berlin", max_length = 64)]
    pub timezone: Option<String>,
    /// Working hours, `HH:MM-HH:MM` in the seat's time zone (`00:00-24:00` is always).
    #[schema(example = "09:00-18:00", max_length = 11)]
    pub working_hours: Option<String>,
    pub daily_caps: Option<DailyCapsBody>,
    /// Invitations per rolling seven days, at most.
    #[schema(maximum = 100000)]
    pub weekly_invitation_cap: Option<u32>,
    /// Invitations still pending this many days after they were sent are withdrawn; 0: never.
    #[schema(maximum = 3650)]
    pub withdraw_invitations_after_days: Option<u32>,
    pub daily_read_budgets: Option<ReadBudgetsBody>,
    pub spacing_secs: Option<SpacingBody>,
    /// Weeks the seat warms up over, counted from its connection (0 to 12; 0: full caps now).
    #[schema(maximum = 12)]
    pub ramp_up_weeks: Option<u32>,
}

impl SeatSettingsBody {
    /// Field errors the schema states (lengths, bounds), named as in the body.
    fn issues(&self) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        if let Some(name) = &self.name {
            if name.trim().is_empty() {
                issues.push(FieldIssue::new("name", "must not be blank"));
            } else if name.chars().count() > 200 {
                issues.push(FieldIssue::new("name", "must be at most 200 characters"));
            }
        }
        if self.timezone.as_ref().is_some_and(|tz| tz.chars().count() > 64) {
            issues.push(FieldIssue::new("timezone", "must be at most 64 characters"));
        }
        let caps = self.daily_caps.as_ref();
        let reads = self.daily_read_budgets.as_ref();
        let bounded = [
            ("dailyCaps.messages", caps.and_then(|c| c.messages), CAP_MAX),
            ("dailyCaps.inmails", caps.and_then(|c| c.inmails), CAP_MAX),
            ("dailyCaps.invitations", caps.and_then(|c| c.invitations), CAP_MAX),
            ("dailyCaps.profileVisits", caps.and_then(|c| c.profile_visits), CAP_MAX),
            ("dailyCaps.engagements", caps.and_then(|c| c.engagements), CAP_MAX),
            ("dailyCaps.withdrawals", caps.and_then(|c| c.withdrawals), CAP_MAX),
            ("weeklyInvitationCap", self.weekly_invitation_cap, CAP_MAX),
            ("withdrawInvitationsAfterDays", self.withdraw_invitations_after_days, WITHDRAW_DAYS_MAX),
            ("dailyReadBudgets.profileFetches", reads.and_then(|r| r.profile_fetches), CAP_MAX),
            ("dailyReadBudgets.searchPages", reads.and_then(|r| r.search_pages), CAP_MAX),
            ("dailyReadBudgets.relationReads", reads.and_then(|r| r.relation_reads), CAP_MAX),
            ("dailyReadBudgets.inboxReads", reads.and_then(|r| r.inbox_reads), CAP_MAX),
            ("dailyReadBudgets.activityReads", reads.and_then(|r| r.activity_reads), CAP_MAX),
            ("spacingSecs.min", self.spacing_secs.as_ref().and_then(|s| s.min), SPACING_MAX),
            ("spacingSecs.max", self.spacing_secs.as_ref().and_then(|s| s.max), SPACING_MAX),
        ];
        for (field, value, max) in bounded {
            if value.is_some_and(|v| v > max) {
                issues.push(FieldIssue::new(field, format!("must be at most {max}")));
            }
        }
        issues
    }
}

/// Get one connected LinkedIn account (seat): its settings, health, today's use and pauses.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/linkedin-accounts/{linkedinAccountId}", tag = "LinkedIn accounts",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("linkedinAccountId" = String, Path, description = "LinkedIn account (seat) ID.")),
    responses(
        (status = 200, description = "The seat", body = Envelope<super::linkedin_accounts::LinkedInAccountView>),
        (status = 404, description = "No such seat in this group", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = []))
)]
pub async fn get_linkedin_account(
    axum::extract::State(state): axum::extract::State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<SeatPath>,
) -> ApiResult {
    let account = state
        .store
        .get_linkedin_account(&access.group_id, path.linkedin_account_id())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "storage failure");
            DomainError::internal()
        })?
        .ok_or_else(|| DomainError::not_found("LinkedIn account"))?;
    Ok(ok(seat_view(&state, account).await?))
}

/// Change a seat's settings: name, working hours, daily caps, weekly invitation cap, read
/// budgets, spacing, ramp-up and the age at which pending invitations are withdrawn. The change
/// applies from the seat's next action; what it did today still counts against today's caps.
#[utoipa::path(
    patch, path = "/v1/accounts/{accountGroupId}/linkedin-accounts/{linkedinAccountId}", tag = "LinkedIn accounts",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("linkedinAccountId" = String, Path, description = "LinkedIn account (seat) ID.")),
    request_body = SeatSettingsBody,
    responses(
        (status = 200, description = "The seat with its new settings", body = Envelope<super::linkedin_accounts::LinkedInAccountView>),
        (status = 400, description = "Request validation failed (the failing fields are named in `error.fields`)", body = ErrorEnvelope),
        (status = 404, description = "No such seat in this group", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["linkedin-accounts:write"]))
)]
pub async fn update_linkedin_account(
    axum::extract::State(state): axum::extract::State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<SeatPath>,
    ApiJson(body): ApiJson<SeatSettingsBody>,
) -> ApiResult {
    let mut issues = body.issues();
    let working_hours = match body.working_hours.as_deref().map(WorkingHours::parse) {
        Some(Err(e)) => {
            issues.push(FieldIssue::new("workingHours", e));
            None
        }
        Some(Ok(hours)) => Some(hours),
        None => None,
    };
    if !issues.is_empty() {
        return Err(DomainError::invalid(issues).into());
    }
    let caps = body.daily_caps.unwrap_or_default();
    let reads = body.daily_read_budgets.unwrap_or_default();
    let spacing = body.spacing_secs.unwrap_or_default();
    let change = RulesChange {
        timezone: body.timezone,
        working_hours,
        daily_messages: caps.messages,
        daily_inmails: caps.inmails,
        daily_invitations: caps.invitations,
        daily_profile_visits: caps.profile_visits,
        daily_engagements: caps.engagements,
        daily_withdrawals: caps.withdrawals,
        weekly_invitations: body.weekly_invitation_cap,
        withdraw_invitations_after_days: body.withdraw_invitations_after_days,
        min_spacing_secs: spacing.min,
        max_spacing_secs: spacing.max,
        ramp_up_weeks: body.ramp_up_weeks,
        profile_fetches: reads.profile_fetches,
        search_pages: reads.search_pages,
        relation_reads: reads.relation_reads,
        inbox_reads: reads.inbox_reads,
        activity_reads: reads.activity_reads,
    };
    let clock = state.clock.as_ref();
    let account =
        update_seat(&state.store, clock, &access.group_id, path.linkedin_account_id(), body.name.as_deref(), &change)
            .await?;
    Ok(ok(seat_view(&state, account).await?))
}
