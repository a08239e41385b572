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
//! again; the worker only decides what that means for its own row. That
//! policy lives in `sonarly_app::linkedin::seat`, shared with the reads the
//! governor makes and the health check.

use crate::Engine;
use rand::RngExt;
use sonarly_app::linkedin::seat::{self, Refused};
use sonarly_domain::Timestamp;
use sonarly_domain::linkedin_account::{
    ActionKind, DeferredReason, LinkedInAccount, SendingRules, WEEK_MS, rolling_week_start,
};
use sonarly_linkedin::LinkedInError;
use sonarly_store::StoreError;

/// Campaign steps that found their seat's send slot taken, lined up one
/// average spacing apart behind it. Releasing them all to the moment the slot
/// frees would wake every waiting step of the seat at once, only for one to
/// win and the rest to be put back, each time the slot frees (a seat with a
/// thousand steps due would be claimed a thousand times per action). Lined up,
/// about one step wakes per slot. This is only a hint for when to look again:
/// the slot itself (`account_send_state`), the caps and the ledger decide, so
/// instances that each keep their own line stay correct.
#[derive(Debug, Default)]
pub(crate) struct SlotQueue {
    /// Per seat: the taken slot's end and how many steps were lined up behind it.
    lines: std::sync::Mutex<std::collections::HashMap<String, (Timestamp, i64)>>,
}

impl SlotQueue {
    /// When a step that found the seat's slot taken until `busy_until` should look again.
    pub(crate) fn behind(&self, account: &LinkedInAccount, busy_until: Timestamp) -> Timestamp {
        let rules = &account.rules;
        let average_ms = (i64::from(rules.min_spacing_secs) + i64::from(rules.max_spacing_secs)) * 500;
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let line = lines.entry(account.id.clone()).or_insert((busy_until, 0));
        if line.0 != busy_until {
            *line = (busy_until, 0);
        }
        let place = line.1;
        line.1 += 1;
        busy_until.plus_millis(place * average_ms)
    }
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
        Ok(self.hold_back_why(account, kind, now).await?.map(|(until, _)| until))
    }

    /// [`Self::hold_back`], with the rule that holds the action back.
    pub(crate) async fn hold_back_why(
        &self,
        account: &LinkedInAccount,
        kind: ActionKind,
        now: Timestamp,
    ) -> Result<Option<(Timestamp, DeferredReason)>, StoreError> {
        let rules = &account.rules;
        if let Some(until) = account.rate_limited_until
            && until > now
        {
            return Ok(Some((rules.next_working_moment(until), DeferredReason::RateLimited)));
        }
        if let Some(until) = self.store.seat_paused_until(&account.id, kind.as_str(), now).await? {
            return Ok(Some((rules.next_working_moment(until), DeferredReason::SeatPaused)));
        }
        let working = rules.next_working_moment(now);
        if working > now {
            return Ok(Some((working, DeferredReason::WorkingHours)));
        }
        // `u32::MAX` means no cap: nothing to count. A recovering seat acts at half its caps.
        let cap = account.effective_cap(rules.daily_cap(kind), now);
        if cap != u32::MAX {
            let day_start = rules.local_day_start(now);
            let done_today =
                self.store.count_actions_up_to(&account.id, kind.as_str(), day_start, i64::from(cap)).await?;
            if done_today >= i64::from(cap) {
                return Ok(Some((
                    rules.next_working_moment(rules.next_local_day_start(now)),
                    DeferredReason::DailyCap,
                )));
            }
        }
        // A visit is a profile retrieval too: visits and fetches share the seat's profile budget.
        if kind == ActionKind::ProfileVisit {
            let budget = account.effective_cap(rules.reads.profile_fetches, now);
            let day_start = rules.local_day_start(now);
            let retrieved =
                self.store.count_kinds_up_to(&account.id, kind.as_str(), &["profile_fetch"], day_start, budget).await?;
            if retrieved >= i64::from(budget) {
                return Ok(Some((
                    rules.next_working_moment(rules.next_local_day_start(now)),
                    DeferredReason::DailyCap,
                )));
            }
        }
        let weekly_cap = rules.weekly_cap(kind);
        if weekly_cap != u32::MAX {
            // The seat's report counts the same window (`usageThisWeek`).
            let week_ago = rolling_week_start(now);
            let weekly = i64::from(account.effective_cap(weekly_cap, now));
            let this_week = self.store.count_actions_up_to(&account.id, kind.as_str(), week_ago, weekly).await?;
            if this_week >= weekly {
                // The window frees up when its oldest invitation leaves it.
                let oldest = self.store.oldest_action_since(&account.id, kind.as_str(), week_ago).await?;
                let free_at = oldest.map_or(now.plus_millis(86_400_000), |t| t.plus_millis(WEEK_MS + 1));
                return Ok(Some((rules.next_working_moment(free_at), DeferredReason::WeeklyCap)));
            }
        }
        Ok(None)
    }

    /// Applies what a provider refusal of an action of `kind` means for the
    /// seat (one policy: [`sonarly_app::linkedin::seat`]) and says what it
    /// means for the action.
    pub(crate) async fn seat_refused(
        &self,
        account: &LinkedInAccount,
        kind: ActionKind,
        e: &LinkedInError,
        now: Timestamp,
    ) -> Result<Refused, StoreError> {
        seat::seat_refused(&self.store, account, kind.as_str(), e, now).await
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
