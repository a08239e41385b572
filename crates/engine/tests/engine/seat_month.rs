//! A simulated month on the enforcing sandbox: seats (classic and Sales
//! Navigator, some new and warming up) each import an audience with
//! emails, run a campaign over it, and answer their inbox every working day.
//! With the governor, no seat is ever restricted and every cap holds per seat
//! and local day, for every kind of call, as the ledger shows; without it,
//! the same work gets seats restricted on the first day, so the sandbox bites.
//!
//! The scale is set by `SONARLY_MONTH_SEATS`, `SONARLY_MONTH_LEADS` (per seat)
//! and `SONARLY_MONTH_DAYS`; CI runs a small month, docs/performance.md
//! records a full one (20 seats, 2,000 leads).

use sonarly_app::campaigns::{CreateCampaignRequest, create_campaign, start_campaign};
use sonarly_app::linkedin::{ConnectAccount, ProviderRegistry, ProviderSetup, connect_account};
use sonarly_app::prospecting::{StartRequest, get_job, start_job};
use sonarly_app::responses::{QueueResponseRequest, queue_response};
use sonarly_domain::Timestamp;
use sonarly_domain::campaign::{InstanceState, StarterTemplate};
use sonarly_domain::clock::{Clock, ManualClock, SharedClock};
use sonarly_domain::linkedin_account::{ActionKind, CallKind, LinkedInAccount, SendingRules, WEEK_MS, WorkingHours};
use sonarly_domain::models::AccountGroup;
use sonarly_domain::prospecting::{JobStatus, Plan, Prospect};
use sonarly_domain::responses::ResponseStatus;
use sonarly_engine::{Engine, EngineConfig};
use sonarly_linkedin::AccountType;
use sonarly_linkedin::sandbox::SandboxConfig;
use sonarly_store::Store;
use sonarly_testkit::{TestBackend, TestDb, both_backends};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

fn env_or(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Seat {
    group: AccountGroup,
    account: LinkedInAccount,
    job_id: String,
    campaign: Option<String>,
    connections: Vec<Prospect>,
    replies: Vec<String>,
}

struct Month {
    db: TestDb,
    clock: ManualClock,
    registry: ProviderRegistry,
    seats: Vec<Seat>,
}

/// Seat `k`'s rules: Paris working hours, spaced actions; every fourth seat is new: it warms
/// up over three weeks (a quarter of its caps the first week, then half, three quarters).
fn rules_for(k: usize) -> SendingRules {
    SendingRules {
        timezone: "Europe/Paris".into(),
        working_hours: WorkingHours::parse("09:00-17:00").unwrap(),
        min_spacing_secs: 60,
        max_spacing_secs: 180,
        ramp_up_weeks: if k % 4 == 3 { 3 } else { 0 },
        ..SendingRules::default()
    }
}

impl Month {
    async fn new(backend: TestBackend, governed: bool, seats: usize, leads: i64) -> Self {
        let db = TestDb::new(backend).await.unwrap();
        // A Monday, 09:00 in Paris.
        let clock = ManualClock::new(Timestamp::parse_rfc3339("2026-06-01T07:00:00Z").unwrap());
        let shared: SharedClock = Arc::new(clock.clone());
        let registry = ProviderRegistry::new(db.store.clone(), shared);
        let registry = if governed { registry } else { registry.without_governor() };
        let mut out = Vec::new();
        for k in 0..seats {
            let group = sonarly_app::accounts::create_group_on(
                &db.store,
                &clock,
                &format!("Team {k}"),
                Plan::Starter,
                1_000_000,
            )
            .await
            .unwrap();
            let account_type = if k % 2 == 0 { AccountType::Classic } else { AccountType::SalesNavigator };
            let input = ConnectAccount {
                group_id: group.id.clone(),
                name: format!("Seat {k}"),
                account_type,
                rules: rules_for(k),
                provider: ProviderSetup::Sandbox(SandboxConfig {
                    account_seed: 100 + k as u64,
                    account_type,
                    ..SandboxConfig::default()
                }),
            };
            let account = connect_account(&db.store, &clock, input).await.unwrap();
            // The seat's own connections, to answer every working day.
            let relations = registry.interactive(&account).unwrap().relations(None).await.unwrap().items;
            let now = clock.now();
            let connections: Vec<Prospect> = relations
                .iter()
                .take(10)
                .enumerate()
                .map(|(j, r)| sonarly_testkit::connection_prospect(&group.id, format!("{k:04x}{j:020x}"), r, now))
                .collect();
            db.store.upsert_prospects(&connections, None).await.unwrap();
            // An audience of people found by a search, with their emails (a profile read each).
            let keywords = ["product%20manager", "data%20scientist", "software%20engineer", "designer"][k % 4];
            let request = StartRequest {
                source_type: Some("linkedin_search".into()),
                name: Some(format!("Audience {k}")),
                search_url: Some(format!("https://www.linkedin.com/search/results/people/?keywords={keywords}")),
                max_results: Some(leads),
                search_emails: Some(true),
                ..Default::default()
            };
            let job_id = start_job(&db.store, &clock, &group.id, &request, None).await.unwrap().job.id;
            out.push(Seat { group, account, job_id, campaign: None, connections, replies: Vec::new() });
        }
        Self { db, clock, registry, seats: out }
    }

    fn store(&self) -> &Store {
        &self.db.store
    }

    /// Runs `days` days: steps of `SONARLY_MONTH_TICK_MIN` minutes (15) in working hours, nights
    /// skipped; each working day every seat queues two replies, and a seat whose import is done
    /// starts its campaign. (A seat acts at most once per step: shorter steps, more actions.)
    async fn run(&mut self, engine: &Engine, days: i64) {
        let tick = env_or("SONARLY_MONTH_TICK_MIN", 15) * MINUTE;
        let rules = rules_for(0);
        let end = self.clock.now().plus_millis(days * DAY);
        let mut last_day = None;
        while self.clock.now() < end {
            let now = self.clock.now();
            let day = rules.local_day_start(now);
            if last_day != Some(day) {
                if last_day.is_some() && std::env::var_os("SONARLY_MONTH_PROGRESS").is_some() {
                    eprintln!("month: day {} done at {}", (day.as_millis() - end.as_millis()) / DAY + days, now);
                }
                last_day = Some(day);
                for k in 0..self.seats.len() {
                    self.queue_replies(k).await;
                }
            }
            for k in 0..self.seats.len() {
                self.start_campaign_when_imported(k).await;
            }
            engine.run_until_idle().await;
            let next = now.plus_millis(tick);
            self.clock.set(rules.next_working_moment(next).min(end.max(next)));
        }
        engine.run_until_idle().await;
    }

    async fn queue_replies(&mut self, k: usize) {
        let seat = &self.seats[k];
        let mut queued = Vec::new();
        for j in 0..2 {
            let n = seat.replies.len() + j;
            let prospect = &seat.connections[n % seat.connections.len()];
            let request = QueueResponseRequest {
                prospect_id: Some(prospect.id.clone()),
                message: Some(format!("Reply {n} from seat {k}")),
                ..Default::default()
            };
            match queue_response(self.store(), &self.registry, &self.clock, &seat.group.id, &request, None).await {
                Ok(response) => queued.push(response.id),
                // A restricted seat takes no replies (only the ungoverned month gets there).
                Err(e) if e.status == 409 => break,
                Err(e) => panic!("seat {k}: {e:?}"),
            }
        }
        self.seats[k].replies.extend(queued);
    }

    async fn start_campaign_when_imported(&mut self, k: usize) {
        let seat = &self.seats[k];
        if seat.campaign.is_some() {
            return;
        }
        let job = get_job(self.store(), &seat.group.id, &seat.job_id).await.unwrap();
        if job.status != JobStatus::Completed {
            return;
        }
        let template = StarterTemplate::ALL[k % StarterTemplate::ALL.len()];
        let template = if template == StarterTemplate::EngageInmail && k.is_multiple_of(2) {
            StarterTemplate::ConnectEngageDm // InMails need Sales Navigator
        } else {
            template
        };
        let request = CreateCampaignRequest {
            starter_template_id: template.id().into(),
            name: format!("Campaign {k}"),
            audience_id: job.audience_id.clone(),
            lead_ids: None,
        };
        let draft = create_campaign(self.store(), &self.clock, &seat.group.id, &request).await.unwrap();
        let started =
            start_campaign(self.store(), &self.registry, &self.clock, &seat.group.id, &draft.id).await.unwrap();
        self.seats[k].campaign = Some(started.campaign.campaign.id);
    }

    /// Restrictions the sandbox put on any seat.
    fn restrictions(&self) -> usize {
        self.seats.iter().map(|s| self.registry.sandbox_meter(&s.account.id).restrictions().len()).sum()
    }
}

fn engine(m: &Month) -> Engine {
    // The configured inbox interval is the silent-webhook one: the sandbox sends no webhooks.
    let config = EngineConfig { inbox_sync_interval: std::time::Duration::from_secs(300), ..Default::default() };
    Engine::new(m.db.store.clone(), m.registry.clone(), Arc::new(m.clock.clone()), "month").with_config(config)
}

both_backends!(a_month_of_work_on_the_enforcing_sandbox_restricts_no_seat_and_holds_every_cap, |backend| async move {
    let (seats, leads, days) = (
        env_or("SONARLY_MONTH_SEATS", 3) as usize,
        env_or("SONARLY_MONTH_LEADS", 60),
        env_or("SONARLY_MONTH_DAYS", 30),
    );
    let mut m = Month::new(backend, true, seats, leads).await;
    let start = m.clock.now();
    let engine = engine(&m);
    m.run(&engine, days).await;

    assert_eq!(m.restrictions(), 0, "no seat restricted");
    let mut report = HashMap::<&'static str, i64>::new();
    let mut completed = 0usize;
    let mut total = 0usize;
    for (k, seat) in m.seats.iter().enumerate() {
        let rules = rules_for(k);
        // Every cap, per seat and local day, for every kind, from the ledger.
        let caps = ActionKind::ALL
            .iter()
            .map(|a| (a.as_str(), rules.daily_cap(*a)))
            .chain(CallKind::ALL.iter().map(|c| (c.as_str(), rules.reads.daily(*c))));
        for (kind, cap) in caps {
            let times = m.store().action_times(&seat.account.id, kind, start).await.unwrap();
            *report.entry(kind).or_default() += times.len() as i64;
            let mut per_day: HashMap<i64, u32> = HashMap::new();
            for t in &times {
                *per_day.entry(rules.local_day_start(*t).as_millis()).or_default() += 1;
            }
            for (day, n) in per_day {
                // The cap of that day (a new seat's grows week by week).
                let cap = seat.account.effective_cap(cap, Timestamp::from_millis(day + DAY / 2));
                assert!(n <= cap, "seat {k}: {n} {kind} on day {day}, over its cap {cap}");
            }
            if kind == "invitation" {
                for (i, t) in times.iter().enumerate() {
                    let in_week = times[i..].iter().take_while(|u| u.as_millis() < t.as_millis() + WEEK_MS).count();
                    // The weekly cap is checked when each one is sent: the week's largest applies.
                    let weekly = seat.account.effective_cap(rules.weekly_invitations, t.plus_millis(WEEK_MS));
                    assert!(in_week as u32 <= weekly, "seat {k}: {in_week} invitations in a week");
                }
            }
        }
        // Never twice to the same person: one invitation per recipient, one delivery per token.
        let journal = m.store().sandbox_actions_since(&seat.account.id, 0).await.unwrap();
        let mut invited = HashSet::new();
        for a in journal.iter().filter(|a| a.kind == "invitation") {
            assert!(
                invited.insert(a.recipient_provider_id.clone()),
                "seat {k} invited {} twice",
                a.recipient_provider_id
            );
        }
        // Every reply was taken and went out.
        assert_eq!(seat.replies.len() as i64, 2 * days, "seat {k}: a reply was refused");
        for id in &seat.replies {
            let r = m.store().get_response(&seat.group.id, id).await.unwrap().unwrap();
            assert_eq!(r.status, ResponseStatus::Sent, "seat {k}: reply {id} is {:?}", r.status);
        }
        // The campaign ran, as far as its budgets let it.
        let campaign = seat.campaign.as_deref().unwrap_or_else(|| panic!("seat {k}: the import never finished"));
        let instances = m.store().campaign_instances(campaign).await.unwrap();
        total += instances.len();
        completed += instances.iter().filter(|i| i.state != InstanceState::Active).count();
    }
    // Every reply the prospects and connections sent is in the inbox: LinkedIn's (the sandbox's)
    // conversations read afresh, past the budgets, once the last sync ran.
    m.clock.advance_millis(30 * MINUTE);
    engine.run_until_idle().await;
    let fresh = ProviderRegistry::new(m.db.store.clone(), Arc::new(m.clock.clone())).without_governor();
    let mut inbound = 0usize;
    for (k, seat) in m.seats.iter().enumerate() {
        let stored: HashSet<String> =
            m.store().account_provider_message_ids(&seat.account.id).await.unwrap().into_iter().collect();
        let linkedin = fresh.interactive(&seat.account).unwrap();
        let mut cursor = None;
        loop {
            let page = linkedin.chats(cursor.as_deref()).await.unwrap();
            for chat in &page.items {
                let mut inner = None;
                loop {
                    let messages = linkedin.chat_messages(&chat.chat_id, inner.as_deref()).await.unwrap();
                    for message in messages.items.iter().filter(|m| !m.is_sender) {
                        inbound += 1;
                        assert!(
                            stored.contains(&message.message_id),
                            "seat {k}: reply {} not recorded",
                            message.message_id
                        );
                    }
                    inner = messages.cursor;
                    if inner.is_none() {
                        break;
                    }
                }
            }
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
    }
    let seat_days = (seats as i64 * days).max(1);
    let mut kinds: Vec<_> = report.into_iter().collect();
    kinds.sort();
    eprintln!(
        "month: {seats} seats, {total} leads, {days} days, {completed} leads done, 0 restrictions, {inbound} replies received, all recorded"
    );
    for (kind, n) in kinds {
        eprintln!("month: {kind}: {n} calls, {:.1} per seat-day", n as f64 / seat_days as f64);
    }
    assert!(total > 0 && completed * 2 >= total, "campaigns progress: {completed} of {total} leads done");
});

both_backends!(the_same_work_without_the_governor_gets_seats_restricted, |backend| async move {
    // Two seats, each importing 200 people with their emails (a profile read each) on day one.
    let mut m = Month::new(backend, false, 2, 200).await;
    let engine = engine(&m);
    m.run(&engine, 2).await;
    assert!(m.restrictions() > 0, "without budgets, the email lookups alone cross LinkedIn's profile wall");
});
