//! Pauses of one kind of action or read for one seat (`account_pauses`):
//! a LinkedIn limit refusal pauses that kind until the limit resets, a
//! product-scoped refusal pauses what needs that product, and nothing else of
//! the seat stops. This module owns the table.

use crate::{Store, StoreResult};
use sonarly_domain::Timestamp;

/// One active pause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatPause {
    /// An action kind (`invitation`, `message`…) or a read kind (`profile_fetch`…).
    pub kind: String,
    pub until: Timestamp,
    /// The refusal's reason code (`INVITATION_LIMIT_REACHED`…).
    pub reason: String,
}

impl Store {
    /// Pauses `kind` for the seat until `until` (a later pause already in place stays).
    pub async fn pause_seat_kind(
        &self,
        account_id: &str,
        kind: &str,
        until: Timestamp,
        reason: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO account_pauses (linkedin_account_id, kind, until, reason, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (linkedin_account_id, kind) DO UPDATE \
             SET until = excluded.until, reason = excluded.reason, created_at = excluded.created_at \
             WHERE account_pauses.until < excluded.until",
        )
        .bind(account_id)
        .bind(kind)
        .bind(until.as_millis())
        .bind(reason)
        .bind(now.as_millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Until when `kind` is paused for the seat, if it is at `now`.
    pub async fn seat_paused_until(
        &self,
        account_id: &str,
        kind: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Timestamp>> {
        let until: Option<i64> = sqlx::query_scalar(
            "SELECT until FROM account_pauses WHERE linkedin_account_id = $1 AND kind = $2 AND until > $3",
        )
        .bind(account_id)
        .bind(kind)
        .bind(now.as_millis())
        .fetch_optional(&self.reader)
        .await?;
        Ok(until.map(Timestamp::from_millis))
    }

    /// The seat's pauses in force at `now`, soonest to lift first.
    pub async fn seat_pauses(&self, account_id: &str, now: Timestamp) -> StoreResult<Vec<SeatPause>> {
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT kind, until, reason FROM account_pauses WHERE linkedin_account_id = $1 AND until > $2 \
             ORDER BY until, kind",
        )
        .bind(account_id)
        .bind(now.as_millis())
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(kind, until, reason)| SeatPause { kind, until: Timestamp::from_millis(until), reason })
            .collect())
    }

    /// Lifts every pause of the seat (it was reconnected: LinkedIn's limits start afresh).
    pub async fn clear_seat_pauses(&self, account_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM account_pauses WHERE linkedin_account_id = $1")
            .bind(account_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
