//! The action ledger: every provider action a LinkedIn account performs
//! (`outbound_actions`) and the account's next free slot
//! (`account_send_state`). This module owns both tables.
//!
//! Caps are counted from the ledger, whoever queued the action (a scheduled
//! response, a campaign step): one account, one count. An action is recorded
//! once per token (the send's provider idempotency token) when its slot is
//! reserved, before the provider call, so a retry after a crash is not
//! counted twice; an action LinkedIn refused is forgotten so caps stay honest.
//! Spacing between actions is the slot: reserving moves `next_slot_at`
//! forward, and concurrent instances serialize on the account's slot row.
//!
//! Provider reads (profile fetches, search pages, relation and inbox reads)
//! are charged here too, one row per call under a fresh reference, against
//! their own daily budgets ([`Store::charge_call`]): one ledger answers "what
//! did this seat do today", whatever the call was.

use crate::queue::{WorkItem, hold_lease_in};
use crate::{Store, StoreResult};
use sonarly_domain::{GroupId, Timestamp};
use sqlx::{Any, Transaction};

/// The bucket [`Store::ledger_counts_by_quarter_hour`] counts in.
pub const QUARTER_HOUR_MS: i64 = 15 * 60_000;

/// The result of asking for an action slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotClaim {
    /// Reserved: the action is recorded in the ledger.
    Granted,
    /// Another action holds the account until then (spacing).
    Busy(Timestamp),
    /// The lease was lost, or the work is no longer due.
    Lost,
}

/// One action to reserve a slot for.
#[derive(Debug, Clone, Copy)]
pub struct SlotRequest<'a> {
    pub account_id: &'a str,
    /// The action kind counted against caps (`ActionKind::as_str`).
    pub kind: &'a str,
    /// The send's token: the ledger records one action per token.
    pub token: &'a str,
    pub now: Timestamp,
    /// Where the slot moves to when granted (now plus the spacing).
    pub next_slot_at: Timestamp,
}

/// Reserves the account's slot and records the action inside a caller's
/// transaction. `Some(until)` when the slot is busy (the caller rolls back);
/// an action already recorded for the token is granted again without
/// moving the slot or counting twice.
pub(crate) async fn reserve_slot_in(
    tx: &mut Transaction<'static, Any>,
    slot: &SlotRequest<'_>,
) -> StoreResult<Option<Timestamp>> {
    sqlx::query(
        "INSERT INTO account_send_state (linkedin_account_id, next_slot_at) VALUES ($1, 0) ON CONFLICT DO NOTHING",
    )
    .bind(slot.account_id)
    .execute(&mut **tx)
    .await?;
    let already: Option<i64> = sqlx::query_scalar("SELECT 1 FROM outbound_actions WHERE kind = $1 AND ref_id = $2")
        .bind(slot.kind)
        .bind(slot.token)
        .fetch_optional(&mut **tx)
        .await?;
    if already.is_some() {
        return Ok(None);
    }
    let moved = sqlx::query(
        "UPDATE account_send_state SET next_slot_at = $3 WHERE linkedin_account_id = $1 AND next_slot_at <= $2",
    )
    .bind(slot.account_id)
    .bind(slot.now.as_millis())
    .bind(slot.next_slot_at.as_millis())
    .execute(&mut **tx)
    .await?;
    if moved.rows_affected() == 0 {
        let busy: i64 =
            sqlx::query_scalar("SELECT next_slot_at FROM account_send_state WHERE linkedin_account_id = $1")
                .bind(slot.account_id)
                .fetch_one(&mut **tx)
                .await?;
        return Ok(Some(Timestamp::from_millis(busy)));
    }
    sqlx::query(
        "INSERT INTO outbound_actions (id, linkedin_account_id, kind, ref_id, performed_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sonarly_domain::id::new_hex_id(slot.now))
    .bind(slot.account_id)
    .bind(slot.kind)
    .bind(slot.token)
    .bind(slot.now.as_millis())
    .execute(&mut **tx)
    .await?;
    Ok(None)
}

/// Un-counts the action reserved for `token` (it did not happen) inside a caller's transaction.
pub(crate) async fn forget_in(tx: &mut Transaction<'static, Any>, token: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM outbound_actions WHERE ref_id = $1").bind(token).execute(&mut **tx).await?;
    Ok(())
}

/// Rows of `kind` and `shared_with` since `since`, counted up to `cap`.
async fn count_kinds_in(
    tx: &mut Transaction<'static, Any>,
    account_id: &str,
    kind: &str,
    shared_with: &[&str],
    since: Timestamp,
    cap: u32,
) -> StoreResult<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM outbound_actions WHERE linkedin_account_id = $1 AND performed_at >= $2 \
         AND kind IN ({}) LIMIT {cap}) AS capped",
        crate::sql::placeholders(3, 1 + shared_with.len())
    );
    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(account_id).bind(since.as_millis()).bind(kind);
    for other in shared_with {
        query = query.bind(*other);
    }
    Ok(query.fetch_one(&mut **tx).await?)
}

impl Store {
    /// Reserves the account's next action slot for one action under the
    /// lease of `item` (see [`SlotRequest`]).
    pub async fn reserve_action_slot(
        &self,
        item: &WorkItem,
        slot: &SlotRequest<'_>,
        lease_until: Timestamp,
    ) -> StoreResult<SlotClaim> {
        let mut tx = self.writer.begin().await?;
        if !hold_lease_in(&mut tx, item, lease_until).await? {
            return Ok(SlotClaim::Lost);
        }
        if let Some(busy) = reserve_slot_in(&mut tx, slot).await? {
            tx.rollback().await?;
            return Ok(SlotClaim::Busy(busy));
        }
        tx.commit().await?;
        Ok(SlotClaim::Granted)
    }

    /// Until when the seat's send slot is taken, if it is at `now` (a read, to spare a step
    /// the work of preparing a send it could not make yet; reserving decides).
    pub async fn slot_taken_until(&self, account_id: &str, now: Timestamp) -> StoreResult<Option<Timestamp>> {
        let next: Option<i64> =
            sqlx::query_scalar("SELECT next_slot_at FROM account_send_state WHERE linkedin_account_id = $1")
                .bind(account_id)
                .fetch_optional(&self.reader)
                .await?;
        Ok(next.filter(|at| *at > now.as_millis()).map(Timestamp::from_millis))
    }

    /// Un-counts a reserved action that did not happen (LinkedIn refused it).
    pub async fn forget_action(&self, token: &str) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        forget_in(&mut tx, token).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Actions of `kind` the account performed since `since`, counted up to
    /// `cap` at most: checking a cap costs O(cap), not O(actions in the window).
    pub async fn count_actions_up_to(
        &self,
        account_id: &str,
        kind: &str,
        since: Timestamp,
        cap: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM outbound_actions WHERE linkedin_account_id = $1 AND kind = $2 \
             AND performed_at >= $3 LIMIT $4) AS capped",
        )
        .bind(account_id)
        .bind(kind)
        .bind(since.as_millis())
        .bind(cap)
        .fetch_one(&self.reader)
        .await?)
    }

    /// Actions of `kind` the account performed since `since` (reports and tests).
    pub async fn count_actions(&self, account_id: &str, kind: &str, since: Timestamp) -> StoreResult<i64> {
        self.count_actions_up_to(account_id, kind, since, i64::MAX).await
    }

    /// When each action of `kind` since `since` was performed, oldest first
    /// (reports and tests that check caps over sliding windows).
    pub async fn action_times(&self, account_id: &str, kind: &str, since: Timestamp) -> StoreResult<Vec<Timestamp>> {
        let times: Vec<i64> = sqlx::query_scalar(
            "SELECT performed_at FROM outbound_actions WHERE linkedin_account_id = $1 AND kind = $2 \
             AND performed_at >= $3 ORDER BY performed_at",
        )
        .bind(account_id)
        .bind(kind)
        .bind(since.as_millis())
        .fetch_all(&self.reader)
        .await?;
        Ok(times.into_iter().map(Timestamp::from_millis).collect())
    }

    /// The oldest action of `kind` since `since` (when a rolling window frees up).
    pub async fn oldest_action_since(
        &self,
        account_id: &str,
        kind: &str,
        since: Timestamp,
    ) -> StoreResult<Option<Timestamp>> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(performed_at) FROM outbound_actions WHERE linkedin_account_id = $1 AND kind = $2 AND performed_at >= $3",
        )
        .bind(account_id)
        .bind(kind)
        .bind(since.as_millis())
        .fetch_one(&self.reader)
        .await?;
        Ok(at.map(Timestamp::from_millis))
    }

    /// Charges one provider read of `kind` to the account when fewer than
    /// `budget` reads of `kind` and of the kinds in `shared_with` were charged
    /// since `since` (the local day's start); `false` when the budget is spent
    /// (nothing charged). With `budget == None` the call is charged whatever
    /// the count (urgent reads a send depends on). Concurrent charges serialize
    /// on the account's slot row, so instances sharing a seat never overspend it.
    pub async fn charge_call(
        &self,
        account_id: &str,
        kind: &str,
        shared_with: &[&str],
        since: Timestamp,
        budget: Option<u32>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO account_send_state (linkedin_account_id, next_slot_at) VALUES ($1, 0) ON CONFLICT DO NOTHING",
        )
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
        // Takes the account's row lock (PostgreSQL; SQLite has one writer anyway).
        sqlx::query("UPDATE account_send_state SET next_slot_at = next_slot_at WHERE linkedin_account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        if let Some(budget) = budget {
            let spent = count_kinds_in(&mut tx, account_id, kind, shared_with, since, budget).await?;
            if spent >= i64::from(budget) {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        let id = sonarly_domain::id::new_hex_id(now);
        sqlx::query(
            "INSERT INTO outbound_actions (id, linkedin_account_id, kind, ref_id, performed_at) VALUES ($1, $2, $3, $1, $4)",
        )
        .bind(&id)
        .bind(account_id)
        .bind(kind)
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Actions and reads of `kind` and of the kinds in `shared_with` since `since`, counted
    /// up to `cap` at most.
    pub async fn count_kinds_up_to(
        &self,
        account_id: &str,
        kind: &str,
        shared_with: &[&str],
        since: Timestamp,
        cap: u32,
    ) -> StoreResult<i64> {
        let mut tx = self.writer.begin().await?;
        let n = count_kinds_in(&mut tx, account_id, kind, shared_with, since, cap).await?;
        tx.rollback().await?;
        Ok(n)
    }

    /// How many actions of `kinds` the group's seat `account_id` performed in `[since, until)`,
    /// per kind and quarter hour (`performed_at / 900000`): every time zone's midnight falls on
    /// a quarter hour, so the caller sums them into the seat's local days without reading each
    /// row. Another group's seat has none.
    pub async fn ledger_counts_by_quarter_hour(
        &self,
        group_id: &GroupId,
        account_id: &str,
        kinds: &[&str],
        since: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<(String, i64, i64)>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT o.kind, o.performed_at / {QUARTER_HOUR_MS} AS quarter, COUNT(*) FROM outbound_actions o \
             JOIN linkedin_accounts a ON a.id = o.linkedin_account_id \
             WHERE a.group_id = $1 AND o.linkedin_account_id = $2 AND o.performed_at >= $3 AND o.performed_at < $4 \
             AND o.kind IN ({}) GROUP BY o.kind, o.performed_at / {QUARTER_HOUR_MS}",
            crate::sql::placeholders(5, kinds.len())
        );
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(group_id.as_str())
            .bind(account_id)
            .bind(since.as_millis())
            .bind(until.as_millis());
        for kind in kinds {
            query = query.bind(*kind);
        }
        Ok(query.fetch_all(&self.reader).await?)
    }

    /// How many actions and reads of each kind the account made since `since`, by kind.
    pub async fn ledger_counts_since(&self, account_id: &str, since: Timestamp) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT kind, COUNT(*) FROM outbound_actions WHERE linkedin_account_id = $1 AND performed_at >= $2 \
             GROUP BY kind ORDER BY kind",
        )
        .bind(account_id)
        .bind(since.as_millis())
        .fetch_all(&self.reader)
        .await?)
    }
}
