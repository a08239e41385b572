//! Audience reads (spec 2.2 A1, A4). Writes arrive with the audiences issue.

use super::{GroupAccess, ListData, ListParams};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok};
use crate::extract::{ApiPath, ApiQuery};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use sonarly_app::audiences::{AUDIENCES_LIST, get_ready, list_ready};
use sonarly_domain::models::Audience;
use sonarly_domain::page::PageRequest;
use utoipa::ToSchema;

/// An audience (an imported prospect list).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AudienceView {
    #[schema(example = "aud_01HYR8B9P4D6Y2A7C3E1F0G5H9")]
    pub id: String,
    pub name: String,
    /// `on_demand` or `monitoring` for audiences created directly, else the
    /// prospecting source that filled it (`linkedin_search`, …).
    #[serde(rename = "type")]
    #[schema(example = "linkedin_search")]
    pub audience_type: String,
    pub description: Option<String>,
    pub folder_id: Option<String>,
    pub prospect_count: i64,
    #[schema(example = "2026-05-02T09:30:00.000Z")]
    pub created_at: String,
}

impl From<Audience> for AudienceView {
    fn from(a: Audience) -> Self {
        Self {
            id: a.id,
            name: a.name,
            audience_type: a.audience_type,
            description: a.description,
            folder_id: a.folder_id,
            prospect_count: a.prospect_count,
            created_at: a.created_at.to_rfc3339(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudiencePath {
    #[allow(dead_code)]
    account_group_id: String,
    audience_id: String,
}

/// List audiences that are ready for use (not being filled by an active job).
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/audiences", tag = "Audiences",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."), ListParams),
    responses(
        (status = 200, description = "Paginated audiences, newest first", body = Envelope<ListData<AudienceView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["audiences:read"]))
)]
pub async fn list_audiences(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult {
    let page = PageRequest::parse(&state.cursors, AUDIENCES_LIST, q.limit.as_deref(), q.cursor.as_deref())?;
    let audiences = list_ready(&state.store, &state.cursors, &access.group_id, &page).await?;
    Ok(ok(ListData::from_page(audiences, AudienceView::from)))
}

/// Get a single audience.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/audiences/{audienceId}", tag = "Audiences",
    params(
        ("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
        ("audienceId" = String, Path, description = "Audience ID that identifies the list or folder target."),
    ),
    responses(
        (status = 200, description = "Audience details", body = Envelope<AudienceView>),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 403, description = "Missing required permission", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "Audience is still being populated by an active prospecting job (AUDIENCE_NOT_READY)", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["audiences:read"]))
)]
pub async fn get_audience(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<AudiencePath>,
) -> ApiResult {
    let audience = get_ready(&state.store, &access.group_id, &path.audience_id).await?;
    Ok(ok(AudienceView::from(audience)))
}
