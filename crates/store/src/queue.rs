//! The durable work queue: every piece of background work is a row with
//! `run_at`, `attempts` and a lease (`lease_owner`, `lease_until`).
//!
//! Workers claim due rows with a lease (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL; a single `UPDATE … RETURNING` on SQLite's one writer), renew it
//! while working, and finish in the same transaction that records the result,
//! guarded by the lease owner. A row whose lease expired (its worker died) is
//! claimed again. That is what lets several instances share work with no
//! coordinator, and why nothing queued is lost.

use crate::{Backend, Store, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sqlx::{Any, Row, Transaction};

/// A claimed piece of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub id: String,
    pub kind: String,
    pub ref_id: String,
    pub group_id: GroupId,
    pub run_at: Timestamp,
    /// Claims so far, including this one.
    pub attempts: i64,
    pub lease_owner: String,
}

/// The queue of one work kind at a moment, for metrics (see [`Store::queue_stats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStat {
    pub kind: String,
    /// Rows queued, due or not.
    pub queued: i64,
    /// Rows whose `run_at` has come (leased ones included).
    pub due: i64,
    /// The earliest `run_at` among the due rows.
    pub oldest_due_at: Option<Timestamp>,
}

/// A queued item as stored, for diagnosis (see [`Store::queued_work`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedWork {
    pub run_at: Timestamp,
    pub attempts: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<Timestamp>,
    pub last_error: Option<String>,
}

const CLAIM_SQLITE: &str = "UPDATE work_items SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
     WHERE id IN (SELECT id FROM work_items WHERE kind = $3 AND run_at <= $4 \
     AND (lease_until IS NULL OR lease_until < $4) ORDER BY run_at, id LIMIT $5) \
     RETURNING id, kind, ref_id, group_id, run_at, attempts";

const CLAIM_POSTGRES: &str = "UPDATE work_items SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
     WHERE id IN (SELECT id FROM work_items WHERE kind = $3 AND run_at <= $4 \
     AND (lease_until IS NULL OR lease_until < $4) ORDER BY run_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) \
     RETURNING id, kind, ref_id, group_id, run_at, attempts";

/// Inserts a work item inside a caller's transaction.
pub(crate) async fn enqueue_in(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    kind: &str,
    ref_id: &str,
    group_id: &GroupId,
    run_at: Timestamp,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO work_items (id, kind, ref_id, group_id, run_at, attempts, created_at) \
         VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (kind, ref_id) DO NOTHING",
    )
    .bind(id)
    .bind(kind)
    .bind(ref_id)
    .bind(group_id.as_str())
    .bind(run_at.as_millis())
    .bind(now.as_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Checks, inside a caller's transaction, that `item` is still leased to its
/// owner, extending the lease; false means another worker took over and the
/// caller must roll back.
pub(crate) async fn hold_lease_in(
    tx: &mut Transaction<'static, Any>,
    item: &WorkItem,
    lease_until: Timestamp,
) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE work_items SET lease_until = $3 WHERE id = $1 AND lease_owner = $2")
        .bind(&item.id)
        .bind(&item.lease_owner)
        .bind(lease_until.as_millis())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Withdraws the queued work for `ref_id` inside a caller's transaction (a
/// cancel, a stop, a discard): a worker holding it loses its lease and stops.
///
/// Call it before changing the row the work is about. Workers lock their
/// `work_items` row first (`hold_lease_in`) and the resource after, so a
/// cancel that did the opposite could deadlock with one on PostgreSQL.
/// After it, read the resource again: this waited for any worker holding
/// the item, whose change is now visible. Roll back if the resource turns out
/// to be past cancelling, so the work is not lost.
pub(crate) async fn withdraw_in(tx: &mut Transaction<'static, Any>, kind: &str, ref_id: &str) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM work_items WHERE kind = $1 AND ref_id = $2")
        .bind(kind)
        .bind(ref_id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes a finished item inside a caller's transaction; false when the lease was lost.
pub(crate) async fn finish_in(tx: &mut Transaction<'static, Any>, item: &WorkItem) -> StoreResult<bool> {
    finish_guarded_in(tx, item, false).await
}

/// Deletes a finished item inside a caller's transaction, guarded by the
/// lease, or (`fenced`) by a send's attempt fence the caller passed in the
/// same transaction: the attempt, not the lease, owns a send in flight.
pub(crate) async fn finish_guarded_in(
    tx: &mut Transaction<'static, Any>,
    item: &WorkItem,
    fenced: bool,
) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM work_items WHERE id = $1 AND (lease_owner = $2 OR $3 = 1)")
        .bind(&item.id)
        .bind(&item.lease_owner)
        .bind(i64::from(fenced))
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives an item back to run at `run_at` inside a caller's transaction,
/// without counting the claim (a deferral or a wait is not a failed try);
/// guarded like [`finish_guarded_in`]. False when the guard did not hold.
pub(crate) async fn release_in(
    tx: &mut Transaction<'static, Any>,
    item: &WorkItem,
    fenced: bool,
    run_at: Timestamp,
    reason: Option<&str>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE work_items SET lease_owner = NULL, lease_until = NULL, run_at = $3, last_error = $4, attempts = 0 \
         WHERE id = $1 AND (lease_owner = $2 OR $5 = 1)",
    )
    .bind(&item.id)
    .bind(&item.lease_owner)
    .bind(run_at.as_millis())
    .bind(reason)
    .bind(i64::from(fenced))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl Store {
    /// Claims up to `limit` due items of `kind` for `owner` until `lease_until`.
    pub async fn claim_work(
        &self,
        kind: &str,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<WorkItem>> {
        let sql = match self.backend() {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        let rows: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(sql)
            .bind(owner)
            .bind(lease_until.as_millis())
            .bind(kind)
            .bind(now.as_millis())
            .bind(limit)
            .fetch_all(&self.writer)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, ref_id, group_id, run_at, attempts)| WorkItem {
                id,
                kind,
                ref_id,
                group_id: GroupId::new(group_id),
                run_at: Timestamp::from_millis(run_at),
                attempts,
                lease_owner: owner.to_owned(),
            })
            .collect())
    }

    /// Extends a lease; false when it was lost (stop working on the item).
    pub async fn renew_lease(&self, item: &WorkItem, lease_until: Timestamp) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let held = hold_lease_in(&mut tx, item, lease_until).await?;
        tx.commit().await?;
        Ok(held)
    }

    /// Gives the item back to the queue to run again at `run_at` (retry, or a
    /// scheduler deferral); false when the lease was lost.
    /// `progressed` resets the attempt count (the item moved forward; the next
    /// failure starts a fresh backoff).
    pub async fn release_work(
        &self,
        item: &WorkItem,
        run_at: Timestamp,
        error: Option<&str>,
        progressed: bool,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE work_items SET lease_owner = NULL, lease_until = NULL, run_at = $3, last_error = $4, \
             attempts = attempts * $5 WHERE id = $1 AND lease_owner = $2",
        )
        .bind(&item.id)
        .bind(&item.lease_owner)
        .bind(run_at.as_millis())
        .bind(error)
        .bind(if progressed { 0i64 } else { 1i64 })
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a finished item; false when the lease was lost.
    pub async fn finish_work(&self, item: &WorkItem) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let done = finish_in(&mut tx, item).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Items of `kind` still queued (due or not), for tests and metrics.
    pub async fn count_work(&self, kind: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM work_items WHERE kind = $1")
            .bind(kind)
            .fetch_one(&self.reader)
            .await?)
    }

    /// One queued item as stored (`None` once finished), lease and last error included: what a
    /// test or an operator reads to see why a piece of work has not run.
    pub async fn queued_work(&self, kind: &str, ref_id: &str) -> StoreResult<Option<QueuedWork>> {
        let row = sqlx::query(
            "SELECT run_at, attempts, lease_owner, lease_until, last_error FROM work_items \
             WHERE kind = $1 AND ref_id = $2",
        )
        .bind(kind)
        .bind(ref_id)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(QueuedWork {
            run_at: Timestamp::from_millis(row.try_get("run_at")?),
            attempts: row.try_get("attempts")?,
            lease_owner: row.try_get("lease_owner")?,
            lease_until: row.try_get::<Option<i64>, _>("lease_until")?.map(Timestamp::from_millis),
            last_error: row.try_get("last_error")?,
        }))
    }

    /// The earliest `run_at` of `kind` items not currently leased (to sleep until).
    pub async fn next_work_at(&self, kind: &str, now: Timestamp) -> StoreResult<Option<Timestamp>> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(run_at) FROM work_items WHERE kind = $1 AND (lease_until IS NULL OR lease_until < $2)",
        )
        .bind(kind)
        .bind(now.as_millis())
        .fetch_one(&self.reader)
        .await?;
        Ok(at.map(Timestamp::from_millis))
    }

    /// Every work kind's queue at `now`: how many rows, how many due, and
    /// since when the oldest due one waits. One scan of `work_items`, no group
    /// data: what a metrics scrape reads.
    pub async fn queue_stats(&self, now: Timestamp) -> StoreResult<Vec<QueueStat>> {
        let rows: Vec<(String, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT kind, COUNT(*), COUNT(CASE WHEN run_at <= $1 THEN 1 END), \
             MIN(CASE WHEN run_at <= $1 THEN run_at END) FROM work_items GROUP BY kind ORDER BY kind",
        )
        .bind(now.as_millis())
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(kind, queued, due, oldest)| QueueStat {
                kind,
                queued,
                due,
                oldest_due_at: oldest.map(Timestamp::from_millis),
            })
            .collect())
    }
}
