//! Signal specifications (spec 2.7 T1–T3, plus create and get). They are
//! managed under `templates:*`; signal scans (`signals:*`) use them.

use super::{DeletedView, deleted, sources_schema};
use super::{vp_ids_or_null_schema, vp_ids_schema};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok, respond};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{GroupAccess, ListData, ListParams, item_key, page_request};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sonarly_app::templates::{self as uc, SIGNAL_SPECIFICATIONS_LIST};
use sonarly_domain::template::{JsonValue, Patch, SignalSpecification, SignalSpecificationInput};
use utoipa::ToSchema;

/// A signal specification used by scans and campaigns.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignalSpecificationView {
    #[schema(example = "507f1f77bcf86cd799439011")]
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    #[schema(schema_with = sources_schema)]
    pub sources: Vec<String>,
    /// Free-form specification entries, stored and returned as given.
    #[schema(value_type = Vec<serde_json::Value>)]
    pub specifications: Vec<JsonValue>,
    pub use_value_proposition: bool,
    pub value_proposition_ids: Vec<String>,
    #[schema(example = "2026-04-28T15:30:00.000Z")]
    pub created_at: String,
    /// When the specification last changed (an addition to the documented shape).
    #[schema(example = "2026-04-28T15:30:00.000Z")]
    pub updated_at: String,
}

impl From<SignalSpecification> for SignalSpecificationView {
    fn from(s: SignalSpecification) -> Self {
        Self {
            id: s.id,
            name: s.name,
            description: s.description,
            sources: s.sources.iter().map(|src| src.as_str().to_owned()).collect(),
            specifications: s.specifications,
            use_value_proposition: s.use_value_proposition,
            value_proposition_ids: s.value_proposition_ids,
            created_at: s.created_at.to_rfc3339(),
            updated_at: s.updated_at.to_rfc3339(),
        }
    }
}

/// Body of `POST …/signal-specifications`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateSignalSpecificationBody {
    /// Human-readable name for this resource (1 to 200 characters, not blank; trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// Human-readable description for this resource (up to 2,000 characters).
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(schema_with = sources_schema)]
    pub sources: Vec<String>,
    /// Free-form entries (up to 100, 64 KiB of JSON in all).
    #[schema(value_type = Option<Vec<serde_json::Value>>, max_items = 100)]
    pub specifications: Option<Vec<JsonValue>>,
    /// Default false.
    pub use_value_proposition: Option<bool>,
    #[schema(schema_with = vp_ids_or_null_schema)]
    pub value_proposition_ids: Option<Vec<String>>,
}

impl From<CreateSignalSpecificationBody> for SignalSpecificationInput {
    fn from(b: CreateSignalSpecificationBody) -> Self {
        Self {
            name: Patch::Value(b.name),
            description: Patch::from_option(b.description),
            sources: Patch::Value(b.sources),
            specifications: Patch::from_option(b.specifications),
            use_value_proposition: Patch::from_option(b.use_value_proposition),
            value_proposition_ids: Patch::from_option(b.value_proposition_ids),
        }
    }
}

/// Body of `PATCH …/signal-specifications/{specificationId}`: absent fields are
/// kept; `description: null` clears the description. `sources` is an addition
/// to the documented body.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSignalSpecificationBody {
    /// 1 to 200 characters, not blank; `null` is refused.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Patch<String>,
    /// Up to 2,000 characters; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(schema_with = sources_schema)]
    pub sources: Patch<Vec<String>>,
    /// Free-form entries (up to 100, 64 KiB of JSON in all).
    #[serde(default)]
    #[schema(value_type = Vec<serde_json::Value>, max_items = 100)]
    pub specifications: Patch<Vec<JsonValue>>,
    #[serde(default)]
    #[schema(value_type = bool)]
    pub use_value_proposition: Patch<bool>,
    #[serde(default)]
    #[schema(schema_with = vp_ids_schema)]
    pub value_proposition_ids: Patch<Vec<String>>,
}

impl From<UpdateSignalSpecificationBody> for SignalSpecificationInput {
    fn from(b: UpdateSignalSpecificationBody) -> Self {
        Self {
            name: b.name,
            description: b.description,
            sources: b.sources,
            specifications: b.specifications,
            use_value_proposition: b.use_value_proposition,
            value_proposition_ids: b.value_proposition_ids,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalSpecificationPath {
    #[allow(dead_code)]
    account_group_id: String,
    specification_id: String,
}

/// List signal specifications, newest first.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/signal-specifications", tag = "Templates",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."), ListParams),
    responses(
        (status = 200, description = "Paginated signal specifications", body = Envelope<ListData<SignalSpecificationView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:read"]))
)]
pub async fn list_signal_specifications(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult {
    let (store, group) = (&state.store, &access.group_id);
    let page = page_request(
        &state.cursors,
        SIGNAL_SPECIFICATIONS_LIST,
        q.limit.as_deref(),
        q.cursor.as_deref(),
        |id| async move { item_key(uc::get_signal_specification(store, group, &id).await, |t| t.created_at) },
    )
    .await?;
    let items = uc::list_signal_specifications(&state.store, &state.cursors, &access.group_id, &page).await?;
    Ok(ok(ListData::from_page(items, SignalSpecificationView::from)))
}

/// Create a signal specification (an addition: the docs name create among the
/// `templates:write` operations but show no page for it).
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/signal-specifications", tag = "Templates",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request.")),
    request_body = CreateSignalSpecificationBody,
    responses(
        (status = 201, description = "Signal specification created", body = Envelope<SignalSpecificationView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:write"]))
)]
pub async fn create_signal_specification(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiJson(body): ApiJson<CreateSignalSpecificationBody>,
) -> ApiResult {
    let spec =
        uc::create_signal_specification(&state.store, state.clock.as_ref(), &access.group_id, body.into()).await?;
    Ok(respond(StatusCode::CREATED, SignalSpecificationView::from(spec)))
}

/// Get a signal specification (an addition: the docs imply it but show no page).
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/signal-specifications/{specificationId}", tag = "Templates",
    params(
        ("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
        ("specificationId" = String, Path, description = "Signal specification ID used by scans and campaigns."),
    ),
    responses(
        (status = 200, description = "Signal specification details", body = Envelope<SignalSpecificationView>),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:read"]))
)]
pub async fn get_signal_specification(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<SignalSpecificationPath>,
) -> ApiResult {
    let spec = uc::get_signal_specification(&state.store, &access.group_id, &path.specification_id).await?;
    Ok(ok(SignalSpecificationView::from(spec)))
}

/// Update a signal specification; absent fields are kept.
#[utoipa::path(
    patch, path = "/v1/accounts/{accountGroupId}/signal-specifications/{specificationId}", tag = "Templates",
    params(
        ("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
        ("specificationId" = String, Path, description = "Signal specification ID used by scans and campaigns."),
    ),
    request_body = UpdateSignalSpecificationBody,
    responses(
        (status = 200, description = "Signal specification updated", body = Envelope<SignalSpecificationView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:write"]))
)]
pub async fn update_signal_specification(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<SignalSpecificationPath>,
    ApiJson(body): ApiJson<UpdateSignalSpecificationBody>,
) -> ApiResult {
    let spec = uc::update_signal_specification(
        &state.store,
        state.clock.as_ref(),
        &access.group_id,
        &path.specification_id,
        body.into(),
    )
    .await?;
    Ok(ok(SignalSpecificationView::from(spec)))
}

/// Delete a signal specification.
#[utoipa::path(
    delete, path = "/v1/accounts/{accountGroupId}/signal-specifications/{specificationId}", tag = "Templates",
    params(
        ("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
        ("specificationId" = String, Path, description = "Signal specification ID used by scans and campaigns."),
    ),
    responses(
        (status = 200, description = "Signal specification deleted", body = Envelope<DeletedView>),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "Still in use (CONFLICT)", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:write"]))
)]
pub async fn delete_signal_specification(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<SignalSpecificationPath>,
) -> ApiResult {
    uc::delete_signal_specification(&state.store, &access.group_id, &path.specification_id).await?;
    Ok(deleted())
}
