//! The per-account safety policy, one for every provider action a seat
//! performs, whoever queued it (a scheduled response, a campaign step).
//!
//! Before an action: the account's LinkedIn pause, its working hours in its
//! time zone, the daily cap per action kind (counted from local midnight)
//! and the weekly invitation cap (a rolling seven days, like LinkedIn's),
//! all counted in the shared action ledger; then a random spacing between
//! actions, reserved through the account's slot. After a refusal: one policy
//! says what the refusal means for the seat (pause it, wait for the next
//! working day, mark it disconnected) and whether the action may be tried
//! again; the worker only decides what that means for its own row.

use crate::Engine;
use rand::RngExt;
use sonarly_domain::Timestamp;
use sonarly_domain::linkedin_account::{AccountStatus, ActionKind, LinkedInAccount, SendingRules};
use sonarly_linkedin::{LimitKind, LinkedInError};
use sonarly_store::StoreError;

/// Pause after a rate limit that came without a retry-after.
const DEFAULT_RATE_LIMIT_PAUSE_MS: i64 = 15 * 60_000;
/// The rolling window of the weekly invitation cap.
pub(crate) const WEEK_MS: i64 = 7 * 86_400_000;

/// What a provider refusal means for the action (its seat is already dealt with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Nothing was performed and the same action may succeed later: try again at this time.
    RetryAt(Timestamp),
    /// The seat was disconnected (now marked so): nothing can be sent until it is reconnected.
    Disconnected,
    /// This action cannot succeed as it is: give it up.
    Final,
}

/// A random spacing after an action, within the account's bounds.
pub(crate) fn spacing_ms(rules: &SendingRules) -> i64 {
    let (min, max) = (rules.min_spacing_secs, rules.max_spacing_secs.max(rules.min_spacing_secs));
    i64::from(rand::rng().random_range(min..=max)) * 1000
}

impl Engine {
    /// When a safety rule holds the account back from an action of `kind`,
    /// the moment it may act again; `None` when it may act now.
    pub(crate) async fn hold_back(
        &self,
        account: &LinkedInAccount,
        kind: ActionKind,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        let rules = &account.rules;
        if let Some(until) = account.rate_limited_until
            && until > now
        {
            return Ok(Some(rules.next_working_moment(until)));
        }
        let working = rules.next_working_moment(now);
        if working > now {
            return Ok(Some(working));
        }
        // `u32::MAX` means no cap: nothing to count.
        let cap = rules.daily_cap(kind);
        if cap != u32::MAX {
            let day_start = rules.local_day_start(now);
            let done_today =
                self.store.count_actions_up_to(&account.id, kind.as_str(), day_start, i64::from(cap)).await?;
            if done_today >= i64::from(cap) {
                return Ok(Some(rules.next_working_moment(rules.next_local_day_start(now))));
            }
        }
        if kind == ActionKind::Invitation && rules.weekly_invitations != u32::MAX {
            let week_ago = now.plus_millis(-WEEK_MS);
            let weekly = i64::from(rules.weekly_invitations);
            let this_week = self.store.count_actions_up_to(&account.id, kind.as_str(), week_ago, weekly).await?;
            if this_week >= weekly {
                // The window frees up when its oldest invitation leaves it.
                let oldest = self.store.oldest_action_since(&account.id, kind.as_str(), week_ago).await?;
                let free_at = oldest.map_or(now.plus_millis(86_400_000), |t| t.plus_millis(WEEK_MS + 1));
                return Ok(Some(rules.next_working_moment(free_at)));
            }
        }
        Ok(None)
    }

    /// Applies what a provider refusal means for the seat (a pause, a
    /// disconnection) and says what it means for the action.
    pub(crate) async fn seat_refused(
        &self,
        account: &LinkedInAccount,
        e: &LinkedInError,
        now: Timestamp,
    ) -> Result<Refusal, StoreError> {
        Ok(match e {
            LinkedInError::RateLimited { retry_after } => {
                let pause = retry_after.map(|d| d.as_millis() as i64).unwrap_or(DEFAULT_RATE_LIMIT_PAUSE_MS);
                let until = now.plus_millis(pause);
                self.store.set_linkedin_rate_limited_until(&account.id, Some(until)).await?;
                tracing::warn!(account = %account.id, until = %until, "LinkedIn rate limit: pausing the account");
                Refusal::RetryAt(until)
            }
            LinkedInError::LimitReached(LimitKind::DailyActions | LimitKind::WeeklyInvitations) => {
                Refusal::RetryAt(account.rules.next_working_moment(account.rules.next_local_day_start(now)))
            }
            LinkedInError::AccountDisconnected(_) | LinkedInError::Unauthorized(_) => {
                self.store.set_linkedin_account_status(&account.id, AccountStatus::Disconnected, now).await?;
                tracing::warn!(account = %account.id, error = %e, "LinkedIn account disconnected");
                Refusal::Disconnected
            }
            _ => Refusal::Final,
        })
    }

    /// The account's own member id (asked once), or our account id if LinkedIn cannot say.
    pub(crate) async fn own_member_id(&self, account: &LinkedInAccount) -> String {
        if let Some(id) = self.own_ids.lock().unwrap_or_else(|p| p.into_inner()).get(&account.id) {
            return id.clone();
        }
        let Ok(provider) = self.registry.provider(account) else { return account.id.clone() };
        match provider.own_profile().await {
            Ok(me) => {
                self.own_ids
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(account.id.clone(), me.provider_id.clone());
                me.provider_id
            }
            Err(_) => account.id.clone(),
        }
    }
}
