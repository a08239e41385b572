//! Connected LinkedIn accounts and the safety rules the outbound scheduler
//! applies to each: working hours in the account's time zone, daily caps per
//! action type, a weekly invitation cap and randomized spacing.

use crate::GroupId;
use crate::state::wire_enum;
use crate::{DomainError, FieldIssue, Timestamp};

wire_enum! {
    /// Which connector drives the account.
    pub enum ProviderKind ("LinkedIn provider") {
        Sandbox = "sandbox",
        Unipile = "unipile",
    }
}

wire_enum! {
    /// The seat's stored health (a fifth state, `limited`, is derived: a connected
    /// seat with a kind of action paused; see [`SeatState`]).
    pub enum AccountStatus ("LinkedIn account status") {
        /// It acts within its budgets.
        Connected = "connected",
        /// Its owner must act on LinkedIn (checkpoint, two-factor code, in-app validation,
        /// credentials); nothing is sent until the provider says the seat is OK again.
        NeedsAction = "needs_action",
        /// It cannot act (provider error, restriction, stopped); its health is checked
        /// periodically and it resumes on its own when the provider says OK.
        Disconnected = "disconnected",
        /// Back from `needs_action` or `disconnected`: it acts again, at half its budgets,
        /// for [`RECOVERY_MS`] after the change, then is `connected`.
        Recovering = "recovering",
    }
}

wire_enum! {
    /// Why a safety rule holds a seat's action back (a scheduled response shows it as
    /// `deferredReason`).
    pub enum DeferredReason ("deferred reason") {
        /// Outside the seat's working hours (its time zone).
        WorkingHours = "working_hours",
        /// The seat's daily cap for the kind is reached (or its shared profile budget).
        DailyCap = "daily_cap",
        /// The weekly invitation cap (a rolling seven days) is reached.
        WeeklyCap = "weekly_cap",
        /// The seat's last action was too recent: the random spacing between two actions.
        Spacing = "spacing",
        /// LinkedIn asked the seat to slow down (a rate limit).
        RateLimited = "rate_limited",
        /// This kind of action is paused for the seat after LinkedIn refused it for a limit.
        SeatPaused = "seat_paused",
    }
}

/// The rolling window of the weekly invitation cap (LinkedIn's week is rolling too).
pub const WEEK_MS: i64 = 7 * 86_400_000;

/// Where the rolling week of the weekly caps starts, seen at `now`: actions performed at or
/// after it count against the week (the scheduler's check and the seat's report alike).
pub fn rolling_week_start(now: Timestamp) -> Timestamp {
    now.plus_millis(-WEEK_MS)
}

/// How long a seat stays `recovering` (at half budgets) before it is `connected` again.
pub const RECOVERY_MS: i64 = 86_400_000;

impl AccountStatus {
    /// Whether the seat may act (send, read) at all.
    pub const fn can_act(self) -> bool {
        matches!(self, Self::Connected | Self::Recovering)
    }
}

wire_enum! {
    /// The health a seat shows: its stored status, or `limited` while a connected seat
    /// has a kind of action or read paused (or LinkedIn asked it to slow down).
    pub enum SeatState ("LinkedIn seat state") {
        Connected = "connected",
        Limited = "limited",
        NeedsAction = "needs_action",
        Disconnected = "disconnected",
        Recovering = "recovering",
    }
}

wire_enum! {
    /// Provider reads a seat makes, each charged against its own daily budget in the
    /// action ledger (sends are charged as their [`ActionKind`]).
    pub enum CallKind ("provider call kind") {
        /// A profile fetched (profile, email lookup): Unipile advises 80-100 a day.
        ProfileFetch = "profile_fetch",
        /// A page of search results, or a Sales Navigator list.
        SearchPage = "search_page",
        /// A page of connections or of pending invitations (the relation sweep).
        RelationRead = "relation_read",
        /// A page of conversations or of one conversation's messages.
        InboxRead = "inbox_read",
        /// A member's recent posts and comments (signal scans).
        ActivityRead = "activity_read",
    }
}

/// Daily budgets of provider reads, per seat (see docs/linkedin.md, "Budgets").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadBudgets {
    pub profile_fetches: u32,
    pub search_pages: u32,
    pub relation_reads: u32,
    pub inbox_reads: u32,
    pub activity_reads: u32,
}

impl Default for ReadBudgets {
    /// Below Unipile's guidance (80-100 profiles a day) and LinkedIn's commercial-use limits.
    fn default() -> Self {
        Self { profile_fetches: 90, search_pages: 40, relation_reads: 40, inbox_reads: 3_000, activity_reads: 60 }
    }
}

impl ReadBudgets {
    pub const fn daily(&self, kind: CallKind) -> u32 {
        match kind {
            CallKind::ProfileFetch => self.profile_fetches,
            CallKind::SearchPage => self.search_pages,
            CallKind::RelationRead => self.relation_reads,
            CallKind::InboxRead => self.inbox_reads,
            CallKind::ActivityRead => self.activity_reads,
        }
    }
}

wire_enum! {
    /// LinkedIn product tier of a connected account.
    pub enum AccountType ("LinkedIn account type") {
        Classic = "classic",
        SalesNavigator = "sales_navigator",
        Recruiter = "recruiter",
    }
}

impl AccountType {
    /// Whether the tier can send InMails.
    pub const fn can_send_inmail(self) -> bool {
        matches!(self, Self::SalesNavigator | Self::Recruiter)
    }
}

/// Outbound action kinds the scheduler meters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    Message,
    InMail,
    Invitation,
    ProfileVisit,
    /// Follows and reactions.
    Engagement,
    /// A stale pending invitation withdrawn (a write to LinkedIn, capped per day like a send).
    Withdrawal,
}

impl ActionKind {
    pub const ALL: [Self; 6] =
        [Self::Message, Self::InMail, Self::Invitation, Self::ProfileVisit, Self::Engagement, Self::Withdrawal];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::InMail => "inmail",
            Self::Invitation => "invitation",
            Self::ProfileVisit => "profile_visit",
            Self::Engagement => "engagement",
            Self::Withdrawal => "withdrawal",
        }
    }
}

/// Default age, in days, past which a pending invitation is withdrawn: three weeks, the
/// acceptance wait of a campaign (an invitation not accepted by then rarely is later) and
/// the usual advice for keeping a seat's pending list short (see docs/linkedin.md).
pub const DEFAULT_WITHDRAW_AFTER_DAYS: u32 = 21;
/// Default cap on withdrawals per day: a steady trickle, never a mass clean-up.
pub const DEFAULT_DAILY_WITHDRAWALS: u32 = 20;

/// Working hours as minutes after local midnight, `[start, end)`; `end` may be
/// 1440 (midnight), and `0-1440` means around the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingHours {
    pub start_minute: u16,
    pub end_minute: u16,
}

impl WorkingHours {
    pub const AROUND_THE_CLOCK: Self = Self { start_minute: 0, end_minute: 1440 };

    /// Parses `HH:MM-HH:MM` (end may be `24:00`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (start, end) = text.split_once('-').ok_or("must look like 09:00-18:00")?;
        let minute = |t: &str| -> Result<u16, String> {
            let (h, m) = t.trim().split_once(':').ok_or("must look like 09:00-18:00")?;
            let (h, m): (u16, u16) = (h.parse().map_err(|_| "bad hour")?, m.parse().map_err(|_| "bad minute")?);
            if m >= 60 || h > 24 || (h == 24 && m != 0) {
                return Err("hours run from 00:00 to 24:00".into());
            }
            Ok(h * 60 + m)
        };
        let hours = Self { start_minute: minute(start)?, end_minute: minute(end)? };
        if hours.start_minute >= hours.end_minute {
            return Err("the start must be before the end".into());
        }
        Ok(hours)
    }

    pub fn format(self) -> (String, String) {
        let f = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        (f(self.start_minute), f(self.end_minute))
    }

    pub fn contains(self, minute_of_day: u16) -> bool {
        minute_of_day >= self.start_minute && minute_of_day < self.end_minute
    }
}

/// The per-account rules of the outbound scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendingRules {
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub timezone: String,
    pub working_hours: WorkingHours,
    pub daily_messages: u32,
    pub daily_inmails: u32,
    pub daily_invitations: u32,
    pub daily_profile_visits: u32,
    pub daily_engagements: u32,
    pub weekly_invitations: u32,
    /// Most stale invitations withdrawn per day.
    pub daily_withdrawals: u32,
    /// Pending invitations older than this many days are withdrawn (within
    /// `daily_withdrawals`); 0: never withdraw.
    pub withdraw_invitations_after_days: u32,
    /// Random spacing between two actions of the account, in seconds.
    pub min_spacing_secs: u32,
    pub max_spacing_secs: u32,
    /// Daily budgets of provider reads.
    pub reads: ReadBudgets,
    /// A new or little-used LinkedIn account warms up over this many weeks from its
    /// connection: its caps and budgets start at `1/(weeks+1)` and grow each week
    /// (see [`LinkedInAccount::effective_cap`]); 0: full caps from the first day.
    pub ramp_up_weeks: u32,
}

/// A change to a seat's sending rules: each field present replaces the seat's value, one left
/// out keeps it. Applied to a copy of the stored rules, which are then validated as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesChange {
    pub timezone: Option<String>,
    pub working_hours: Option<WorkingHours>,
    pub daily_messages: Option<u32>,
    pub daily_inmails: Option<u32>,
    pub daily_invitations: Option<u32>,
    pub daily_profile_visits: Option<u32>,
    pub daily_engagements: Option<u32>,
    pub daily_withdrawals: Option<u32>,
    pub weekly_invitations: Option<u32>,
    pub withdraw_invitations_after_days: Option<u32>,
    pub min_spacing_secs: Option<u32>,
    pub max_spacing_secs: Option<u32>,
    pub ramp_up_weeks: Option<u32>,
    pub profile_fetches: Option<u32>,
    pub search_pages: Option<u32>,
    pub relation_reads: Option<u32>,
    pub inbox_reads: Option<u32>,
    pub activity_reads: Option<u32>,
}

impl RulesChange {
    /// Writes the fields present into `rules`.
    pub fn apply(&self, rules: &mut SendingRules) {
        fn set(slot: &mut u32, value: Option<u32>) {
            if let Some(v) = value {
                *slot = v;
            }
        }
        if let Some(tz) = &self.timezone {
            rules.timezone = tz.trim().to_owned();
        }
        if let Some(hours) = self.working_hours {
            rules.working_hours = hours;
        }
        set(&mut rules.daily_messages, self.daily_messages);
        set(&mut rules.daily_inmails, self.daily_inmails);
        set(&mut rules.daily_invitations, self.daily_invitations);
        set(&mut rules.daily_profile_visits, self.daily_profile_visits);
        set(&mut rules.daily_engagements, self.daily_engagements);
        set(&mut rules.daily_withdrawals, self.daily_withdrawals);
        set(&mut rules.weekly_invitations, self.weekly_invitations);
        set(&mut rules.withdraw_invitations_after_days, self.withdraw_invitations_after_days);
        set(&mut rules.min_spacing_secs, self.min_spacing_secs);
        set(&mut rules.max_spacing_secs, self.max_spacing_secs);
        set(&mut rules.ramp_up_weeks, self.ramp_up_weeks);
        set(&mut rules.reads.profile_fetches, self.profile_fetches);
        set(&mut rules.reads.search_pages, self.search_pages);
        set(&mut rules.reads.relation_reads, self.relation_reads);
        set(&mut rules.reads.inbox_reads, self.inbox_reads);
        set(&mut rules.reads.activity_reads, self.activity_reads);
    }
}

/// How long a seat trusts a profile (or an email lookup) it read before reading it again
/// from LinkedIn (the governor's profile cache).
pub const PROFILE_CACHE_MS: i64 = 7 * 86_400_000;

/// How long a cached profile's connection degree is trusted when it is not first degree
/// (an invitation may have been accepted since): a day.
pub const DEGREE_CACHE_MS: i64 = 86_400_000;

/// The longest ramp-up a seat may be given.
pub const MAX_RAMP_UP_WEEKS: u32 = 12;

impl Default for SendingRules {
    /// At or below LinkedIn's published guidance (see docs/linkedin.md).
    fn default() -> Self {
        Self {
            timezone: "UTC".into(),
            working_hours: WorkingHours { start_minute: 9 * 60, end_minute: 18 * 60 },
            daily_messages: 100,
            daily_inmails: 30,
            daily_invitations: 80,
            daily_profile_visits: 80,
            daily_engagements: 100,
            weekly_invitations: 200,
            daily_withdrawals: DEFAULT_DAILY_WITHDRAWALS,
            withdraw_invitations_after_days: DEFAULT_WITHDRAW_AFTER_DAYS,
            min_spacing_secs: 45,
            max_spacing_secs: 120,
            reads: ReadBudgets::default(),
            ramp_up_weeks: 0,
        }
    }
}

impl SendingRules {
    pub fn daily_cap(&self, kind: ActionKind) -> u32 {
        match kind {
            ActionKind::Message => self.daily_messages,
            ActionKind::InMail => self.daily_inmails,
            ActionKind::Invitation => self.daily_invitations,
            ActionKind::ProfileVisit => self.daily_profile_visits,
            ActionKind::Engagement => self.daily_engagements,
            ActionKind::Withdrawal => self.daily_withdrawals,
        }
    }

    /// The cap on actions of `kind` over the rolling week ([`rolling_week_start`]); `u32::MAX`:
    /// none (only invitations have one).
    pub fn weekly_cap(&self, kind: ActionKind) -> u32 {
        match kind {
            ActionKind::Invitation => self.weekly_invitations,
            _ => u32::MAX,
        }
    }

    /// How old a pending invitation gets before it is withdrawn; `None`: never.
    pub fn withdraw_after_ms(&self) -> Option<i64> {
        (self.withdraw_invitations_after_days > 0)
            .then(|| i64::from(self.withdraw_invitations_after_days.min(3_650)) * 86_400_000)
    }

    pub fn validate(&self) -> Result<(), DomainError> {
        let mut issues = Vec::new();
        if jiff::tz::TimeZone::get(&self.timezone).is_err() {
            issues.push(FieldIssue::new("timezone", format!("`{}` is not an IANA time zone", self.timezone)));
        }
        if self.min_spacing_secs > self.max_spacing_secs {
            issues.push(FieldIssue::new("spacingSecs", "the minimum spacing must not exceed the maximum"));
        }
        if self.weekly_invitations < self.daily_invitations.min(1) {
            issues.push(FieldIssue::new("weeklyInvitationCap", "must be at least 1 when invitations are allowed"));
        }
        if self.ramp_up_weeks > MAX_RAMP_UP_WEEKS {
            issues.push(FieldIssue::new("rampUpWeeks", format!("must be at most {MAX_RAMP_UP_WEEKS}")));
        }
        if issues.is_empty() { Ok(()) } else { Err(DomainError::invalid(issues)) }
    }

    /// Minute of the local day at `at` in the account's time zone.
    pub fn local_minute(&self, at: Timestamp) -> u16 {
        let tz = jiff::tz::TimeZone::get(&self.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        match jiff::Timestamp::from_millisecond(at.as_millis()) {
            Ok(ts) => {
                let local = ts.to_zoned_datetime(tz);
                (local.hour() as u16) * 60 + local.minute() as u16
            }
            Err(_) => 0,
        }
    }

    fn zoned(&self, at: Timestamp) -> Option<jiff::ZonedDateTime> {
        let tz = jiff::tz::TimeZone::get(&self.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        jiff::Timestamp::from_millisecond(at.as_millis()).ok().map(|ts| ts.to_zoned_datetime(tz))
    }

    /// Midnight (local) of the day containing `at`: daily caps count from here.
    pub fn local_day_start(&self, at: Timestamp) -> Timestamp {
        self.zoned(at)
            .and_then(|z| z.start_of_day().ok())
            .map(|z| Timestamp::from_millis(z.timestamp().as_millisecond()))
            .unwrap_or(at)
    }

    /// Midnight (local) of the day after the one containing `at`.
    pub fn next_local_day_start(&self, at: Timestamp) -> Timestamp {
        self.zoned(at)
            .and_then(|z| z.tomorrow().ok())
            .and_then(|z| z.start_of_day().ok())
            .map(|z| Timestamp::from_millis(z.timestamp().as_millisecond()))
            .unwrap_or(at.plus_millis(86_400_000))
    }

    /// The seat's last `days` local days, up to and including the one containing `now`, oldest
    /// first: each day's date (`2026-11-30`) and its start (local midnight).
    pub fn last_local_days(&self, now: Timestamp, days: u32) -> Vec<(String, Timestamp)> {
        let Some(mut day) = self.zoned(now).and_then(|z| z.start_of_day().ok()) else { return Vec::new() };
        let mut out = Vec::with_capacity(days as usize);
        for _ in 0..days {
            out.push((day.date().to_string(), Timestamp::from_millis(day.timestamp().as_millisecond())));
            match day.yesterday().and_then(|z| z.start_of_day()) {
                Ok(previous) => day = previous,
                Err(_) => break,
            }
        }
        out.reverse();
        out
    }

    /// The earliest moment at or after `at` inside working hours.
    pub fn next_working_moment(&self, at: Timestamp) -> Timestamp {
        if self.working_hours == WorkingHours::AROUND_THE_CLOCK {
            return at;
        }
        // Walk forward minute boundaries; at most one day plus a DST shift.
        let mut t = at;
        for _ in 0..(26 * 60) {
            if self.working_hours.contains(self.local_minute(t)) {
                return t;
            }
            t = Timestamp::from_millis((t.as_millis() / 60_000 + 1) * 60_000);
        }
        at
    }
}

/// A connected LinkedIn account of an account group.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedInAccount {
    pub id: String,
    pub group_id: GroupId,
    pub provider: ProviderKind,
    pub display_name: String,
    pub account_type: AccountType,
    pub status: AccountStatus,
    pub rules: SendingRules,
    /// Connector settings as JSON (sandbox knobs, or Unipile DSN / key / account id).
    pub provider_settings: String,
    /// SHA-256 (hex) of the secret Unipile sends in our webhook header.
    pub webhook_secret_hash: Option<String>,
    /// The provider asked us to pause this account until then.
    pub rate_limited_until: Option<Timestamp>,
    /// When `status` last changed.
    pub status_changed_at: Timestamp,
    /// When the provider last pushed an event for the seat (webhooks); `None`: never.
    pub last_webhook_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl LinkedInAccount {
    /// Whether the seat is still in its recovery day (half budgets).
    pub fn recovering(&self, now: Timestamp) -> bool {
        self.status == AccountStatus::Recovering && now < self.status_changed_at.plus_millis(RECOVERY_MS)
    }

    /// The seat's week of ramp-up at `now` (1-based), while it is warming up.
    pub fn ramp_up_week(&self, now: Timestamp) -> Option<u32> {
        let weeks = self.rules.ramp_up_weeks;
        let week = (now.as_millis() - self.created_at.as_millis()).max(0) / WEEK_MS;
        (week < i64::from(weeks)).then(|| week as u32 + 1)
    }

    /// When the seat's ramp-up ends (its caps are whole from then on); `None`: no ramp-up.
    pub fn ramp_up_ends_at(&self) -> Option<Timestamp> {
        let weeks = self.rules.ramp_up_weeks;
        (weeks > 0).then(|| self.created_at.plus_millis(i64::from(weeks) * WEEK_MS))
    }

    /// A cap or budget (daily, or the weekly invitations) as it applies now: during
    /// ramp-up week `w` of `n`, `w/(n+1)` of it; then halved while recovering; never
    /// below 1. `u32::MAX` (no cap) and 0 (none allowed) stay so.
    pub fn effective_cap(&self, cap: u32, now: Timestamp) -> u32 {
        if cap == u32::MAX || cap == 0 {
            return cap;
        }
        let mut cap = u64::from(cap);
        if let Some(week) = self.ramp_up_week(now) {
            cap = cap * u64::from(week) / u64::from(self.rules.ramp_up_weeks + 1);
        }
        if self.recovering(now) {
            cap /= 2;
        }
        cap.clamp(1, u64::from(u32::MAX - 1)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_hours_parse_and_contain() {
        let h = WorkingHours::parse("09:00-18:30").unwrap();
        assert_eq!((h.start_minute, h.end_minute), (540, 1110));
        assert!(h.contains(540) && !h.contains(1110) && !h.contains(0));
        assert_eq!(WorkingHours::parse("00:00-24:00").unwrap(), WorkingHours::AROUND_THE_CLOCK);
        for bad in ["9-18", "18:00-09:00", "09:00-25:00", "09:60-10:00", ""] {
            assert!(WorkingHours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_last_local_days_are_whole_local_days_across_a_clock_change() {
        let rules = SendingRules { timezone: "Europe/Berlin".into(), ..SendingRules::default() };
        // Berlin leaves summer time on 2026-10-25: that day is 25 hours long.
        let now = Timestamp::parse_rfc3339("2026-10-26T09:00:00Z").unwrap();
        let days = rules.last_local_days(now, 3);
        let dates: Vec<&str> = days.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(dates, ["2026-10-24", "2026-10-25", "2026-10-26"]);
        let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
        assert_eq!(days[0].1, at("2026-10-23T22:00:00Z"));
        assert_eq!(days[1].1, at("2026-10-24T22:00:00Z"));
        assert_eq!(days[2].1, at("2026-10-25T23:00:00Z"));
        assert!(rules.last_local_days(now, 0).is_empty());
    }

    #[test]
    fn next_working_moment_respects_the_time_zone() {
        let rules = SendingRules { timezone: "Europe/Berlin".into(), ..SendingRules::default() };
        // 2026-06-01 05:00 UTC = 07:00 in Berlin (CEST): wait until 09:00 local = 07:00 UTC.
        let at = Timestamp::parse_rfc3339("2026-06-01T05:00:00Z").unwrap();
        assert_eq!(rules.next_working_moment(at).to_rfc3339(), "2026-06-01T07:00:00.000Z");
        let inside = Timestamp::parse_rfc3339("2026-06-01T10:15:30Z").unwrap();
        assert_eq!(rules.next_working_moment(inside), inside);
        // After hours: the next morning.
        let late = Timestamp::parse_rfc3339("2026-06-01T17:00:00Z").unwrap();
        assert_eq!(rules.next_working_moment(late).to_rfc3339(), "2026-06-02T07:00:00.000Z");
        assert!(SendingRules { timezone: "Mars/Olympus".into(), ..SendingRules::default() }.validate().is_err());
        // Local days: 2026-06-01 23:30 UTC is already June 2nd in Berlin.
        let night = Timestamp::parse_rfc3339("2026-06-01T23:30:00Z").unwrap();
        assert_eq!(rules.local_day_start(night).to_rfc3339(), "2026-06-01T22:00:00.000Z");
        assert_eq!(rules.next_local_day_start(night).to_rfc3339(), "2026-06-02T22:00:00.000Z");
    }

    fn seat(ramp_up_weeks: u32, status: AccountStatus, since: Timestamp) -> LinkedInAccount {
        LinkedInAccount {
            id: "la_1".into(),
            group_id: "g".into(),
            provider: ProviderKind::Sandbox,
            display_name: "Seat".into(),
            account_type: AccountType::Classic,
            status,
            rules: SendingRules { ramp_up_weeks, ..SendingRules::default() },
            provider_settings: "{}".into(),
            webhook_secret_hash: None,
            rate_limited_until: None,
            status_changed_at: since,
            last_webhook_at: None,
            created_at: since,
            updated_at: since,
        }
    }

    #[test]
    fn a_new_seat_warms_up_week_by_week_then_acts_at_its_full_caps() {
        let t0 = Timestamp::parse_rfc3339("2026-06-01T07:00:00Z").unwrap();
        let new = seat(4, AccountStatus::Connected, t0);
        let at_week = |w: i64| t0.plus_millis(w * WEEK_MS + 3_600_000);
        let caps: Vec<u32> = (0..6).map(|w| new.effective_cap(80, at_week(w))).collect();
        assert_eq!(caps, [16, 32, 48, 64, 80, 80]);
        assert_eq!(new.ramp_up_week(at_week(0)), Some(1));
        assert_eq!(new.ramp_up_week(at_week(4)), None);
        assert_eq!(new.ramp_up_ends_at(), Some(t0.plus_millis(4 * WEEK_MS)));
        // Never below one; no cap and a zero cap stay what they are.
        assert_eq!(new.effective_cap(2, at_week(0)), 1);
        assert_eq!(new.effective_cap(u32::MAX, at_week(0)), u32::MAX);
        assert_eq!(new.effective_cap(0, at_week(0)), 0);
        // An established seat has no ramp-up.
        let old = seat(0, AccountStatus::Connected, t0);
        assert_eq!((old.effective_cap(80, t0), old.ramp_up_week(t0), old.ramp_up_ends_at()), (80, None, None));
    }

    #[test]
    fn a_recovering_seat_in_ramp_up_gets_both_reductions() {
        let t0 = Timestamp::parse_rfc3339("2026-06-01T07:00:00Z").unwrap();
        let s = seat(1, AccountStatus::Recovering, t0);
        assert_eq!(s.effective_cap(80, t0.plus_millis(1000)), 20, "half of the first ramp week's half");
        assert_eq!(s.effective_cap(80, t0.plus_millis(RECOVERY_MS + 1)), 40, "recovered, still ramping");
        assert_eq!(s.effective_cap(80, t0.plus_millis(WEEK_MS)), 80);
        let too_long = SendingRules { ramp_up_weeks: MAX_RAMP_UP_WEEKS + 1, ..SendingRules::default() };
        assert!(too_long.validate().is_err());
    }
}
