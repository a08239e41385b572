//! Value propositions (spec 2.7 T4–T7, plus create).

use super::{DeletedView, deleted, value_items_or_null_schema, value_items_schema};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok, respond};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{GroupAccess, ListData, ListParams, item_key, page_request};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sonarly_app::templates::{self as uc, VALUE_PROPOSITIONS_LIST};
use sonarly_domain::template::{Patch, ValueProposition, ValuePropositionInput};
use utoipa::ToSchema;

/// A value proposition used for campaign messaging.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValuePropositionView {
    #[schema(example = "507f1f77bcf86cd799439011")]
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub values: Vec<String>,
    pub challenges: Vec<String>,
    #[schema(example = "2026-04-28T15:30:00.000Z")]
    pub created_at: String,
    /// When the value proposition last changed (an addition to the documented shape).
    #[schema(example = "2026-04-28T15:30:00.000Z")]
    pub updated_at: String,
}

impl From<ValueProposition> for ValuePropositionView {
    fn from(v: ValueProposition) -> Self {
        Self {
            id: v.id,
            name: v.name,
            description: v.description,
            values: v.values,
            challenges: v.challenges,
            created_at: v.created_at.to_rfc3339(),
            updated_at: v.updated_at.to_rfc3339(),
        }
    }
}

/// Body of `POST …/value-propositions`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateValuePropositionBody {
    /// Human-readable name for this resource (1 to 200 characters, not blank; trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// Human-readable description for this resource (up to 2,000 characters).
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(schema_with = value_items_or_null_schema)]
    pub values: Option<Vec<String>>,
    #[schema(schema_with = value_items_or_null_schema)]
    pub challenges: Option<Vec<String>>,
}

impl From<CreateValuePropositionBody> for ValuePropositionInput {
    fn from(b: CreateValuePropositionBody) -> Self {
        Self {
            name: Patch::Value(b.name),
            description: Patch::from_option(b.description),
            values: Patch::from_option(b.values),
            challenges: Patch::from_option(b.challenges),
        }
    }
}

/// Body of `PATCH …/value-propositions/{valuePropositionId}`: absent fields are
/// kept; `description: null` clears the description.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateValuePropositionBody {
    /// 1 to 200 characters, not blank; `null` is refused.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Patch<String>,
    /// Up to 2,000 characters; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(schema_with = value_items_schema)]
    pub values: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(schema_with = value_items_schema)]
    pub challenges: Patch<Vec<String>>,
}

impl From<UpdateValuePropositionBody> for ValuePropositionInput {
    fn from(b: UpdateValuePropositionBody) -> Self {
        Self { name: b.name, description: b.description, values: b.values, challenges: b.challenges }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValuePropositionPath {
    #[allow(dead_code)]
    account_group_id: String,
    value_proposition_id: String,
}

/// List value propositions, newest first.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/value-propositions", tag = "Templates",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."), ListParams),
    responses(
        (status = 200, description = "Paginated value propositions", body = Envelope<ListData<ValuePropositionView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:read"]))
)]
pub async fn list_value_propositions(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult {
    let (store, group) = (&state.store, &access.group_id);
    let page = page_request(
        &state.cursors,
        VALUE_PROPOSITIONS_LIST,
        q.limit.as_deref(),
        q.cursor.as_deref(),
        |id| async move { item_key(uc::get_value_proposition(store, group, &id).await, |t| t.created_at) },
    )
    .await?;
    let items = uc::list_value_propositions(&state.store, &state.cursors, &access.group_id, &page).await?;
    Ok(ok(ListData::from_page(items, ValuePropositionView::from)))
}

/// Create a value proposition (an addition: the docs name create among the
/// `templates:write` operations but show no page for it).
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/value-propositions", tag = "Templates",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request.")),
    request_body = CreateValuePropositionBody,
    responses(
        (status = 201, description = "Value proposition created", body = Envelope<ValuePropositionView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:write"]))
)]
pub async fn create_value_proposition(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiJson(body): ApiJson<CreateValuePropositionBody>,
) -> ApiResult {
    let vp = uc::create_value_proposition(&state.store, state.clock.as_ref(), &access.group_id, body.into()).await?;
    Ok(respond(StatusCode::CREATED, ValuePropositionView::from(vp)))
}

/// Get a value proposition.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/value-propositions/{valuePropositionId}", tag = "Templates",
    params(
        ("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
        ("valuePropositionId" = String, Path, description = "Value proposition ID used for campaign messaging."),
    ),
    responses(
        (status = 200, description = "Value proposition details", body = Envelope<ValuePropositionView>),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:read"]))
)]
pub async fn get_value_proposition(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<ValuePropositionPath>,
) -> ApiResult {
    let vp = uc::get_value_proposition(&state.store, &access.group_id, &path.value_proposition_id).await?;
    Ok(ok(ValuePropositionView::from(vp)))
}

/// Update a value proposition; absent fields are kept.
#[utoipa::path(
    patch, path = "/v1/accounts/{accountGroupId}/value-propositions/{valuePropositionId}", tag = "Templates",
    params(
        ("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
        ("valuePropositionId" = String, Path, description = "Value proposition ID used for campaign messaging."),
    ),
    request_body = UpdateValuePropositionBody,
    responses(
        (status = 200, description = "Value proposition updated", body = Envelope<ValuePropositionView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:write"]))
)]
pub async fn update_value_proposition(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<ValuePropositionPath>,
    ApiJson(body): ApiJson<UpdateValuePropositionBody>,
) -> ApiResult {
    let vp = uc::update_value_proposition(
        &state.store,
        state.clock.as_ref(),
        &access.group_id,
        &path.value_proposition_id,
        body.into(),
    )
    .await?;
    Ok(ok(ValuePropositionView::from(vp)))
}

/// Delete a value proposition. One still used by a writing style or a signal
/// specification answers 409 CONFLICT naming its users.
#[utoipa::path(
    delete, path = "/v1/accounts/{accountGroupId}/value-propositions/{valuePropositionId}", tag = "Templates",
    params(
        ("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
        ("valuePropositionId" = String, Path, description = "Value proposition ID used for campaign messaging."),
    ),
    responses(
        (status = 200, description = "Value proposition deleted", body = Envelope<DeletedView>),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "Still used by a writing style or signal specification (CONFLICT)", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["templates:write"]))
)]
pub async fn delete_value_proposition(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<ValuePropositionPath>,
) -> ApiResult {
    uc::delete_value_proposition(&state.store, &access.group_id, &path.value_proposition_id).await?;
    Ok(deleted())
}
