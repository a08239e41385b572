//! The event log (`GET …/events`): newest first with `cursor`, or oldest first
//! after a given event (`after=evt_…`) for catch-up, optionally of some types
//! only; and the retention purge.
//!
//! Catch-up only returns events at least [`CATCH_UP_SETTLE_MS`] old, so a
//! reader following the log with `after` cannot step past an event whose
//! transaction was stamped earlier but committed later.

use crate::{AppResult, StoreResultExt};
use sonarly_domain::GroupId;
use sonarly_domain::clock::Clock;
use sonarly_domain::cursor::CursorCodec;
use sonarly_domain::events::{CATCH_UP_SETTLE_MS, EVENTS_AFTER_LIST, EVENTS_LIST, Event, parse_type_list};
use sonarly_domain::page::{Page, PageRequest};
use sonarly_domain::{DomainError, Timestamp};
use sonarly_store::{EventsQuery, Store};

/// The raw query of `GET …/events`.
#[derive(Debug, Clone, Default)]
pub struct ListEvents<'a> {
    pub limit: Option<&'a str>,
    pub cursor: Option<&'a str>,
    pub after: Option<&'a str>,
    pub types: Option<&'a str>,
}

/// One page of the group's events. A `nextCursor` continues in the page's
/// direction (newest first, or oldest first after `after`).
pub async fn list_events(
    store: &Store,
    codec: &CursorCodec,
    clock: &dyn Clock,
    group_id: &GroupId,
    q: &ListEvents<'_>,
) -> AppResult<Page<Event>> {
    let limit = PageRequest::parse(codec, EVENTS_LIST, q.limit, None)?.limit;
    let types = match q.types.map(str::trim) {
        None | Some("") => Vec::new(),
        Some(text) => parse_type_list("types", text)?,
    };
    if q.after.is_some() && q.cursor.is_some() {
        return Err(DomainError::invalid_field("after", "cannot be combined with cursor; pass one of them"));
    }
    let settled_before = clock.now().plus_millis(-CATCH_UP_SETTLE_MS);
    let (query, list) = match (q.cursor, q.after) {
        (Some(cursor), _) => match codec.decode(EVENTS_LIST, cursor) {
            Ok(p) => (EventsQuery::Newest { before: Some((p.created_at, p.id)) }, EVENTS_LIST),
            Err(newest_err) => match codec.decode(EVENTS_AFTER_LIST, cursor) {
                Ok(p) => (EventsQuery::After { after: (p.created_at, p.id), settled_before }, EVENTS_AFTER_LIST),
                Err(_) => return Err(newest_err),
            },
        },
        (None, Some(after)) => {
            let after = after.trim();
            let Some(event) = store.get_event(group_id, after).await.or_internal()? else {
                return Err(DomainError::invalid_field(
                    "after",
                    format!("no event `{after}` in this account group (events are kept for the retention period)"),
                ));
            };
            (EventsQuery::After { after: (event.created_at, event.id), settled_before }, EVENTS_AFTER_LIST)
        }
        (None, None) => (EventsQuery::Newest { before: None }, EVENTS_LIST),
    };
    let request = PageRequest::first(limit);
    let rows = store.list_events(group_id, &types, &query, request.fetch_limit()).await.or_internal()?;
    Ok(Page::from_rows(rows, &request, codec, list, |e| (e.created_at, e.id.clone())))
}

/// Deletes events older than `retention_days` before `now`; returns how many went.
pub async fn purge_events(store: &Store, now: Timestamp, retention_days: u32) -> AppResult<u64> {
    let cutoff = now.plus_millis(-i64::from(retention_days) * 24 * 3_600_000);
    store.purge_events(cutoff).await.or_internal()
}
