//! The campaign executor on both backends, with a manual clock and the
//! sandbox: weeks of a 200-lead campaign, exactly-once steps across a crash,
//! replies stopping workflows, and daily caps shared by campaigns of one account.

use sonarly_app::campaigns::{CreateCampaignRequest, create_campaign, lead_status, start_campaign};
use sonarly_app::linkedin::{ConnectAccount, ProviderRegistry, ProviderSetup, connect_account};
use sonarly_domain::Timestamp;
use sonarly_domain::campaign::{Campaign, WorkflowInstance, instance_state, status, step_token, stop_reason};
use sonarly_domain::clock::{Clock, ManualClock, SharedClock};
use sonarly_domain::linkedin_account::{LinkedInAccount, SendingRules, WorkingHours};
use sonarly_domain::models::{AccountGroup, Audience};
use sonarly_domain::prospecting::{Plan, Prospect, person_id_for};
use sonarly_engine::Engine;
use sonarly_linkedin::sandbox::SandboxConfig;
use sonarly_linkedin::{AccountType, OutboundToken, PeopleSource};
use sonarly_store::{CAMPAIGN_WORK, Store};
use sonarly_testkit::{TestBackend, TestDb, both_backends};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

struct World {
    db: TestDb,
    clock: ManualClock,
    group: AccountGroup,
    account: LinkedInAccount,
    registry: ProviderRegistry,
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
        ..SendingRules::default()
    }
}

impl World {
    async fn new(backend: TestBackend, rules: SendingRules) -> Self {
        let db = TestDb::new(backend).await.unwrap();
        let clock = ManualClock::new(Timestamp::parse_rfc3339("2026-06-01T08:00:00Z").unwrap());
        let shared: SharedClock = Arc::new(clock.clone());
        let group = sonarly_app::accounts::create_group_on(&db.store, &clock, "G", Plan::Starter, 1_000).await.unwrap();
        let sandbox = SandboxConfig {
            invitations_per_day: 1_000,
            invitations_per_week: 5_000,
            messages_per_day: 10_000,
            visits_per_day: 10_000,
            other_actions_per_day: 10_000,
            ..SandboxConfig::default()
        };
        let input = ConnectAccount {
            group_id: group.id.clone(),
            name: "Sandbox".into(),
            account_type: AccountType::Classic,
            rules,
            provider: ProviderSetup::Sandbox(sandbox),
        };
        let account = connect_account(&db.store, &clock, input).await.unwrap();
        let registry = ProviderRegistry::new(db.store.clone(), shared);
        Self { db, clock, group, account, registry }
    }

    fn store(&self) -> &Store {
        &self.db.store
    }

    fn engine(&self, owner: &str) -> Engine {
        Engine::new(self.db.store.clone(), self.registry.clone(), Arc::new(self.clock.clone()), owner)
    }

    /// An audience of `n` people found by a sandbox search (not connections).
    async fn audience(&self, keywords: &str, n: usize) -> Audience {
        let provider = self.registry.provider(&self.account).unwrap();
        let source =
            PeopleSource::SearchUrl(format!("https://www.linkedin.com/search/results/people/?keywords={keywords}"));
        let (mut people, mut cursor) = (Vec::new(), None::<String>);
        while people.len() < n {
            let page = provider.search_people(&source, cursor.as_deref(), 50).await.unwrap();
            people.extend(page.items);
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        people.truncate(n);
        assert_eq!(people.len(), n, "the sandbox search finds enough people");
        let now = self.clock.now();
        let audience = Audience {
            id: sonarly_domain::id::new_audience_id(now),
            group_id: self.group.id.clone(),
            name: keywords.into(),
            audience_type: "linkedin_search".into(),
            description: None,
            folder_id: None,
            prospect_count: 0,
            filling_job_id: None,
            created_at: now,
            updated_at: now,
        };
        self.store().insert_audience(&audience).await.unwrap();
        let prospects: Vec<Prospect> = people
            .iter()
            .map(|p| Prospect {
                id: sonarly_domain::id::new_hex_id(now),
                group_id: self.group.id.clone(),
                provider_id: p.provider_id.clone(),
                member_id: Some(p.provider_id.clone()),
                person_id: person_id_for(&p.provider_id),
                first_name: Some(p.first_name.clone()),
                last_name: Some(p.last_name.clone()),
                name: p.full_name(),
                title: p.title.clone(),
                company_name: p.company.as_ref().map(|c| c.name.clone()),
                connection_degree: p.connection_degree.map(i64::from),
                created_at: now,
                updated_at: now,
                ..Prospect::default()
            })
            .collect();
        self.store().upsert_prospects(&prospects, Some(&audience.id)).await.unwrap();
        audience
    }

    async fn campaign(&self, template: &str, audience: &Audience) -> Campaign {
        let req = CreateCampaignRequest {
            starter_template_id: template.into(),
            name: format!("{template} campaign"),
            audience_id: audience.id.clone(),
            lead_ids: None,
        };
        let campaign = create_campaign(self.store(), &self.clock, &self.group.id, &req).await.unwrap();
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

fn mix(instances: &[WorkflowInstance]) -> HashMap<(String, Option<String>), usize> {
    let mut out = HashMap::new();
    for i in instances {
        *out.entry((i.state.clone(), i.stop_reason.clone())).or_insert(0) += 1;
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
    let count =
        |state: &str, reason: Option<&str>| *mix.get(&(state.to_owned(), reason.map(str::to_owned))).unwrap_or(&0);
    let completed = count(instance_state::COMPLETED, None);
    let not_accepted = count(instance_state::STOPPED, Some(stop_reason::INVITATION_NOT_ACCEPTED));
    let replied = count(instance_state::STOPPED, Some(stop_reason::REPLY_RECEIVED));
    // Acceptance 35 %, replies 30 % of delivered messages: every lead ended, in a plausible mix.
    assert!(instances.iter().all(|i| i.state != instance_state::ACTIVE), "{mix:?}");
    assert_eq!(completed + not_accepted + replied, 200, "{mix:?}");
    assert!((90..=170).contains(&not_accepted), "{mix:?}");
    assert!(completed >= 20 && replied >= 5, "{mix:?}");
    let done = w.store().get_campaign(&w.group.id, &campaign.id).await.unwrap().unwrap();
    assert_eq!(done.status, status::COMPLETED);

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
    for i in instances.iter().filter(|i| i.stop_reason.as_deref() == Some(stop_reason::REPLY_RECEIVED)) {
        assert!(!tokens.contains(step_token(&i.id, 5).as_str()), "a lead who replied got the follow-up");
    }
    // Completed leads got both messages, once each.
    for i in instances.iter().filter(|i| i.state == instance_state::COMPLETED) {
        assert!(tokens.contains(step_token(&i.id, 4).as_str()) && tokens.contains(step_token(&i.id, 5).as_str()));
        assert_eq!(i.latest_step.as_deref(), Some("direct_message_2"));
    }
    // The lead status speaks the documented vocabulary.
    let ids: Vec<String> = instances.iter().take(50).map(|i| i.prospect_id.clone()).collect();
    let rows = lead_status(w.store(), &w.clock, &w.group.id, &campaign.id, &ids).await.unwrap();
    assert_eq!(rows.len(), 50);
    assert!(rows.iter().all(|r| ["completed", "stopped"].contains(&r.workflow_status)));
});

both_backends!(no_lead_gets_a_step_twice_across_a_crash, |backend| async move {
    let w = World::new(backend, rules(80)).await;
    let audience = w.audience("product%20manager", 5).await;
    let campaign = w.campaign("connect", &audience).await;
    let instances = w.instances(&campaign).await;
    // A worker claims every row, sends the invitations, and dies before recording anything.
    let now = w.clock.now();
    let claimed = w.store().claim_work(CAMPAIGN_WORK, "dead", now, now.plus_millis(60_000), 100).await.unwrap();
    assert_eq!(claimed.len(), 5);
    let provider = w.registry.provider(&w.account).unwrap();
    for i in &instances[..3] {
        let item = claimed.iter().find(|c| c.ref_id == i.id).unwrap();
        let token = step_token(&i.id, 0);
        let granted = w
            .store()
            .reserve_action_slot(item, &w.account.id, "invitation", &token, now, now, now.plus_millis(60_000))
            .await
            .unwrap();
        assert_eq!(granted, sonarly_store::SlotClaim::Granted);
        let prospect = w.store().get_prospect(&w.group.id, &i.prospect_id).await.unwrap().unwrap();
        provider.send_invitation(&OutboundToken::new(token), &prospect.provider_id, None).await.unwrap();
    }
    // While the lease holds, nobody else touches the rows.
    let engine = w.engine("b");
    engine.run_until_idle().await;
    assert!(w.instances(&campaign).await.iter().all(|i| i.step_index == 0));
    // Past the lease: the next owner reconciles and moves on without sending again.
    w.clock.advance_millis(61_000);
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
    // The shared action ledger counted each invitation once too.
    let day_start = w.account.rules.local_day_start(w.clock.now());
    assert_eq!(w.store().count_outbound(&w.account.id, "invitation", day_start).await.unwrap(), 5);
});

both_backends!(daily_caps_hold_across_campaigns_sharing_an_account, |backend| async move {
    let w = World::new(backend, rules(5)).await;
    let first = w.audience("software%20engineer", 10).await;
    let second = w.audience("product%20manager", 10).await;
    let a = w.campaign("connect", &first).await;
    let b = w.campaign("connect", &second).await;
    let engine = w.engine("a");
    // 08:00 to 23:00 of the first day.
    w.run_for(&engine, 15 * HOUR, HOUR).await;
    let day_start = w.account.rules.local_day_start(w.clock.now());
    assert_eq!(w.store().count_outbound(&w.account.id, "invitation", day_start).await.unwrap(), 5);
    let invited = |v: &[WorkflowInstance]| v.iter().filter(|i| i.step_index >= 1).count();
    let (ia, ib) = (w.instances(&a).await, w.instances(&b).await);
    assert_eq!(invited(&ia) + invited(&ib), 5);
    // Four days later everyone is invited, never more than five a day.
    w.run_for(&engine, 4 * DAY, 2 * HOUR).await;
    let (ia, ib) = (w.instances(&a).await, w.instances(&b).await);
    assert_eq!(invited(&ia) + invited(&ib), 20);
    let mut per_day: HashMap<i64, usize> = HashMap::new();
    for x in w.ledger().await.iter().filter(|x| x.kind == "invitation") {
        *per_day.entry(x.at / DAY).or_insert(0) += 1;
    }
    assert!(per_day.values().all(|n| *n <= 5), "{per_day:?}");
    assert_eq!(per_day.values().sum::<usize>(), 20);
});
