//! The test world: a group whose LinkedIn account is served by the
//! fault-injecting double on a manual clock, its connections as prospects,
//! and a composer that counts its calls.

use sonarly_app::campaigns::{CreateCampaignRequest, create_campaign, start_campaign};
use sonarly_app::composer::{BuiltinComposer, ComposeRequest, Composition, ContentComposer};
use sonarly_app::linkedin::{ConnectAccount, ProviderRegistry, ProviderSetup, connect_account};
use sonarly_app::responses::{QueueResponseRequest, queue_response};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::campaign::{Campaign, WorkflowInstance};
use sonarly_domain::clock::{Clock, ManualClock, SharedClock};
use sonarly_domain::linkedin_account::{LinkedInAccount, ReadBudgets, SendingRules, WorkingHours};
use sonarly_domain::models::{AccountGroup, Audience};
use sonarly_domain::prospecting::{Plan, Prospect, person_id_for};
use sonarly_domain::responses::ScheduledResponse;
use sonarly_domain::template::SampleType;
use sonarly_engine::Engine;
use sonarly_linkedin::AccountType;
use sonarly_linkedin::sandbox::SandboxConfig;
use sonarly_testkit::fault::{FaultyLinkedIn, FaultyNetwork, Member};
use sonarly_testkit::{TestBackend, TestDb};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

pub fn rules(spacing_secs: u32, daily_messages: u32) -> SendingRules {
    SendingRules {
        working_hours: WorkingHours::AROUND_THE_CLOCK,
        min_spacing_secs: spacing_secs,
        max_spacing_secs: spacing_secs,
        daily_messages,
        daily_profile_visits: 1_000,
        daily_engagements: 1_000,
        // These tests are about exactly-once, not read budgets: roomy ones.
        reads: ReadBudgets {
            profile_fetches: 100_000,
            search_pages: 100_000,
            relation_reads: 100_000,
            inbox_reads: 100_000,
            activity_reads: 100_000,
        },
        ..SendingRules::default()
    }
}

pub struct World {
    pub db: TestDb,
    pub clock: ManualClock,
    pub group: AccountGroup,
    pub account: LinkedInAccount,
    pub registry: ProviderRegistry,
    pub net: FaultyNetwork,
    /// The account's connections.
    pub prospects: Vec<Prospect>,
    /// Members who are not connected (yet).
    pub strangers: Vec<Prospect>,
}

fn prospects_of(group_id: &str, members: &[Member], offset: usize, now: Timestamp) -> Vec<Prospect> {
    members
        .iter()
        .enumerate()
        .map(|(k, m)| Prospect {
            id: format!("{:024x}", offset + k),
            group_id: GroupId::from(group_id),
            provider_id: m.provider_id.clone(),
            member_id: Some(m.provider_id.clone()),
            person_id: person_id_for(&m.provider_id),
            first_name: Some(m.first_name.clone()),
            last_name: Some(m.last_name.clone()),
            name: format!("{} {}", m.first_name, m.last_name),
            connection_degree: Some(if m.connected { 1 } else { 2 }),
            created_at: now,
            updated_at: now,
            ..Prospect::default()
        })
        .collect()
}

impl World {
    /// A group whose one LinkedIn account is served by the fault-injecting
    /// double, with its six connections as prospects.
    pub async fn new(backend: TestBackend, rules: SendingRules) -> Self {
        Self::with_network(backend, rules, 6, 0).await
    }

    /// The same with `connections` connections and `strangers` other members as prospects.
    pub async fn with_network(backend: TestBackend, rules: SendingRules, connections: usize, strangers: usize) -> Self {
        let db = TestDb::new(backend).await.unwrap();
        let clock = ManualClock::new(Timestamp::parse_rfc3339("2026-06-01T10:00:00Z").unwrap());
        let shared: SharedClock = Arc::new(clock.clone());
        let group = sonarly_app::accounts::create_group_on(&db.store, &clock, "G", Plan::Starter, 1_000).await.unwrap();
        let input = ConnectAccount {
            group_id: group.id.clone(),
            name: "Faulty".into(),
            account_type: AccountType::Classic,
            rules,
            provider: ProviderSetup::Sandbox(SandboxConfig::default()),
        };
        let account = connect_account(&db.store, &clock, input).await.unwrap();
        let registry = ProviderRegistry::new(db.store.clone(), shared.clone());
        let net = FaultyNetwork::new(shared, connections, strangers);
        registry.set_provider(&account.id, Arc::new(FaultyLinkedIn::new(net.clone(), clock.clone())));
        let now = clock.now();
        let members = net.members();
        let (connected, others): (Vec<Member>, Vec<Member>) = members.into_iter().partition(|m| m.connected);
        let prospects = prospects_of(&group.id, &connected, 0, now);
        let strangers = prospects_of(&group.id, &others, connected.len(), now);
        db.store.upsert_prospects(&prospects, None).await.unwrap();
        db.store.upsert_prospects(&strangers, None).await.unwrap();
        Self { db, clock, group, account, registry, net, prospects, strangers }
    }

    pub fn engine(&self, owner: &str) -> Engine {
        Engine::new(self.db.store.clone(), self.registry.clone(), Arc::new(self.clock.clone()), owner)
    }

    pub async fn queue(&self, prospect: usize, text: &str) -> ScheduledResponse {
        let request = QueueResponseRequest {
            prospect_id: Some(self.prospects[prospect].id.clone()),
            message: Some(text.into()),
            ..Default::default()
        };
        queue_response(&self.db.store, &self.registry, &self.clock, &self.group.id, &request, None).await.unwrap()
    }

    pub async fn response(&self, id: &str) -> ScheduledResponse {
        self.db.store.get_response(&self.group.id, id).await.unwrap().unwrap()
    }

    /// Runs `engines` to idle, then moves the clock by `step_ms`, for `total_ms`.
    pub async fn run_for(&self, engines: &[&Engine], total_ms: i64, step_ms: i64) {
        let mut elapsed = 0;
        loop {
            for e in engines {
                e.run_until_idle().await;
            }
            if elapsed >= total_ms {
                return;
            }
            self.clock.advance_millis(step_ms);
            elapsed += step_ms;
        }
    }

    /// The provider message id of each delivery of `text`.
    pub fn delivered_ids(&self, text: &str) -> Vec<String> {
        self.net.deliveries().into_iter().filter(|d| d.text.as_deref() == Some(text)).map(|d| d.provider_id).collect()
    }

    /// A started campaign of `template` over `leads` prospects, and an engine composing with `composer`.
    pub async fn campaign(
        &self,
        template: &str,
        leads: usize,
        composer: Arc<dyn ContentComposer>,
    ) -> (Campaign, Engine) {
        self.campaign_over(template, &self.prospects[..leads], composer).await
    }

    /// A started campaign of `template` over `leads`, and an engine composing with `composer`.
    pub async fn campaign_over(
        &self,
        template: &str,
        leads: &[Prospect],
        composer: Arc<dyn ContentComposer>,
    ) -> (Campaign, Engine) {
        let now = self.clock.now();
        let audience = Audience {
            id: sonarly_domain::id::new_audience_id(now),
            group_id: self.group.id.clone(),
            name: "Leads".into(),
            audience_type: sonarly_domain::folder::AudienceType::LinkedInSearch,
            description: None,
            folder_id: None,
            prospect_count: 0,
            filling_job_id: None,
            created_at: now,
            updated_at: now,
        };
        self.db.store.insert_audience(&audience).await.unwrap();
        self.db.store.upsert_prospects(leads, Some(&audience.id)).await.unwrap();
        let request = CreateCampaignRequest {
            starter_template_id: template.into(),
            name: "Exactly once".into(),
            audience_id: audience.id.clone(),
            lead_ids: None,
        };
        let draft = create_campaign(&self.db.store, &self.clock, &self.group.id, &request).await.unwrap();
        let started =
            start_campaign(&self.db.store, &self.registry, &self.clock, &self.group.id, &draft.id).await.unwrap();
        let engine = self.engine("a").with_composer(composer);
        (started.campaign.campaign, engine)
    }

    pub async fn instances(&self, campaign: &Campaign) -> Vec<WorkflowInstance> {
        self.db.store.campaign_instances(&campaign.id).await.unwrap()
    }
}

/// A stand-in for a configured model: every call writes a new text (`Note n`),
/// or always `fixed` when given, from a basic sample (no approval needed); it
/// counts its calls.
pub struct CountingComposer {
    fixed: Option<String>,
    calls: Mutex<Vec<String>>,
}

impl CountingComposer {
    pub fn new(fixed: Option<&str>) -> Arc<Self> {
        Arc::new(Self { fixed: fixed.map(str::to_owned), calls: Mutex::new(Vec::new()) })
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl ContentComposer for CountingComposer {
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
            let mut calls = self.calls.lock().unwrap();
            let body = self.fixed.clone().unwrap_or_else(|| format!("Note {}", calls.len() + 1));
            calls.push(body.clone());
            let sample_type_used = SampleType::Basic;
            let composed = sonarly_domain::composer::Composed { body, sample_type_used, ..draft.composed };
            Ok(Composition { composed, ..draft })
        })
    }
}
