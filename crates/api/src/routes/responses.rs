//! Scheduled message responses (spec 2.4 M2) plus the added list, get and cancel.

use super::contract::schemas::one_of;
use super::{GroupAccess, ListData, item_key, page_request};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok, respond};
use crate::extract::{ApiPath, ApiQuery, HashedJson, idempotency_key};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use sonarly_app::responses::{self as uc, QueueResponseRequest, RESPONSES_LIST};
use sonarly_domain::linkedin_account::DeferredReason;
use sonarly_domain::responses::{ResponseChannel, ResponseStatus, ScheduledResponse};
use utoipa::{IntoParams, ToSchema};

// The route deserializes this type, so the schema documents what is parsed.
// `prospectId` and `message` are optional to serde so that a missing one is
// reported beside every other problem; the schema still lists them as required.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueResponseBody {
    /// Sonarly prospect ID scoped to the account group (1 to 100 characters;
    /// one that names no prospect here is 422).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = "\\S")]
    pub prospect_id: Option<String>,
    /// Message body to queue (not blank): at most 8,000 characters for a
    /// direct message and 1,900 for an InMail (LinkedIn's limits; longer is 422).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 8000, pattern = "\\S")]
    pub message: Option<String>,
    #[schema(schema_with = response_channel)]
    pub channel: Option<String>,
    /// Existing conversation ID when responding in a direct message thread
    /// (up to 100 characters; one that is not the group's is 422).
    #[schema(max_length = 100)]
    pub conversation_id: Option<String>,
    /// InMail subject line: required (not blank) when `channel` is `inmail`;
    /// at most 200 characters (longer is 422).
    #[schema(max_length = 200)]
    pub subject: Option<String>,
}

impl From<QueueResponseBody> for QueueResponseRequest {
    fn from(body: QueueResponseBody) -> Self {
        let QueueResponseBody { prospect_id, message, channel, conversation_id, subject } = body;
        Self { prospect_id, message, channel, conversation_id, subject }
    }
}

fn response_channel() -> utoipa::openapi::Object {
    one_of(
        &ResponseChannel::ALL.map(ResponseChannel::as_str),
        "`direct_message` (default) for a connected prospect or an existing conversation; `inmail` (with a \
         `subject`) for a new conversation through an account with InMail credits.",
    )
}

fn deferred_reason() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    let either = OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(one_of(
            &DeferredReason::ALL.map(DeferredReason::as_str),
            "`working_hours` (outside the seat's working hours), `daily_cap` (the day's cap for the kind), \
             `weekly_cap` (the rolling week's invitation cap), `spacing` (the random gap between two actions of \
             the seat), `rate_limited` (LinkedIn asked the seat to slow down) or `seat_paused` (the kind is \
             paused for the seat after a LinkedIn limit).",
        ))
        .description(Some("Why the response waits: the safety rule that last moved `scheduledAt`; null when none did."))
        .build();
    Schema::OneOf(either)
}

fn response_status() -> utoipa::openapi::Object {
    one_of(&ResponseStatus::ALL.map(ResponseStatus::as_str), "A scheduled response status.")
}

/// Ids in the body longer than any id this server issues are refused with 400
/// before the use case looks them up.
fn check_body_ids(body: &QueueResponseRequest) -> Result<(), sonarly_domain::DomainError> {
    let issues: Vec<sonarly_domain::FieldIssue> =
        [("prospectId", &body.prospect_id), ("conversationId", &body.conversation_id)]
            .into_iter()
            .filter(|(_, v)| v.as_deref().is_some_and(|v| v.chars().count() > 100))
            .map(|(field, _)| sonarly_domain::FieldIssue::new(field, "must be at most 100 characters"))
            .collect();
    if issues.is_empty() { Ok(()) } else { Err(sonarly_domain::DomainError::invalid(issues)) }
}

#[derive(Serialize, ToSchema)]
pub struct FailureView {
    pub code: String,
    pub message: String,
}

/// A scheduled response.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledResponseView {
    pub id: String,
    /// `queued`, `sending`, `sent`, `failed` or `cancelled`.
    #[schema(value_type = String)]
    pub status: ResponseStatus,
    pub scheduled_at: String,
    pub sent_at: Option<String>,
    #[schema(value_type = String)]
    pub channel: ResponseChannel,
    pub conversation_id: Option<String>,
    pub message_id: Option<String>,
    pub idempotency_key: Option<String>,
    /// True when a safety rule (working hours, caps, spacing, a LinkedIn rate limit) moved `scheduledAt`.
    pub deferred: bool,
    /// Why it waits: the safety rule that last moved `scheduledAt`; null when none did.
    #[schema(schema_with = deferred_reason)]
    pub deferred_reason: Option<DeferredReason>,
    pub prospect_id: String,
    pub account_id: String,
    pub failure: Option<FailureView>,
    pub created_at: String,
}

impl From<ScheduledResponse> for ScheduledResponseView {
    fn from(r: ScheduledResponse) -> Self {
        Self {
            id: r.id,
            status: r.status,
            scheduled_at: r.scheduled_at.to_rfc3339(),
            sent_at: r.sent_at.map(|t| t.to_rfc3339()),
            channel: r.channel,
            conversation_id: r.conversation_id,
            message_id: r.message_id,
            idempotency_key: r.idempotency_key,
            deferred: r.deferred,
            deferred_reason: r.deferred_reason,
            prospect_id: r.prospect_id,
            account_id: r.linkedin_account_id,
            failure: match (r.failure_code, r.failure_message) {
                (Some(code), Some(message)) => Some(FailureView { code, message }),
                _ => None,
            },
            created_at: r.created_at.to_rfc3339(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResponseListParams {
    /// Opaque pagination cursor returned by the previous page (`nextCursor`),
    /// or the id of an item of this list: the page then starts after that item.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
    /// Maximum number of items to return in this page (1 to 100, default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Only responses in this status.
    #[param(schema_with = response_status)]
    pub status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponsePath {
    #[allow(dead_code)]
    account_group_id: String,
    response_id: String,
}

/// Queue a reply through the outbound scheduler (never sent synchronously).
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/messages/responses", tag = "Messages",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 256, pattern = "^[\\x21-\\x7E]+$", description = "1 to 256 visible ASCII characters (no spaces), kept 24 hours: a retry with the same key and body answers the original request; another body is 409 IDEMPOTENCY_CONFLICT.")),
    request_body = QueueResponseBody,
    responses(
        (status = 202, description = "Queued or scheduled outbound message response", body = Envelope<ScheduledResponseView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 409, description = "Conflict (IDEMPOTENCY_CONFLICT, account not connected)", body = ErrorEnvelope),
        (status = 422, description = "Request validation failed (business rules)", body = ErrorEnvelope),
        (status = 502, description = "Upstream service error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["messages:write"]))
)]
pub async fn queue_response(
    State(state): State<AppState>,
    access: GroupAccess,
    headers: HeaderMap,
    HashedJson(body, hash): HashedJson<QueueResponseBody>,
) -> ApiResult {
    let key = idempotency_key(&headers)?;
    let body = QueueResponseRequest::from(body);
    check_body_ids(&body)?;
    let idempotency = key.as_deref().map(|k| (k, hash.as_str()));
    let response =
        uc::queue_response(&state.store, &state.registry, state.clock.as_ref(), &access.group_id, &body, idempotency)
            .await?;
    Ok(respond(StatusCode::ACCEPTED, ScheduledResponseView::from(response)))
}

/// List scheduled responses, newest first (an addition to the documented API).
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/messages/responses", tag = "Messages",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."), ResponseListParams),
    responses(
        (status = 200, description = "Scheduled responses", body = Envelope<ListData<ScheduledResponseView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["messages:read"]))
)]
pub async fn list_responses(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiQuery(q): ApiQuery<ResponseListParams>,
) -> ApiResult {
    let (store, group) = (&state.store, &access.group_id);
    let page = page_request(&state.cursors, RESPONSES_LIST, q.limit.as_deref(), q.cursor.as_deref(), |id| async move {
        item_key(uc::get_response(store, group, &id).await, |r| r.created_at)
    })
    .await?;
    let rows = uc::list_responses(&state.store, &state.cursors, &access.group_id, q.status.as_deref(), &page).await?;
    Ok(ok(ListData::from_page(rows, ScheduledResponseView::from)))
}

/// Get one scheduled response (an addition to the documented API).
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/messages/responses/{responseId}", tag = "Messages",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("responseId" = String, Path, description = "Scheduled response ID.")),
    responses(
        (status = 200, description = "The scheduled response", body = Envelope<ScheduledResponseView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["messages:read"]))
)]
pub async fn get_response(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<ResponsePath>,
) -> ApiResult {
    Ok(ok(ScheduledResponseView::from(uc::get_response(&state.store, &access.group_id, &path.response_id).await?)))
}

/// Cancel a queued response (an addition to the documented API).
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/messages/responses/{responseId}/cancel", tag = "Messages",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("responseId" = String, Path, description = "Scheduled response ID.")),
    responses(
        (status = 200, description = "Cancelled", body = Envelope<ScheduledResponseView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 422, description = "Not cancellable (only queued responses are)", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["messages:write"]))
)]
pub async fn cancel_response(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<ResponsePath>,
) -> ApiResult {
    let r = uc::cancel_response(&state.store, state.clock.as_ref(), &access.group_id, &path.response_id).await?;
    Ok(ok(ScheduledResponseView::from(r)))
}
