//! Stale-invitation withdrawal: one queue row per seat. LinkedIn holds a seat
//! with many old pending invitations against it, so an invitation still
//! pending `withdrawInvitationsAfterDays` after it was sent is withdrawn.
//!
//! Which invitations are stale comes from our own store (the sends that
//! delivered invitations, minus the recipients the relation sweep or a
//! `new_relation` webhook recorded as connected): no LinkedIn read. Each
//! withdrawal is a write to LinkedIn, metered like a send: the seat's
//! working hours, its LinkedIn pauses, the daily cap `dailyWithdrawals`
//! counted in the action ledger (kind `withdrawal`), and the seat's spacing
//! slot shared with sends; it runs after the send workers in each engine
//! step, so sends due now go first. One claim withdraws at most one
//! invitation and records it under the row's lease, so two instances never
//! withdraw the same invitation and a failing one is given up after a few
//! tries. A campaign lead waiting on a withdrawn invitation ends as not
//! accepted (`INVITATION_NOT_ACCEPTED`).

use crate::safety::spacing_ms;
use crate::{Engine, backoff_ms, jitter};
use sonarly_app::linkedin::seat::Refused;
use sonarly_domain::linkedin_account::ActionKind;
use sonarly_linkedin::LinkedInError;
use sonarly_store::{SlotClaim, SlotRequest, StoreError, WITHDRAWAL_WORK, WithdrawalState, WorkItem};

/// How often a seat with nothing stale looks again (jittered up to twice this).
const IDLE_MS: i64 = 3 * 3_600_000;
/// How long a seat that cannot act waits before looking again.
const STOPPED_MS: i64 = 3_600_000;
/// Failed tries of one invitation before it is given up.
const MAX_ATTEMPTS: i64 = 5;

impl Engine {
    /// Queues a withdrawal row for each seat that has none.
    pub(crate) async fn queue_missing_withdrawals(&self) {
        let now = self.now();
        match self.store.system().accounts_without_work(WITHDRAWAL_WORK).await {
            Ok(missing) => {
                for (account_id, group_id) in missing {
                    if let Err(e) = self.store.ensure_work(WITHDRAWAL_WORK, &account_id, &group_id, now).await {
                        tracing::warn!(account = %account_id, error = %e, "cannot queue the invitation withdrawal");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list seats without an invitation withdrawal row"),
        }
    }

    /// Withdraws at most one stale invitation of the claimed seat.
    pub(crate) async fn withdraw_stale(
        &self,
        item: &WorkItem,
        lease_until: sonarly_domain::Timestamp,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let Some(account) = self.store.system().linkedin_account(&item.ref_id).await? else {
            self.store.finish_work(item).await?; // the seat was removed
            return Ok(());
        };
        let idle = now.plus_millis(jitter(&format!("{}-withdraw", account.id), now, IDLE_MS, 2 * IDLE_MS));
        let Some(age) = account.rules.withdraw_after_ms() else {
            self.store.release_work(item, idle, None, true).await?;
            return Ok(());
        };
        if !account.status.can_act() {
            self.store.release_work(item, now.plus_millis(STOPPED_MS), Some("ACCOUNT_DISCONNECTED"), true).await?;
            return Ok(());
        }
        let Some(stale) = self.store.stale_invitation(&account.id, &account.group_id, now.plus_millis(-age)).await?
        else {
            self.store.release_work(item, idle, None, true).await?;
            return Ok(());
        };
        if let Some(until) = self.hold_back(&account, ActionKind::Withdrawal, now).await? {
            self.store.release_work(item, until, Some("SAFETY_RULE"), true).await?;
            return Ok(());
        }
        let provider = match self.registry.provider(&account) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(account = %account.id, error = %e, "no provider to withdraw invitations with");
                self.store
                    .release_work(item, now.plus_millis(backoff_ms(item.attempts)), Some(e.reason_code()), false)
                    .await?;
                return Ok(());
            }
        };
        // One ledger entry per invitation: a retry after a crash is not counted twice.
        let token = format!("withdraw-{}", stale.send_token);
        let slot = SlotRequest {
            account_id: &account.id,
            kind: ActionKind::Withdrawal.as_str(),
            token: &token,
            now,
            next_slot_at: now.plus_millis(spacing_ms(&account.rules)),
        };
        match self.store.reserve_action_slot(item, &slot, lease_until).await? {
            SlotClaim::Granted => sonarly_app::metrics::budget_used(&account.id, slot.kind),
            SlotClaim::Busy(until) => {
                self.store.release_work(item, until, Some("SPACING"), true).await?;
                return Ok(());
            }
            SlotClaim::Lost => return Ok(()),
        }
        // Bounded like a send; a withdrawal that ran out of time is simply tried again (it is idempotent).
        let budget = std::time::Duration::from_millis(self.config.call_budget_ms().max(1) as u64);
        let call = tokio::time::timeout(budget, provider.withdraw_invitation(&stale.invitation_id)).await;
        let outcome = call.unwrap_or_else(|_| Err(LinkedInError::Transient("the withdrawal timed out".into())));
        let e = match outcome {
            // Already gone (accepted, declined, withdrawn by hand) is what we wanted.
            Ok(()) | Err(LinkedInError::NotFound(_)) | Err(LinkedInError::AlreadyDone(_)) => {
                let done = self.now();
                tracing::info!(account = %account.id, invitation = %stale.invitation_id, sent_at = %stale.sent_at, "stale invitation withdrawn");
                if self
                    .store
                    .record_withdrawal(item, lease_until, &stale, WithdrawalState::Withdrawn, None, done)
                    .await?
                {
                    // The next stale one, if any, waits for the spacing and the cap.
                    self.store.release_work(item, done, None, true).await?;
                }
                return Ok(());
            }
            Err(e) => e,
        };
        let now = self.now();
        // A refused withdrawal did not happen: it does not count against the cap.
        if !matches!(e, LinkedInError::Transient(_)) {
            self.store.forget_action(&token).await?;
        }
        match self.seat_refused(&account, ActionKind::Withdrawal, &e, now).await? {
            // A limit (withdrawals paused for the seat) or a rate limit: nothing wrong with the invitation.
            Refused::RetryAt(until) => {
                tracing::info!(account = %account.id, error = %e, resume_at = %until, "withdrawals wait for the seat's limit");
                self.store.release_work(item, until, Some(e.reason_code()), true).await?;
            }
            Refused::SeatStopped => {
                self.store.release_work(item, now.plus_millis(STOPPED_MS), Some(e.reason_code()), true).await?;
            }
            Refused::Final => {
                let attempts = stale.attempts + 1;
                let give_up = !e.is_retryable() || attempts >= MAX_ATTEMPTS;
                let state = if give_up { WithdrawalState::Failed } else { WithdrawalState::Pending };
                tracing::warn!(account = %account.id, invitation = %stale.invitation_id, error = %e, attempts, give_up, "withdrawing an invitation failed");
                let reason = e.to_string();
                if self.store.record_withdrawal(item, lease_until, &stale, state, Some(&reason), now).await? {
                    let at = if give_up { now } else { now.plus_millis(backoff_ms(attempts)) };
                    self.store.release_work(item, at, Some(e.reason_code()), true).await?;
                }
            }
        }
        Ok(())
    }
}
