//! `GET /v1/accounts/{accountGroupId}/linkedin-accounts`: the group's connected
//! LinkedIn accounts (an addition to the documented API; see docs/decisions.md).

use super::{GroupAccess, ListData, ListParams, page_request};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok};
use crate::extract::ApiQuery;
use axum::extract::State;
use serde::Serialize;
use sonarly_app::linkedin::seat::SeatReport;
use sonarly_app::linkedin::{LINKEDIN_ACCOUNTS_LIST, list_accounts};
use sonarly_domain::linkedin_account::LinkedInAccount;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkingHoursView {
    #[schema(example = "09:00")]
    pub start: String,
    #[schema(example = "18:00")]
    pub end: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DailyCapsView {
    pub messages: u32,
    pub inmails: u32,
    pub invitations: u32,
    pub profile_visits: u32,
    pub engagements: u32,
}

/// Today's use of one kind of action or read (the seat's local day).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageView {
    /// `message`, `inmail`, `invitation`, `profile_visit`, `engagement` (actions), or
    /// `profile_fetch`, `search_page`, `relation_read`, `inbox_read`, `activity_read` (reads).
    pub kind: String,
    pub used: i64,
    /// Today's cap (halved while recovering); absent: no cap.
    pub cap: Option<u32>,
}

/// One kind of action or read paused for the seat after a LinkedIn limit refusal.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PauseView {
    pub kind: String,
    /// When it resumes.
    pub until: String,
    /// The refusal, e.g. `INVITATION_LIMIT_REACHED`.
    pub reason: String,
}

/// A connected LinkedIn account. Messages report it as `accountId` / `accountType`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkedInAccountView {
    pub id: String,
    pub name: String,
    /// `sandbox` or `unipile`.
    pub provider: String,
    /// `classic`, `sales_navigator` or `recruiter`.
    pub account_type: String,
    /// Seat health: `connected`, `limited` (a kind of action paused, see `pauses`),
    /// `needs_action` (its owner must act on LinkedIn), `disconnected` (checked every few
    /// minutes; resumes on its own), `recovering` (back, at half its caps for a day).
    pub status: String,
    #[schema(example = "Europe/Berlin")]
    pub timezone: String,
    pub working_hours: WorkingHoursView,
    pub daily_caps: DailyCapsView,
    pub weekly_invitation_cap: u32,
    /// Set while LinkedIn asked us to slow down; sending resumes after it.
    pub rate_limited_until: Option<String>,
    /// Daily budgets of provider reads.
    pub daily_read_budgets: ReadBudgetsView,
    /// Today's use per kind of action and read.
    pub usage_today: Vec<UsageView>,
    /// Kinds paused now, and when each resumes.
    pub pauses: Vec<PauseView>,
    /// Weeks a new seat warms up over after it is connected (its caps and budgets start at
    /// `1/(weeks+1)` and grow each week; `usageToday` shows today's); 0: none.
    pub ramp_up_weeks: u32,
    /// When the ramp-up ends and the full caps apply; absent without a ramp-up.
    pub ramp_up_ends_at: Option<String>,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadBudgetsView {
    pub profile_fetches: u32,
    pub search_pages: u32,
    pub relation_reads: u32,
    pub inbox_reads: u32,
    pub activity_reads: u32,
}

impl From<(LinkedInAccount, SeatReport)> for LinkedInAccountView {
    fn from((a, report): (LinkedInAccount, SeatReport)) -> Self {
        let (start, end) = a.rules.working_hours.format();
        let ramp_up_ends_at = a.ramp_up_ends_at().map(|t| t.to_rfc3339());
        Self {
            id: a.id,
            name: a.display_name,
            provider: a.provider.as_str().to_owned(),
            account_type: a.account_type.as_str().to_owned(),
            status: report.state.as_str().to_owned(),
            timezone: a.rules.timezone,
            working_hours: WorkingHoursView { start, end },
            daily_caps: DailyCapsView {
                messages: a.rules.daily_messages,
                inmails: a.rules.daily_inmails,
                invitations: a.rules.daily_invitations,
                profile_visits: a.rules.daily_profile_visits,
                engagements: a.rules.daily_engagements,
            },
            weekly_invitation_cap: a.rules.weekly_invitations,
            rate_limited_until: report.rate_limited_until.map(|t| t.to_rfc3339()),
            daily_read_budgets: ReadBudgetsView {
                profile_fetches: a.rules.reads.profile_fetches,
                search_pages: a.rules.reads.search_pages,
                relation_reads: a.rules.reads.relation_reads,
                inbox_reads: a.rules.reads.inbox_reads,
                activity_reads: a.rules.reads.activity_reads,
            },
            usage_today: report
                .usage
                .into_iter()
                .map(|u| UsageView { kind: u.kind.to_owned(), used: u.used, cap: u.cap })
                .collect(),
            pauses: report
                .pauses
                .into_iter()
                .map(|p| PauseView { kind: p.kind, until: p.until.to_rfc3339(), reason: p.reason })
                .collect(),
            ramp_up_weeks: a.rules.ramp_up_weeks,
            ramp_up_ends_at,
            created_at: a.created_at.to_rfc3339(),
        }
    }
}

/// List the account group's connected LinkedIn accounts (any key of the group).
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/linkedin-accounts", tag = "LinkedIn accounts",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."), ListParams),
    responses(
        (status = 200, description = "Connected LinkedIn accounts, newest first", body = Envelope<ListData<LinkedInAccountView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = []))
)]
pub async fn list_linkedin_accounts(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult {
    let (store, group) = (&state.store, access.group_id.as_str());
    let (limit, cursor) = (q.limit.as_deref(), q.cursor.as_deref());
    let page = page_request(&state.cursors, LINKEDIN_ACCOUNTS_LIST, limit, cursor, |id| async move {
        account_created_at(store, group, &id).await
    })
    .await?;
    let now = state.clock.now();
    let accounts = list_accounts(&state.store, &state.cursors, &access.group_id, &page, now).await?;
    Ok(ok(ListData::from_page(accounts, LinkedInAccountView::from)))
}

/// The sort key of one of the group's connected accounts, for a cursor that names it.
async fn account_created_at(
    store: &sonarly_store::Store,
    group_id: &str,
    id: &str,
) -> sonarly_app::AppResult<Option<sonarly_domain::Timestamp>> {
    match store.get_linkedin_account(group_id, id).await {
        Ok(found) => Ok(found.map(|a| a.created_at)),
        Err(e) => {
            tracing::error!(error = %e, "storage failure");
            Err(sonarly_domain::DomainError::internal())
        }
    }
}
