//! Audience reads. Audiences still filled by an active prospecting job are
//! hidden from lists and answer 409 AUDIENCE_NOT_READY (spec rule 2).

use crate::{AppResult, StoreResultExt};
use sonarly_domain::cursor::CursorCodec;
use sonarly_domain::models::Audience;
use sonarly_domain::page::{Page, PageRequest};
use sonarly_domain::{DomainError, ErrorCode};
use sonarly_store::Store;

pub const AUDIENCES_LIST: &str = "audiences";

pub async fn list_ready(
    store: &Store,
    codec: &CursorCodec,
    group_id: &str,
    page: &PageRequest,
) -> AppResult<Page<Audience>> {
    let rows = store.list_ready_audiences(group_id, page).await.or_internal()?;
    Ok(Page::from_rows(rows, page, codec, AUDIENCES_LIST, |a| (a.created_at, a.id.clone())))
}

pub async fn get_ready(store: &Store, group_id: &str, audience_id: &str) -> AppResult<Audience> {
    let audience = store
        .get_audience(group_id, audience_id)
        .await
        .or_internal()?
        .ok_or_else(|| DomainError::not_found("Audience"))?;
    if !audience.is_ready() {
        return Err(audience_not_ready());
    }
    Ok(audience)
}

pub fn audience_not_ready() -> DomainError {
    DomainError::new(ErrorCode::AudienceNotReady, "The audience is still being populated by an active prospecting job.")
}
