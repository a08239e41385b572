//! Seat health, one policy: what a provider refusal or a provider status
//! means for the seat, whoever met it (a send, a background read, a webhook,
//! the health check).
//!
//! ```text
//! connected ──limit refusal──▶ connected + that kind paused ("limited") ──time──▶ connected
//! connected ──checkpoint/2FA/credentials──▶ needs_action ──provider says OK──▶ recovering
//! connected ──error/restricted/stopped/gone──▶ disconnected ──provider says OK──▶ recovering
//! recovering (half budgets) ──one day──▶ connected
//! ```
//!
//! A LinkedIn limit pauses that kind of action or read for the seat until the
//! limit resets (invitations: until the rolling week frees a place; daily
//! limits: the next local day), so the next prospect does not meet the same
//! refusal. A rate limit pauses the whole seat. A product- or route-scoped
//! refusal pauses that kind for a day. Only what the owner must fix, or a seat
//! the provider reports broken, stops the seat.

use crate::{AppResult, StoreResultExt};
use sonarly_domain::linkedin_account::{
    AccountStatus, ActionKind, CallKind, LinkedInAccount, SeatState, WEEK_MS, rolling_week_start,
};
use sonarly_domain::{DomainError, GroupId, Timestamp};
use sonarly_linkedin::{LimitKind, LinkedInError, SeatHealth};
use sonarly_store::{SeatPause, Store, StoreError};

/// Pause after a rate limit that came without a retry-after.
pub const DEFAULT_RATE_LIMIT_PAUSE_MS: i64 = 15 * 60_000;

/// What a refusal means for the call that met it (the seat is already dealt with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Nothing was performed and the same call may succeed later: try again at this time.
    RetryAt(Timestamp),
    /// The seat stopped (needs its owner, or is disconnected): nothing acts until it recovers.
    SeatStopped,
    /// This call cannot succeed as it is: give it up.
    Final,
}

/// Applies what `e`, met by a call of `kind` (an action or read kind's wire
/// string), means for the seat, and says what it means for the call.
pub async fn seat_refused(
    store: &Store,
    account: &LinkedInAccount,
    kind: &str,
    e: &LinkedInError,
    now: Timestamp,
) -> Result<Refused, StoreError> {
    let rules = &account.rules;
    let next_day = rules.next_working_moment(rules.next_local_day_start(now));
    let pause = |kind: &'static str, until: Timestamp| async move {
        store.pause_seat_kind(&account.id, kind, until, e.reason_code(), now).await?;
        tracing::warn!(account = %account.id, kind, until = %until, error = %e, "LinkedIn limit: pausing this kind for the seat");
        Ok::<_, StoreError>(Refused::RetryAt(until))
    };
    let kind: &'static str = static_kind(kind);
    Ok(match e {
        LinkedInError::RateLimited { retry_after } => {
            let pause = retry_after.map(|d| d.as_millis() as i64).unwrap_or(DEFAULT_RATE_LIMIT_PAUSE_MS);
            let until = now.plus_millis(pause.max(1_000));
            store.set_linkedin_rate_limited_until(&account.id, Some(until)).await?;
            tracing::warn!(account = %account.id, until = %until, "LinkedIn rate limit: pausing the seat");
            Refused::RetryAt(rules.next_working_moment(until))
        }
        LinkedInError::LimitReached(LimitKind::WeeklyInvitations) => {
            // The rolling week frees a place when its oldest invitation leaves it.
            let week_ago = rolling_week_start(now);
            let oldest = store.oldest_action_since(&account.id, "invitation", week_ago).await?;
            let freed = oldest.map_or(next_day, |t| rules.next_working_moment(t.plus_millis(WEEK_MS + 1)));
            pause("invitation", freed.max(next_day)).await?
        }
        LinkedInError::LimitReached(LimitKind::DailyActions) => pause(kind, next_day).await?,
        LinkedInError::LimitReached(LimitKind::ProfileViews) => {
            pause("profile_visit", next_day).await?;
            pause("profile_fetch", next_day).await?
        }
        LinkedInError::LimitReached(LimitKind::Searches) => pause("search_page", next_day).await?,
        LinkedInError::LimitReached(LimitKind::InMailCredits) => {
            pause("inmail", next_day).await?;
            Refused::Final
        }
        LinkedInError::FeatureUnavailable(_) => {
            pause(kind, next_day).await?;
            Refused::Final
        }
        LinkedInError::ActionRequired(_) => {
            set_status(store, account, AccountStatus::NeedsAction, &e.to_string(), now).await?;
            Refused::SeatStopped
        }
        LinkedInError::AccountDisconnected(_) | LinkedInError::Unauthorized(_) => {
            set_status(store, account, AccountStatus::Disconnected, &e.to_string(), now).await?;
            Refused::SeatStopped
        }
        LinkedInError::BudgetSpent { until, .. } => Refused::RetryAt(*until),
        _ => Refused::Final,
    })
}

/// The wire strings of the kinds a pause can name (so pauses never store free text).
fn static_kind(kind: &str) -> &'static str {
    ActionKind::ALL
        .iter()
        .map(|k| k.as_str())
        .chain(CallKind::ALL.iter().map(|k| k.as_str()))
        .find(|k| *k == kind)
        .unwrap_or("other")
}

/// Moves the seat to `status` when it is a change, and says so in the log.
pub async fn set_status(
    store: &Store,
    account: &LinkedInAccount,
    status: AccountStatus,
    why: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    if account.status == status {
        return Ok(false);
    }
    store.set_linkedin_account_status(&account.id, status, now).await?;
    tracing::warn!(account = %account.id, from = account.status.as_str(), to = status.as_str(), why, "LinkedIn seat health changed");
    Ok(true)
}

/// Our status for a provider's status word (Unipile's webhook or `GET /accounts/{id}`,
/// or our own), given the seat's status now; `None`: nothing changes.
pub fn status_for_provider_word(current: AccountStatus, word: &str) -> Option<AccountStatus> {
    let next = match word.trim().to_ascii_uppercase().as_str() {
        "CREDENTIALS" | "PERMISSIONS" | "CHECKPOINT" | "ACTION_REQUIRED" | "NEEDS_ACTION" => AccountStatus::NeedsAction,
        "ERROR" | "STOPPED" | "DELETED" | "DISCONNECTED" => AccountStatus::Disconnected,
        "OK" | "RECONNECTED" | "SYNC_SUCCESS" | "CREATION_SUCCESS" | "CONNECTED" if !current.can_act() => {
            AccountStatus::Recovering
        }
        _ => return None,
    };
    (next != current).then_some(next)
}

/// Our status for what the provider says about the seat; `None`: nothing changes.
pub fn status_for_health(current: AccountStatus, health: &SeatHealth) -> Option<AccountStatus> {
    let next = match health {
        SeatHealth::Ok if !current.can_act() => AccountStatus::Recovering,
        SeatHealth::Ok | SeatHealth::Connecting => return None,
        SeatHealth::NeedsAction(_) => AccountStatus::NeedsAction,
        SeatHealth::Disconnected(_) | SeatHealth::Gone(_) => AccountStatus::Disconnected,
    };
    (next != current).then_some(next)
}

/// How much of one kind of action or read a seat used today, out of its cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindUse {
    /// An action kind (`invitation`…) or a read kind (`profile_fetch`…).
    pub kind: &'static str,
    pub used: i64,
    /// Today's cap (halved while recovering); `None`: no cap.
    pub cap: Option<u32>,
}

/// What a seat's owner needs to see: its health, today's and this week's use per kind, and
/// what is paused until when.
#[derive(Debug, Clone)]
pub struct SeatReport {
    pub state: SeatState,
    pub usage: Vec<KindUse>,
    /// Use of each action kind over the rolling week the weekly caps count in; `cap` is the
    /// weekly cap as it applies now (invitations only).
    pub usage_this_week: Vec<KindUse>,
    pub pauses: Vec<SeatPause>,
    /// Set while LinkedIn asked the whole seat to slow down.
    pub rate_limited_until: Option<Timestamp>,
}

/// The seat's report at `now` (its local day).
pub async fn seat_report(store: &Store, account: &LinkedInAccount, now: Timestamp) -> Result<SeatReport, StoreError> {
    let rules = &account.rules;
    let counts = store.ledger_counts_since(&account.id, rules.local_day_start(now)).await?;
    let used = |kind: &str| counts.iter().find(|(k, _)| k == kind).map_or(0, |(_, n)| *n);
    let cap = |cap: u32| (cap != u32::MAX).then(|| account.effective_cap(cap, now));
    let mut usage: Vec<KindUse> = ActionKind::ALL
        .iter()
        .map(|k| KindUse { kind: k.as_str(), used: used(k.as_str()), cap: cap(rules.daily_cap(*k)) })
        .collect();
    usage.extend(CallKind::ALL.iter().map(|k| KindUse {
        kind: k.as_str(),
        used: used(k.as_str()),
        cap: cap(rules.reads.daily(*k)),
    }));
    // The window and cap the scheduler's weekly check uses (`engine::safety`), counted in the same ledger.
    let week = store.ledger_counts_since(&account.id, rolling_week_start(now)).await?;
    let used_in_week = |kind: &str| week.iter().find(|(k, _)| k == kind).map_or(0, |(_, n)| *n);
    let usage_this_week = ActionKind::ALL
        .iter()
        .map(|k| KindUse { kind: k.as_str(), used: used_in_week(k.as_str()), cap: cap(rules.weekly_cap(*k)) })
        .collect();
    let pauses = store.seat_pauses(&account.id, now).await?;
    let rate_limited_until = account.rate_limited_until.filter(|u| *u > now);
    let state = match account.status {
        AccountStatus::Connected if !pauses.is_empty() || rate_limited_until.is_some() => SeatState::Limited,
        AccountStatus::Connected => SeatState::Connected,
        AccountStatus::Recovering => SeatState::Recovering,
        AccountStatus::NeedsAction => SeatState::NeedsAction,
        AccountStatus::Disconnected => SeatState::Disconnected,
    };
    Ok(SeatReport { state, usage, usage_this_week, pauses, rate_limited_until })
}

/// Days of activity shown when none are asked for, and the most that may be.
pub const ACTIVITY_DAYS_DEFAULT: u32 = 30;
pub const ACTIVITY_DAYS_MAX: u32 = 90;

/// A seat's actions on one of its local days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayActivity {
    /// The local date, `2026-11-30`.
    pub date: String,
    /// Actions per kind, every action kind present (in [`ActionKind::ALL`] order).
    pub counts: Vec<(ActionKind, i64)>,
}

/// A seat's actions per local day (its time zone), oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatActivity {
    pub timezone: String,
    pub days: Vec<DayActivity>,
}

/// The seat's actions per local day over its last `days` days (today included), counted from
/// the action ledger the caps count in; every day is present, zeros included. `days` is the
/// query text: a whole number from 1 to [`ACTIVITY_DAYS_MAX`], [`ACTIVITY_DAYS_DEFAULT`] when absent.
pub async fn seat_activity(
    store: &Store,
    group_id: &GroupId,
    account_id: &str,
    days: Option<&str>,
    now: Timestamp,
) -> AppResult<SeatActivity> {
    let days = match days.map(str::trim) {
        None => ACTIVITY_DAYS_DEFAULT,
        Some(text) => text.parse::<u32>().ok().filter(|d| (1..=ACTIVITY_DAYS_MAX).contains(d)).ok_or_else(|| {
            DomainError::invalid_field("days", format!("must be a whole number from 1 to {ACTIVITY_DAYS_MAX}"))
        })?,
    };
    let account = store
        .get_linkedin_account(group_id, account_id)
        .await
        .or_internal()?
        .ok_or_else(|| DomainError::not_found("LinkedIn account"))?;
    let rules = &account.rules;
    let local_days = rules.last_local_days(now, days);
    let Some(since) = local_days.first().map(|(_, start)| *start) else {
        return Ok(SeatActivity { timezone: rules.timezone.clone(), days: Vec::new() });
    };
    let until = rules.next_local_day_start(now);
    let kinds = ActionKind::ALL.map(ActionKind::as_str);
    let rows = store.ledger_counts_by_quarter_hour(group_id, &account.id, &kinds, since, until).await.or_internal()?;
    let mut out: Vec<DayActivity> = local_days
        .iter()
        .map(|(date, _)| DayActivity { date: date.clone(), counts: ActionKind::ALL.map(|k| (k, 0)).to_vec() })
        .collect();
    for (kind, quarter, n) in rows {
        let at = Timestamp::from_millis(quarter * sonarly_store::QUARTER_HOUR_MS);
        // The last day that starts at or before the quarter hour holds it.
        let Some(day) = local_days.iter().rposition(|(_, start)| *start <= at) else { continue };
        if let Some(count) = out[day].counts.iter_mut().find(|(k, _)| k.as_str() == kind) {
            count.1 += n;
        }
    }
    Ok(SeatActivity { timezone: rules.timezone.clone(), days: out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccountStatus::*;

    #[test]
    fn ok_brings_a_stopped_seat_back_through_recovering_and_leaves_an_acting_one_alone() {
        assert_eq!(status_for_provider_word(Disconnected, "OK"), Some(Recovering));
        assert_eq!(status_for_provider_word(NeedsAction, "reconnected"), Some(Recovering));
        assert_eq!(status_for_provider_word(Connected, "OK"), None);
        assert_eq!(status_for_provider_word(Recovering, "SYNC_SUCCESS"), None);
        assert_eq!(status_for_health(Disconnected, &SeatHealth::Ok), Some(Recovering));
        assert_eq!(status_for_health(Connected, &SeatHealth::Ok), None);
    }

    #[test]
    fn what_the_owner_must_fix_is_needs_action_and_the_rest_is_disconnected() {
        assert_eq!(status_for_provider_word(Connected, "CREDENTIALS"), Some(NeedsAction));
        assert_eq!(status_for_provider_word(Connected, "ERROR"), Some(Disconnected));
        assert_eq!(status_for_provider_word(Disconnected, "ERROR"), None);
        assert_eq!(status_for_provider_word(Connected, "CONNECTING"), None);
        assert_eq!(status_for_health(Connected, &SeatHealth::NeedsAction("CREDENTIALS".into())), Some(NeedsAction));
        assert_eq!(status_for_health(Recovering, &SeatHealth::Gone("deleted".into())), Some(Disconnected));
        assert_eq!(status_for_health(Disconnected, &SeatHealth::Connecting), None);
    }
}
