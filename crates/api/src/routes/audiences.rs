//! Audience reads (spec 2.2 A1, A4). Writes arrive with the audiences issue.

use super::{GroupAccess, ListData, ListParams, item_key, page_request};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok, respond};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sonarly_app::audiences as uc;
use sonarly_app::audiences::{AUDIENCES_LIST, get_ready, list_ready};
use sonarly_domain::folder::AudienceFolder;
use sonarly_domain::models::Audience;
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
            audience_type: a.audience_type.as_str().to_owned(),
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
    let (store, group) = (&state.store, &access.group_id);
    let page = page_request(&state.cursors, AUDIENCES_LIST, q.limit.as_deref(), q.cursor.as_deref(), |id| async move {
        item_key(get_ready(store, group, &id).await, |a| a.created_at)
    })
    .await?;
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

/// Distinguishes an absent field (`None`) from an explicit null (`Some(None)`).
fn double_option<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateAudienceBody {
    /// Human-readable name (1 to 200 characters, not blank; trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// Up to 2,000 characters.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[serde(rename = "type")]
    #[schema(schema_with = audience_kind)]
    pub audience_type: String,
}

fn audience_kind() -> utoipa::openapi::Object {
    super::contract::schemas::one_of(
        &sonarly_domain::folder::AudienceKind::ALL.map(sonarly_domain::folder::AudienceKind::as_str),
        "The kind of audience (or of the audiences a folder holds).",
    )
}

/// At least one of `name` and `description` is required (else 422).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateAudienceBody {
    /// Human-readable name (1 to 200 characters, not blank; trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Option<String>,
    /// Up to 2,000 characters; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Option<Option<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct DeletedView {
    pub deleted: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MoveToFolderBody {
    /// A folder of this account group (1 to 100 characters).
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub folder_id: String,
}

/// Create an audience.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/audiences", tag = "Audiences",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request.")),
    request_body = CreateAudienceBody,
    responses(
        (status = 201, description = "Audience created", body = Envelope<AudienceView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["audiences:write"]))
)]
pub async fn create_audience(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiJson(body): ApiJson<CreateAudienceBody>,
) -> ApiResult {
    let audience = uc::create(
        &state.store,
        state.clock.as_ref(),
        &access.group_id,
        &body.name,
        body.description.as_deref(),
        &body.audience_type,
    )
    .await?;
    Ok(respond(StatusCode::CREATED, AudienceView::from(audience)))
}

/// Update an audience's name or description.
#[utoipa::path(
    patch, path = "/v1/accounts/{accountGroupId}/audiences/{audienceId}", tag = "Audiences",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("audienceId" = String, Path, description = "Audience ID.")),
    request_body = UpdateAudienceBody,
    responses(
        (status = 200, description = "Audience updated", body = Envelope<AudienceView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "AUDIENCE_NOT_READY", body = ErrorEnvelope),
        (status = 422, description = "Audience update failed validation", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["audiences:write"]))
)]
pub async fn update_audience(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<AudiencePath>,
    ApiJson(body): ApiJson<UpdateAudienceBody>,
) -> ApiResult {
    let description = body.description.as_ref().map(|d| d.as_deref());
    let audience = uc::update(
        &state.store,
        state.clock.as_ref(),
        &access.group_id,
        &path.audience_id,
        body.name.as_deref(),
        description,
    )
    .await?;
    Ok(ok(AudienceView::from(audience)))
}

/// Delete an audience.
///
/// Not while a prospecting job fills it (409 AUDIENCE_NOT_READY), nor while an
/// active campaign uses it (409 CONFLICT; `error.details` lists the campaign
/// ids: stop them first). Draft, stopped and completed campaigns keep their
/// `audienceId` after the audience is deleted.
#[utoipa::path(
    delete, path = "/v1/accounts/{accountGroupId}/audiences/{audienceId}", tag = "Audiences",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("audienceId" = String, Path, description = "Audience ID.")),
    responses(
        (status = 200, description = "Deleted", body = Envelope<DeletedView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "Audience is still being populated by an active prospecting job (AUDIENCE_NOT_READY), or active campaigns use it (CONFLICT, details name the campaigns)", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["audiences:write"]))
)]
pub async fn delete_audience(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<AudiencePath>,
) -> ApiResult {
    uc::delete(&state.store, &access.group_id, &path.audience_id).await?;
    Ok(ok(DeletedView { deleted: true }))
}

/// Move an audience into a folder of a compatible type.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/audiences/{audienceId}/move-to-folder", tag = "Audiences",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("audienceId" = String, Path, description = "Audience ID.")),
    request_body = MoveToFolderBody,
    responses(
        (status = 200, description = "Audience moved", body = Envelope<AudienceView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "AUDIENCE_NOT_READY", body = ErrorEnvelope),
        (status = 422, description = "Folder move failed validation", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["audiences:write"]))
)]
pub async fn move_to_folder(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<AudiencePath>,
    ApiJson(body): ApiJson<MoveToFolderBody>,
) -> ApiResult {
    let audience =
        uc::move_to_folder(&state.store, state.clock.as_ref(), &access.group_id, &path.audience_id, &body.folder_id)
            .await?;
    Ok(ok(AudienceView::from(audience)))
}

/// Take an audience out of its folder.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/audiences/{audienceId}/remove-from-folder", tag = "Audiences",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("audienceId" = String, Path, description = "Audience ID.")),
    responses(
        (status = 200, description = "Audience removed from its folder", body = Envelope<AudienceView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 409, description = "AUDIENCE_NOT_READY", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["audiences:write"]))
)]
pub async fn remove_from_folder(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<AudiencePath>,
) -> ApiResult {
    let audience =
        uc::remove_from_folder(&state.store, state.clock.as_ref(), &access.group_id, &path.audience_id).await?;
    Ok(ok(AudienceView::from(audience)))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FolderView {
    pub id: String,
    pub name: String,
    pub audience_type: String,
    pub is_pinned: bool,
    pub position: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<AudienceFolder> for FolderView {
    fn from(f: AudienceFolder) -> Self {
        Self {
            id: f.id,
            name: f.name,
            audience_type: f.audience_type.as_str().to_owned(),
            is_pinned: f.is_pinned,
            position: f.position,
            created_at: f.created_at.to_rfc3339(),
            updated_at: f.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateFolderBody {
    /// Human-readable name (1 to 200 characters, not blank; trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    #[schema(schema_with = audience_kind)]
    pub audience_type: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RenameFolderBody {
    /// Human-readable name (1 to 200 characters, not blank; trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FolderPath {
    #[allow(dead_code)]
    account_group_id: String,
    folder_id: String,
}

/// Create an audience folder.
#[utoipa::path(
    post, path = "/v1/accounts/{accountGroupId}/audiences/folders", tag = "Audiences",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request.")),
    request_body = CreateFolderBody,
    responses(
        (status = 201, description = "Folder created", body = Envelope<FolderView>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["audiences:write"]))
)]
pub async fn create_folder(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiJson(body): ApiJson<CreateFolderBody>,
) -> ApiResult {
    let folder =
        uc::create_folder(&state.store, state.clock.as_ref(), &access.group_id, &body.name, &body.audience_type)
            .await?;
    Ok(respond(StatusCode::CREATED, FolderView::from(folder)))
}

/// Rename an audience folder.
#[utoipa::path(
    patch, path = "/v1/accounts/{accountGroupId}/audiences/folders/{folderId}", tag = "Audiences",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request."),
           ("folderId" = String, Path, description = "Folder ID.")),
    request_body = RenameFolderBody,
    responses(
        (status = 200, description = "Folder renamed", body = Envelope<FolderView>),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = ["audiences:write"]))
)]
pub async fn rename_folder(
    State(state): State<AppState>,
    access: GroupAccess,
    ApiPath(path): ApiPath<FolderPath>,
    ApiJson(body): ApiJson<RenameFolderBody>,
) -> ApiResult {
    let folder =
        uc::rename_folder(&state.store, state.clock.as_ref(), &access.group_id, &path.folder_id, &body.name).await?;
    Ok(ok(FolderView::from(folder)))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NavigationFolderView {
    #[serde(flatten)]
    pub folder: FolderView,
    pub audiences: Vec<AudienceView>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NavigationView {
    pub folders: Vec<NavigationFolderView>,
    pub ungrouped_audiences: Vec<AudienceView>,
}

/// Folders with their audiences plus ungrouped audiences (ready ones only).
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}/audiences/navigation", tag = "Audiences",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request.")),
    responses((status = 200, description = "Navigation", body = Envelope<NavigationView>)),
    security(("bearerAuth" = ["audiences:read"]))
)]
pub async fn navigation(State(state): State<AppState>, access: GroupAccess) -> ApiResult {
    let (folders, ungrouped) = uc::navigation(&state.store, &access.group_id).await?;
    Ok(ok(NavigationView {
        folders: folders
            .into_iter()
            .map(|(f, audiences)| NavigationFolderView {
                folder: FolderView::from(f),
                audiences: audiences.into_iter().map(AudienceView::from).collect(),
            })
            .collect(),
        ungrouped_audiences: ungrouped.into_iter().map(AudienceView::from).collect(),
    }))
}
