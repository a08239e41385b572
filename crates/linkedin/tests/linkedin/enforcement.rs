//! The sandbox enforces like LinkedIn: daily thresholds refuse, continued
//! abuse restricts the seat for days, scripted outages disconnect it, and the
//! counts live in a meter that survives rebuilding the sandbox.

use sonarly_domain::Timestamp;
use sonarly_domain::clock::{ManualClock, SharedClock};
use sonarly_linkedin::sandbox::{
    CallKind, EnforcementConfig, MemoryJournal, Sandbox, SandboxConfig, SandboxJournal, SandboxMeter,
};
use sonarly_linkedin::*;
use std::collections::HashSet;
use std::sync::Arc;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const ENGINEERS: &str = "https://www.linkedin.com/search/results/people/?keywords=software%20engineer";

/// Midnight UTC, the start of a counting day.
fn midnight() -> Timestamp {
    Timestamp::from_utc(2026, 6, 1, 0, 0, 0).unwrap()
}

struct Net {
    clock: ManualClock,
    journal: Arc<MemoryJournal>,
}

impl Net {
    /// A network whose clock reads 09:00 UTC on the first day.
    fn new() -> Self {
        Self { clock: ManualClock::new(midnight().plus_millis(9 * HOUR)), journal: Arc::new(MemoryJournal::default()) }
    }

    fn account(&self, config: SandboxConfig, meter: &Arc<SandboxMeter>) -> Sandbox {
        let clock: SharedClock = Arc::new(self.clock.clone());
        let journal: Arc<dyn SandboxJournal> = self.journal.clone();
        Sandbox::with_meter("a1", config, clock, journal, meter.clone())
    }

    fn now(&self) -> Timestamp {
        use sonarly_domain::clock::Clock;
        self.clock.now()
    }
}

fn cfg() -> SandboxConfig {
    SandboxConfig { connected_at_ms: midnight().as_millis(), ..SandboxConfig::default() }
}

fn token(t: &str) -> OutboundToken {
    OutboundToken::new(t)
}

fn is_restriction(e: &LinkedInError) -> bool {
    matches!(e, LinkedInError::AccountDisconnected(m) if m.starts_with("restricted by LinkedIn")) && e.stops_account()
}

async fn people(sandbox: &Sandbox, cursor: Option<&str>) -> ProviderPage<Person> {
    search(sandbox, ENGINEERS, cursor).await
}

async fn search(sandbox: &Sandbox, url: &str, cursor: Option<&str>) -> ProviderPage<Person> {
    sandbox.search_people(&PeopleSource::SearchUrl(url.into()), cursor, 50).await.unwrap()
}

#[tokio::test]
async fn each_kind_past_its_daily_threshold_is_refused_like_linkedin_and_works_again_the_next_day() {
    let net = Net::new();
    let meter = Arc::new(SandboxMeter::new());
    let config = SandboxConfig {
        enforcement: EnforcementConfig { inbox_reads_per_day: 30, ..EnforcementConfig::default() },
        ..cfg()
    };
    let sandbox = net.account(config, &meter);
    let someone = people(&sandbox, None).await.items[0].provider_id.clone();

    // Profile reads: 150 a day, whichever call reads the profile.
    for k in 0..150 {
        let read = match k % 3 {
            0 => sandbox.profile(&someone).await.map(|_| ()),
            1 => sandbox.find_email(&someone).await.map(|_| ()),
            _ => sandbox.recent_activity(&someone).await.map(|_| ()),
        };
        read.unwrap();
    }
    assert_eq!(sandbox.profile(&someone).await.unwrap_err(), LinkedInError::LimitReached(LimitKind::ProfileViews));
    assert_eq!(meter.calls_on(CallKind::ProfileView, net.now()), 151);
    assert_eq!(meter.refused_on(CallKind::ProfileView, net.now()), 1);

    // Search pages: 50 a day on a classic account (one page was read above).
    for _ in 1..50 {
        people(&sandbox, None).await;
    }
    let refused = sandbox.search_people(&PeopleSource::SearchUrl(ENGINEERS.into()), None, 50).await.unwrap_err();
    assert_eq!(refused, LinkedInError::LimitReached(LimitKind::Searches));

    // Relation polls: 200 a day, then 429 without a retry-after.
    for k in 0..200 {
        if k % 2 == 0 {
            sandbox.relations(None).await.unwrap();
        } else {
            sandbox.sent_invitations(None).await.unwrap();
        }
    }
    let refused = sandbox.relations(None).await.unwrap_err();
    assert_eq!(refused, LinkedInError::RateLimited { retry_after: None });
    assert!(refused.is_retryable());

    // Inbox reads (set to 30 here).
    let chat = sandbox.chats(None).await.unwrap().items[0].chat_id.clone();
    for _ in 1..30 {
        sandbox.chat_messages(&chat, None).await.unwrap();
    }
    assert_eq!(sandbox.chats(None).await.unwrap_err(), LinkedInError::RateLimited { retry_after: None });

    // Refusals were scattered between successes: a warning, not a restriction.
    assert!(meter.restrictions().is_empty());
    assert_eq!(sandbox.seat_health().await.unwrap(), SeatHealth::Ok);
    // Outbound actions have their own caps and still work.
    sandbox.follow(&token("f1"), &someone).await.unwrap();

    // The next UTC day counts from zero.
    net.clock.set(midnight().plus_millis(DAY));
    sandbox.profile(&someone).await.unwrap();
    people(&sandbox, None).await;
    sandbox.relations(None).await.unwrap();
    sandbox.chats(None).await.unwrap();
    assert_eq!(meter.calls_on(CallKind::ProfileView, net.now()), 1);
    assert_eq!(meter.calls_in_week(CallKind::ProfileView, net.now()), 152);
    assert_eq!(meter.calls_in_week(CallKind::ProfileView, net.now().plus_millis(7 * DAY)), 0);

    // Sales Navigator reads 100 search pages a day.
    let sales_nav = net
        .account(SandboxConfig { account_type: AccountType::SalesNavigator, ..cfg() }, &Arc::new(SandboxMeter::new()));
    for _ in 0..100 {
        sales_nav.saved_searches().await.unwrap();
    }
    assert_eq!(sales_nav.lead_lists().await.unwrap_err(), LinkedInError::LimitReached(LimitKind::Searches));
}

#[tokio::test]
async fn a_seat_that_keeps_calling_after_refusals_is_restricted_for_three_days_then_works_again() {
    let net = Net::new();
    let meter = Arc::new(SandboxMeter::new());
    let sandbox = net.account(cfg(), &meter);
    let page = people(&sandbox, None).await;
    let someone = page.items.iter().find(|p| p.connection_degree != Some(1)).unwrap().provider_id.clone();
    for _ in 0..150 {
        sandbox.profile(&someone).await.unwrap();
    }
    // Nineteen refusals in a row are only refusals; the twentieth restricts the seat.
    for _ in 0..19 {
        assert_eq!(sandbox.profile(&someone).await.unwrap_err(), LinkedInError::LimitReached(LimitKind::ProfileViews));
    }
    assert_eq!(meter.refused_in_a_row(), 19);
    let restricted = sandbox.profile(&someone).await.unwrap_err();
    assert!(is_restriction(&restricted), "{restricted:?}");
    let at = net.now();
    assert_eq!(meter.restrictions().len(), 1);
    let restriction = sandbox.restriction_now().unwrap();
    assert_eq!((restriction.from, restriction.until), (at, at.plus_millis(3 * DAY)));
    assert_eq!(restriction.reason, "20 refused calls in a row");

    // Every call answers the restriction, and asking for the seat's health says so.
    assert!(matches!(sandbox.seat_health().await.unwrap(), SeatHealth::Disconnected(m) if m.starts_with("RESTRICTED")));
    assert!(is_restriction(&sandbox.own_profile().await.unwrap_err()));
    assert!(is_restriction(&sandbox.chats(None).await.unwrap_err()));
    assert!(is_restriction(&sandbox.send_invitation(&token("i1"), &someone, None).await.unwrap_err()));
    net.clock.set(at.plus_millis(3 * DAY - 1));
    assert!(is_restriction(&sandbox.relations(None).await.unwrap_err()));
    assert!(sandbox.restriction_now().is_some());

    // Three days later it is lifted, and the seat starts over.
    net.clock.set(at.plus_millis(3 * DAY));
    assert_eq!(sandbox.seat_health().await.unwrap(), SeatHealth::Ok);
    assert!(sandbox.restriction_now().is_none());
    sandbox.profile(&someone).await.unwrap();
    sandbox.send_invitation(&token("i1"), &someone, None).await.unwrap();
    assert_eq!(meter.restrictions().len(), 1, "restrictions ever stay counted");
    assert_eq!(meter.refused_in_a_row(), 0);
}

#[tokio::test]
async fn a_kind_driven_past_one_and_a_half_times_its_threshold_restricts_even_between_successes() {
    let net = Net::new();
    let meter = Arc::new(SandboxMeter::new());
    let sandbox = net.account(cfg(), &meter);
    let someone = people(&sandbox, None).await.items[0].provider_id.clone();
    for k in 1..=225 {
        let fetched = sandbox.profile(&someone).await;
        assert_eq!(fetched.is_ok(), k <= 150, "call {k}");
        sandbox.chats(None).await.unwrap(); // successes in between: never twenty refusals in a row
    }
    assert!(meter.restrictions().is_empty());
    let restricted = sandbox.profile(&someone).await.unwrap_err();
    assert!(is_restriction(&restricted), "{restricted:?}");
    assert_eq!(meter.restrictions()[0].reason, "226 profile_view calls in a day");
    assert_eq!(meter.refused_on(CallKind::ProfileView, net.now()), 76);
}

#[tokio::test]
async fn invitations_pushed_past_the_daily_cap_restrict_the_seat() {
    let net = Net::new();
    let meter = Arc::new(SandboxMeter::new());
    let sandbox = net.account(SandboxConfig { invitations_per_day: 10, ..cfg() }, &meter);
    let targets: Vec<String> = people(&sandbox, None)
        .await
        .items
        .into_iter()
        .filter(|p| p.connection_degree != Some(1))
        .map(|p| p.provider_id)
        .collect();
    for (k, target) in targets.iter().enumerate().take(15) {
        let sent = sandbox.send_invitation(&token(&format!("i{k}")), target, None).await;
        match sent {
            Ok(_) => assert!(k < 10),
            Err(e) => assert_eq!((k >= 10, e), (true, LinkedInError::LimitReached(LimitKind::WeeklyInvitations))),
        }
        sandbox.chats(None).await.unwrap();
    }
    let restricted = sandbox.send_invitation(&token("i15"), &targets[15], None).await.unwrap_err();
    assert!(is_restriction(&restricted), "{restricted:?}");
    assert_eq!(meter.calls_on(CallKind::Invitation, net.now()), 16);
}

#[tokio::test]
async fn a_scripted_outage_disconnects_the_seat_with_error_then_it_is_ok_again() {
    let net = Net::new();
    let meter = Arc::new(SandboxMeter::new());
    let start = net.now().plus_millis(HOUR);
    let config = SandboxConfig { outages: vec![(start.as_millis(), start.plus_millis(2 * HOUR).as_millis())], ..cfg() };
    let sandbox = net.account(config, &meter);
    let someone = people(&sandbox, None).await.items[0].provider_id.clone();
    assert_eq!(sandbox.seat_health().await.unwrap(), SeatHealth::Ok);

    net.clock.set(start);
    assert_eq!(sandbox.seat_health().await.unwrap(), SeatHealth::Disconnected("ERROR".into()));
    for e in [
        sandbox.profile(&someone).await.unwrap_err(),
        sandbox.chats(None).await.unwrap_err(),
        sandbox.own_profile().await.map(|_| ()).unwrap_err(),
        sandbox.follow(&token("f1"), &someone).await.unwrap_err(),
    ] {
        assert!(matches!(&e, LinkedInError::AccountDisconnected(m) if m.starts_with("ERROR")), "{e:?}");
        assert!(e.stops_account());
    }
    // Calls that never reached LinkedIn are not counted, and an outage is no restriction.
    assert_eq!(meter.calls_on(CallKind::ProfileView, net.now()), 0);
    assert!(meter.restrictions().is_empty());

    net.clock.set(start.plus_millis(2 * HOUR));
    assert_eq!(sandbox.seat_health().await.unwrap(), SeatHealth::Ok);
    sandbox.follow(&token("f1"), &someone).await.unwrap();
}

#[tokio::test]
async fn counts_and_restrictions_survive_rebuilding_the_sandbox_with_the_same_meter() {
    let net = Net::new();
    let meter = Arc::new(SandboxMeter::new());
    let first = net.account(cfg(), &meter);
    let someone = people(&first, None).await.items[0].provider_id.clone();
    for _ in 0..100 {
        first.profile(&someone).await.unwrap();
    }
    // The account row changed (another reply rate): the server builds a new sandbox with the same meter.
    let second = net.account(SandboxConfig { reply_rate: 0.9, ..cfg() }, &meter);
    for _ in 0..50 {
        second.profile(&someone).await.unwrap();
    }
    assert_eq!(second.profile(&someone).await.unwrap_err(), LinkedInError::LimitReached(LimitKind::ProfileViews));
    // A sandbox with a meter of its own would start over.
    let clock: SharedClock = Arc::new(net.clock.clone());
    let fresh = Sandbox::new("a1", cfg(), clock, net.journal.clone());
    fresh.profile(&someone).await.unwrap();

    for _ in 0..19 {
        second.profile(&someone).await.unwrap_err();
    }
    assert!(second.restriction_now().is_some());
    let third = net.account(cfg(), &meter);
    assert!(is_restriction(&third.chats(None).await.unwrap_err()));
    assert!(matches!(third.seat_health().await.unwrap(), SeatHealth::Disconnected(_)));
    assert!(Arc::ptr_eq(third.meter(), &meter));
}

/// A seat run the way Unipile advises (80–100 profiles a day, invitations
/// within LinkedIn's weekly allowance, messages and engagement, spaced through
/// working hours, the inbox and network polled every two hours) for two weeks.
#[tokio::test]
async fn a_seat_following_unipile_guidance_is_never_refused_nor_restricted_in_a_fortnight() {
    let net = Net::new();
    let meter = Arc::new(SandboxMeter::new());
    let sandbox = net.account(SandboxConfig { reply_rate: 0.5, ..cfg() }, &meter);
    let queries = ["engineer", "manager", "sales", "marketing", "founder", "designer"];
    let mut cursors: Vec<Option<String>> = vec![None; queries.len()];
    let mut invited = HashSet::new();
    let mut seq = 0u64;
    let mut next = |what: &str| {
        seq += 1;
        token(&format!("{what}-{seq}"))
    };
    for day in 0..14i64 {
        let day_start = midnight().plus_millis(day * DAY);
        net.clock.set(day_start.plus_millis(9 * HOUR));
        let working_day = day % 7 < 5;
        if working_day {
            // Two search pages give a hundred people a day.
            let q = day as usize % queries.len();
            let url = format!("https://www.linkedin.com/search/results/people/?keywords={}", queries[q]);
            let mut found = Vec::new();
            for _ in 0..2 {
                let page = search(&sandbox, &url, cursors[q].as_deref()).await;
                cursors[q] = page.cursor.clone();
                found.extend(page.items);
            }
            assert_eq!(found.len(), 100, "day {day}: {url}");
            let chats = sandbox.chats(None).await.unwrap().items;
            for (k, person) in found.iter().enumerate() {
                let id = &person.provider_id;
                // 90 profile reads: 45 visits, 35 silent fetches, 10 email lookups.
                let read = match k {
                    0..45 => sandbox.visit_profile(&next("v"), id).await.map(|_| ()),
                    45..80 => sandbox.profile(id).await.map(|_| ()),
                    80..90 => sandbox.find_email(id).await.map(|_| ()),
                    _ => Ok(()),
                };
                read.unwrap();
                // 35 invitations (175 of the 200 a rolling week allows), 10 follows, 10 messages.
                if k < 35 && person.connection_degree != Some(1) && invited.insert(id.clone()) {
                    sandbox.send_invitation(&next("i"), id, Some("Hello")).await.unwrap();
                }
                if (40..50).contains(&k) {
                    sandbox.follow(&next("f"), id).await.unwrap();
                }
                if k < 10 {
                    let chat = &chats[k % chats.len()];
                    sandbox.send_message(&next("m"), &chat.chat_id, "Following up").await.unwrap();
                }
                net.clock.advance_millis(2 * MINUTE + (k as i64 * 7_919) % MINUTE);
            }
            let today = net.now();
            assert_eq!(meter.calls_on(CallKind::ProfileView, today), 90, "day {day}");
        }
        // The inbox and network every two hours, around the clock.
        let mut poll = day_start;
        while poll < day_start.plus_millis(DAY) {
            if poll >= net.now() {
                net.clock.set(poll);
            }
            for chat in sandbox.chats(None).await.unwrap().items.iter().take(5) {
                sandbox.chat_messages(&chat.chat_id, None).await.unwrap();
            }
            sandbox.relations(None).await.unwrap();
            sandbox.sent_invitations(None).await.unwrap();
            poll = poll.plus_millis(2 * HOUR);
        }
    }
    assert!(meter.restrictions().is_empty());
    assert_eq!(sandbox.seat_health().await.unwrap(), SeatHealth::Ok);
    let refused: u32 = meter.daily_calls().iter().map(|&(day, kind, _)| meter.refused_on(kind, day)).sum();
    assert_eq!(refused, 0);
    assert!(invited.len() >= 250, "invitations sent: {}", invited.len());
}

#[test]
fn settings_stored_before_enforcement_still_parse_and_new_knobs_default_one_by_one() {
    let old: SandboxConfig = serde_json::from_str(r#"{"worldSeed":7,"burstPerMinute":0}"#).unwrap();
    assert_eq!((old.world_seed, &old.enforcement, &old.outages), (7, &EnforcementConfig::default(), &vec![]));
    let new: SandboxConfig =
        serde_json::from_str(r#"{"enforcement":{"profileViewsPerDay":80,"restrictionDays":5},"outages":[[10,20]]}"#)
            .unwrap();
    assert_eq!((new.enforcement.profile_views_per_day, new.enforcement.restriction_days), (80, 5));
    assert_eq!(new.enforcement.relation_polls_per_day, 200);
    assert_eq!(new.outages, vec![(10, 20)]);
    assert!(new.validate().is_ok());
    let bad = SandboxConfig { outages: vec![(20, 10)], ..SandboxConfig::default() };
    assert!(bad.validate().is_err());
    let bad = SandboxConfig {
        enforcement: EnforcementConfig { overdrive_factor: 0.5, ..EnforcementConfig::default() },
        ..SandboxConfig::default()
    };
    assert!(bad.validate().is_err());
}
