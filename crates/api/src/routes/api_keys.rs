//! `GET /v1/api-keys/current`: the calling key as the server sees it (an addition to the
//! documented API for the console; see docs/decisions.md "Additions for the console").

use super::Caller;
use crate::envelope::{ApiResult, Envelope, ErrorEnvelope, ok};
use serde::Serialize;
use sonarly_domain::models::ApiKey;
use utoipa::ToSchema;

/// The calling API key: what it may do and where. Never its secret or its hash.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CurrentKeyView {
    #[schema(example = "6650f0c2a1b2c3d4e5f60718")]
    pub id: String,
    pub name: String,
    /// The first characters of the key, to tell keys apart; absent when none is stored.
    #[schema(example = "sk_live_Ab12cD")]
    pub key_prefix: Option<String>,
    /// The key's permissions, e.g. `audiences:read`, sorted.
    pub scopes: Vec<String>,
    /// The account groups the key can access.
    pub account_group_ids: Vec<String>,
    pub created_at: String,
}

impl From<&ApiKey> for CurrentKeyView {
    fn from(key: &ApiKey) -> Self {
        Self {
            id: key.id.clone(),
            name: key.name.clone(),
            key_prefix: Some(key.display_prefix.clone()).filter(|p| !p.is_empty()),
            scopes: key.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            account_group_ids: key.group_ids.iter().map(|g| g.to_string()).collect(),
            created_at: key.created_at.to_rfc3339(),
        }
    }
}

/// The calling API key: its id, name, prefix, scopes and account groups (any valid key).
#[utoipa::path(
    get, path = "/v1/api-keys/current", tag = "Accounts",
    responses(
        (status = 200, description = "The calling key", body = Envelope<CurrentKeyView>),
        (status = 401, description = "Invalid or missing API key", body = ErrorEnvelope),
        (status = 429, description = "Rate limit exceeded", body = ErrorEnvelope),
        (status = 500, description = "Internal server error", body = ErrorEnvelope),
    ),
    security(("bearerAuth" = []))
)]
pub async fn current_key(Caller(key): Caller) -> ApiResult {
    Ok(ok(CurrentKeyView::from(key.as_ref())))
}
