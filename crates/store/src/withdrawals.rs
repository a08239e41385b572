//! Stale-invitation withdrawal: which pending invitations a seat sent are old
//! enough to withdraw (read from our own sends, never from LinkedIn), and the
//! record of each withdrawal (`invitation_withdrawals`), so an invitation is
//! withdrawn at most once and a failing one is not retried forever.

use crate::campaigns::CAMPAIGN_WORK;
use crate::queue::{WorkItem, hold_lease_in};
use crate::{Store, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;

/// Queue kind of the per-seat withdrawal worker (one row per seat).
pub const WITHDRAWAL_WORK: &str = "invitation_withdrawal";

/// A pending invitation of ours, old enough to withdraw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleInvitation {
    pub linkedin_account_id: String,
    /// The token of the send that delivered it.
    pub send_token: String,
    /// LinkedIn's invitation id.
    pub invitation_id: String,
    pub recipient_provider_id: String,
    /// The work that sent it (`campaign_step`: `ref_id` is the workflow instance).
    pub work_kind: String,
    pub ref_id: String,
    pub sent_at: Timestamp,
    /// Earlier tries that failed.
    pub attempts: i64,
}

/// How a withdrawal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawalState {
    /// A try failed; it is tried again later.
    Pending,
    /// LinkedIn no longer shows it pending.
    Withdrawn,
    /// Given up: never tried again.
    Failed,
}

impl WithdrawalState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Withdrawn => "withdrawn",
            Self::Failed => "failed",
        }
    }
}

type StaleRow = (String, String, String, String, String, Option<i64>, i64);

impl Store {
    /// The seat's oldest invitation, sent before `sent_before`, that our sends
    /// delivered and LinkedIn named, that was not withdrawn nor given up, and
    /// whose recipient is not a first-degree connection of the group's prospects
    /// (an acceptance the relation sweep or a webhook recorded).
    pub async fn stale_invitation(
        &self,
        account_id: &str,
        group_id: &GroupId,
        sent_before: Timestamp,
    ) -> StoreResult<Option<StaleInvitation>> {
        let row: Option<StaleRow> = sqlx::query_as(
            "SELECT s.token, s.provider_ref, s.recipient_provider_id, s.work_kind, s.ref_id, s.started_at, \
             COALESCE(w.attempts, 0) FROM outbound_sends s LEFT JOIN invitation_withdrawals w \
             ON w.linkedin_account_id = s.linkedin_account_id AND w.send_token = s.token \
             WHERE s.linkedin_account_id = $1 AND s.action = 'invitation' AND s.state = 'delivered' \
             AND s.provider_ref LIKE 'invitation:%' AND s.started_at <= $2 \
             AND (w.state IS NULL OR w.state = 'pending') \
             AND NOT EXISTS (SELECT 1 FROM prospects p WHERE p.group_id = $3 AND p.connection_degree = 1 \
             AND (p.member_id = s.recipient_provider_id OR p.provider_id = s.recipient_provider_id)) \
             ORDER BY s.started_at, s.token LIMIT 1",
        )
        .bind(account_id)
        .bind(sent_before.as_millis())
        .bind(group_id.as_str())
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.map(|(send_token, provider_ref, recipient_provider_id, work_kind, ref_id, sent_at, attempts)| {
            StaleInvitation {
                linkedin_account_id: account_id.to_owned(),
                send_token,
                invitation_id: provider_ref.strip_prefix("invitation:").unwrap_or(&provider_ref).to_owned(),
                recipient_provider_id,
                work_kind,
                ref_id,
                sent_at: Timestamp::from_millis(sent_at.unwrap_or(0)),
                attempts,
            }
        }))
    }

    /// Records how withdrawing `stale` ended, under the lease of the seat's
    /// withdrawal row (false: the lease was lost, nothing recorded). A withdrawn
    /// invitation of a campaign step wakes its workflow instance, which then ends
    /// as not accepted.
    pub async fn record_withdrawal(
        &self,
        item: &WorkItem,
        lease_until: Timestamp,
        stale: &StaleInvitation,
        state: WithdrawalState,
        reason: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        if !hold_lease_in(&mut tx, item, lease_until).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let withdrawn_at = (state == WithdrawalState::Withdrawn).then_some(now.as_millis());
        sqlx::query(
            "INSERT INTO invitation_withdrawals (linkedin_account_id, send_token, invitation_id, work_kind, ref_id, \
             state, attempts, reason, withdrawn_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $9) \
             ON CONFLICT (linkedin_account_id, send_token) DO UPDATE SET state = excluded.state, \
             attempts = invitation_withdrawals.attempts + 1, reason = excluded.reason, \
             withdrawn_at = excluded.withdrawn_at, updated_at = excluded.updated_at",
        )
        .bind(&stale.linkedin_account_id)
        .bind(&stale.send_token)
        .bind(&stale.invitation_id)
        .bind(&stale.work_kind)
        .bind(&stale.ref_id)
        .bind(state.as_str())
        .bind(reason)
        .bind(withdrawn_at)
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await?;
        if state == WithdrawalState::Withdrawn && stale.work_kind == CAMPAIGN_WORK {
            sqlx::query(
                "UPDATE work_items SET run_at = $3 WHERE kind = $1 AND ref_id = $2 AND run_at > $3 \
                 AND lease_owner IS NULL",
            )
            .bind(CAMPAIGN_WORK)
            .bind(&stale.ref_id)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Whether the invitation a workflow instance (or any work `ref_id`) sent was withdrawn.
    pub async fn invitation_withdrawn(&self, ref_id: &str) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM invitation_withdrawals WHERE ref_id = $1 AND state = 'withdrawn' LIMIT 1",
        )
        .bind(ref_id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(found.is_some())
    }

    /// The invitation ids of the seat's withdrawals in `state`, oldest first (reports and tests).
    pub async fn withdrawals(&self, account_id: &str, state: WithdrawalState) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT invitation_id FROM invitation_withdrawals WHERE linkedin_account_id = $1 AND state = $2 \
             ORDER BY updated_at, invitation_id",
        )
        .bind(account_id)
        .bind(state.as_str())
        .fetch_all(&self.reader)
        .await?)
    }
}
