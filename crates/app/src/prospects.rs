//! Prospect reads: the provider-id lookup and an audience's prospects.

use crate::audiences::get_ready;
use crate::{AppResult, StoreResultExt};
use sonarly_domain::GroupId;
use sonarly_domain::cursor::CursorCodec;
use sonarly_domain::page::{Page, PageRequest};
use sonarly_domain::prospecting::{Prospect, validate_provider_id};
use sonarly_store::Store;

pub const AUDIENCE_PROSPECTS_LIST: &str = "audience-prospects";

/// How a provider id resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    None,
    Unique,
    Ambiguous,
}

impl Resolution {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Unique => "unique",
            Self::Ambiguous => "ambiguous",
        }
    }
}

/// Resolves a provider id to the group's prospects without guessing: no
/// match, one match, or every match with `ambiguous`.
pub async fn lookup_by_provider_id(
    store: &Store,
    group_id: &GroupId,
    provider_id: &str,
) -> AppResult<(Resolution, Vec<Prospect>)> {
    validate_provider_id(provider_id)?;
    let matches = store.prospects_by_provider_id(group_id, provider_id).await.or_internal()?;
    let resolution = match matches.len() {
        0 => Resolution::None,
        1 => Resolution::Unique,
        _ => Resolution::Ambiguous,
    };
    Ok((resolution, matches))
}

/// One page of a ready audience's prospects, in the order they were added.
pub async fn audience_prospects(
    store: &Store,
    codec: &CursorCodec,
    group_id: &GroupId,
    audience_id: &str,
    page: &PageRequest,
) -> AppResult<Page<Prospect>> {
    get_ready(store, group_id, audience_id).await?;
    let after = page.after.as_ref().map(|p| (p.created_at, p.id.as_str()));
    let rows = store.list_audience_prospects(group_id, audience_id, after, page.fetch_limit()).await.or_internal()?;
    let page = Page::from_rows(rows, page, codec, AUDIENCE_PROSPECTS_LIST, |(at, p)| (*at, p.id.clone()));
    Ok(page.map(|(_, p)| p))
}
