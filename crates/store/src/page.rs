//! One keyset-pagination shape for every list.
//!
//! A list reads one page after a position in `(key, id)` order, where `key`
//! is a millisecond column (`created_at` for most lists) and `id` breaks ties.
//! [`ListQuery`] takes the list's own `SELECT … WHERE …` and appends the rest:
//!
//! ```sql
//! … AND (created_at, id) < ($n, $n+1) ORDER BY created_at DESC, id DESC LIMIT $m
//! ```
//!
//! (`>` and ascending order for an oldest-first list; no comparison on the
//! first page). Both backends accept the text as it is: `$n` placeholders,
//! numbered after the list's own, and a row-value comparison, which SQLite and
//! PostgreSQL both evaluate over the `(key, id)` index. The rows come back in
//! the page's order; the caller fetches one more than the page holds and
//! `sonarly_domain::page::Page::from_rows` turns the last row into the next
//! cursor.

use crate::StoreResult;
use crate::sql::placeholders;
use sonarly_domain::Timestamp;
use sonarly_domain::page::PageRequest;
use sqlx::Any;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;

/// Which way a list runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    NewestFirst,
    OldestFirst,
}

/// Where a page starts and how many rows it reads.
#[derive(Debug, Clone)]
pub(crate) struct Keyset {
    key: &'static str,
    id: &'static str,
    order: Order,
    after: Option<(Timestamp, String)>,
    limit: i64,
}

impl Keyset {
    /// Newest first over `(created_at, id)`: one page of `page` (`limit + 1` rows).
    pub(crate) fn page(page: &PageRequest) -> Self {
        let after = page.after.as_ref().map(|p| (p.created_at, p.id.clone()));
        Self::newest_first(after, page.fetch_limit())
    }

    /// Newest first over `(created_at, id)`, strictly before `before` when given.
    pub(crate) fn newest_first(before: Option<(Timestamp, String)>, limit: i64) -> Self {
        Self { key: "created_at", id: "id", order: Order::NewestFirst, after: before, limit }
    }

    /// Oldest first over `(created_at, id)`, strictly after `after` when given.
    pub(crate) fn oldest_first(after: Option<(Timestamp, String)>, limit: i64) -> Self {
        Self { key: "created_at", id: "id", order: Order::OldestFirst, after, limit }
    }

    /// The same page over other columns (another key, or qualified names in a join).
    pub(crate) fn by(self, key: &'static str, id: &'static str) -> Self {
        Self { key, id, ..self }
    }
}

/// A value bound to a list query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<Timestamp> for Arg {
    fn from(v: Timestamp) -> Self {
        Arg::Int(v.as_millis())
    }
}

impl From<&sonarly_domain::GroupId> for Arg {
    fn from(v: &sonarly_domain::GroupId) -> Self {
        Arg::Text(v.as_str().to_owned())
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}

/// A list query: the list's `SELECT … WHERE …` with its values, then
/// optional filters, then one [`Keyset`] page. Placeholders are numbered in
/// the order values are bound, so the base's own `$1…$k` must be bound first.
#[derive(Debug, Clone)]
pub(crate) struct ListQuery {
    sql: String,
    args: Vec<Arg>,
}

impl ListQuery {
    /// `base` is a `SELECT` ending in a `WHERE` clause (or `WHERE TRUE`)
    /// whose placeholders `$1, $2, …` are bound next with [`ListQuery::bind`].
    pub(crate) fn new(base: impl Into<String>) -> Self {
        Self { sql: base.into(), args: Vec::new() }
    }

    /// Binds the next of the base's placeholders.
    pub(crate) fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    fn next_placeholder(&self) -> usize {
        self.args.len() + 1
    }

    /// Appends `AND <condition> $n` with `value` bound to `$n`, e.g. `"status ="`.
    pub(crate) fn and(mut self, condition: &str, value: impl Into<Arg>) -> Self {
        let n = self.next_placeholder();
        self.sql.push_str(&format!(" AND {condition} ${n}"));
        self.bind(value)
    }

    /// Appends `AND <column> = $n` when `value` is given.
    pub(crate) fn and_eq<T: Into<Arg>>(self, column: &str, value: Option<T>) -> Self {
        match value {
            Some(value) => self.and(&format!("{column} ="), value),
            None => self,
        }
    }

    /// Appends `AND <column> IN ($n, …)` when `values` is not empty.
    pub(crate) fn and_in<T: Into<Arg>>(mut self, column: &str, values: impl IntoIterator<Item = T>) -> Self {
        let values: Vec<Arg> = values.into_iter().map(Into::into).collect();
        if values.is_empty() {
            return self;
        }
        let list = placeholders(self.next_placeholder(), values.len());
        self.sql.push_str(&format!(" AND {column} IN ({list})"));
        self.args.extend(values);
        self
    }

    /// Ends the query with the page: the keyset comparison (past the first
    /// page), the order and the limit.
    pub(crate) fn page(mut self, keyset: &Keyset) -> Self {
        let Keyset { key, id, order, after, limit } = keyset;
        let (cmp, dir) = match order {
            Order::NewestFirst => ("<", " DESC"),
            Order::OldestFirst => (">", ""),
        };
        if let Some((at, after_id)) = after {
            let n = self.next_placeholder();
            self.sql.push_str(&format!(" AND ({key}, {id}) {cmp} (${n}, ${})", n + 1));
            self.args.push(Arg::from(*at));
            self.args.push(Arg::Text(after_id.clone()));
        }
        let n = self.next_placeholder();
        self.sql.push_str(&format!(" ORDER BY {key}{dir}, {id}{dir} LIMIT ${n}"));
        self.args.push(Arg::Int(*limit));
        self
    }

    /// The query, its values bound in order.
    pub(crate) fn query(self) -> Query<'static, Any, AnyArguments> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for arg in self.args {
            query = match arg {
                Arg::Int(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
            };
        }
        query
    }

    /// Runs the query on `pool`.
    pub(crate) async fn fetch_all<'c>(self, pool: impl sqlx::Executor<'c, Database = Any>) -> StoreResult<Vec<AnyRow>> {
        Ok(self.query().fetch_all(pool).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonarly_domain::cursor::CursorPosition;

    fn after() -> PageRequest {
        PageRequest {
            limit: 2,
            after: Some(CursorPosition { created_at: Timestamp::from_millis(7), id: "x_1".into() }),
        }
    }

    #[test]
    fn the_first_page_has_no_comparison() {
        let q =
            ListQuery::new("SELECT * FROM t WHERE group_id = $1").bind("g").page(&Keyset::page(&PageRequest::first(2)));
        assert_eq!(q.sql, "SELECT * FROM t WHERE group_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2");
        assert_eq!(q.args, vec![Arg::from("g"), Arg::Int(3)]);
    }

    #[test]
    fn later_pages_compare_the_row_value_after_the_filters() {
        let q = ListQuery::new("SELECT * FROM t WHERE group_id = $1")
            .bind("g")
            .and_eq("status", Some("queued"))
            .and_eq::<&str>("kind", None)
            .page(&Keyset::page(&after()));
        assert_eq!(
            q.sql,
            "SELECT * FROM t WHERE group_id = $1 AND status = $2 AND (created_at, id) < ($3, $4) \
             ORDER BY created_at DESC, id DESC LIMIT $5"
        );
        assert_eq!(q.args, vec![Arg::from("g"), Arg::from("queued"), Arg::Int(7), Arg::from("x_1"), Arg::Int(3)]);
    }

    #[test]
    fn oldest_first_over_other_columns_with_a_list_filter() {
        let keyset = Keyset::oldest_first(Some((Timestamp::from_millis(5), "e_1".into())), 10).by("m.sent_at", "m.id");
        let q = ListQuery::new("SELECT * FROM m WHERE g = $1")
            .bind("g")
            .and("m.sent_at <=", Timestamp::from_millis(9))
            .and_in("kind", ["a", "b"])
            .and_in::<&str>("other", [])
            .page(&keyset);
        assert_eq!(
            q.sql,
            "SELECT * FROM m WHERE g = $1 AND m.sent_at <= $2 AND kind IN ($3, $4) \
             AND (m.sent_at, m.id) > ($5, $6) ORDER BY m.sent_at, m.id LIMIT $7"
        );
        assert_eq!(q.args.len(), 7);
    }
}
