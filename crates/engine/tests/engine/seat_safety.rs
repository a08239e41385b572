//! Seat safety: the governor's read budgets, limit refusals that pause one
//! kind for one seat, and seat health that recovers on its own.

use crate::world::Setup;
use sonarly_app::inbox::handle_event;
use sonarly_app::linkedin::seat::seat_report;
use sonarly_app::responses::{QueueResponseRequest, queue_response};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::Clock;
use sonarly_domain::linkedin_account::{AccountStatus, ReadBudgets, SeatState, SendingRules, WorkingHours};
use sonarly_domain::prospecting::Prospect;
use sonarly_domain::responses::ResponseStatus;
use sonarly_engine::Engine;
use sonarly_linkedin::sandbox::SandboxConfig;
use sonarly_linkedin::{LinkedInError, ProviderEvent};
use sonarly_testkit::{TestBackend, both_backends};

const DAY_MS: i64 = 86_400_000;

/// The engine tests' World with ten of the seat's connections as prospects.
struct World {
    base: crate::world::World,
    prospects: Vec<Prospect>,
}

impl std::ops::Deref for World {
    type Target = crate::world::World;
    fn deref(&self) -> &Self::Target {
        &self.base
    }
}

fn around_the_clock() -> SendingRules {
    SendingRules {
        working_hours: WorkingHours::AROUND_THE_CLOCK,
        min_spacing_secs: 0,
        max_spacing_secs: 0,
        daily_messages: 100,
        ..SendingRules::default()
    }
}

impl World {
    async fn new(backend: TestBackend, rules: SendingRules, sandbox: SandboxConfig) -> Self {
        let setup = Setup { rules, sandbox: sonarly_testkit::pinned_sandbox(sandbox), ..Setup::default() };
        let base = crate::world::World::new(backend, setup.at("2026-06-01T10:00:00Z")).await;
        let prospects = base.connection_prospects(10).await;
        Self { base, prospects }
    }

    fn engine(&self) -> Engine {
        self.base.engine("a")
    }

    async fn queue(&self, prospect: usize) -> String {
        let request = QueueResponseRequest {
            prospect_id: Some(self.prospects[prospect].id.clone()),
            message: Some(format!("Hello {prospect}")),
            ..Default::default()
        };
        queue_response(self.store(), &self.registry, &self.clock, &self.group.id, &request, None).await.unwrap().id
    }

    async fn sent(&self, ids: &[String]) -> usize {
        let mut n = 0;
        for id in ids {
            n += usize::from(self.status_of(id).await == ResponseStatus::Sent);
        }
        n
    }

    async fn status_of(&self, id: &str) -> ResponseStatus {
        self.store().get_response(&self.group.id, id).await.unwrap().unwrap().status
    }

    async fn provider_says(&self, status: &str) {
        let event = ProviderEvent::AccountStatus { status: status.into(), message: None };
        handle_event(self.store(), &self.clock, &self.seat().await, &event).await.unwrap();
    }
}

both_backends!(
    a_daily_limit_refusal_pauses_that_kind_for_the_seat_until_the_next_day_and_nothing_else,
    |backend| async move {
        // LinkedIn (the sandbox) takes two messages a day; our own cap would allow a hundred.
        let w =
            World::new(backend, around_the_clock(), SandboxConfig { messages_per_day: 2, ..SandboxConfig::default() })
                .await;
        let mut ids = Vec::new();
        for k in 0..5 {
            ids.push(w.queue(k).await);
        }
        w.engine().run_until_idle().await;
        let mut sent = 0;
        for id in &ids {
            sent += usize::from(w.status_of(id).await == ResponseStatus::Sent);
        }
        assert_eq!(sent, 2, "two went out before LinkedIn said no");

        // The refusal paused messages for this seat until its next local day, and nothing else.
        let now = w.clock.now();
        let pauses = w.store().seat_pauses(&w.account.id, now).await.unwrap();
        assert_eq!(pauses.len(), 1, "{pauses:?}");
        assert_eq!((pauses[0].kind.as_str(), pauses[0].reason.as_str()), ("message", "DAILY_LIMIT_REACHED"));
        let tomorrow = Timestamp::parse_rfc3339("2026-06-02T00:00:00Z").unwrap();
        assert_eq!(pauses[0].until, tomorrow);
        let seat = w.seat().await;
        assert_eq!(seat.status, AccountStatus::Connected, "the seat itself keeps working");
        let report = seat_report(w.store(), &seat, now).await.unwrap();
        assert_eq!(report.state, SeatState::Limited);
        // Only the one refused attempt met LinkedIn's limit: the others waited for the pause.
        assert_eq!(w.store().count_actions(&w.account.id, "message", tomorrow.plus_millis(-DAY_MS)).await.unwrap(), 2);

        // (The sandbox counts its day as the last 24 hours: come back after yesterday's sends left it.)
        w.clock.set(tomorrow.plus_millis(12 * 3_600_000));
        w.engine().run_until_idle().await;
        let mut sent = 0;
        for id in &ids {
            sent += usize::from(w.status_of(id).await == ResponseStatus::Sent);
        }
        assert_eq!(sent, 4, "the next day's two went out");
        assert_eq!(seat_report(w.store(), &w.seat().await, w.clock.now()).await.unwrap().state, SeatState::Limited);
    }
);

both_backends!(background_reads_wait_for_the_seats_budget_and_never_exceed_it, |backend| async move {
    let rules =
        SendingRules { reads: ReadBudgets { relation_reads: 3, ..ReadBudgets::default() }, ..around_the_clock() };
    let w = World::new(backend, rules, SandboxConfig::default()).await; // the setup read one page
    let provider = w.registry.provider(&w.account).unwrap();
    assert!(provider.relations(None).await.is_ok());
    assert!(provider.relations(None).await.is_ok());
    match provider.relations(None).await {
        Err(LinkedInError::BudgetSpent { kind, until }) => {
            assert_eq!(kind, "relation_read");
            assert_eq!(until, Timestamp::parse_rfc3339("2026-06-02T00:00:00Z").unwrap());
        }
        other => panic!("the fourth read of the day must wait, got {other:?}"),
    }
    let today = Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
    assert_eq!(w.store().count_actions(&w.account.id, "relation_read", today).await.unwrap(), 3);
    // The inbox sync keeps reading chats meanwhile (their own budget), and sweeps again tomorrow.
    w.engine().run_until_idle().await;
    assert_eq!(w.store().count_actions(&w.account.id, "relation_read", today).await.unwrap(), 3);
    assert!(w.store().count_actions(&w.account.id, "inbox_read", today).await.unwrap() > 0);
    w.clock.set(Timestamp::parse_rfc3339("2026-06-02T00:00:00Z").unwrap());
    assert!(provider.relations(None).await.is_ok(), "a new day, a new budget");
});

both_backends!(background_reads_wait_for_working_hours_but_a_person_waiting_does_not, |backend| async move {
    let rules = SendingRules { working_hours: WorkingHours::parse("09:00-17:00").unwrap(), ..around_the_clock() };
    let w = World::new(backend, rules, SandboxConfig::default()).await; // 10:00, inside hours
    w.clock.set(Timestamp::parse_rfc3339("2026-06-01T20:00:00Z").unwrap());
    let background = w.registry.provider(&w.account).unwrap();
    match background.relations(None).await {
        Err(LinkedInError::BudgetSpent { until, .. }) => {
            assert_eq!(until, Timestamp::parse_rfc3339("2026-06-02T09:00:00Z").unwrap())
        }
        other => panic!("a background read at 20:00 must wait for 09:00, got {other:?}"),
    }
    assert!(background.chats(None).await.is_ok(), "the inbox is read from the provider's copy at any hour");
    assert!(w.registry.interactive(&w.account).unwrap().relations(None).await.is_ok());
});

both_backends!(a_seat_that_receives_error_then_ok_resumes_on_its_own_through_a_recovery_day, |backend| async move {
    let w = World::new(backend, around_the_clock(), SandboxConfig::default()).await;
    w.provider_says("ERROR").await;
    assert_eq!(w.seat().await.status, AccountStatus::Disconnected);
    w.provider_says("OK").await;
    let seat = w.seat().await;
    assert_eq!(seat.status, AccountStatus::Recovering);
    // A recovering seat acts at half its caps for a day.
    let report = seat_report(w.store(), &seat, w.clock.now()).await.unwrap();
    let messages = report.usage.iter().find(|u| u.kind == "message").unwrap();
    assert_eq!(messages.cap, Some(50));
    let id = w.queue(0).await;
    w.engine().run_until_idle().await;
    assert_eq!(w.status_of(&id).await, ResponseStatus::Sent, "a recovering seat sends");
    w.clock.advance_millis(DAY_MS);
    w.engine().run_until_idle().await;
    assert_eq!(w.seat().await.status, AccountStatus::Connected, "the recovery day is over");
});

both_backends!(a_disconnected_seat_asks_the_provider_and_resumes_when_it_says_ok, |backend| async move {
    let w = World::new(backend, around_the_clock(), SandboxConfig::default()).await;
    w.engine().run_until_idle().await; // the health row exists and waits
    w.provider_says("CREDENTIALS").await;
    assert_eq!(w.seat().await.status, AccountStatus::NeedsAction);
    // The health check comes back within the hour and asks the provider, which says OK.
    w.clock.advance_millis(3_600_000);
    w.engine().run_until_idle().await;
    assert_eq!(w.seat().await.status, AccountStatus::Recovering);
});

both_backends!(a_new_seat_warms_up_its_caps_week_by_week_then_acts_at_full_caps, |backend| async move {
    // Four messages a day, warming up over one week: two a day that week, four after.
    let rules = SendingRules { daily_messages: 4, ramp_up_weeks: 1, ..around_the_clock() };
    let w = World::new(backend, rules, SandboxConfig::default()).await;
    let mut ids = Vec::new();
    for k in 0..10 {
        ids.push(w.queue(k).await);
    }
    w.engine().run_until_idle().await;
    assert_eq!(w.sent(&ids).await, 2, "half the cap in the only week of ramp-up");
    let report = seat_report(w.store(), &w.seat().await, w.clock.now()).await.unwrap();
    let messages = report.usage.iter().find(|u| u.kind == "message").unwrap();
    assert_eq!((messages.used, messages.cap), (2, Some(2)), "the report shows today's ramped cap");

    // A week after it was connected, the seat is warm: its whole cap.
    w.clock.set(w.account.created_at.plus_millis(7 * DAY_MS + 60_000));
    w.engine().run_until_idle().await;
    assert_eq!(w.sent(&ids).await, 6);
    let report = seat_report(w.store(), &w.seat().await, w.clock.now()).await.unwrap();
    let messages = report.usage.iter().find(|u| u.kind == "message").unwrap();
    assert_eq!(messages.cap, Some(4));
});

both_backends!(a_profile_read_again_within_a_week_costs_the_seat_nothing, |backend| async move {
    use sonarly_linkedin::sandbox::CallKind as LinkedInCall;
    let w = World::new(backend, around_the_clock(), SandboxConfig::default()).await;
    let provider = w.registry.provider(&w.seat().await).unwrap();
    let member = w.prospects[0].provider_id.clone();
    let first = provider.profile(&member).await.unwrap();
    let email = provider.find_email(&member).await.unwrap();
    // Asked again the next day, by its slug or its member id: remembered, not fetched.
    w.clock.advance_millis(DAY_MS);
    assert_eq!(provider.profile(&first.public_identifier).await.unwrap(), first);
    assert_eq!(provider.profile(&member).await.unwrap(), first);
    assert_eq!(provider.find_email(&member).await.unwrap(), email);
    let meter = w.registry.sandbox_meter(&w.account.id);
    let since = w.account.created_at;
    assert_eq!(
        w.store().count_actions(&w.account.id, "profile_fetch", since).await.unwrap(),
        2,
        "one profile, one email"
    );
    assert_eq!(meter.calls_in_week(LinkedInCall::ProfileView, w.clock.now()), 2, "LinkedIn saw each once");

    // A week later the profile is read again, and charged again.
    w.clock.advance_millis(7 * DAY_MS);
    provider.profile(&member).await.unwrap();
    assert_eq!(w.store().count_actions(&w.account.id, "profile_fetch", since).await.unwrap(), 3);
});
