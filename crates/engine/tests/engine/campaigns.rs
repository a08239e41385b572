//! The campaign executor on both backends, with a manual clock and the
//! sandbox: weeks of a 200-lead campaign, exactly-once steps across a crash,
//! replies stopping workflows, and daily caps shared by campaigns of one account.

use crate::world::Setup;
use sonarly_app::campaigns::{
    ApprovalAction, CreateCampaignRequest, content_slots, create_campaign, get_campaign_state, lead_status,
    resolve_approval, start_campaign, update_content_slot,
};
use sonarly_app::composer::{BuiltinComposer, ComposeRequest, Composition, ContentComposer};
use sonarly_app::signals::{StartScanRequest, signals_for_composer, start_scan};
use sonarly_app::templates::{create_signal_specification, create_writing_style};
use sonarly_domain::Timestamp;
use sonarly_domain::campaign::{
    Campaign, CampaignStatus, InstanceState, StopReason, WorkflowInstance, WorkflowStatus, step_token,
};
use sonarly_domain::clock::Clock;
use sonarly_domain::composer::ProspectSignal;
use sonarly_domain::linkedin_account::{ActionKind, SendingRules, WorkingHours};
use sonarly_domain::models::Audience;
use sonarly_domain::prospecting::Prospect;
use sonarly_domain::signals::DEFAULT_COMPOSE_MIN_SCORE;
use sonarly_domain::template::{Patch, SampleInput, SignalSpecificationInput, WritingStyleInput};
use sonarly_engine::Engine;
use sonarly_linkedin::sandbox::{EnforcementConfig, SandboxConfig};
use sonarly_linkedin::{AccountType, OutboundToken};
use sonarly_store::{CAMPAIGN_WORK, NewSend, SendAction, SendState};
use sonarly_testkit::{TestBackend, both_backends};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

struct World(crate::world::World);

impl std::ops::Deref for World {
    type Target = crate::world::World;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

fn rules(daily_invitations: u32) -> SendingRules {
    SendingRules {
        working_hours: WorkingHours::AROUND_THE_CLOCK,
        min_spacing_secs: 0,
        max_spacing_secs: 0,
        daily_invitations,
        weekly_invitations: 1_000,
        daily_messages: 1_000,
        daily_profile_visits: 1_000,
        daily_engagements: 1_000,
        // Visits share the profile budget: as roomy as the visit cap.
        reads: sonarly_domain::linkedin_account::ReadBudgets { profile_fetches: 1_000, ..Default::default() },
        ..SendingRules::default()
    }
}

/// A roomy sandbox: its own limits never get in the way of the tests. Nor does LinkedIn's
/// enforcement: waiting for acceptance fetches each waiting lead's profile on every pass, far
/// past LinkedIn's profile wall (200 leads get the seat restricted on the first day).
/// The network is seeded explicitly: left to the default, each run's seat (a new random id)
/// would see a different network, and a test would depend on who it happens to meet.
fn sandbox() -> SandboxConfig {
    SandboxConfig {
        account_seed: sonarly_testkit::TEST_ACCOUNT_SEED,
        enforcement: EnforcementConfig::off(),
        invitations_per_day: 1_000,
        invitations_per_week: 5_000,
        messages_per_day: 10_000,
        visits_per_day: 10_000,
        other_actions_per_day: 10_000,
        ..SandboxConfig::default()
    }
}

impl World {
    async fn new(backend: TestBackend, rules: SendingRules) -> Self {
        Self::with_sandbox(backend, rules, AccountType::Classic, sandbox()).await
    }

    async fn with_sandbox(
        backend: TestBackend,
        rules: SendingRules,
        account_type: AccountType,
        sandbox: SandboxConfig,
    ) -> Self {
        let setup = Setup { rules, account_type, sandbox, ..Setup::default() };
        Self(crate::world::World::new(backend, setup.at("2026-06-01T08:00:00Z")).await)
    }

    fn engine_with(&self, owner: &str, composer: Arc<dyn ContentComposer>) -> Engine {
        self.engine(owner).with_composer(composer)
    }

    /// An audience of `n` people found by a sandbox search.
    async fn audience(&self, keywords: &str, n: usize) -> Audience {
        self.audience_where(keywords, n, |_| true).await
    }

    /// An audience of `n` people found by a sandbox search who are not
    /// connections of the account yet (so every one of them gets invited).
    async fn audience_of_strangers(&self, keywords: &str, n: usize) -> Audience {
        self.audience_where(keywords, n, |p| p.connection_degree != Some(1)).await
    }

    async fn audience_where(
        &self,
        keywords: &str,
        n: usize,
        keep: impl Fn(&sonarly_linkedin::Person) -> bool,
    ) -> Audience {
        self.search_audience(keywords, keywords, (0, n), keep).await
    }

    async fn draft(&self, template: &str, audience: &Audience) -> Campaign {
        let req = CreateCampaignRequest {
            starter_template_id: template.into(),
            name: format!("{template} campaign"),
            audience_id: audience.id.clone(),
            lead_ids: None,
        };
        create_campaign(self.store(), &self.clock, &self.group.id, &req).await.unwrap()
    }

    async fn campaign(&self, template: &str, audience: &Audience) -> Campaign {
        let campaign = self.draft(template, audience).await;
        self.start(campaign).await
    }

    async fn start(&self, campaign: Campaign) -> Campaign {
        let started =
            start_campaign(self.store(), &self.registry, &self.clock, &self.group.id, &campaign.id).await.unwrap();
        assert!(started.triggered);
        assert_eq!(started.instances_created as i64, campaign.selected_lead_count);
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

    async fn ledger(&self) -> Vec<sonarly_store::SandboxActionRow> {
        self.store().sandbox_actions_since(&self.account.id, 0).await.unwrap()
    }
}

fn mix(instances: &[WorkflowInstance]) -> HashMap<(InstanceState, Option<StopReason>), usize> {
    let mut out = HashMap::new();
    for i in instances {
        *out.entry((i.state, i.stop_reason)).or_insert(0) += 1;
    }
    out
}

both_backends!(a_200_lead_campaign_runs_through_simulated_weeks, |backend| async move {
    let w = World::new(backend, rules(80)).await;
    let audience = w.audience("software%20engineer", 200).await;
    let campaign = w.campaign("connect-engage-dm", &audience).await;
    let engine = w.engine("a");
    w.run_for(&engine, 5 * 7 * DAY, 4 * HOUR).await;

    let instances = w.instances(&campaign).await;
    assert_eq!(instances.len(), 200);
    let mix = mix(&instances);
    let count = |state: InstanceState, reason: Option<StopReason>| *mix.get(&(state, reason)).unwrap_or(&0);
    let completed = count(InstanceState::Completed, None);
    let not_accepted = count(InstanceState::Stopped, Some(StopReason::InvitationNotAccepted));
    let replied = count(InstanceState::Stopped, Some(StopReason::ReplyReceived));
    // Acceptance 35 %, replies 30 % of delivered messages: every lead ended, in a plausible mix.
    assert!(instances.iter().all(|i| i.state != InstanceState::Active), "{mix:?}");
    assert_eq!(completed + not_accepted + replied, 200, "{mix:?}");
    assert!((90..=170).contains(&not_accepted), "{mix:?}");
    assert!(completed >= 20 && replied >= 5, "{mix:?}");
    let done = w.store().get_campaign(&w.group.id, &campaign.id).await.unwrap().unwrap();
    assert_eq!(done.status, CampaignStatus::Completed);

    // The ledger: every step token at most once, invitations within the daily cap per day.
    let ledger = w.ledger().await;
    let tokens: HashSet<&str> = ledger.iter().map(|a| a.token.as_str()).collect();
    assert_eq!(tokens.len(), ledger.len());
    let mut per_day: HashMap<i64, usize> = HashMap::new();
    for a in ledger.iter().filter(|a| a.kind == "invitation") {
        *per_day.entry(a.at / DAY).or_insert(0) += 1;
    }
    assert!(per_day.values().all(|n| *n <= 80), "{per_day:?}");
    // Everyone not already connected was invited, once.
    let invited = per_day.values().sum::<usize>();
    assert!((150..=200).contains(&invited), "{invited}");

    // Replies stopped their workflow before the follow-up: no second message for them.
    for i in instances.iter().filter(|i| i.stop_reason == Some(StopReason::ReplyReceived)) {
        assert!(!tokens.contains(step_token(&i.id, 5).as_str()), "a lead who replied got the follow-up");
    }
    // Completed leads got both messages, once each.
    for i in instances.iter().filter(|i| i.state == InstanceState::Completed) {
        assert!(tokens.contains(step_token(&i.id, 4).as_str()) && tokens.contains(step_token(&i.id, 5).as_str()));
        assert_eq!(i.latest_step.as_deref(), Some("direct_message_2"));
    }
    // The lead status speaks the documented vocabulary.
    let ids: Vec<String> = instances.iter().take(50).map(|i| i.prospect_id.clone()).collect();
    let rows = lead_status(w.store(), &w.clock, &w.group.id, &campaign.id, &ids).await.unwrap();
    assert_eq!(rows.len(), 50);
    assert!(rows.iter().all(|r| [WorkflowStatus::Completed, WorkflowStatus::Stopped].contains(&r.workflow_status)));
});

both_backends!(no_lead_gets_a_step_twice_across_a_crash, |backend| async move {
    let w = World::new(backend, rules(80)).await;
    let audience = w.audience_of_strangers("product%20manager", 5).await;
    let campaign = w.campaign("connect", &audience).await;
    let instances = w.instances(&campaign).await;
    // A worker claims every row, records attempts, sends the invitations, and dies before recording anything.
    let now = w.clock.now();
    let claimed = w.store().claim_work(CAMPAIGN_WORK, "dead", now, now.plus_millis(60_000), 100).await.unwrap();
    assert_eq!(claimed.len(), 5);
    let provider = w.registry.provider(&w.account).unwrap();
    let deadline = now.plus_millis(30_000);
    for i in &instances[..3] {
        let item = claimed.iter().find(|c| c.ref_id == i.id).unwrap();
        let token = step_token(&i.id, 0);
        let granted = w
            .store()
            .reserve_action_slot(
                item,
                &sonarly_store::SlotRequest {
                    account_id: &w.account.id,
                    kind: "invitation",
                    token: &token,
                    now,
                    next_slot_at: now,
                },
                now.plus_millis(60_000),
            )
            .await
            .unwrap();
        assert_eq!(granted, sonarly_store::SlotClaim::Granted);
        let prospect = w.store().get_prospect(&w.group.id, &i.prospect_id).await.unwrap().unwrap();
        let new = NewSend {
            token: token.clone(),
            linkedin_account_id: w.account.id.clone(),
            work_kind: CAMPAIGN_WORK.into(),
            ref_id: i.id.clone(),
            action: SendAction::Invitation,
            recipient_provider_id: prospect.provider_id.clone(),
            provider_chat_id: None,
            subject: None,
            body: None,
        };
        w.store().prepare_send(&new, now).await.unwrap();
        w.store().begin_attempt(&token, 0, "dead", None, now, deadline).await.unwrap().expect("attempt begins");
        provider.send_invitation(&OutboundToken::new(token), &prospect.provider_id, None).await.unwrap();
    }
    // While the lease holds, nobody else touches the rows.
    let engine = w.engine("b");
    engine.run_until_idle().await;
    assert!(w.instances(&campaign).await.iter().all(|i| i.step_index == 0));
    // Past the lease, the two untouched leads go on; the three attempts wait until they settle.
    w.clock.advance_millis(61_000);
    engine.run_until_idle().await;
    assert_eq!(w.instances(&campaign).await.iter().filter(|i| i.step_index == 1).count(), 2);
    // Settled: the next owner reconciles and moves on without sending again.
    w.clock.set(deadline.plus_millis(sonarly_engine::DEFAULT_SETTLE_MS));
    engine.run_until_idle().await;
    let after = w.instances(&campaign).await;
    assert!(
        after.iter().all(|i| i.step_index == 1 && i.latest_step.as_deref() == Some("send_invitation")),
        "{after:?}"
    );
    let ledger = w.ledger().await;
    let invitations: Vec<_> = ledger.iter().filter(|a| a.kind == "invitation").collect();
    assert_eq!(invitations.len(), 5, "each lead invited exactly once");
    let tokens: HashSet<&str> = invitations.iter().map(|a| a.token.as_str()).collect();
    assert_eq!(tokens.len(), 5);
    // Each reconciled invitation is attributed to its own step.
    for i in &instances[..3] {
        let send = w.store().get_send(&step_token(&i.id, 0)).await.unwrap().unwrap();
        assert_eq!((send.state, send.attempt), (SendState::Delivered, 1), "{send:?}");
        assert!(send.provider_ref.as_deref().is_some_and(|r| r.starts_with("invitation:")), "{send:?}");
    }
    // The shared action ledger counted each invitation once too.
    let day_start = w.account.rules.local_day_start(w.clock.now());
    assert_eq!(w.store().count_actions(&w.account.id, "invitation", day_start).await.unwrap(), 5);
});

both_backends!(daily_caps_hold_across_campaigns_sharing_an_account, |backend| async move {
    let w = World::new(backend, rules(5)).await;
    // Strangers only: a first-degree connection in an audience ends its workflow as
    // `already_connected` without an invitation (the sandbox network is seeded per account, so an
    // audience of anyone held one now and then, and one lead was never invited).
    let first = w.audience_of_strangers("software%20engineer", 10).await;
    let second = w.audience_of_strangers("product%20manager", 10).await;
    let a = w.campaign("connect", &first).await;
    let b = w.campaign("connect", &second).await;
    let engine = w.engine("a");
    // 08:00 to 23:00 of the first day.
    w.run_for(&engine, 15 * HOUR, HOUR).await;
    let day_start = w.account.rules.local_day_start(w.clock.now());
    assert_eq!(w.store().count_actions(&w.account.id, "invitation", day_start).await.unwrap(), 5);
    let invited = |v: &[WorkflowInstance]| v.iter().filter(|i| i.step_index >= 1).count();
    let (ia, ib) = (w.instances(&a).await, w.instances(&b).await);
    assert_eq!(invited(&ia) + invited(&ib), 5);
    // The others wait in the queue for the next local day, saying why.
    let held = ia.iter().chain(&ib).find(|i| i.step_index == 0).unwrap();
    let queued = w.store().queued_work(sonarly_store::CAMPAIGN_WORK, &held.id).await.unwrap().unwrap();
    assert_eq!(queued.run_at, w.account.rules.next_local_day_start(w.clock.now()), "{queued:?}");
    assert_eq!((queued.lease_owner, queued.last_error.as_deref()), (None, Some("SAFETY_RULE")));
    // Everyone is invited in the three days that follow, never more than five a day.
    w.run_for(&engine, 3 * DAY, 2 * HOUR).await;
    let (ia, ib) = (w.instances(&a).await, w.instances(&b).await);
    let waiting: Vec<_> = ia.iter().chain(&ib).filter(|i| i.step_index == 0).collect();
    if !waiting.is_empty() {
        let mut rows = Vec::new();
        for i in &waiting {
            rows.push(w.store().queued_work(sonarly_store::CAMPAIGN_WORK, &i.id).await.unwrap());
        }
        panic!("now {}: still waiting {waiting:#?}, queued as {rows:#?}", w.clock.now());
    }
    let mut per_day: HashMap<i64, usize> = HashMap::new();
    for x in w.ledger().await.iter().filter(|x| x.kind == "invitation") {
        *per_day.entry(x.at / DAY).or_insert(0) += 1;
    }
    assert!(per_day.values().all(|n| *n <= 5), "{per_day:?}");
    assert_eq!(per_day.values().sum::<usize>(), 20);
});

both_backends!(approved_content_is_sent_once_and_discarded_content_never, |backend| async move {
    let w = World::new(backend, rules(80)).await;
    let audience = w.audience("data%20scientist", 2).await;
    let draft = w.draft("connect", &audience).await;
    // A writing style with only a fallback sample: every note it writes needs approval.
    let input = WritingStyleInput {
        name: Patch::Value("Fallback only".into()),
        content_type: Patch::Value("connection_request".into()),
        samples: Patch::Value(vec![SampleInput {
            sample_type: "fallback".into(),
            message: "Hi, glad to connect.".into(),
            subject: None,
            signal_tag: None,
        }]),
        ..WritingStyleInput::default()
    };
    let style = create_writing_style(w.store(), &w.clock, &w.group.id, input).await.unwrap();
    let slots = content_slots(w.store(), &w.group.id, &draft.id).await.unwrap();
    assert_eq!(slots.len(), 1);
    update_content_slot(w.store(), &w.clock, &w.group.id, &draft.id, &slots[0].id, &style.id).await.unwrap();
    let campaign = w.start(draft).await;
    let engine = w.engine("a");
    w.run_for(&engine, 2 * HOUR, HOUR).await;

    // Both leads wait for a person, their composed note kept aside; nothing went out.
    let held = w.instances(&campaign).await;
    assert_eq!(held.len(), 2);
    for i in &held {
        assert!(i.pending_approval && i.state == InstanceState::Active && i.step_index == 0, "{i:?}");
        assert!(i.pending_body.as_deref().is_some_and(|b| b.contains("glad to connect")), "{i:?}");
    }
    assert!(w.ledger().await.is_empty());
    let rows =
        lead_status(w.store(), &w.clock, &w.group.id, &campaign.id, &[held[0].prospect_id.clone()]).await.unwrap();
    assert!(rows[0].has_pending_approval && rows[0].workflow_status == WorkflowStatus::Waiting, "{rows:?}");

    let (approved, discarded) = (&held[0], &held[1]);
    let text = approved.pending_body.clone().unwrap();
    let status =
        resolve_approval(w.store(), &w.clock, &w.group.id, &campaign.id, &approved.id, ApprovalAction::Approve)
            .await
            .unwrap();
    assert!(!status.has_pending_approval);
    let status =
        resolve_approval(w.store(), &w.clock, &w.group.id, &campaign.id, &discarded.id, ApprovalAction::Discard)
            .await
            .unwrap();
    assert_eq!(status.workflow_status, WorkflowStatus::Stopped);
    assert_eq!(status.workflow_stop_reason, Some(StopReason::ContentDiscarded));
    // A second decision finds nothing pending.
    let again =
        resolve_approval(w.store(), &w.clock, &w.group.id, &campaign.id, &approved.id, ApprovalAction::Approve).await;
    assert_eq!(again.unwrap_err().status, 409);

    // Days later: the approved note went out once, exactly as approved; the discarded lead got nothing.
    w.run_for(&engine, 3 * DAY, 2 * HOUR).await;
    let ledger = w.ledger().await;
    let sent: Vec<_> = ledger.iter().filter(|a| a.kind == "invitation").collect();
    assert_eq!(sent.len(), 1, "{ledger:?}");
    assert_eq!(sent[0].token, step_token(&approved.id, 0));
    assert_eq!(sent[0].body.as_deref(), Some(text.as_str()));
    assert!(ledger.iter().all(|a| !a.token.starts_with(&discarded.id)), "{ledger:?}");
    let day_start = w.account.rules.local_day_start(w.clock.now());
    assert_eq!(w.store().count_actions(&w.account.id, "invitation", day_start.plus_millis(-7 * DAY)).await.unwrap(), 1);

    let after = w.instances(&campaign).await;
    let find = |id: &str| after.iter().find(|i| i.id == id).unwrap().clone();
    let a = find(&approved.id);
    assert!(!a.pending_approval && a.step_index >= 1, "{a:?}");
    // Invited (and perhaps accepted since).
    assert!(matches!(a.latest_step.as_deref(), Some("send_invitation" | "invitation_accepted")), "{a:?}");
    let d = find(&discarded.id);
    assert_eq!((d.state, d.stop_reason), (InstanceState::Stopped, Some(StopReason::ContentDiscarded)));
    assert_eq!(d.latest_step, None);
});

both_backends!(a_linkedin_rate_limit_pauses_the_campaign_and_it_resumes, |backend| async move {
    // LinkedIn answers "too many requests" after two actions a minute.
    let sandbox = SandboxConfig { burst_per_minute: 2, ..sandbox() };
    let w = World::with_sandbox(backend, rules(80), AccountType::Classic, sandbox).await;
    let audience = w.audience_of_strangers("software%20engineer", 5).await;
    let campaign = w.campaign("connect", &audience).await;
    let engine = w.engine("a");
    let start = w.clock.now();
    engine.run_until_idle().await;

    // Two invitations went out; the third was refused and paused the account.
    let invitations = |ledger: &[sonarly_store::SandboxActionRow]| {
        ledger.iter().filter(|a| a.kind == "invitation").map(|a| a.token.clone()).collect::<Vec<_>>()
    };
    assert_eq!(invitations(&w.ledger().await).len(), 2);
    let account = w.store().system().linkedin_account(&w.account.id).await.unwrap().unwrap();
    let until = account.rate_limited_until.expect("the account is paused");
    assert!(until > start, "{until}");
    let state = get_campaign_state(w.store(), &w.clock, &w.group.id, &campaign.id).await.unwrap();
    assert_eq!(state.rate_limited_until, Some(until));
    assert_eq!(state.campaign.status, CampaignStatus::Active);
    // Nothing lost: every lead is still live, the refused invitation is not counted.
    let instances = w.instances(&campaign).await;
    assert!(instances.iter().all(|i| i.state == InstanceState::Active), "{instances:?}");
    assert_eq!(instances.iter().filter(|i| i.step_index == 1).count(), 2);
    let day_start = w.account.rules.local_day_start(w.clock.now());
    assert_eq!(w.store().count_actions(&w.account.id, "invitation", day_start).await.unwrap(), 2);
    // Before the pause ends nothing moves.
    w.clock.advance_millis((until.as_millis() - start.as_millis()) / 2);
    engine.run_until_idle().await;
    assert_eq!(invitations(&w.ledger().await).len(), 2);

    // Past the pause the steps resume; further bursts pause and resume again.
    w.run_for(&engine, 10 * 60_000, 61_000).await;
    let ledger = w.ledger().await;
    let sent = invitations(&ledger);
    assert_eq!(sent.len(), 5, "{ledger:?}");
    assert_eq!(sent.iter().collect::<HashSet<_>>().len(), 5, "each lead invited once");
    let instances = w.instances(&campaign).await;
    for i in &instances {
        assert!(sent.contains(&step_token(&i.id, 0)), "{i:?}");
        assert!(i.step_index >= 1 && i.state == InstanceState::Active, "{i:?}");
    }
    assert_eq!(w.store().count_actions(&w.account.id, "invitation", day_start).await.unwrap(), 5);
    let state = get_campaign_state(w.store(), &w.clock, &w.group.id, &campaign.id).await.unwrap();
    assert_eq!(state.rate_limited_until, None, "the pause lies behind");

    // And the workflows run to their end.
    w.run_for(&engine, 4 * 7 * DAY, 4 * HOUR).await;
    let instances = w.instances(&campaign).await;
    assert!(instances.iter().all(|i| i.state != InstanceState::Active), "{instances:?}");
    let done = w.store().get_campaign(&w.group.id, &campaign.id).await.unwrap().unwrap();
    assert_eq!(done.status, CampaignStatus::Completed);
    assert_eq!(invitations(&w.ledger().await).len(), 5);
});

both_backends!(engage_inmail_runs_on_a_sales_navigator_account_until_credits_run_out, |backend| async move {
    let sandbox = SandboxConfig { inmail_credits: 3, ..sandbox() };
    let w = World::with_sandbox(backend, rules(80), AccountType::SalesNavigator, sandbox).await;
    let audience = w.audience("marketing%20manager", 6).await;
    let campaign = w.campaign("engage-inmail", &audience).await;
    let engine = w.engine("a");
    w.run_for(&engine, 7 * DAY, 4 * HOUR).await;

    let instances = w.instances(&campaign).await;
    assert_eq!(instances.len(), 6);
    assert!(instances.iter().all(|i| i.state != InstanceState::Active), "{instances:?}");
    let ledger = w.ledger().await;
    let of = |kind: &str| ledger.iter().filter(|a| a.kind == kind).collect::<Vec<_>>();
    // Everyone was engaged first: a visit and a follow each, a like for those who posted.
    for (kind, index) in [("visit", 0), ("follow", 1)] {
        let rows = of(kind);
        assert_eq!(rows.len(), 6, "{kind}: {ledger:?}");
        for i in &instances {
            assert!(rows.iter().any(|a| a.token == step_token(&i.id, index)), "{kind} for {i:?}");
        }
    }
    let likes = of("reaction");
    assert!(likes.len() <= 6 && likes.iter().all(|a| instances.iter().any(|i| a.token == step_token(&i.id, 2))));
    // InMails: one per lead at most, until the three credits are spent.
    let inmails = of("inmail");
    assert_eq!(inmails.len(), 3, "{ledger:?}");
    assert_eq!(inmails.iter().map(|a| a.token.as_str()).collect::<HashSet<_>>().len(), 3);
    for a in &inmails {
        assert!(
            a.subject.as_deref().is_some_and(|s| !s.is_empty()) && a.body.as_deref().is_some_and(|b| !b.is_empty())
        );
    }
    let mut completed = 0;
    let mut no_credits = 0;
    for i in &instances {
        let got_inmail = inmails.iter().any(|a| a.token == step_token(&i.id, 3));
        match (i.state, i.stop_reason) {
            (InstanceState::Completed, None) => {
                assert!(got_inmail, "{i:?}");
                assert_eq!(i.latest_step.as_deref(), Some("inmail"));
                completed += 1;
            }
            (InstanceState::NotEligible, Some(StopReason::NoInmailCredits)) => {
                assert!(!got_inmail, "{i:?}");
                no_credits += 1;
            }
            (InstanceState::NotEligible, Some(StopReason::NotReachable)) => assert!(!got_inmail, "{i:?}"),
            other => panic!("unexpected end {other:?} for {i:?}"),
        }
    }
    assert_eq!(completed, 3);
    assert!(no_credits >= 1, "{instances:?}");
    // The lead status says the same.
    let ids: Vec<String> = instances.iter().map(|i| i.prospect_id.clone()).collect();
    let rows = lead_status(w.store(), &w.clock, &w.group.id, &campaign.id, &ids).await.unwrap();
    assert_eq!(rows.iter().filter(|r| r.workflow_status == WorkflowStatus::Completed).count(), 3);
    assert_eq!(rows.iter().filter(|r| r.workflow_status == WorkflowStatus::NotEligible).count(), 3);
    let done = w.store().get_campaign(&w.group.id, &campaign.id).await.unwrap().unwrap();
    assert_eq!(done.status, CampaignStatus::Completed);
    // No credits left: nothing more can go out, however long we wait.
    w.run_for(&engine, 3 * DAY, 12 * HOUR).await;
    assert_eq!(w.ledger().await.iter().filter(|a| a.kind == "inmail").count(), 3);
});

/// A stand-in for a configured model: it rewrites the built-in draft into a
/// numbered note (keeping the sample the draft chose) and remembers the signals it was given.
#[derive(Default)]
struct RecordingComposer {
    seen: Mutex<Vec<(String, Vec<ProspectSignal>)>>,
}

impl ContentComposer for RecordingComposer {
    fn compose<'a, 'b, 'f>(
        &'a self,
        request: &'b ComposeRequest,
    ) -> Pin<Box<dyn Future<Output = sonarly_app::AppResult<Composition>> + Send + 'f>>
    where
        'a: 'f,
        'b: 'f,
        Self: 'f,
    {
        Box::pin(async move {
            let draft = BuiltinComposer.compose(request).await?;
            let mut seen = self.seen.lock().unwrap();
            let body = format!("Model note {}", seen.len());
            seen.push((body.clone(), request.signals.clone()));
            Ok(Composition { composed: sonarly_domain::composer::Composed { body, ..draft.composed }, ..draft })
        })
    }
}

both_backends!(campaign_content_goes_through_the_configured_composer_with_stored_signals, |backend| async move {
    let w = World::new(backend, rules(80)).await;
    let audience = w.audience("software%20engineer", 6).await;
    // The leads' signals, stored by a scan before the campaign runs.
    let spec = SignalSpecificationInput {
        name: Patch::Value("Engineering teams scaling their platform".into()),
        description: Patch::Value("Posts about hiring engineers, Kubernetes, observability or CI pipelines".into()),
        sources: Patch::Value(vec![
            "linkedin_posts".into(),
            "linkedin_comments".into(),
            "job_changes".into(),
            "hiring".into(),
        ]),
        specifications: Patch::Value(vec![serde_json::json!({"keywords": ["developer productivity", "Rust"]})]),
        ..Default::default()
    };
    let spec = create_signal_specification(w.store(), &w.clock, &w.group.id, spec).await.unwrap();
    let scan = StartScanRequest {
        signal_specification_id: Some(spec.id.clone()),
        audience_id: Some(audience.id.clone()),
        prospect_ids: None,
    };
    start_scan(w.store(), &w.clock, &w.group.id, &scan, None).await.unwrap();
    let composer = Arc::new(RecordingComposer::default());
    let engine = w.engine_with("a", composer.clone());
    engine.run_until_idle().await;

    let campaign = w.campaign("connect", &audience).await;
    w.run_for(&engine, 2 * HOUR, HOUR).await;
    let instances = w.instances(&campaign).await;
    let ledger = w.ledger().await;
    let seen = composer.seen.lock().unwrap().clone();
    // Leads already connected skip the invitation; every other one was invited once, with a note.
    let invited: Vec<&WorkflowInstance> =
        instances.iter().filter(|i| i.latest_step.as_deref() != Some("already_connected")).collect();
    assert!(invited.len() >= 4, "{instances:?}");
    assert_eq!(seen.len(), invited.len(), "one composition per invited lead: {instances:?}");
    assert_eq!(ledger.iter().filter(|a| a.kind == "invitation").count(), invited.len());
    let mut with_signals = 0;
    for i in invited {
        // The invitation carries exactly what the composer wrote...
        let sent = ledger.iter().find(|a| a.token == step_token(&i.id, 0)).expect("invited");
        let body = sent.body.clone().expect("with a note");
        let (_, signals) = seen.iter().find(|(b, _)| *b == body).expect("the composer's text was sent");
        // ...composed with the lead's stored signals, as the preview by prospect gets them.
        let stored =
            signals_for_composer(w.store(), &w.group.id, &i.prospect_id, DEFAULT_COMPOSE_MIN_SCORE).await.unwrap();
        assert_eq!(signals, &stored, "{i:?}");
        with_signals += usize::from(!stored.is_empty());
    }
    assert!(with_signals > 0, "some leads have signals worth offering");
});

both_backends!(a_configured_composer_keeps_the_approval_rule, |backend| async move {
    let w = World::new(backend, rules(80)).await;
    let audience = w.audience("data%20scientist", 1).await;
    let draft = w.draft("connect", &audience).await;
    let input = WritingStyleInput {
        name: Patch::Value("Fallback only".into()),
        content_type: Patch::Value("connection_request".into()),
        samples: Patch::Value(vec![SampleInput {
            sample_type: "fallback".into(),
            message: "Hi, glad to connect.".into(),
            subject: None,
            signal_tag: None,
        }]),
        ..WritingStyleInput::default()
    };
    let style = create_writing_style(w.store(), &w.clock, &w.group.id, input).await.unwrap();
    let slots = content_slots(w.store(), &w.group.id, &draft.id).await.unwrap();
    update_content_slot(w.store(), &w.clock, &w.group.id, &draft.id, &slots[0].id, &style.id).await.unwrap();
    let campaign = w.start(draft).await;
    let engine = w.engine_with("a", Arc::new(RecordingComposer::default()));
    w.run_for(&engine, 2 * HOUR, HOUR).await;
    // The model rewrote a fallback draft: held, with the model's text, until a person approves.
    let held = w.instances(&campaign).await;
    assert!(held[0].pending_approval, "{held:?}");
    assert_eq!(held[0].pending_body.as_deref(), Some("Model note 0"));
    assert!(w.ledger().await.is_empty());
    resolve_approval(w.store(), &w.clock, &w.group.id, &campaign.id, &held[0].id, ApprovalAction::Approve)
        .await
        .unwrap();
    w.run_for(&engine, 2 * HOUR, HOUR).await;
    let ledger = w.ledger().await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].body.as_deref(), Some("Model note 0"));
});

both_backends!(a_campaign_run_logs_its_events_in_the_event_log, |backend| async move {
    let w = World::new(backend, rules(80)).await;
    let audience = w.audience("product%20manager", 60).await;
    let campaign = w.campaign("connect-engage-dm", &audience).await;
    let other = w.campaign("connect", &w.audience("data%20engineer", 3).await).await;
    w.store().stop_campaign(&w.group.id, &other.id, w.clock.now()).await.unwrap();
    let engine = w.engine("a");
    w.run_for(&engine, 5 * 7 * DAY, 4 * HOUR).await;

    let query = sonarly_store::EventsQuery::Newest { before: None };
    let events = w.store().list_events(&w.group.id, &[], &query, 100_000).await.unwrap();
    let count = |t: &str| events.iter().filter(|e| e.event_type.as_str() == t).count();
    for t in [
        "campaign.started",
        "campaign.stopped",
        "campaign.completed",
        "campaign.lead.step_completed",
        "campaign.lead.stopped",
        "campaign.lead.replied",
        "invitation.sent",
        "invitation.accepted",
        "message.sent",
        "message.received",
    ] {
        assert!(count(t) > 0, "no {t} among {} events", events.len());
    }
    let invitations = w.ledger().await.iter().filter(|a| a.kind == "invitation").count();
    assert_eq!(count("invitation.sent"), invitations, "one invitation.sent per invitation sent");
    let instances = w.instances(&campaign).await;
    let replied = instances.iter().filter(|i| i.stop_reason == Some(StopReason::ReplyReceived)).count();
    assert_eq!(count("campaign.lead.replied"), replied);
    let done = events.iter().find(|e| e.event_type.as_str() == "campaign.completed").unwrap();
    assert_eq!(done.data["campaignId"], campaign.id.as_str());
    let step = events.iter().find(|e| e.event_type.as_str() == "invitation.accepted").unwrap();
    assert!(step.data["providerId"].as_str().is_some_and(|p| !p.is_empty()), "{}", step.data);
    assert_eq!(step.data["accountGroupId"], w.group.id.as_str());
});

/// The action kind whose caps a sandbox journal entry counts against.
fn capped_kind(sandbox_kind: &str) -> ActionKind {
    match sandbox_kind {
        "invitation" => ActionKind::Invitation,
        "message" | "start_chat" => ActionKind::Message,
        "inmail" => ActionKind::InMail,
        "visit" => ActionKind::ProfileVisit,
        "follow" | "reaction" => ActionKind::Engagement,
        other => panic!("unexpected sandbox action {other}"),
    }
}

both_backends!(responses_and_campaign_steps_sharing_a_seat_respect_every_cap_for_a_fortnight, |backend| async move {
    let rules = SendingRules {
        timezone: "Europe/Paris".into(),
        working_hours: WorkingHours::parse("09:00-17:00").unwrap(),
        daily_messages: 5,
        daily_inmails: 5,
        daily_invitations: 6,
        daily_profile_visits: 15,
        daily_engagements: 15,
        weekly_invitations: 20,
        daily_withdrawals: 3,
        withdraw_invitations_after_days: 21,
        min_spacing_secs: 60,
        max_spacing_secs: 180,
        reads: Default::default(),
        ramp_up_weeks: 0,
    };
    let w = World::new(backend, rules.clone()).await;
    let audience = w.audience("product%20manager", 40).await;
    let campaign = w.campaign("connect-engage-dm", &audience).await;
    // Replies go to the seat's own connections (people the campaign does not invite).
    let relations = w.registry.provider(&w.account).unwrap().relations(None).await.unwrap().items;
    let now = w.clock.now();
    let connections: Vec<Prospect> = relations
        .iter()
        .take(10)
        .enumerate()
        .map(|(k, r)| sonarly_testkit::connection_prospect(&w.group.id, format!("c{k:023x}"), r, now))
        .collect();
    w.store().upsert_prospects(&connections, None).await.unwrap();
    assert!(connections.len() >= 5, "the seat has connections to reply to");
    // The inbox sync is not under test: once an hour keeps the simulated fortnight quick.
    let config = sonarly_engine::EngineConfig {
        inbox_sync_interval: std::time::Duration::from_secs(3_600),
        ..Default::default()
    };
    let engine = w.engine("a").with_config(config);

    // Every working day four replies are queued, beside the campaign's own messages.
    let mut responses = Vec::new();
    let end = w.clock.now().plus_millis(14 * DAY);
    let mut last_day = None;
    while w.clock.now() < end {
        let now = w.clock.now();
        let day = rules.local_day_start(now);
        if rules.working_hours.contains(rules.local_minute(now)) && last_day != Some(day) {
            last_day = Some(day);
            for k in 0..4 {
                let prospect = &connections[(responses.len() + k) % connections.len()];
                let request = sonarly_app::responses::QueueResponseRequest {
                    prospect_id: Some(prospect.id.clone()),
                    message: Some(format!("Reply {} to {}", responses.len() + k, prospect.name)),
                    ..Default::default()
                };
                let queued = sonarly_app::responses::queue_response(
                    w.store(),
                    &w.registry,
                    &w.clock,
                    &w.group.id,
                    &request,
                    None,
                )
                .await
                .unwrap();
                responses.push(queued.id);
            }
        }
        engine.run_until_idle().await;
        // Five-minute steps in working hours; the nights are skipped.
        let next = now.plus_millis(5 * 60_000);
        w.clock.set(rules.next_working_moment(next).min(end.max(next)));
    }
    engine.run_until_idle().await;

    let journal = w.ledger().await;
    assert!(!journal.is_empty());
    // Every action inside the seat's working hours, spaced by at least the minimum.
    for a in &journal {
        let at = Timestamp::from_millis(a.at);
        assert!(rules.working_hours.contains(rules.local_minute(at)), "{} at {at} outside working hours", a.kind);
    }
    for pair in journal.windows(2) {
        assert!(
            pair[1].at - pair[0].at >= 60_000,
            "actions {} and {} closer than the spacing",
            pair[0].token,
            pair[1].token
        );
    }
    // Daily caps per kind, per local day, whoever queued the action.
    let mut per_day: HashMap<(i64, ActionKind), u32> = HashMap::new();
    for a in &journal {
        let day = rules.local_day_start(Timestamp::from_millis(a.at)).as_millis();
        *per_day.entry((day, capped_kind(&a.kind))).or_insert(0) += 1;
    }
    for ((day, kind), n) in &per_day {
        assert!(*n <= rules.daily_cap(*kind), "{n} {kind:?} on day {day}: over the cap");
    }
    // The weekly invitation cap over every rolling seven days.
    let invitations: Vec<i64> = journal.iter().filter(|a| a.kind == "invitation").map(|a| a.at).collect();
    let busiest_week =
        invitations.iter().map(|t| invitations.iter().filter(|u| **u <= *t && **u >= t - 7 * DAY).count()).max();
    assert_eq!(busiest_week, Some(rules.weekly_invitations as usize), "the weekly cap binds and holds");
    // The daily message cap was reached, and replies and campaign messages shared it.
    let full_message_days = per_day.iter().filter(|((_, k), n)| *k == ActionKind::Message && **n == 5).count();
    assert!(full_message_days >= 3, "{per_day:?}");
    let response_ids: HashSet<&str> = responses.iter().map(String::as_str).collect();
    let messages: Vec<&str> =
        journal.iter().filter(|a| capped_kind(&a.kind) == ActionKind::Message).map(|a| a.token.as_str()).collect();
    let from_responses = messages.iter().filter(|t| response_ids.contains(*t)).count();
    assert!(from_responses > 0 && from_responses < messages.len(), "{from_responses} of {}", messages.len());
    // Exactly once: no token twice; every reply sent once or still waiting for a slot.
    let tokens: HashSet<&str> = journal.iter().map(|a| a.token.as_str()).collect();
    assert_eq!(tokens.len(), journal.len());
    for id in &responses {
        let r = w.store().get_response(&w.group.id, id).await.unwrap().unwrap();
        let sent = journal.iter().filter(|a| &a.token == id).count();
        match r.status.as_str() {
            "sent" => assert_eq!(sent, 1, "{r:?}"),
            "queued" => assert_eq!(sent, 0, "{r:?}"),
            other => panic!("reply {id} ended {other}: {r:?}"),
        }
    }
    // The ledger the policy counts from agrees with what LinkedIn saw.
    let start = Timestamp::from_millis(0);
    let ledger_invitations = w.store().count_actions(&w.account.id, "invitation", start).await.unwrap();
    assert_eq!(ledger_invitations as usize, invitations.len());
    assert!(w.instances(&campaign).await.iter().any(|i| i.state != InstanceState::Active || i.step_index > 0));
});
