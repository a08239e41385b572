//! Prospecting jobs (spec 2.3 P1–P7).

use super::contract::schemas::{one_of, strings};
use super::{GroupAccess, ListData, item_key, page_request};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok, respond};
use crate::extract::{ApiPath, ApiQuery, HashedJson, idempotency_key};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use sonarly_app::prospecting::{self as uc, JOBS_LIST, SalesNavigatorList, StartRequest};
use sonarly_domain::prospecting::credits_per_prospect;
use sonarly_domain::prospecting::{JobStatus, ListType, ProspectingJob, SourceType, StageStatus};
use utoipa::{IntoParams, ToSchema};

/// Body of `POST /prospecting`. `profileUrls` (url_upload) is our name for the
/// field the docs leave unnamed.
///
/// The source `type` decides which other field is required: `linkedin_search`
/// needs `searchUrl` (a LinkedIn people search or Sales Navigator lead search
/// URL); `sales_navigator` needs exactly one of `savedSearchId` and
/// `leadListId` (ids from `GET …/sales-navigator/saved-searches` or
/// `…/lead-lists`; one the account's Sales Navigator does not have is a 400);
/// `post_commenters` needs `postUrl` (a `/posts/…` or `/feed/update/…` URL);
/// `url_upload` needs `profileUrls` and ignores `maxResults`. Every problem is
/// reported at once, each naming its field.
// The route deserializes this type, so the schema documents what is parsed.
// `type` and `name` are optional to serde so that a missing one is reported
// beside every other problem; the schema still lists them as required.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartJobBody {
    #[serde(rename = "type")]
    #[schema(schema_with = source_type, required = true)]
    pub source_type: Option<String>,
    /// Name of the job and of the audience it fills (1 to 200 characters, not blank; trimmed).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Option<String>,
    /// Required for `linkedin_search` (up to 2,048 characters).
    #[schema(min_length = 1, max_length = 2048)]
    pub search_url: Option<String>,
    /// For `sales_navigator`, instead of `leadListId` (1 to 100 characters).
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub saved_search_id: Option<String>,
    /// For `sales_navigator`, instead of `savedSearchId` (1 to 100 characters).
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub lead_list_id: Option<String>,
    /// Required for `post_commenters` (up to 2,048 characters).
    #[schema(min_length = 1, max_length = 2048)]
    pub post_url: Option<String>,
    #[schema(schema_with = profile_urls)]
    pub profile_urls: Option<Vec<String>>,
    /// At least 1; above the plan's cap (Tester 100, Starter 1,000, Scale and
    /// Enterprise 2,000) it is lowered to the cap; defaults to the cap.
    #[schema(minimum = 1)]
    pub max_results: Option<i64>,
    /// Also find emails (2 credits per prospect instead of 1; default false).
    pub search_emails: Option<bool>,
}

impl From<StartJobBody> for StartRequest {
    fn from(body: StartJobBody) -> Self {
        let StartJobBody {
            source_type,
            name,
            search_url,
            saved_search_id,
            lead_list_id,
            post_url,
            profile_urls,
            max_results,
            search_emails,
        } = body;
        Self {
            source_type,
            name,
            search_url,
            saved_search_id,
            lead_list_id,
            post_url,
            profile_urls,
            max_results,
            search_emails,
        }
    }
}

fn source_type() -> utoipa::openapi::Object {
    one_of(&SourceType::ALL.map(SourceType::as_str), "Where the prospects come from.")
}

fn profile_urls() -> utoipa::openapi::Array {
    strings(
        1,
        uc::MAX_UPLOAD_URLS,
        uc::MAX_URL_CHARS,
        true,
        "Required for `url_upload`: 1 to 1,000 LinkedIn profile URLs (`https://www.linkedin.com/in/…`, up to \
         2,048 characters each).",
    )
}

fn job_status() -> utoipa::openapi::Object {
    one_of(&JobStatus::ALL.map(JobStatus::as_str), "A job status.")
}

fn list_type() -> utoipa::openapi::Object {
    one_of(&ListType::ALL.map(ListType::as_str), "Which search quota (default LINKEDIN_CLASSIC).")
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStartView {
    pub job_id: String,
    #[schema(value_type = String)]
    pub status: JobStatus,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct StageView {
    #[schema(value_type = String)]
    pub status: StageStatus,
    /// Between 0 and 1.
    pub progress: f64,
}

#[derive(Serialize, ToSchema)]
pub struct StagesView {
    pub import: StageView,
    pub enrichment: StageView,
}

#[derive(Serialize, ToSchema)]
pub struct JobErrorView {
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStatusView {
    pub job_id: String,
    #[serde(rename = "type")]
    pub job_type: String,
    /// `queued`, `running`, `completed`, `failed` or `cancelled`.
    #[schema(value_type = String)]
    pub status: JobStatus,
    pub created_at: String,
    pub updated_at: String,
    pub stages: StagesView,
    pub error: Option<JobErrorView>,
    /// The audience this job fills (an addition to the documented payload).
    pub audience_id: String,
    pub name: String,
    /// The source type (`linkedin_search`, …).
    #[schema(value_type = String)]
    pub source_type: SourceType,
    pub imported_count: i64,
    pub credits_charged: i64,
}

impl From<ProspectingJob> for JobStatusView {
    fn from(j: ProspectingJob) -> Self {
        let import = StageView { progress: j.import_progress(), status: j.import_status };
        let enrichment = StageView { progress: j.enrichment_progress(), status: j.enrichment_status };
        Self {
            job_id: j.id,
            job_type: "prospecting".into(),
            status: j.status,
            created_at: j.created_at.to_rfc3339(),
            updated_at: j.updated_at.to_rfc3339(),
            stages: StagesView { import, enrichment },
            error: match (j.error_code, j.error_message) {
                (Some(code), Some(message)) => Some(JobErrorView { code, message }),
                _ => None,
            },
            audience_id: j.audience_id,
            name: j.name,
            source_type: j.source_type,
            imported_count: j.import_done,
            credits_charged: j.credits_charged,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobListItemView {
    pub job_id: String,
    #[serde(rename = "type")]
    pub job_type: String,
    #[schema(value_type = String)]
    pub status: JobStatus,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobListParams {
    /// Opaque pagination cursor returned by the previous page (`nextCursor`),
    /// or the id of an item of this list: the page then starts after that item.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
    /// Maximum number of items to return in this page (1 to 100, default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Only jobs in this status.
    #[param(schema_with = job_status)]
    pub status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobPath {
    #[allow(dead_code)]
    account_group_id: String,
    job_id: String,
}

/// Start a prospecting job. Send a stable Idempotency-Key when retrying.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/prospecting", tag = "Prospecting",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 256, pattern = "^[\\x21-\\x7E]+$", description = "1 to 256 visible ASCII characters (no spaces), kept 24 hours: a retry with the same key and body answers the original request; another body is 409 IDEMPOTENCY_CONFLICT.")),
    request_body = StartJobBody,
    responses(
        (status = 200, description = "Existing completed prospecting job replayed for the same request", body = Envelope<JobStartView>),
        (status = 202, description = "Job created", body = Envelope<JobStartView>),
        (status = 400, description = "Request validation failed, including a savedSearchId or leadListId the account's Sales Navigator does not have (VALIDATION_ERROR naming the field)", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 402, description = "INSUFFICIENT_CREDITS", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 409, description = "Conflict (no suitable LinkedIn account, IDEMPOTENCY_CONFLICT)", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded or QUOTA_EXCEEDED", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["prospecting:write"]))
)]
pub async fn start_job(
    State(state): State<AppState>,
    access: GroupAccess,
    headers: HeaderMap,
    HashedJson(body, hash): HashedJson<StartJobBody>,
) -> ApiResult {
    let key = idempotency_key(&headers)?;
    let body = StartRequest::from(body);
    let started = uc::start_job_checked(
        &state.store,
        &state.registry,
        state.clock.as_ref(),
        &access.group_id,
        &body,
        key.as_deref().map(|k| (k, hash.as_str())),
    )
    .await?;
    let status = if started.replayed_completed { StatusCode::OK } else { StatusCode::ACCEPTED };
    let job = started.job;
    Ok(respond(status, JobStartView { job_id: job.id, status: job.status, created_at: job.created_at.to_rfc3339() }))
}

/// List prospecting jobs, newest first.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/prospecting", tag = "Prospecting",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."), JobListParams),
    responses(
        (status = 200, description = "Paginated jobs", body = Envelope<ListData<JobListItemView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["prospecting:read"]))
)]
pub async fn list_jobs(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiQuery(q): ApiQuery<JobListParams>,
) -> ApiResult {
    let (store, group) = (&state.store, &access.group_id);
    let page = page_request(&state.cursors, JOBS_LIST, q.limit.as_deref(), q.cursor.as_deref(), |id| async move {
        item_key(uc::get_job(store, group, &id).await, |j| j.created_at)
    })
    .await?;
    let jobs = uc::list_jobs(&state.store, &state.cursors, &access.group_id, q.status.as_deref(), &page).await?;
    Ok(ok(ListData::from_page(jobs, |j| JobListItemView {
        job_id: j.id,
        job_type: "prospecting".into(),
        status: j.status,
        created_at: j.created_at.to_rfc3339(),
        updated_at: j.updated_at.to_rfc3339(),
    })))
}

/// Get a prospecting job's status and stage progress.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/prospecting/{jobId}", tag = "Prospecting",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("jobId" = String, Path, description = "Prospecting job ID returned when the import was started.")),
    responses(
        (status = 200, description = "Job status", body = Envelope<JobStatusView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["prospecting:read"]))
)]
pub async fn get_job(State(state): State<AppState>, access: GroupAccess, ApiPath(path): ApiPath<JobPath>) -> ApiResult {
    Ok(ok(JobStatusView::from(uc::get_job(&state.store, &access.group_id, &path.job_id).await?)))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobCancelView {
    pub job_id: String,
    #[schema(value_type = String)]
    pub status: JobStatus,
}

/// Cancel a queued or running job; what was imported is kept.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/prospecting/{jobId}/cancel", tag = "Prospecting",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("jobId" = String, Path, description = "Prospecting job ID.")),
    responses(
        (status = 200, description = "Job cancelled", body = Envelope<JobCancelView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 422, description = "Job is not in a cancellable status", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["prospecting:write"]))
)]
pub async fn cancel_job(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<JobPath>,
) -> ApiResult {
    let job = uc::cancel_job(&state.store, state.clock.as_ref(), &access.group_id, &path.job_id).await?;
    Ok(ok(JobCancelView { job_id: job.id, status: job.status }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct QuotaParams {
    #[param(schema_with = list_type)]
    pub list_type: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotaView {
    pub list_type: String,
    pub quota_type: String,
    pub used: i64,
    pub limit: i64,
    pub remaining: i64,
    pub reset_at: String,
    pub exhausted: bool,
    /// The account group's plan: `tester`, `starter`, `scale` or `enterprise` (an addition).
    pub plan: String,
    /// The most prospects one job imports on this plan (an addition).
    pub max_results_per_job: u32,
    /// The account group's credit balance (an addition).
    pub credits_available: i64,
    /// Credits one imported prospect costs, without and with `searchEmails` (an addition).
    pub credits_per_prospect: i64,
    pub credits_per_prospect_with_emails: i64,
}

/// Prospecting quota of this calendar month.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/prospecting/quota", tag = "Prospecting",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."), QuotaParams),
    responses(
        (status = 200, description = "Prospecting quota status", body = Envelope<QuotaView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["prospecting:read"]))
)]
pub async fn get_quota(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiQuery(q): ApiQuery<QuotaParams>,
) -> ApiResult {
    let quota = uc::quota(&state.store, state.clock.as_ref(), &access.group_id, q.list_type.as_deref()).await?;
    let remaining = (quota.limit - quota.used).max(0);
    Ok(ok(QuotaView {
        list_type: quota.list_type.as_str().into(),
        quota_type: quota.list_type.quota_type().into(),
        used: quota.used,
        limit: quota.limit,
        remaining,
        reset_at: quota.reset_at.to_rfc3339(),
        exhausted: remaining == 0,
        plan: quota.plan.as_str().into(),
        max_results_per_job: quota.plan.max_results_cap(),
        credits_available: quota.credits,
        credits_per_prospect: credits_per_prospect(false),
        credits_per_prospect_with_emails: credits_per_prospect(true),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct NamedListView {
    pub id: String,
    pub name: String,
}

async fn lists(state: &AppState, group_id: &sonarly_domain::GroupId, which: SalesNavigatorList) -> ApiResult {
    let lists = uc::sales_navigator_lists(&state.store, &state.registry, group_id, which).await?;
    Ok(ok(ListData {
        items: lists.into_iter().map(|l| NamedListView { id: l.id, name: l.name }).collect(),
        next_cursor: None,
        has_more: false,
    }))
}

/// Sales Navigator saved searches (ids for `sales_navigator` jobs).
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/sales-navigator/saved-searches", tag = "Prospecting",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request.")),
    responses(
        (status = 200, description = "Saved searches", body = Envelope<ListData<NamedListView>>),
        (status = 502, description = "Upstream service error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["prospecting:read"]))
)]
pub async fn saved_searches(State(state): State<AppState>, access: GroupAccess) -> ApiResult {
    lists(&state, &access.group_id, SalesNavigatorList::SavedSearches).await
}

/// Sales Navigator lead lists (ids for `sales_navigator` jobs).
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/sales-navigator/lead-lists", tag = "Prospecting",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request.")),
    responses(
        (status = 200, description = "Lead lists", body = Envelope<ListData<NamedListView>>),
        (status = 502, description = "Upstream service error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["prospecting:read"]))
)]
pub async fn lead_lists(State(state): State<AppState>, access: GroupAccess) -> ApiResult {
    lists(&state, &access.group_id, SalesNavigatorList::LeadLists).await
}
