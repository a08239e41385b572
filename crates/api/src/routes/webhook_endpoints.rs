//! Webhook endpoints: CRUD, secret rotation, a test event, the attempts list
//! and redelivery of one event. The signing secret appears only in the
//! answers to create and rotate-secret.

use super::{GroupAccess, ListData, ListParams};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok, respond};
use crate::extract::{ApiJson, ApiPath, ApiQuery, parse_json};
use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sonarly_app::webhooks::{self as uc, ATTEMPTS_LIST, CreateEndpoint, ENDPOINTS_LIST, RotateSecret, UpdateEndpoint};
use sonarly_domain::page::PageRequest;
use sonarly_domain::webhooks::{WebhookAttempt, WebhookEndpoint};
use utoipa::ToSchema;

/// Body of `POST …/webhook-endpoints`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct CreateEndpointBody {
    /// Where to POST events: `https://` (plain `http://` and private addresses only when the operator allows them).
    #[schema(example = "https://hooks.example.com/sonarly", min_length = 1, max_length = 2048, pattern = "\\S")]
    pub url: String,
    /// Up to 500 characters.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[schema(schema_with = event_types_on_create)]
    pub event_types: Option<Vec<String>>,
    /// Default true.
    pub enabled: Option<bool>,
}

/// Body of `PATCH …/webhook-endpoints/{endpointId}`: absent fields are kept.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct UpdateEndpointBody {
    /// A new destination (as on create); absent keeps the current one, null is refused.
    #[schema(min_length = 1, max_length = 2048, pattern = "\\S", nullable = false)]
    pub url: Option<String>,
    /// Up to 500 characters; null clears it.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[schema(schema_with = event_types_on_update)]
    pub event_types: Option<Vec<String>>,
    /// true re-enables an endpoint the server disabled (and forgets its failures);
    /// absent keeps the current state, null is refused.
    #[schema(nullable = false)]
    pub enabled: Option<bool>,
}

/// At least one event type of the catalogue (`webhook.test` goes to tested
/// endpoints only), or null.
fn event_types(description: &str) -> utoipa::openapi::Array {
    use utoipa::openapi::schema::{ArrayBuilder, SchemaType, Type};
    let types: Vec<&str> = sonarly_domain::events::EventType::ALL
        .iter()
        .filter(|t| **t != sonarly_domain::events::EventType::WebhookTest)
        .map(|t| t.as_str())
        .collect();
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(super::contract::schemas::one_of(&types, "An event type."))
        .min_items(Some(1))
        .description(Some(description))
        .examples([serde_json::json!(["message.received", "invitation.accepted"])])
        .build()
}

fn event_types_on_create() -> utoipa::openapi::Array {
    event_types("Event types to deliver (at least one); null or absent for every type.")
}

fn event_types_on_update() -> utoipa::openapi::Array {
    event_types("Event types to deliver (at least one); null delivers every type.")
}

/// Body of `POST …/rotate-secret` (optional).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct RotateSecretBody {
    /// How long the previous secret keeps signing too, 0 to 604800 seconds (default 86400).
    #[schema(minimum = 0, maximum = 604_800)]
    pub overlap_seconds: Option<i64>,
}

/// A webhook endpoint.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
    #[schema(example = "we_01J2X3Y4Z5A6B7C8D9E0F1G2H3")]
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    /// null: every event type.
    pub event_types: Option<Vec<String>>,
    pub enabled: bool,
    /// `failing` when the server disabled it after 5 days of failures; null otherwise.
    pub disabled_reason: Option<String>,
    /// The first failure since the last success; null while healthy.
    pub failing_since: Option<String>,
    /// Until when the previous secret also signs (after a rotation); null otherwise.
    pub previous_secret_expires_at: Option<String>,
    /// The signing secret (`whsec_…`): only in the answers to create and rotate-secret. Store it; it is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl EndpointView {
    fn of(e: WebhookEndpoint, with_secret: bool) -> Self {
        Self {
            id: e.id,
            url: e.url,
            description: e.description,
            event_types: e.event_types.map(|t| t.iter().map(|t| t.as_str().to_owned()).collect()),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.map(|r| r.as_str().to_owned()),
            failing_since: e.failing_since.map(|t| t.to_rfc3339()),
            previous_secret_expires_at: e.previous_secret_expires_at.map(|t| t.to_rfc3339()),
            secret: with_secret.then_some(e.secret),
            created_at: e.created_at.to_rfc3339(),
            updated_at: e.updated_at.to_rfc3339(),
        }
    }
}

/// One delivery attempt.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    pub id: String,
    pub event_id: String,
    pub delivery_id: String,
    /// 1-based number within its delivery.
    pub attempt: i64,
    /// `in_flight`, `succeeded` or `failed`.
    pub status: String,
    pub response_status: Option<i64>,
    /// The first 1 KiB of the answer.
    pub response_body: Option<String>,
    /// Why it failed (network error, refusal, interruption), when not an HTTP answer.
    pub error: Option<String>,
    pub latency_ms: Option<i64>,
    pub started_at: String,
    pub finished_at: Option<String>,
}

impl From<WebhookAttempt> for AttemptView {
    fn from(a: WebhookAttempt) -> Self {
        Self {
            id: a.id,
            event_id: a.event_id,
            delivery_id: a.delivery_id,
            attempt: a.attempt,
            status: a.status.as_str().to_owned(),
            response_status: a.response_status,
            response_body: a.response_body,
            error: a.error,
            latency_ms: a.latency_ms,
            started_at: a.started_at.to_rfc3339(),
            finished_at: a.finished_at.map(|t| t.to_rfc3339()),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestQueuedView {
    /// The `webhook.test` event queued to this endpoint.
    pub event_id: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedeliveryView {
    pub delivery_id: String,
    pub event_id: String,
    pub endpoint_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct EndpointDeletedView {
    /// Always true.
    pub deleted: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointPath {
    #[allow(dead_code)]
    account_group_id: String,
    endpoint_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedeliverPath {
    #[allow(dead_code)]
    account_group_id: String,
    endpoint_id: String,
    event_id: String,
}

/// Create a webhook endpoint. The answer holds its signing secret, shown this once.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/webhook-endpoints", tag = "Webhooks",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request.")),
    request_body = CreateEndpointBody,
    responses(
        (status = 201, description = "Endpoint created (with its secret)", body = Envelope<EndpointView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "The group has 20 endpoints already", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["webhooks:write"]))
)]
pub async fn create_endpoint(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiJson(body): ApiJson<CreateEndpoint>,
) -> ApiResult {
    let endpoint =
        uc::create_endpoint(&state.store, state.clock.as_ref(), state.webhook_policy, &access.group_id, &body).await?;
    Ok(respond(StatusCode::CREATED, EndpointView::of(endpoint, true)))
}

/// List webhook endpoints, newest first.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/webhook-endpoints", tag = "Webhooks",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."), ListParams),
    responses(
        (status = 200, description = "Paginated endpoints", body = Envelope<ListData<EndpointView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["webhooks:read"]))
)]
pub async fn list_endpoints(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult {
    let page = PageRequest::parse(&state.cursors, ENDPOINTS_LIST, q.limit.as_deref(), q.cursor.as_deref())?;
    let endpoints = uc::list_endpoints(&state.store, &state.cursors, &access.group_id, &page).await?;
    Ok(ok(ListData::from_page(endpoints, |e| EndpointView::of(e, false))))
}

/// Get a webhook endpoint (never its secret).
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}", tag = "Webhooks",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("endpointId" = String, Path, description = "Webhook endpoint ID.")),
    responses(
        (status = 200, description = "The endpoint", body = Envelope<EndpointView>),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["webhooks:read"]))
)]
pub async fn get_endpoint(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<EndpointPath>,
) -> ApiResult {
    let endpoint = uc::get_endpoint(&state.store, &access.group_id, &path.endpoint_id).await?;
    Ok(ok(EndpointView::of(endpoint, false)))
}

/// Update a webhook endpoint; `enabled: true` re-enables one the server disabled.
#[utoipa::path(
    patch, path = "/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}", tag = "Webhooks",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("endpointId" = String, Path, description = "Webhook endpoint ID.")),
    request_body = UpdateEndpointBody,
    responses(
        (status = 200, description = "The updated endpoint", body = Envelope<EndpointView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["webhooks:write"]))
)]
pub async fn update_endpoint(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<EndpointPath>,
    ApiJson(body): ApiJson<UpdateEndpoint>,
) -> ApiResult {
    let endpoint = uc::update_endpoint(
        &state.store,
        state.clock.as_ref(),
        state.webhook_policy,
        &access.group_id,
        &path.endpoint_id,
        &body,
    )
    .await?;
    Ok(ok(EndpointView::of(endpoint, false)))
}

/// Delete a webhook endpoint; pending deliveries to it are dropped.
#[utoipa::path(
    delete, path = "/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}", tag = "Webhooks",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("endpointId" = String, Path, description = "Webhook endpoint ID.")),
    responses(
        (status = 200, description = "Endpoint deleted", body = Envelope<EndpointDeletedView>),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["webhooks:write"]))
)]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<EndpointPath>,
) -> ApiResult {
    uc::delete_endpoint(&state.store, &access.group_id, &path.endpoint_id).await?;
    Ok(ok(EndpointDeletedView { deleted: true }))
}

/// Replace the signing secret. The previous secret keeps signing (a second
/// signature in `webhook-signature`) for `overlapSeconds`. The answer holds
/// the new secret, shown this once.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}/rotate-secret", tag = "Webhooks",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("endpointId" = String, Path, description = "Webhook endpoint ID.")),
    request_body(content = Option<RotateSecretBody>, description = "Optional."),
    responses(
        (status = 200, description = "The endpoint with its new secret", body = Envelope<EndpointView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["webhooks:write"]))
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<EndpointPath>,
    body: Bytes,
) -> ApiResult {
    let body: RotateSecret =
        if body.iter().all(u8::is_ascii_whitespace) { RotateSecret::default() } else { parse_json(&body)? };
    let endpoint =
        uc::rotate_secret(&state.store, state.clock.as_ref(), &access.group_id, &path.endpoint_id, &body).await?;
    Ok(ok(EndpointView::of(endpoint, true)))
}

/// Send a `webhook.test` event to this endpoint (only).
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}/test", tag = "Webhooks",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("endpointId" = String, Path, description = "Webhook endpoint ID.")),
    responses(
        (status = 202, description = "Test event queued", body = Envelope<TestQueuedView>),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "The endpoint is disabled", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["webhooks:write"]))
)]
pub async fn test_endpoint(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<EndpointPath>,
) -> ApiResult {
    let event_id = uc::send_test(&state.store, state.clock.as_ref(), &access.group_id, &path.endpoint_id).await?;
    Ok(respond(StatusCode::ACCEPTED, TestQueuedView { event_id }))
}

/// List the endpoint's delivery attempts, newest first.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}/attempts", tag = "Webhooks",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("endpointId" = String, Path, description = "Webhook endpoint ID."), ListParams),
    responses(
        (status = 200, description = "Paginated attempts", body = Envelope<ListData<AttemptView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["webhooks:read"]))
)]
pub async fn list_attempts(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<EndpointPath>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult {
    let page = PageRequest::parse(&state.cursors, ATTEMPTS_LIST, q.limit.as_deref(), q.cursor.as_deref())?;
    let attempts = uc::list_attempts(&state.store, &state.cursors, &access.group_id, &path.endpoint_id, &page).await?;
    Ok(ok(ListData::from_page(attempts, AttemptView::from)))
}

/// Send one stored event to this endpoint again (a new delivery with its own retries).
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}/events/{eventId}/redeliver", tag = "Webhooks",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("endpointId" = String, Path, description = "Webhook endpoint ID."),
           ("eventId" = String, Path, description = "Event ID (`evt_…`).")),
    responses(
        (status = 202, description = "Redelivery queued", body = Envelope<RedeliveryView>),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "The endpoint is disabled", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["webhooks:write"]))
)]
pub async fn redeliver(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<RedeliverPath>,
) -> ApiResult {
    let delivery_id =
        uc::redeliver(&state.store, state.clock.as_ref(), &access.group_id, &path.endpoint_id, &path.event_id).await?;
    Ok(respond(
        StatusCode::ACCEPTED,
        RedeliveryView { delivery_id, event_id: path.event_id, endpoint_id: path.endpoint_id },
    ))
}
