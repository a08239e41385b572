//! Signals (spec 2.6 S1–S5): signal scans and a prospect's signal results.

use super::{GroupAccess, ListData, item_key, page_request};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok, respond};
use crate::extract::{ApiPath, ApiQuery, HashedJson, idempotency_key};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use sonarly_app::signals::{self as uc, SCANS_LIST, StartScanRequest};
use sonarly_domain::signals::{JobStatus, SignalItem, SignalScan, parse_min_score};
use utoipa::{IntoParams, ToSchema};

/// The `type` of every scan.
const SCAN_TYPE: &str = "signal_scan";

/// Body of `POST …/signals/scans`.
// The route deserializes this type, so the schema documents what is parsed.
// The two ids are optional to serde so that a missing one is reported beside
// every other problem; the schema still lists them as required.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartScanBody {
    /// A signal specification of this account group (1 to 100 characters;
    /// one that names nothing here is 400).
    #[schema(value_type = String, required = true, example = "507f1f77bcf86cd799439011", min_length = 1, max_length = 100, pattern = "\\S")]
    pub signal_specification_id: Option<String>,
    /// A ready audience of this account group (1 to 100 characters; unknown is
    /// 400, still being filled is 409 AUDIENCE_NOT_READY).
    #[schema(value_type = String, required = true, example = "aud_01HYR7X8Q4M8K9P2V6N3B5C0D1", min_length = 1, max_length = 100, pattern = "\\S")]
    pub audience_id: Option<String>,
    #[schema(schema_with = prospect_ids)]
    pub prospect_ids: Option<Vec<String>>,
}

impl From<StartScanBody> for StartScanRequest {
    fn from(body: StartScanBody) -> Self {
        let StartScanBody { signal_specification_id, audience_id, prospect_ids } = body;
        Self { signal_specification_id, audience_id, prospect_ids }
    }
}

fn prospect_ids() -> utoipa::openapi::Array {
    super::contract::schemas::strings(
        1,
        sonarly_domain::signals::MAX_PROSPECT_IDS,
        100,
        true,
        "Only these prospects of the audience (1 to 1,000 ids of 1 to 100 characters, repeats counted once; \
         each must be in the audience, else 400 naming `prospectIds[i]`); the whole audience when absent.",
    )
}

fn scan_status() -> utoipa::openapi::Object {
    super::contract::schemas::one_of(&JobStatus::ALL.map(JobStatus::as_str), "A scan status.")
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanStartView {
    pub scan_id: String,
    /// `queued` for a new scan; the scan's current status on a replay.
    #[schema(value_type = String)]
    pub status: JobStatus,
    #[schema(example = "2026-04-28T15:30:00.000Z")]
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanListItemView {
    pub scan_id: String,
    /// Always `signal_scan`.
    #[serde(rename = "type")]
    pub scan_type: String,
    /// `queued`, `running`, `completed`, `failed` or `cancelled`.
    #[schema(value_type = String)]
    pub status: JobStatus,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ScanErrorView {
    pub code: String,
    pub message: String,
}

/// How many prospects a scan covers and how far it got (an addition).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanCountsView {
    /// Prospects the scan evaluates.
    pub total: i64,
    /// Prospects done (evaluated or skipped).
    pub processed: i64,
    /// Prospects with a completed evaluation.
    pub evaluated: i64,
    /// Prospects whose LinkedIn activity could not be read.
    pub skipped: i64,
    /// Evaluated prospects with at least one signal.
    pub with_signals: i64,
    /// Signals stored.
    pub signals: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanStatusView {
    pub scan_id: String,
    /// Always `signal_scan`.
    #[serde(rename = "type")]
    pub scan_type: String,
    #[schema(value_type = String)]
    pub status: JobStatus,
    pub created_at: String,
    pub updated_at: String,
    /// Why the scan failed; null otherwise.
    pub error: Option<ScanErrorView>,
    /// Share of prospects done, from 0 to 1 (an addition).
    pub progress: f64,
    pub counts: ScanCountsView,
    pub signal_specification_id: String,
    pub audience_id: String,
}

impl From<SignalScan> for ScanStatusView {
    fn from(s: SignalScan) -> Self {
        Self {
            progress: s.progress(),
            scan_id: s.id,
            scan_type: SCAN_TYPE.into(),
            status: s.status,
            created_at: s.created_at.to_rfc3339(),
            updated_at: s.updated_at.to_rfc3339(),
            error: match (s.error_code, s.error_message) {
                (Some(code), Some(message)) => Some(ScanErrorView { code, message }),
                _ => None,
            },
            counts: ScanCountsView {
                total: s.total_count,
                processed: s.processed_count,
                evaluated: s.evaluated_count,
                skipped: s.skipped_count,
                with_signals: s.matched_count,
                signals: s.signal_count,
            },
            signal_specification_id: s.specification_id,
            audience_id: s.audience_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanCancelView {
    pub scan_id: String,
    #[schema(value_type = String)]
    pub status: JobStatus,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScanListParams {
    /// Opaque pagination cursor returned by the previous page (`nextCursor`),
    /// or the id of an item of this list: the page then starts after that item.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
    /// Maximum number of items to return in this page (1 to 100, default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Only scans in this status.
    #[param(schema_with = scan_status)]
    pub status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanPath {
    #[allow(dead_code)]
    account_group_id: String,
    scan_id: String,
}

/// Start a signal scan over an audience (or some of its prospects). Send a
/// stable Idempotency-Key when retrying.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/signals/scans", tag = "Signals",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 256, pattern = "^[\\x21-\\x7E]+$", description = "1 to 256 visible ASCII characters (no spaces), kept 24 hours: a retry with the same key and body answers the original request; another body is 409 IDEMPOTENCY_CONFLICT.")),
    request_body = StartScanBody,
    responses(
        (status = 200, description = "Existing completed signal scan replayed for the same request", body = Envelope<ScanStartView>),
        (status = 202, description = "Scan started", body = Envelope<ScanStartView>),
        (status = 400, description = "Request validation failed, including a specification, audience or prospect that does not exist in this account group or audience (VALIDATION_ERROR naming the field)", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "AUDIENCE_NOT_READY, IDEMPOTENCY_CONFLICT, or no connected LinkedIn account (CONFLICT)", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["signals:write"]))
)]
pub async fn start_scan(
    State(state): State<AppState>,
    access: GroupAccess,
    headers: HeaderMap,
    HashedJson(body, hash): HashedJson<StartScanBody>,
) -> ApiResult {
    let key = idempotency_key(&headers)?;
    let body = StartScanRequest::from(body);
    let started = uc::start_scan(
        &state.store,
        state.clock.as_ref(),
        &access.group_id,
        &body,
        key.as_deref().map(|k| (k, hash.as_str())),
    )
    .await?;
    let status = if started.replayed_completed { StatusCode::OK } else { StatusCode::ACCEPTED };
    let scan = started.scan;
    Ok(respond(
        status,
        ScanStartView { scan_id: scan.id, status: scan.status, created_at: scan.created_at.to_rfc3339() },
    ))
}

/// List signal scans, newest first.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/signals/scans", tag = "Signals",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."), ScanListParams),
    responses(
        (status = 200, description = "Paginated signal scans", body = Envelope<ListData<ScanListItemView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["signals:read"]))
)]
pub async fn list_scans(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiQuery(q): ApiQuery<ScanListParams>,
) -> ApiResult {
    let (store, group) = (&state.store, &access.group_id);
    let page = page_request(&state.cursors, SCANS_LIST, q.limit.as_deref(), q.cursor.as_deref(), |id| async move {
        item_key(uc::get_scan(store, group, &id).await, |s| s.created_at)
    })
    .await?;
    let scans = uc::list_scans(&state.store, &state.cursors, &access.group_id, q.status.as_deref(), &page).await?;
    Ok(ok(ListData::from_page(scans, |s| ScanListItemView {
        scan_id: s.id,
        scan_type: SCAN_TYPE.into(),
        status: s.status,
        created_at: s.created_at.to_rfc3339(),
        updated_at: s.updated_at.to_rfc3339(),
    })))
}

/// Get a signal scan's status, progress and counts.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/signals/scans/{scanId}", tag = "Signals",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("scanId" = String, Path, description = "Signal scan ID returned when the scan was started.")),
    responses(
        (status = 200, description = "Scan status", body = Envelope<ScanStatusView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["signals:read"]))
)]
pub async fn get_scan(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<ScanPath>,
) -> ApiResult {
    Ok(ok(ScanStatusView::from(uc::get_scan(&state.store, &access.group_id, &path.scan_id).await?)))
}

/// Cancel a queued or running scan; completed evaluations are kept.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/signals/scans/{scanId}/cancel", tag = "Signals",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("scanId" = String, Path, description = "Signal scan ID returned when the scan was started.")),
    responses(
        (status = 200, description = "Scan cancelled", body = Envelope<ScanCancelView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 422, description = "Scan is not in a cancellable status", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["signals:write"]))
)]
pub async fn cancel_scan(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<ScanPath>,
) -> ApiResult {
    let scan = uc::cancel_scan(&state.store, state.clock.as_ref(), &access.group_id, &path.scan_id).await?;
    Ok(ok(ScanCancelView { scan_id: scan.id, status: scan.status }))
}

/// One scored activity item (spec S5). Fields that do not apply to the
/// item's source are null.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignalItemView {
    /// Relevance to the signal specification, 0 to 100 (see docs/decisions.md for the formula).
    #[schema(example = 82)]
    pub score: u8,
    /// Why the item got its score.
    pub reasoning: String,
    /// A short phrase for `{{ Signal }}`.
    #[schema(example = "your post \"Lessons from a year of Rust in production\"")]
    pub summary: String,
    pub title: Option<String>,
    /// When a post, job change, job posting or news item was published.
    pub posted_at: Option<String>,
    pub post_link: Option<String>,
    pub total_likes: Option<i64>,
    pub total_comments: Option<i64>,
    pub reply_summary: Option<String>,
    /// When a comment was written.
    pub commented_at: Option<String>,
    pub comment_link: Option<String>,
    pub job_url: Option<String>,
    pub company_name: Option<String>,
}

impl From<SignalItem> for SignalItemView {
    fn from(i: SignalItem) -> Self {
        Self {
            score: i.score,
            reasoning: i.reasoning,
            summary: i.summary,
            title: i.title,
            posted_at: i.posted_at.map(|t| t.to_rfc3339()),
            post_link: i.post_link,
            total_likes: i.total_likes,
            total_comments: i.total_comments,
            reply_summary: i.reply_summary,
            commented_at: i.commented_at.map(|t| t.to_rfc3339()),
            comment_link: i.comment_link,
            job_url: i.job_url,
            company_name: i.company_name,
        }
    }
}

/// The items of one source.
#[derive(Serialize, ToSchema)]
pub struct SignalGroupView {
    /// The source: `linkedin_posts`, `linkedin_comments`, `job_changes`, `company_news`, `hiring` or `funding`.
    #[serde(rename = "type")]
    #[schema(example = "linkedin_posts")]
    pub source: String,
    pub items: Vec<SignalItemView>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProspectSignalsView {
    pub prospect_id: String,
    /// `pending` until a completed evaluation exists, then `evaluated` (even with `results: []`).
    #[schema(example = "evaluated")]
    pub status: String,
    pub results: Vec<SignalGroupView>,
    /// When the evaluation the results come from completed; null while pending (an addition).
    pub evaluated_at: Option<String>,
    /// The scan that evaluated the prospect; null while pending (an addition).
    pub scan_id: Option<String>,
    /// The specification it was evaluated against; null while pending (an addition).
    pub signal_specification_id: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ProspectSignalsParams {
    /// Minimum signal score (an integer from 0 to 100) of the items returned.
    #[param(value_type = Option<u8>, minimum = 0, maximum = 100)]
    pub min_score: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProspectPath {
    #[allow(dead_code)]
    account_group_id: String,
    prospect_id: String,
}

/// Signal results of one prospect, grouped by source type.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/prospects/{prospectId}/signals", tag = "Signals",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("prospectId" = String, Path, description = "Sonarly prospect ID scoped to the account group."),
           ProspectSignalsParams),
    responses(
        (status = 200, description = "Prospect signal results", body = Envelope<ProspectSignalsView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["prospects:read"]))
)]
pub async fn prospect_signals(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<ProspectPath>,
    ApiQuery(q): ApiQuery<ProspectSignalsParams>,
) -> ApiResult {
    let min_score = parse_min_score("minScore", q.min_score.as_deref())?;
    let signals = uc::prospect_signals(&state.store, &access.group_id, &path.prospect_id, min_score).await?;
    let status = signals.status().to_owned();
    let evaluation = signals.evaluation;
    Ok(ok(ProspectSignalsView {
        prospect_id: signals.prospect_id,
        status,
        results: signals
            .groups
            .into_iter()
            .map(|g| SignalGroupView {
                source: g.source.as_str().to_owned(),
                items: g.items.into_iter().map(SignalItemView::from).collect(),
            })
            .collect(),
        evaluated_at: evaluation.as_ref().map(|e| e.evaluated_at.to_rfc3339()),
        scan_id: evaluation.as_ref().map(|e| e.scan_id.clone()),
        signal_specification_id: evaluation.map(|e| e.specification_id),
    }))
}
