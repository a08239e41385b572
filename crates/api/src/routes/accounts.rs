//! `GET /v1/accounts` and `GET /v1/accounts/{accountGroupId}`.

use super::{Caller, GroupAccess, ListData, ListParams, item_key, page_request};
use crate::AppState;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok};
use crate::extract::ApiQuery;
use axum::extract::State;
use serde::Serialize;
use sonarly_app::accounts::{ACCOUNTS_LIST, get_accessible, list_accessible};
use sonarly_domain::GroupId;
use sonarly_domain::models::AccountGroup;
use utoipa::ToSchema;

/// An account group.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    #[schema(example = "507f1f77bcf86cd799439011")]
    pub id: String,
    pub name: String,
    #[schema(example = "2026-05-01T12:00:00.000Z")]
    pub created_at: String,
}

impl From<AccountGroup> for AccountView {
    fn from(g: AccountGroup) -> Self {
        Self { id: g.id.into_string(), name: g.name, created_at: g.created_at.to_rfc3339() }
    }
}

/// List the account groups this API key can access (any valid key).
#[utoipa::path(
    get, path = "/v1/accounts", tag = "Accounts",
    params(ListParams),
    responses(
        (status = 200, description = "Account groups, newest first", body = Envelope<ListData<AccountView>>),
        (status = 400, description = "Request validation failed", body = ErrorEnvelope),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = []))
)]
pub async fn list_accounts(
    State(state): State<AppState>,
    Caller(key): Caller,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult {
    let (store, caller) = (&state.store, &key);
    let page = page_request(&state.cursors, ACCOUNTS_LIST, q.limit.as_deref(), q.cursor.as_deref(), |id| async move {
        item_key(get_accessible(store, caller, &GroupId::new(id)).await, |g| g.created_at)
    })
    .await?;
    let groups = list_accessible(&state.store, &state.cursors, &key, &page).await?;
    Ok(ok(ListData::from_page(groups, AccountView::from)))
}

/// Get one account group this API key can access.
#[utoipa::path(
    get, path = "/v1/accounts/{accountGroupId}", tag = "Accounts",
    params(("accountGroupId" = String, Path, description = "Account group ID that scopes the request.")),
    responses(
        (status = 200, description = "The account group", body = Envelope<AccountView>),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 404, description = "Resource not found", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = []))
)]
pub async fn get_account(State(state): State<AppState>, access: GroupAccess) -> ApiResult {
    let group = get_accessible(&state.store, &access.key, &access.group_id).await?;
    Ok(ok(AccountView::from(group)))
}
