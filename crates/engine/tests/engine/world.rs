//! The one World of the engine's tests: a fresh database on either backend, a
//! manual clock, one account group, one sandbox seat, and the provider
//! registry and engines over them.
//!
//! Each area's tests describe only what differs ([`Setup`]: when the clock
//! starts, the plan, the seat's type, rules and sandbox) and wrap the World in
//! their own type for what they add (an audience, a specification, prospects),
//! reaching the World's fields and methods through `Deref`. The fault-injecting
//! World of `exactly_once` and the seat-less one of `webhooks` are different
//! worlds, not copies of this one.

use sonarly_app::linkedin::{ConnectAccount, ProviderRegistry, ProviderSetup, connect_account};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::{Clock, ManualClock, SharedClock};
use sonarly_domain::linkedin_account::{LinkedInAccount, SendingRules, WorkingHours};
use sonarly_domain::models::{AccountGroup, Audience};
use sonarly_domain::prospecting::{Plan, Prospect, person_id_for};
use sonarly_engine::Engine;
use sonarly_linkedin::sandbox::SandboxConfig;
use sonarly_linkedin::{AccountType, PeopleSource, Person};
use sonarly_store::Store;
use sonarly_testkit::{TestBackend, TestDb};
use std::sync::Arc;

/// 2026-05-28T20:26:40Z, a Thursday evening: the start of tests that ignore the hour.
pub const START_MS: i64 = 1_780_000_000_000;

/// What a World is made of; every field has a default a test may override.
pub struct Setup {
    /// When the manual clock starts.
    pub start: Timestamp,
    pub plan: Plan,
    pub credits: i64,
    pub account_type: AccountType,
    /// Default: the default rules, around the clock (background reads would
    /// otherwise wait for working hours).
    pub rules: SendingRules,
    /// Used as given: wrap it in `sonarly_testkit::pinned_sandbox` to meet the
    /// same network on every run.
    pub sandbox: SandboxConfig,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            start: Timestamp::from_millis(START_MS),
            plan: Plan::Starter,
            credits: 1_000,
            account_type: AccountType::Classic,
            rules: SendingRules { working_hours: WorkingHours::AROUND_THE_CLOCK, ..SendingRules::default() },
            sandbox: SandboxConfig::default(),
        }
    }
}

impl Setup {
    /// The same setup with the clock starting at an RFC 3339 instant.
    pub fn at(self, rfc3339: &str) -> Self {
        Self { start: Timestamp::parse_rfc3339(rfc3339).unwrap(), ..self }
    }
}

pub struct World {
    pub db: TestDb,
    pub clock: ManualClock,
    pub group: AccountGroup,
    pub account: LinkedInAccount,
    pub registry: ProviderRegistry,
}

impl World {
    /// A group with one connected sandbox seat, as `setup` says.
    pub async fn new(backend: TestBackend, setup: Setup) -> Self {
        let db = TestDb::new(backend).await.unwrap();
        let clock = ManualClock::new(setup.start);
        let shared: SharedClock = Arc::new(clock.clone());
        let group =
            sonarly_app::accounts::create_group_on(&db.store, &clock, "G", setup.plan, setup.credits).await.unwrap();
        let input = ConnectAccount {
            group_id: group.id.clone(),
            name: "Sandbox".into(),
            account_type: setup.account_type,
            rules: setup.rules,
            provider: ProviderSetup::Sandbox(setup.sandbox),
        };
        let account = connect_account(&db.store, &clock, input).await.unwrap();
        let registry = ProviderRegistry::new(db.store.clone(), shared);
        Self { db, clock, group, account, registry }
    }

    pub fn store(&self) -> &Store {
        &self.db.store
    }

    /// An engine of this World, as instance `owner` (two owners race like two servers).
    pub fn engine(&self, owner: &str) -> Engine {
        Engine::new(self.db.store.clone(), self.registry.clone(), Arc::new(self.clock.clone()), owner)
    }

    /// The seat as stored now (status, pauses, rules).
    pub async fn seat(&self) -> LinkedInAccount {
        self.store().system().linkedin_account(&self.account.id).await.unwrap().unwrap()
    }

    /// Up to `n` of the seat's first-degree connections, stored as prospects of
    /// the group. The read is interactive (setup is no background work and may
    /// run outside the seat's hours) and retried, as the sandbox may be told to
    /// fail calls.
    pub async fn connection_prospects(&self, n: usize) -> Vec<Prospect> {
        let provider = self.registry.interactive(&self.account).unwrap();
        let mut relations = Vec::new();
        for _ in 0..100 {
            if let Ok(page) = provider.relations(None).await {
                relations = page.items;
                break;
            }
        }
        let now = self.clock.now();
        let prospects: Vec<Prospect> = relations
            .iter()
            .take(n)
            .enumerate()
            .map(|(k, r)| sonarly_testkit::connection_prospect(&self.group.id, format!("{k:024x}"), r, now))
            .collect();
        self.store().upsert_prospects(&prospects, None).await.unwrap();
        prospects
    }

    /// An audience `name` of `n` people that a sandbox search for `keywords`
    /// finds and `keep` accepts, skipping the first `skip` of those, stored as
    /// the group's prospects. The search is interactive (charged, at any hour).
    pub async fn search_audience(
        &self,
        name: &str,
        keywords: &str,
        (skip, n): (usize, usize),
        keep: impl Fn(&Person) -> bool,
    ) -> Audience {
        let provider = self.registry.interactive(&self.account).unwrap();
        let source =
            PeopleSource::SearchUrl(format!("https://www.linkedin.com/search/results/people/?keywords={keywords}"));
        let (mut people, mut cursor) = (Vec::new(), None::<String>);
        while people.len() < skip + n {
            let page = provider.search_people(&source, cursor.as_deref(), 50).await.unwrap();
            people.extend(page.items.into_iter().filter(|p| keep(p)));
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let people: Vec<Person> = people.into_iter().skip(skip).take(n).collect();
        assert_eq!(people.len(), n, "the sandbox search finds enough people");
        let now = self.clock.now();
        let audience = Audience {
            id: sonarly_domain::id::new_audience_id(now),
            group_id: self.group.id.clone(),
            name: name.into(),
            audience_type: sonarly_domain::folder::AudienceType::LinkedInSearch,
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
}
