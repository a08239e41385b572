//! One module per resource. Handlers are thin: parse, authorize, call the use
//! case, wrap the envelope.

pub mod accounts;
pub mod api_keys;
pub mod audiences;
pub mod campaigns;
pub mod contract;
pub mod events;
pub mod linkedin_accounts;
pub mod links;
pub mod messages;
pub mod ops;
pub mod prospecting;
pub mod prospects;
pub mod responses;
pub mod seats;
pub mod signals;
pub mod templates;
pub mod webhook_endpoints;
pub mod webhooks;

use crate::envelope::ApiError;
use crate::middleware::Principal;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use sonarly_domain::GroupId;
use sonarly_domain::models::ApiKey;
use sonarly_domain::page::Page;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// The caller's key plus the account group in the path, after checking the key
/// may access it. A group the key cannot access is reported exactly like one
/// that does not exist (404 NOT_FOUND).
pub struct GroupAccess {
    pub key: Arc<ApiKey>,
    /// The group of the path, checked against the key: the only way a handler
    /// gets a [`GroupId`] to hand to a use case.
    pub group_id: GroupId,
}

impl<S: Send + Sync> FromRequestParts<S> for GroupAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let key = caller(parts)?;
        let params = RawPathParams::from_request_parts(parts, state).await.map_err(path_rejection)?;
        let group_id = params
            .iter()
            .find(|(name, _)| *name == "accountGroupId")
            .map(|(_, value)| GroupId::new(value))
            .ok_or_else(|| ApiError::invalid("accountGroupId", "is required"))?;
        if !key.can_access_group(&group_id) {
            return Err(sonarly_app::accounts::account_not_found().into());
        }
        Ok(Self { key, group_id })
    }
}

/// A path that cannot be read names the segment at fault: axum refuses the
/// whole path when any one segment percent-decodes to invalid UTF-8.
fn path_rejection(rejection: axum::extract::rejection::RawPathParamsRejection) -> ApiError {
    use axum::extract::rejection::RawPathParamsRejection::InvalidUtf8InPathParam;
    match rejection {
        // The text is "Invalid UTF-8 in `name`"; the name is not exposed otherwise.
        InvalidUtf8InPathParam(e) => {
            let text = e.body_text();
            let name = text.split('`').nth(1).filter(|n| !n.is_empty()).unwrap_or("path");
            ApiError::invalid(name, "is not valid UTF-8 once percent-decoded")
        }
        _ => ApiError::invalid("accountGroupId", "is required"),
    }
}

/// The authenticated key (set by the authentication middleware).
pub struct Caller(pub Arc<ApiKey>);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        caller(parts).map(Caller)
    }
}

fn caller(parts: &Parts) -> Result<Arc<ApiKey>, ApiError> {
    parts.extensions.get::<Principal>().map(|p| p.0.clone()).ok_or_else(|| sonarly_app::auth::unauthorized().into())
}

/// A page request for `list` from `limit` and `cursor`. Besides the opaque
/// cursors the list issues, a cursor may be the id of one of its items (the
/// quickstart's `cursor=aud_…`): `item_key` looks it up and gives its sort key
/// (`None` when the list has no such item), and the page starts after it. An
/// id the list does not hold is a 400 on `cursor`, like a foreign cursor.
pub async fn page_request<F, Fut>(
    cursors: &sonarly_domain::cursor::CursorCodec,
    list: &str,
    limit: Option<&str>,
    cursor: Option<&str>,
    item_key: F,
) -> Result<sonarly_domain::page::PageRequest, ApiError>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = sonarly_app::AppResult<Option<sonarly_domain::Timestamp>>>,
{
    let (page, item) = sonarly_domain::page::PageRequest::parse_with_items(cursors, list, limit, cursor)?;
    let Some(id) = item else { return Ok(page) };
    match item_key(id.clone()).await? {
        Some(key) => Ok(page.after_item(id, key)),
        None => Err(sonarly_domain::cursor::unknown_cursor().into()),
    }
}

/// The sort key of an item looked up for [`page_request`]: an item the caller
/// cannot see (not found, another group's, not ready) is simply not one of the
/// list's items; only a server failure is an error.
pub fn item_key<T>(
    found: sonarly_app::AppResult<T>,
    key: impl FnOnce(T) -> sonarly_domain::Timestamp,
) -> sonarly_app::AppResult<Option<sonarly_domain::Timestamp>> {
    match found {
        Ok(item) => Ok(Some(key(item))),
        Err(e) if e.status < 500 => Ok(None),
        Err(e) => Err(e),
    }
}

/// `cursor` and `limit` of every list (spec 1.5).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Opaque pagination cursor returned by the previous page (`nextCursor`),
    /// or the id of an item of this list: the page then starts after that item.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
    /// Maximum number of items to return in this page (1 to 100, default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// One page of a list.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListData<T> {
    pub items: Vec<T>,
    /// Pass back as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

impl<T> ListData<T> {
    pub fn from_page<U>(page: Page<U>, view: impl FnMut(U) -> T) -> Self {
        let page = page.map(view);
        Self { items: page.items, next_cursor: page.next_cursor, has_more: page.has_more }
    }
}
