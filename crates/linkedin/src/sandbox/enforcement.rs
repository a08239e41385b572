//! How the sandbox enforces like LinkedIn: it counts every call the seat
//! makes, per kind and per UTC day (the sandbox has no time zone of its own;
//! LinkedIn's own counters are not documented to follow the member's), refuses
//! calls past a kind's daily threshold, and restricts a seat that keeps
//! pushing: enough refused calls in a row, or a kind driven past
//! [`EnforcementConfig::overdrive_factor`] times its threshold in one day.
//! A restricted seat answers every call with `AccountDisconnected("restricted
//! by LinkedIn …")` (Unipile's 403 `account_restricted`) and
//! [`SeatHealth::Disconnected`] until the restriction ends.
//!
//! The counts live in a [`SandboxMeter`] the caller owns and passes to every
//! [`super::Sandbox`] it builds for the account, so they survive rebuilding the
//! sandbox (the server rebuilds it whenever the account row changes). The meter
//! lives in process memory: a restart forgets counts and restrictions.

use super::SandboxConfig;
use crate::error::{LimitKind, LinkedInError, LinkedInResult};
use crate::types::{AccountType, SeatHealth};
use serde::{Deserialize, Serialize};
use sonarly_domain::Timestamp;
use std::collections::BTreeMap;
use std::sync::Mutex;

const DAY_MS: i64 = 86_400_000;

/// A kind of call, as LinkedIn counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallKind {
    /// A profile read: `profile`, `visit_profile`, `find_email` (it reads the profile), `recent_activity`.
    ProfileView,
    /// A page of search or a Sales Navigator listing: `search_people`, `saved_searches`, `lead_lists`.
    SearchPage,
    /// A poll of the seat's network: `relations`, `sent_invitations`.
    RelationPoll,
    /// A read of the inbox: `chats`, `chat_messages`.
    InboxRead,
    /// `send_invitation`.
    Invitation,
    /// `send_message`, `start_chat`, `send_inmail`.
    Message,
    /// `follow`, `react_to_recent_post`.
    Engagement,
    /// `withdraw_invitation`.
    Withdrawal,
}

impl CallKind {
    pub const ALL: [CallKind; 8] = [
        Self::ProfileView,
        Self::SearchPage,
        Self::RelationPoll,
        Self::InboxRead,
        Self::Invitation,
        Self::Message,
        Self::Engagement,
        Self::Withdrawal,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ProfileView => "profile_view",
            Self::SearchPage => "search_page",
            Self::RelationPoll => "relation_poll",
            Self::InboxRead => "inbox_read",
            Self::Invitation => "invitation",
            Self::Message => "message",
            Self::Engagement => "engagement",
            Self::Withdrawal => "withdrawal",
        }
    }
}

/// Thresholds of the enforcement model (`enforcement` in the sandbox settings).
/// A threshold of 0 turns that rule off. Invitations, messages (with InMails)
/// engagements and withdrawals keep their own caps in [`SandboxConfig`]; for them only the
/// overdrive rule applies here, against those caps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnforcementConfig {
    /// Profile reads per UTC day before `LimitReached(ProfileViews)`. Default 150: LinkedIn's
    /// real wall sits above Unipile's 80–100 guidance, which a well-behaved seat follows.
    pub profile_views_per_day: u32,
    /// Search pages per UTC day on a classic account before `LimitReached(Searches)`. Default 50.
    pub search_pages_per_day: u32,
    /// The same on Sales Navigator and Recruiter. Default 100.
    pub sales_navigator_search_pages_per_day: u32,
    /// Relation and sent-invitation polls per UTC day before `RateLimited` (no retry-after,
    /// like Unipile's 429). Default 200: about one every seven minutes around the clock.
    pub relation_polls_per_day: u32,
    /// Chat list and message reads per UTC day before `RateLimited`. Default 5,000: LinkedIn's
    /// own web client polls messaging all day, so this is the most tolerant limit.
    pub inbox_reads_per_day: u32,
    /// Refused calls in a row (any kind; any success resets it) that restrict the seat. Default 20.
    pub refusals_before_restriction: u32,
    /// Calls of one kind in a UTC day, as a multiple of its threshold, that restrict the seat
    /// (refused calls count: LinkedIn sees them). Default 1.5.
    pub overdrive_factor: f64,
    /// How long a restriction lasts, in days. Default 3; 0 never restricts.
    pub restriction_days: u32,
}

impl Default for EnforcementConfig {
    fn default() -> Self {
        Self {
            profile_views_per_day: 150,
            search_pages_per_day: 50,
            sales_navigator_search_pages_per_day: 100,
            relation_polls_per_day: 200,
            inbox_reads_per_day: 5_000,
            refusals_before_restriction: 20,
            overdrive_factor: 1.5,
            restriction_days: 3,
        }
    }
}

impl EnforcementConfig {
    /// A LinkedIn that never refuses for volume nor restricts (the sandbox's own caps in
    /// [`SandboxConfig`] still apply): for tests about something else that call far more
    /// than a real seat may.
    pub fn off() -> Self {
        Self {
            profile_views_per_day: 0,
            search_pages_per_day: 0,
            sales_navigator_search_pages_per_day: 0,
            relation_polls_per_day: 0,
            inbox_reads_per_day: 0,
            refusals_before_restriction: 0,
            overdrive_factor: 1.5,
            restriction_days: 0,
        }
    }
}

/// The daily threshold the meter itself enforces for `kind` (`None`: the
/// sandbox's journal caps do, or 0: off).
fn metered_threshold(config: &SandboxConfig, kind: CallKind) -> Option<u32> {
    let e = &config.enforcement;
    let t = match kind {
        CallKind::ProfileView => e.profile_views_per_day,
        CallKind::SearchPage if config.account_type == AccountType::Classic => e.search_pages_per_day,
        CallKind::SearchPage => e.sales_navigator_search_pages_per_day,
        CallKind::RelationPoll => e.relation_polls_per_day,
        CallKind::InboxRead => e.inbox_reads_per_day,
        CallKind::Invitation | CallKind::Message | CallKind::Engagement | CallKind::Withdrawal => return None,
    };
    (t > 0).then_some(t)
}

/// The daily threshold of `kind` the overdrive rule multiplies (0: none).
fn daily_threshold(config: &SandboxConfig, kind: CallKind) -> u32 {
    match kind {
        CallKind::Invitation => config.invitations_per_day,
        CallKind::Message => config.messages_per_day.saturating_add(config.inmails_per_day),
        CallKind::Engagement => config.other_actions_per_day,
        CallKind::Withdrawal => config.withdrawals_per_day,
        _ => metered_threshold(config, kind).unwrap_or(0),
    }
}

/// What LinkedIn answers a call refused by `kind`'s threshold.
fn refusal(kind: CallKind) -> LinkedInError {
    match kind {
        CallKind::ProfileView => LinkedInError::LimitReached(LimitKind::ProfileViews),
        CallKind::SearchPage => LinkedInError::LimitReached(LimitKind::Searches),
        _ => LinkedInError::RateLimited { retry_after: None },
    }
}

/// Whether an answer is LinkedIn refusing the call for volume (a limit or a rate limit;
/// running out of InMail credits is not pushing LinkedIn).
fn is_refusal(e: &LinkedInError) -> bool {
    matches!(e, LinkedInError::LimitReached(k) if *k != LimitKind::InMailCredits)
        || matches!(e, LinkedInError::RateLimited { .. })
}

/// One restriction of the seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    pub from: Timestamp,
    pub until: Timestamp,
    /// Why, e.g. "20 refused calls in a row" or "226 profile_view calls in a day".
    pub reason: String,
}

impl Restriction {
    pub fn covers(&self, at: Timestamp) -> bool {
        self.from <= at && at < self.until
    }
}

#[derive(Default)]
struct MeterState {
    /// Calls per (UTC day number, kind), refused ones included.
    calls: BTreeMap<(i64, CallKind), u32>,
    /// Refused calls per (UTC day number, kind), restriction answers excluded.
    refused: BTreeMap<(i64, CallKind), u32>,
    refused_in_a_row: u32,
    restrictions: Vec<Restriction>,
}

/// What one seat did, as LinkedIn would count it, and its restrictions.
/// Shared by every sandbox built for the account (see the module docs).
#[derive(Default)]
pub struct SandboxMeter {
    state: Mutex<MeterState>,
}

fn day_of(at: Timestamp) -> i64 {
    at.as_millis().div_euclid(DAY_MS)
}

/// The start of the UTC day holding `at`.
pub fn utc_day_start(at: Timestamp) -> Timestamp {
    Timestamp::from_millis(day_of(at) * DAY_MS)
}

impl SandboxMeter {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MeterState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Calls of `kind` on the UTC day holding `at` (refused ones included).
    pub fn calls_on(&self, kind: CallKind, at: Timestamp) -> u32 {
        self.state().calls.get(&(day_of(at), kind)).copied().unwrap_or(0)
    }

    /// Calls of `kind` in the seven UTC days ending with the one holding `at`.
    pub fn calls_in_week(&self, kind: CallKind, at: Timestamp) -> u32 {
        let day = day_of(at);
        let state = self.state();
        (day - 6..=day).map(|d| state.calls.get(&(d, kind)).copied().unwrap_or(0)).sum()
    }

    /// Calls of `kind` refused for volume on the UTC day holding `at`.
    pub fn refused_on(&self, kind: CallKind, at: Timestamp) -> u32 {
        self.state().refused.get(&(day_of(at), kind)).copied().unwrap_or(0)
    }

    /// Calls of every kind, per UTC day start, oldest first (for reports of a long run).
    pub fn daily_calls(&self) -> Vec<(Timestamp, CallKind, u32)> {
        self.state().calls.iter().map(|(&(d, k), &n)| (Timestamp::from_millis(d * DAY_MS), k, n)).collect()
    }

    /// Refused calls since the last success.
    pub fn refused_in_a_row(&self) -> u32 {
        self.state().refused_in_a_row
    }

    /// Every restriction so far, oldest first.
    pub fn restrictions(&self) -> Vec<Restriction> {
        self.state().restrictions.clone()
    }

    /// The restriction in force at `at`, if any.
    pub fn restriction_at(&self, at: Timestamp) -> Option<Restriction> {
        self.state().restrictions.iter().find(|r| r.covers(at)).cloned()
    }

    /// The seat's health at `now`: outages first, then restrictions.
    pub(crate) fn health(&self, config: &SandboxConfig, now: Timestamp) -> SeatHealth {
        if outage_end(config, now).is_some() {
            return SeatHealth::Disconnected("ERROR".into());
        }
        match self.restriction_at(now) {
            Some(r) => SeatHealth::Disconnected(format!("RESTRICTED by LinkedIn until {}", r.until)),
            None => SeatHealth::Ok,
        }
    }

    /// Before a call: refuses it during an outage or a restriction (uncounted), then
    /// counts it and refuses it past its kind's threshold.
    pub(crate) fn admit(&self, config: &SandboxConfig, kind: Option<CallKind>, now: Timestamp) -> LinkedInResult<()> {
        if let Some(end) = outage_end(config, now) {
            return Err(LinkedInError::AccountDisconnected(format!(
                "ERROR: the LinkedIn session is down (sandbox outage until {end})"
            )));
        }
        let mut state = self.state();
        if let Some(r) = state.restrictions.iter().find(|r| r.covers(now)) {
            return Err(restricted(r));
        }
        let Some(kind) = kind else { return Ok(()) };
        let n = state.calls.entry((day_of(now), kind)).or_insert(0);
        *n += 1;
        let calls = *n;
        match metered_threshold(config, kind) {
            Some(threshold) if calls > threshold => Err(refuse(&mut state, config, kind, now, refusal(kind))),
            _ => Ok(()),
        }
    }

    /// After a call that was admitted: a success resets the refusals in a row; a
    /// refusal for volume (the journal caps, the burst limit) counts and may restrict.
    pub(crate) fn settle<T>(
        &self,
        config: &SandboxConfig,
        kind: Option<CallKind>,
        now: Timestamp,
        result: LinkedInResult<T>,
    ) -> LinkedInResult<T> {
        let mut state = self.state();
        match result {
            Ok(v) => {
                state.refused_in_a_row = 0;
                Ok(v)
            }
            Err(e) if is_refusal(&e) => match kind {
                Some(kind) => Err(refuse(&mut state, config, kind, now, e)),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }
}

/// The end of the scripted outage holding `now`, if any.
fn outage_end(config: &SandboxConfig, now: Timestamp) -> Option<Timestamp> {
    let now = now.as_millis();
    config.outages.iter().find(|&&(start, end)| start <= now && now < end).map(|&(_, end)| Timestamp::from_millis(end))
}

fn restricted(r: &Restriction) -> LinkedInError {
    LinkedInError::AccountDisconnected(format!("restricted by LinkedIn until {} ({})", r.until, r.reason))
}

/// Counts a refusal; answers `answer`, or the restriction it triggers.
fn refuse(
    state: &mut MeterState,
    config: &SandboxConfig,
    kind: CallKind,
    now: Timestamp,
    answer: LinkedInError,
) -> LinkedInError {
    *state.refused.entry((day_of(now), kind)).or_insert(0) += 1;
    state.refused_in_a_row += 1;
    let e = &config.enforcement;
    if e.restriction_days == 0 {
        return answer;
    }
    let calls = state.calls.get(&(day_of(now), kind)).copied().unwrap_or(0);
    let threshold = daily_threshold(config, kind);
    let reason = if e.refusals_before_restriction > 0 && state.refused_in_a_row >= e.refusals_before_restriction {
        format!("{} refused calls in a row", state.refused_in_a_row)
    } else if threshold > 0 && f64::from(calls) > e.overdrive_factor * f64::from(threshold) {
        format!("{calls} {} calls in a day", kind.as_str())
    } else {
        return answer;
    };
    let restriction = Restriction { from: now, until: now.plus_millis(i64::from(e.restriction_days) * DAY_MS), reason };
    let error = restricted(&restriction);
    state.restrictions.push(restriction);
    state.refused_in_a_row = 0;
    error
}
