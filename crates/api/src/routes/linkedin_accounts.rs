//! `GET /v1/accounts/{accountGroupId}/linkedin-accounts`: the group's connected
//! LinkedIn accounts, and connecting, reconnecting and unblocking them through Unipile
//! (additions to the documented API; see docs/decisions.md).

use super::{GroupAccess, ListData, ListParams, page_request};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok, respond};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sonarly_app::linkedin::onboard_api::{self, NewUnipileSeat, SeatCheckpoint, WebhooksOutcome};
use sonarly_app::linkedin::seat::{self, SeatActivity, SeatReport, seat_report};
use sonarly_app::linkedin::{LINKEDIN_ACCOUNTS_LIST, list_accounts};
use sonarly_domain::linkedin_account::{ActionKind, LinkedInAccount};
use sonarly_domain::linkedin_account::{SendingRules, WorkingHours};
use sonarly_domain::{DomainError, FieldIssue};
use utoipa::{IntoParams, ToSchema};

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
    /// Stale invitations withdrawn per day, at most.
    pub withdrawals: u32,
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

/// This week's use of one kind of action: over the rolling seven days the weekly invitation
/// cap counts in.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WeeklyUsageView {
    /// `message`, `inmail`, `invitation`, `profile_visit`, `engagement` or `withdrawal`.
    pub kind: String,
    pub used: i64,
    /// The weekly cap as it applies now (`invitation` only: `weeklyInvitationCap`, warmed up
    /// and halved while recovering like the daily caps); absent: no weekly cap.
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
    /// The random spacing between two actions of the seat, in seconds.
    pub spacing_secs: SpacingView,
    /// Invitations still pending this many days after they were sent are withdrawn; 0: never.
    pub withdraw_invitations_after_days: u32,
    /// Set while LinkedIn asked us to slow down; sending resumes after it.
    pub rate_limited_until: Option<String>,
    /// Daily budgets of provider reads.
    pub daily_read_budgets: ReadBudgetsView,
    /// Today's use per kind of action and read.
    pub usage_today: Vec<UsageView>,
    /// Use per kind of action over the rolling seven days the weekly cap counts in.
    pub usage_this_week: Vec<WeeklyUsageView>,
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
pub struct SpacingView {
    #[schema(example = 45)]
    pub min: u32,
    #[schema(example = 120)]
    pub max: u32,
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
                withdrawals: a.rules.daily_withdrawals,
            },
            weekly_invitation_cap: a.rules.weekly_invitations,
            spacing_secs: SpacingView { min: a.rules.min_spacing_secs, max: a.rules.max_spacing_secs },
            withdraw_invitations_after_days: a.rules.withdraw_invitations_after_days,
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
            usage_this_week: report
                .usage_this_week
                .into_iter()
                .map(|u| WeeklyUsageView { kind: u.kind.to_owned(), used: u.used, cap: u.cap })
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
    let (store, group) = (&state.store, &access.group_id);
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
    group_id: &sonarly_domain::GroupId,
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

// --- Activity per day (docs/decisions.md, "Additions for the console") ---

/// Query of `GET …/linkedin-accounts/{linkedinAccountId}/activity`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    /// How many local days to show, today included (1 to 90, default 30).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 90)]
    pub days: Option<String>,
}

/// Actions of each kind on one local day; every kind is present.
#[derive(Serialize, ToSchema)]
pub struct ActivityCountsView {
    pub message: i64,
    pub inmail: i64,
    pub invitation: i64,
    pub profile_visit: i64,
    pub engagement: i64,
    pub withdrawal: i64,
}

/// One local day of a seat's actions.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityDayView {
    /// The date in the seat's time zone.
    #[schema(example = "2026-11-30")]
    pub date: String,
    pub counts: ActivityCountsView,
}

/// A seat's actions per local day, oldest first, every day present.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatActivityView {
    /// The seat's time zone, which the days are in.
    #[schema(example = "Europe/Berlin")]
    pub timezone: String,
    pub days: Vec<ActivityDayView>,
}

impl From<SeatActivity> for SeatActivityView {
    fn from(a: SeatActivity) -> Self {
        let days = a
            .days
            .into_iter()
            .map(|d| {
                let count = |kind: ActionKind| d.counts.iter().find(|(k, _)| *k == kind).map_or(0, |(_, n)| *n);
                ActivityDayView {
                    counts: ActivityCountsView {
                        message: count(ActionKind::Message),
                        inmail: count(ActionKind::InMail),
                        invitation: count(ActionKind::Invitation),
                        profile_visit: count(ActionKind::ProfileVisit),
                        engagement: count(ActionKind::Engagement),
                        withdrawal: count(ActionKind::Withdrawal),
                    },
                    date: d.date,
                }
            })
            .collect();
        Self { timezone: a.timezone, days }
    }
}

/// The seat's actions per local day (its time zone) and kind over the last `days` days, today
/// included, counted in the action ledger its caps count in (any key of the group).
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/linkedin-accounts/{linkedinAccountId}/activity", tag = "LinkedIn accounts",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("linkedinAccountId" = String, Path, description = "LinkedIn account (seat) ID."),
           ActivityParams),
    responses(
        (status = 200, description = "Actions per day, oldest first", body = Envelope<SeatActivityView>),
        (status = 404, description = "No such seat in this group", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = []))
)]
pub async fn seat_activity(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<SeatPath>,
    ApiQuery(q): ApiQuery<ActivityParams>,
) -> ApiResult {
    let now = state.clock.now();
    let activity =
        seat::seat_activity(&state.store, &access.group_id, &path.linkedin_account_id, q.days.as_deref(), now).await?;
    Ok(ok(SeatActivityView::from(activity)))
}

// --- Connecting seats through Unipile (docs/decisions.md, "Seat onboarding through the API") ---

const DSN_MAX: usize = 300;
const API_KEY_MAX: usize = 500;
const ID_MAX: usize = 200;
const URL_MAX: usize = 2048;
const CODE_MAX: usize = 100;

/// Body of `POST …/linkedin-accounts/connect-link`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectLinkBody {
    /// Your Unipile workspace's DSN, e.g. `api8.unipile.com:13851` (a scheme-less DSN is `https://`).
    /// The server calls it: a private or loopback address is refused unless the operator allows them.
    #[schema(example = "api8.unipile.com:13851", min_length = 1, max_length = 300, pattern = "\\S")]
    pub unipile_dsn: String,
    /// Your Unipile API key; used for this call only, never stored or shown.
    #[schema(min_length = 1, max_length = 500, pattern = "^[!-~]+$")]
    pub unipile_api_key: String,
    /// A label Unipile attaches to the connection.
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

/// Body of `POST …/linkedin-accounts`: a LinkedIn account already connected to Unipile.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectSeatBody {
    /// A display name for the seat.
    #[schema(example = "Avery (sales)", min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// Your Unipile workspace's DSN, e.g. `api8.unipile.com:13851`. The server calls it: a private
    /// or loopback address is refused unless the operator allows them.
    #[schema(example = "api8.unipile.com:13851", min_length = 1, max_length = 300, pattern = "\\S")]
    pub unipile_dsn: String,
    /// Your Unipile API key: stored encrypted, never shown again.
    #[schema(min_length = 1, max_length = 500, pattern = "^[!-~]+$")]
    pub unipile_api_key: String,
    /// The id Unipile gave the LinkedIn account (after the hosted-auth wizard).
    #[schema(example = "t5XY4yQzR9WVrlNFyzPMhw", min_length = 1, max_length = 200, pattern = "\\S")]
    pub unipile_account_id: String,
    /// The secret Unipile sends in `X-Sonarly-Webhook-Secret` on the seat's webhooks (16 to 200
    /// characters; stored hashed, never shown). Required unless `publicUrl` is given, when the
    /// server registers the webhooks with a secret of its own.
    #[schema(min_length = 16, max_length = 200)]
    pub webhook_secret: Option<String>,
    /// Where Unipile reaches this server, e.g. `https://sonarly.example.com`: the seat's three
    /// webhooks (messaging, users, account_status) are then registered for you.
    #[schema(example = "https://sonarly.example.com", max_length = 2048)]
    pub public_url: Option<String>,
    /// IANA time zone of the seat's working hours (default `UTC`).
    #[schema(example = "Europe/Berlin", max_length = 64)]
    pub timezone: Option<String>,
    /// Working hours, `HH:MM-HH:MM` in the seat's time zone (default `09:00-18:00`; `00:00-24:00` is always).
    #[schema(example = "09:00-18:00", max_length = 11)]
    pub working_hours: Option<String>,
}

/// Body of `POST …/linkedin-accounts/{linkedinAccountId}/checkpoint`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckpointBody {
    /// The code LinkedIn sent (authenticator app, SMS or e-mail); `TRY_ANOTHER_WAY` asks for another kind of step.
    #[schema(example = "123456", min_length = 1, max_length = 100, pattern = "\\S")]
    pub code: String,
}

/// Body of `POST …/linkedin-accounts/{linkedinAccountId}/webhooks`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhooksBody {
    /// Where Unipile reaches this server now, e.g. `https://sonarly.example.com`.
    #[schema(example = "https://sonarly.example.com", min_length = 1, max_length = 2048, pattern = "\\S")]
    pub public_url: String,
}

/// A Unipile hosted-auth wizard link: open it in a browser before it expires.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostedLinkView {
    #[schema(example = "https://account.unipile.com/pqrG5wH1vZ3sdS1aU2rHMQ")]
    pub url: String,
    /// An hour from now (Unipile also ends every link at its daily restart).
    pub expires_at: String,
}

/// One webhook Unipile now calls for the seat.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredWebhookView {
    /// `messaging`, `users` or `account_status`.
    pub source: String,
    /// Unipile's id of the webhook (empty if Unipile's answer carried none).
    pub webhook_id: String,
}

/// The seat's webhooks, as registered by this request.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatWebhooksView {
    /// The receiver Unipile calls.
    #[schema(example = "https://sonarly.example.com/v1/webhooks/unipile/6650f0c2a1b2c3d4e5f60718")]
    pub request_url: String,
    pub registered: Vec<RegisteredWebhookView>,
    /// On connect only: why the webhooks could not all be registered (the seat is connected all
    /// the same; register them with `POST …/linkedin-accounts/{linkedinAccountId}/webhooks`). Null when all three are.
    pub error: Option<String>,
}

/// A seat just connected, or whose webhooks were just registered.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectedSeatView {
    #[serde(flatten)]
    pub account: LinkedInAccountView,
    /// Present when a `publicUrl` was given.
    pub webhooks: Option<SeatWebhooksView>,
}

/// What solving a checkpoint led to.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointView {
    /// `solved` (the seat is `recovering` if it was stopped, then `connected`), or `checkpoint`:
    /// LinkedIn asks for another step, named in `nextCheckpoint`; send its code the same way.
    #[schema(example = "solved")]
    pub outcome: String,
    /// With `checkpoint`: the step LinkedIn asks for, e.g. `2FA`, `OTP`, `IN_APP_VALIDATION`, `PHONE_REGISTER`.
    pub next_checkpoint: Option<String>,
    /// The seat as it is now.
    pub linkedin_account: LinkedInAccountView,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeatPath {
    #[allow(dead_code)]
    account_group_id: String,
    linkedin_account_id: String,
}

impl SeatPath {
    pub(super) fn linkedin_account_id(&self) -> &str {
        &self.linkedin_account_id
    }
}

/// A required text field: not blank, at most `max` characters.
fn required(field: &str, value: &str, max: usize, issues: &mut Vec<FieldIssue>) {
    if value.trim().is_empty() {
        issues.push(FieldIssue::new(field, "must not be blank"));
    } else {
        optional(field, Some(value), max, issues);
    }
}

/// A Unipile API key is printable ASCII without spaces (it travels in a header).
fn api_key_chars(key: &str, issues: &mut Vec<FieldIssue>) {
    if !key.trim().is_empty() && !key.chars().all(|c| c.is_ascii_graphic()) {
        issues.push(FieldIssue::new("unipileApiKey", "must be printable ASCII without spaces, as Unipile issues it"));
    }
}

fn optional(field: &str, value: Option<&str>, max: usize, issues: &mut Vec<FieldIssue>) {
    if value.is_some_and(|v| v.chars().count() > max) {
        issues.push(FieldIssue::new(field, format!("must be at most {max} characters")));
    }
}

fn checked(issues: Vec<FieldIssue>) -> Result<(), DomainError> {
    if issues.is_empty() { Ok(()) } else { Err(DomainError::invalid(issues)) }
}

pub(super) async fn seat_view(state: &AppState, account: LinkedInAccount) -> Result<LinkedInAccountView, DomainError> {
    let report = seat_report(&state.store, &account, state.clock.now()).await.map_err(|e| {
        tracing::error!(error = %e, "storage failure");
        DomainError::internal()
    })?;
    Ok(LinkedInAccountView::from((account, report)))
}

fn webhooks_view(outcome: WebhooksOutcome) -> SeatWebhooksView {
    SeatWebhooksView {
        request_url: outcome.request_url,
        registered: outcome
            .registered
            .into_iter()
            .map(|h| RegisteredWebhookView { source: h.source.as_str().to_owned(), webhook_id: h.id })
            .collect(),
        error: outcome.error,
    }
}

/// Get a Unipile hosted-auth link to connect a new LinkedIn account (the wizard handles
/// credentials, 2FA and captchas); then connect the account Unipile created with `POST …/linkedin-accounts`.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/linkedin-accounts/connect-link", tag = "LinkedIn accounts",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request.")),
    request_body = ConnectLinkBody,
    responses(
        (status = 200, description = "The wizard link", body = Envelope<HostedLinkView>),
        (status = 400, description = "Request validation failed, or Unipile refused the DSN or the API key (named in `error.fields`)", body = ErrorEnvelope),
        (status = 502, description = "Unipile is not reachable or not answering (UPSTREAM_ERROR); retry later", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["linkedin-accounts:write"]))
)]
pub async fn connect_link(
    State(state): State<AppState>,
    _access: GroupAccess,
    ApiJson(body): ApiJson<ConnectLinkBody>,
) -> ApiResult {
    let mut issues = Vec::new();
    required("unipileDsn", &body.unipile_dsn, DSN_MAX, &mut issues);
    required("unipileApiKey", &body.unipile_api_key, API_KEY_MAX, &mut issues);
    api_key_chars(&body.unipile_api_key, &mut issues);
    optional("name", body.name.as_deref(), ID_MAX, &mut issues);
    checked(issues)?;
    let now = state.clock.now();
    let link = onboard_api::connect_link(
        &body.unipile_dsn,
        &body.unipile_api_key,
        body.name.as_deref(),
        state.webhook_policy,
        now,
    )
    .await?;
    Ok(ok(HostedLinkView { url: link.url, expires_at: link.expires_at.to_rfc3339() }))
}

/// Connect a LinkedIn account already connected to Unipile: Unipile is asked who the
/// account is first (the seat type is Unipile's), the API key is stored encrypted, and
/// with `publicUrl` the seat's three webhooks are registered.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/linkedin-accounts", tag = "LinkedIn accounts",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request.")),
    request_body = ConnectSeatBody,
    responses(
        (status = 201, description = "The seat, connected (never its API key or webhook secret)", body = Envelope<ConnectedSeatView>),
        (status = 400, description = "Request validation failed, or Unipile refused the DSN, the API key or the account (named in `error.fields`)", body = ErrorEnvelope),
        (status = 422, description = "This server has no secret key to store a Unipile API key encrypted", body = ErrorEnvelope),
        (status = 502, description = "Unipile is not reachable or not answering (UPSTREAM_ERROR); nothing was stored, retry later", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["linkedin-accounts:write"]))
)]
pub async fn connect_linkedin_account(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiJson(body): ApiJson<ConnectSeatBody>,
) -> ApiResult {
    let mut issues = Vec::new();
    required("name", &body.name, ID_MAX, &mut issues);
    required("unipileDsn", &body.unipile_dsn, DSN_MAX, &mut issues);
    required("unipileApiKey", &body.unipile_api_key, API_KEY_MAX, &mut issues);
    api_key_chars(&body.unipile_api_key, &mut issues);
    required("unipileAccountId", &body.unipile_account_id, ID_MAX, &mut issues);
    optional("webhookSecret", body.webhook_secret.as_deref(), ID_MAX, &mut issues);
    if body.webhook_secret.as_deref().is_some_and(|s| s.chars().count() < 16) {
        issues.push(FieldIssue::new("webhookSecret", "must be at least 16 characters"));
    }
    optional("publicUrl", body.public_url.as_deref(), URL_MAX, &mut issues);
    optional("timezone", body.timezone.as_deref(), 64, &mut issues);
    let mut rules = SendingRules::default();
    if let Some(tz) = &body.timezone {
        rules.timezone = tz.trim().to_owned();
    }
    if let Some(hours) = &body.working_hours {
        match WorkingHours::parse(hours) {
            Ok(parsed) => rules.working_hours = parsed,
            Err(e) => issues.push(FieldIssue::new("workingHours", e)),
        }
    }
    checked(issues)?;
    let input = NewUnipileSeat {
        group_id: access.group_id.clone(),
        name: body.name,
        dsn: body.unipile_dsn,
        api_key: body.unipile_api_key,
        account_id: body.unipile_account_id,
        webhook_secret: body.webhook_secret,
        rules,
        public_url: body.public_url.filter(|u| !u.trim().is_empty()),
    };
    let keyring = state.registry.keyring();
    let connected =
        onboard_api::connect_unipile_seat(&state.store, state.clock.as_ref(), keyring, state.webhook_policy, input)
            .await?;
    let account = seat_view(&state, connected.seat.account).await?;
    let view = ConnectedSeatView { account, webhooks: connected.webhooks.map(webhooks_view) };
    Ok(respond(StatusCode::CREATED, view))
}

/// Get a Unipile hosted-auth link to reconnect the seat (after its credentials changed,
/// LinkedIn logged it out, or a checkpoint that needs the wizard).
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/linkedin-accounts/{linkedinAccountId}/reconnect-link", tag = "LinkedIn accounts",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("linkedinAccountId" = String, Path, description = "LinkedIn account (seat) ID.")),
    responses(
        (status = 200, description = "The wizard link", body = Envelope<HostedLinkView>),
        (status = 422, description = "A sandbox seat (nothing to reconnect), or Unipile refused the seat's stored connection", body = ErrorEnvelope),
        (status = 502, description = "Unipile is not reachable or not answering (UPSTREAM_ERROR); retry later", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["linkedin-accounts:write"]))
)]
pub async fn reconnect_link(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<SeatPath>,
) -> ApiResult {
    let keyring = state.registry.keyring();
    let now = state.clock.now();
    let link =
        onboard_api::reconnect_link(&state.store, keyring, &access.group_id, &path.linkedin_account_id, now).await?;
    Ok(ok(HostedLinkView { url: link.url, expires_at: link.expires_at.to_rfc3339() }))
}

/// Solve the checkpoint LinkedIn put on the seat (2FA, one-time code, in-app validation) with
/// its code. Solved, a stopped seat goes to `recovering`; LinkedIn may ask for another step.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/linkedin-accounts/{linkedinAccountId}/checkpoint", tag = "LinkedIn accounts",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("linkedinAccountId" = String, Path, description = "LinkedIn account (seat) ID.")),
    request_body = CheckpointBody,
    responses(
        (status = 200, description = "Solved, or the next step LinkedIn asks for", body = Envelope<CheckpointView>),
        (status = 400, description = "Request validation failed, or LinkedIn did not accept the code (`error.fields` names `code`)", body = ErrorEnvelope),
        (status = 422, description = "A sandbox seat (no checkpoints), or Unipile refused the seat's stored connection", body = ErrorEnvelope),
        (status = 502, description = "Unipile is not reachable or not answering (UPSTREAM_ERROR); retry later", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["linkedin-accounts:write"]))
)]
pub async fn solve_checkpoint(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<SeatPath>,
    ApiJson(body): ApiJson<CheckpointBody>,
) -> ApiResult {
    let mut issues = Vec::new();
    required("code", &body.code, CODE_MAX, &mut issues);
    checked(issues)?;
    let keyring = state.registry.keyring();
    let now = state.clock.now();
    let group = &access.group_id;
    let solved =
        onboard_api::solve_seat_checkpoint(&state.store, keyring, group, &path.linkedin_account_id, &body.code, now)
            .await?;
    let view = match solved {
        SeatCheckpoint::Solved(account) => CheckpointView {
            outcome: "solved".into(),
            next_checkpoint: None,
            linkedin_account: seat_view(&state, account).await?,
        },
        SeatCheckpoint::Another { account, checkpoint } => CheckpointView {
            outcome: "checkpoint".into(),
            next_checkpoint: Some(checkpoint),
            linkedin_account: seat_view(&state, account).await?,
        },
    };
    Ok(ok(view))
}

/// Register the seat's three Unipile webhooks again, for the URL Unipile reaches this server
/// at now, with a new secret (the webhooks Unipile holds from before are then refused: delete
/// them in Unipile's dashboard).
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/linkedin-accounts/{linkedinAccountId}/webhooks", tag = "LinkedIn accounts",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("linkedinAccountId" = String, Path, description = "LinkedIn account (seat) ID.")),
    request_body = WebhooksBody,
    responses(
        (status = 200, description = "The seat with its webhooks", body = Envelope<ConnectedSeatView>),
        (status = 422, description = "A sandbox seat (no webhooks), or Unipile refused the seat's stored connection", body = ErrorEnvelope),
        (status = 502, description = "Unipile is not reachable or not answering (UPSTREAM_ERROR); nothing changed, retry later", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["linkedin-accounts:write"]))
)]
pub async fn register_webhooks(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<SeatPath>,
    ApiJson(body): ApiJson<WebhooksBody>,
) -> ApiResult {
    let mut issues = Vec::new();
    required("publicUrl", &body.public_url, URL_MAX, &mut issues);
    checked(issues)?;
    let keyring = state.registry.keyring();
    let now = state.clock.now();
    let group = &access.group_id;
    let (account, outcome) = onboard_api::register_seat_webhooks(
        &state.store,
        keyring,
        group,
        &path.linkedin_account_id,
        &body.public_url,
        now,
    )
    .await?;
    let view = ConnectedSeatView { account: seat_view(&state, account).await?, webhooks: Some(webhooks_view(outcome)) };
    Ok(ok(view))
}
