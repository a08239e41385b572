//! Stale-invitation withdrawal on both backends, with a manual clock and the
//! sandbox: what is withdrawn when, within the seat's daily budget and working
//! hours, what a LinkedIn limit pauses, and that no invitation is withdrawn twice.

use crate::world::Setup;
use sonarly_app::campaigns::{CreateCampaignRequest, create_campaign, start_campaign};
use sonarly_domain::Timestamp;
use sonarly_domain::campaign::{Campaign, InstanceState, StopReason, WorkflowInstance};
use sonarly_domain::clock::Clock;
use sonarly_domain::linkedin_account::{AccountStatus, SendingRules, WorkingHours};
use sonarly_domain::models::Audience;
use sonarly_engine::Engine;
use sonarly_linkedin::sandbox::{CallKind, EnforcementConfig, SandboxConfig};
use sonarly_store::WithdrawalState;
use sonarly_testkit::{TestBackend, both_backends};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

struct World(crate::world::World);

impl std::ops::Deref for World {
    type Target = crate::world::World;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Around the clock, no spacing, room for every invitation the tests send.
fn rules() -> SendingRules {
    SendingRules {
        working_hours: WorkingHours::AROUND_THE_CLOCK,
        min_spacing_secs: 0,
        max_spacing_secs: 0,
        daily_invitations: 100,
        weekly_invitations: 500,
        ..SendingRules::default()
    }
}

/// Nobody accepts; LinkedIn's own limits and enforcement stay out of the way.
fn sandbox() -> SandboxConfig {
    SandboxConfig {
        enforcement: EnforcementConfig::off(),
        acceptance_rate: 0.0,
        reply_rate: 0.0,
        invitations_per_day: 1_000,
        invitations_per_week: 5_000,
        ..SandboxConfig::default()
    }
}

impl World {
    async fn new(backend: TestBackend, rules: SendingRules, sandbox: SandboxConfig) -> Self {
        let setup = Setup { rules, sandbox: sonarly_testkit::pinned_sandbox(sandbox), ..Setup::default() };
        Self(crate::world::World::new(backend, setup.at("2026-06-01T08:00:00Z")).await)
    }

    /// `n` people, not connections of the seat, from a sandbox search (skipping the first `skip`).
    async fn audience(&self, keywords: &str, skip: usize, n: usize) -> Audience {
        let name = format!("{keywords} {skip}");
        self.search_audience(&name, keywords, (skip, n), |p| p.connection_degree != Some(1)).await
    }

    /// A started "connect" campaign (invite, then wait for acceptance) for `audience`.
    async fn campaign(&self, audience: &Audience) -> Campaign {
        let req = CreateCampaignRequest {
            starter_template_id: "connect".into(),
            name: format!("connect {}", audience.name),
            audience_id: audience.id.clone(),
            lead_ids: None,
        };
        let draft = create_campaign(self.store(), &self.clock, &self.group.id, &req).await.unwrap();
        let started =
            start_campaign(self.store(), &self.registry, &self.clock, &self.group.id, &draft.id).await.unwrap();
        assert!(started.triggered);
        started.campaign.campaign
    }

    async fn instances(&self, campaign: &Campaign) -> Vec<WorkflowInstance> {
        self.store().campaign_instances(&campaign.id).await.unwrap()
    }

    /// Moves time forward in `step_ms` increments, running the engine to idle each time.
    async fn run_for(&self, engine: &Engine, total_ms: i64, step_ms: i64) {
        let mut elapsed = 0;
        while elapsed < total_ms {
            engine.run_until_idle().await;
            self.clock.advance_millis(step_ms);
            elapsed += step_ms;
        }
        engine.run_until_idle().await;
    }

    /// Invitation ids withdrawn so far, as the sandbox (LinkedIn) recorded them.
    async fn withdrawn_on_linkedin(&self) -> Vec<String> {
        let rows = self.store().sandbox_actions_since(&self.account.id, 0).await.unwrap();
        rows.into_iter().filter(|r| r.kind == "withdrawal").map(|r| r.result_id).collect()
    }

    /// Invitations the seat sent, as the sandbox recorded them.
    async fn invited_on_linkedin(&self) -> Vec<String> {
        let rows = self.store().sandbox_actions_since(&self.account.id, 0).await.unwrap();
        rows.into_iter().filter(|r| r.kind == "invitation").map(|r| r.result_id).collect()
    }

    /// Withdrawal calls LinkedIn saw (repeats included).
    fn withdrawal_calls(&self) -> u32 {
        let meter = self.registry.sandbox_meter(&self.account.id);
        meter.daily_calls().into_iter().filter(|(_, k, _)| *k == CallKind::Withdrawal).map(|(_, _, n)| n).sum()
    }

    async fn withdrawn_since(&self, since: Timestamp) -> Vec<Timestamp> {
        self.store().action_times(&self.account.id, "withdrawal", since).await.unwrap()
    }
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

both_backends!(a_22_day_old_invitation_is_withdrawn_and_a_10_day_old_one_is_not, |backend| async move {
    let w = World::new(backend, rules(), sandbox()).await;
    assert_eq!(w.account.rules.withdraw_invitations_after_days, 21, "three weeks by default");
    let engine = w.engine("a");
    let old = w.campaign(&w.audience("founder", 0, 1).await).await;
    engine.run_until_idle().await;
    let first = w.invited_on_linkedin().await;
    assert_eq!(first.len(), 1);
    w.run_for(&engine, 12 * DAY, 6 * HOUR).await;
    let young = w.campaign(&w.audience("founder", 1, 1).await).await;
    w.run_for(&engine, 10 * DAY, 6 * HOUR).await;

    // The first is 22 days old: withdrawn, once, and its lead ended as not accepted.
    assert_eq!(w.withdrawn_on_linkedin().await, first);
    assert_eq!(w.store().withdrawals(&w.account.id, WithdrawalState::Withdrawn).await.unwrap(), first);
    let ended = &w.instances(&old).await[0];
    assert_eq!((ended.state, ended.stop_reason), (InstanceState::Stopped, Some(StopReason::InvitationNotAccepted)));
    // The second is 10 days old: still pending on LinkedIn, its lead still waiting.
    assert_eq!(w.invited_on_linkedin().await.len(), 2);
    assert_eq!(w.instances(&young).await[0].state, InstanceState::Active);
    assert_eq!(w.withdrawal_calls(), 1);
});

both_backends!(a_withdrawn_invitation_ends_the_lead_waiting_on_it_as_not_accepted, |backend| async move {
    // Withdrawn after 14 days: before the 21-day acceptance wait ends on its own.
    let w = World::new(backend, SendingRules { withdraw_invitations_after_days: 14, ..rules() }, sandbox()).await;
    let engine = w.engine("a");
    let campaign = w.campaign(&w.audience("founder", 0, 2).await).await;
    w.run_for(&engine, 13 * DAY, 6 * HOUR).await;
    assert!(w.withdrawn_on_linkedin().await.is_empty(), "13 days: nothing stale yet");
    assert!(w.instances(&campaign).await.iter().all(|i| i.state == InstanceState::Active));
    // A seat with nothing stale looks again every 3 to 6 hours.
    w.run_for(&engine, DAY + 7 * HOUR, HOUR).await;
    assert_eq!(w.withdrawn_on_linkedin().await.len(), 2);
    for i in w.instances(&campaign).await {
        assert_eq!((i.state, i.stop_reason), (InstanceState::Stopped, Some(StopReason::InvitationNotAccepted)));
        assert!(i.updated_at < i.started_at.plus_millis(15 * DAY), "ended by the withdrawal, not the 21-day wait");
    }
});

both_backends!(withdrawals_keep_the_daily_budget_and_working_hours, |backend| async move {
    let rules = SendingRules { working_hours: WorkingHours::parse("09:00-18:00").unwrap(), ..rules() };
    let w = World::new(backend, rules, sandbox()).await;
    assert_eq!(w.account.rules.daily_withdrawals, 20);
    let engine = w.engine("a");
    w.campaign(&w.audience("engineer", 0, 50).await).await;
    w.clock.set(at("2026-06-01T12:00:00Z"));
    engine.run_until_idle().await;
    assert_eq!(w.invited_on_linkedin().await.len(), 50, "all invited on the first day");

    // Day 23 before working hours: 22 days old, but nothing is withdrawn at 07:00.
    w.clock.set(at("2026-06-23T07:00:00Z"));
    engine.run_until_idle().await;
    assert!(w.withdrawn_on_linkedin().await.is_empty(), "outside working hours nothing is withdrawn");
    w.clock.set(at("2026-06-23T09:30:00Z"));
    engine.run_until_idle().await;
    assert_eq!(w.withdrawn_on_linkedin().await.len(), 20, "twenty a day");
    w.clock.set(at("2026-06-23T17:00:00Z"));
    engine.run_until_idle().await;
    assert_eq!(w.withdrawn_on_linkedin().await.len(), 20, "the budget holds all day");
    w.clock.set(at("2026-06-23T22:00:00Z"));
    engine.run_until_idle().await;
    assert_eq!(w.withdrawn_on_linkedin().await.len(), 20);
    w.clock.set(at("2026-06-24T09:30:00Z"));
    engine.run_until_idle().await;
    assert_eq!(w.withdrawn_on_linkedin().await.len(), 40, "the next working day, twenty more");
    w.clock.set(at("2026-06-25T09:30:00Z"));
    engine.run_until_idle().await;
    assert_eq!(w.withdrawn_on_linkedin().await.len(), 50, "then the rest");
    let times = w.withdrawn_since(at("2026-06-01T00:00:00Z")).await;
    assert_eq!(times.len(), 50);
    for t in &times {
        let minute = w.account.rules.local_minute(*t);
        assert!((9 * 60..18 * 60).contains(&minute), "withdrawn at {t}, outside working hours");
    }
    assert_eq!(w.withdrawal_calls(), 50, "each withdrawn once");
});

both_backends!(
    a_withdrawal_refused_by_a_limit_pauses_withdrawals_for_the_seat_and_nothing_else,
    |backend| async move {
        // LinkedIn takes three withdrawals a day; our own cap would allow twenty.
        let w = World::new(backend, rules(), SandboxConfig { withdrawals_per_day: 3, ..sandbox() }).await;
        let engine = w.engine("a");
        w.campaign(&w.audience("designer", 0, 5).await).await;
        engine.run_until_idle().await;
        w.clock.set(at("2026-06-23T10:00:00Z"));
        engine.run_until_idle().await;
        assert_eq!(w.withdrawn_on_linkedin().await.len(), 3);
        let now = w.clock.now();
        let pauses = w.store().seat_pauses(&w.account.id, now).await.unwrap();
        assert_eq!(pauses.len(), 1, "{pauses:?}");
        assert_eq!((pauses[0].kind.as_str(), pauses[0].reason.as_str()), ("withdrawal", "DAILY_LIMIT_REACHED"));
        assert_eq!(pauses[0].until, at("2026-06-24T00:00:00Z"));
        let seat = w.store().system().linkedin_account(&w.account.id).await.unwrap().unwrap();
        assert_eq!((seat.status, seat.rate_limited_until), (AccountStatus::Connected, None), "the seat itself acts on");
        // The refused one is not counted, given up, nor tried again while paused.
        assert_eq!(w.withdrawn_since(at("2026-06-23T00:00:00Z")).await.len(), 3);
        assert!(w.store().withdrawals(&w.account.id, WithdrawalState::Failed).await.unwrap().is_empty());
        assert_eq!(w.withdrawal_calls(), 4, "one call met the limit; the rest waited for the pause");
        // Other work goes on: a new campaign's invitations go out under the pause.
        w.campaign(&w.audience("designer", 5, 2).await).await;
        engine.run_until_idle().await;
        assert_eq!(w.invited_on_linkedin().await.len(), 7);
        // The next day (once LinkedIn's rolling day has passed) the last two go.
        w.clock.set(at("2026-06-24T11:00:00Z"));
        engine.run_until_idle().await;
        assert_eq!(w.withdrawn_on_linkedin().await.len(), 5);
    }
);

both_backends!(an_invitation_accepted_meanwhile_is_not_withdrawn, |backend| async move {
    let w = World::new(backend, rules(), sandbox()).await;
    let engine = w.engine("a");
    let audience = w.audience("marketing", 0, 2).await;
    let campaign = w.campaign(&audience).await;
    engine.run_until_idle().await;
    // The relation sweep (or a `new_relation` webhook) saw the first one accept.
    let first = w.store().get_prospect(&w.group.id, &w.instances(&campaign).await[0].prospect_id).await.unwrap();
    let first = first.unwrap();
    w.clock.advance_millis(3 * DAY);
    w.store().mark_prospects_connected(&w.group.id, &first.provider_id, w.clock.now()).await.unwrap();
    w.clock.set(at("2026-06-23T10:00:00Z"));
    engine.run_until_idle().await;
    let withdrawn = w.withdrawn_on_linkedin().await;
    assert_eq!(withdrawn.len(), 1);
    let rows = w.store().sandbox_actions_since(&w.account.id, 0).await.unwrap();
    let withdrawal = rows.iter().find(|r| r.kind == "withdrawal").unwrap();
    assert_ne!(withdrawal.recipient_provider_id, first.provider_id, "the accepted one is left alone");
});

both_backends!(two_engines_never_withdraw_the_same_invitation_twice, |backend| async move {
    let w = World::new(backend, rules(), sandbox()).await;
    let (a, b) = (w.engine("a"), w.engine("b"));
    w.campaign(&w.audience("sales", 0, 6).await).await;
    a.run_until_idle().await;
    w.clock.set(at("2026-06-23T10:00:00Z"));
    // Both instances step at once, again and again, until neither has anything due.
    for _ in 0..50 {
        let (x, y) = tokio::join!(a.step(), b.step());
        if !x && !y {
            break;
        }
    }
    tokio::join!(a.run_until_idle(), b.run_until_idle());
    let mut withdrawn = w.withdrawn_on_linkedin().await;
    withdrawn.sort();
    withdrawn.dedup();
    assert_eq!(withdrawn.len(), 6);
    assert_eq!(w.withdrawal_calls(), 6, "one call per invitation, across both instances");
    assert_eq!(w.withdrawn_since(at("2026-06-01T00:00:00Z")).await.len(), 6);
    assert_eq!(w.store().withdrawals(&w.account.id, WithdrawalState::Withdrawn).await.unwrap().len(), 6);
});
