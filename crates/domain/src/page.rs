//! Cursor pagination requests and pages (spec 1.5): `limit` 1..=100, default 20.

use crate::cursor::{CursorCodec, CursorPosition, CursorRef};
use crate::{DomainError, FieldIssue, Timestamp};
use serde::Serialize;

pub const DEFAULT_PAGE_LIMIT: u32 = 20;
pub const MAX_PAGE_LIMIT: u32 = 100;

/// A validated page request: how many items, and after which position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<CursorPosition>,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    /// Validates raw `limit` and `cursor` query values for the list `list`.
    pub fn parse(
        codec: &CursorCodec,
        list: &str,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Self, DomainError> {
        let mut issues = Vec::new();
        let limit = match limit {
            None => DEFAULT_PAGE_LIMIT,
            Some(raw) => match raw.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_PAGE_LIMIT).contains(&n) => n,
                _ => {
                    issues.push(FieldIssue::new("limit", format!("must be an integer from 1 to {MAX_PAGE_LIMIT}")));
                    DEFAULT_PAGE_LIMIT
                }
            },
        };
        let after = match cursor {
            None => None,
            Some(raw) => match codec.decode(list, raw) {
                Ok(position) => Some(position),
                Err(e) => {
                    issues.extend(e.fields);
                    None
                }
            },
        };
        if issues.is_empty() { Ok(Self { limit, after }) } else { Err(DomainError::invalid(issues)) }
    }

    /// Like [`PageRequest::parse`], but a cursor shaped like an id is taken as
    /// the id of one of the list's items: it comes back beside the request
    /// (whose `after` is then empty) for the list to look up and resolve with
    /// [`PageRequest::after_item`].
    pub fn parse_with_items(
        codec: &CursorCodec,
        list: &str,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<(Self, Option<String>), DomainError> {
        let (item, opaque) = match cursor.map(|raw| codec.decode_ref(list, raw)) {
            Some(Ok(CursorRef::Item(id))) => (Some(id), None),
            _ => (None, cursor),
        };
        Ok((Self::parse(codec, list, limit, opaque)?, item))
    }

    /// Starts the page after the item `id`, found at `key` in the list's order.
    pub fn after_item(mut self, id: String, key: Timestamp) -> Self {
        self.after = Some(CursorPosition { created_at: key, id });
        self
    }

    /// How many rows to fetch: one more than the limit tells whether a next page exists.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// One page of a list, in the documented shape `{items, nextCursor, hasMore}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in keyset order;
    /// `key` gives each row's `(createdAt, id)`.
    pub fn from_rows(
        mut rows: Vec<T>,
        request: &PageRequest,
        codec: &CursorCodec,
        list: &str,
        key: impl Fn(&T) -> (Timestamp, String),
    ) -> Self {
        let has_more = rows.len() > request.limit as usize;
        rows.truncate(request.limit as usize);
        let next_cursor = if has_more {
            rows.last().map(|last| {
                let (created_at, id) = key(last);
                codec.encode(list, &CursorPosition { created_at, id })
            })
        } else {
            None
        };
        Self { items: rows, next_cursor, has_more }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor, has_more: self.has_more }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_and_bounds() {
        let codec = CursorCodec::new(b"k".to_vec());
        assert_eq!(PageRequest::parse(&codec, "x", None, None).unwrap().limit, 20);
        assert_eq!(PageRequest::parse(&codec, "x", Some("100"), None).unwrap().limit, 100);
        for bad in ["0", "101", "-1", "ten", "1.5", ""] {
            let err = PageRequest::parse(&codec, "x", Some(bad), None).unwrap_err();
            assert_eq!(err.status, 400, "{bad}");
            assert_eq!(err.fields[0].field, "limit");
        }
    }

    #[test]
    fn pages_report_more_only_when_rows_exceed_limit() {
        let codec = CursorCodec::new(b"k".to_vec());
        let req = PageRequest::first(2);
        let key = |n: &i64| (Timestamp::from_millis(*n), n.to_string());
        let page = Page::from_rows(vec![3, 2, 1], &req, &codec, "x", key);
        assert_eq!(page.items, vec![3, 2]);
        assert!(page.has_more);
        let next = PageRequest::parse(&codec, "x", Some("2"), page.next_cursor.as_deref()).unwrap();
        assert_eq!(next.after.unwrap().id, "2");
        let last = Page::from_rows(vec![1], &req, &codec, "x", key);
        assert!(!last.has_more && last.next_cursor.is_none());
    }
}
