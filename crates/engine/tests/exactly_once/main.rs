//! Exactly-once against a provider that misbehaves and never deduplicates
//! (`sonarly_testkit::fault`), on both backends, with a manual clock:
//! responses and campaign steps alike.
//!
//! - a same-text follow-up after a send that failed before delivering is
//!   delivered (each text as many times as it was queued);
//! - a reply deferred by spacing is not treated as a retry;
//! - a send slower than the client's timeout, or still running when its
//!   lease runs out and another engine claims the row, is delivered once;
//! - a campaign step's text is composed once, kept across deferrals and
//!   retries, and is what reconciliation looks for.

use sonarly_app::campaigns::{CreateCampaignRequest, create_campaign, start_campaign};
use sonarly_app::composer::{BuiltinComposer, ComposeRequest, Composition, ContentComposer};
use sonarly_app::linkedin::{ConnectAccount, ProviderRegistry, ProviderSetup, connect_account};
use sonarly_app::responses::{QueueResponseRequest, queue_response};
use sonarly_domain::Timestamp;
use sonarly_domain::campaign::{Campaign, WorkflowInstance};
use sonarly_domain::clock::{Clock, ManualClock, SharedClock};
use sonarly_domain::linkedin_account::{LinkedInAccount, SendingRules, WorkingHours};
use sonarly_domain::models::{AccountGroup, Audience};
use sonarly_domain::prospecting::{Plan, Prospect, person_id_for};
use sonarly_domain::responses::{ScheduledResponse, status};
use sonarly_domain::template::SampleType;
use sonarly_engine::Engine;
use sonarly_linkedin::AccountType;
use sonarly_linkedin::sandbox::SandboxConfig;
use sonarly_testkit::fault::{Failure, Fault, FaultyLinkedIn, FaultyNetwork};
use sonarly_testkit::{TestBackend, TestDb, both_backends};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

fn rules(spacing_secs: u32, daily_messages: u32) -> SendingRules {
    SendingRules {
        working_hours: WorkingHours::AROUND_THE_CLOCK,
        min_spacing_secs: spacing_secs,
        max_spacing_secs: spacing_secs,
        daily_messages,
        daily_profile_visits: 1_000,
        daily_engagements: 1_000,
        ..SendingRules::default()
    }
}

struct World {
    db: TestDb,
    clock: ManualClock,
    group: AccountGroup,
    #[allow(dead_code)]
    account: LinkedInAccount,
    registry: ProviderRegistry,
    net: FaultyNetwork,
    prospects: Vec<Prospect>,
}

impl World {
    /// A group whose one LinkedIn account is served by the fault-injecting
    /// double, with its connections as prospects.
    async fn new(backend: TestBackend, rules: SendingRules) -> Self {
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
        let net = FaultyNetwork::new(shared, 6, 0);
        registry.set_provider(&account.id, Arc::new(FaultyLinkedIn::new(net.clone(), clock.clone())));
        let now = clock.now();
        let prospects: Vec<Prospect> = net
            .connections()
            .iter()
            .enumerate()
            .map(|(k, m)| Prospect {
                id: format!("{k:024x}"),
                group_id: group.id.clone(),
                provider_id: m.provider_id.clone(),
                member_id: Some(m.provider_id.clone()),
                person_id: person_id_for(&m.provider_id),
                first_name: Some(m.first_name.clone()),
                last_name: Some(m.last_name.clone()),
                name: format!("{} {}", m.first_name, m.last_name),
                connection_degree: Some(1),
                created_at: now,
                updated_at: now,
                ..Prospect::default()
            })
            .collect();
        db.store.upsert_prospects(&prospects, None).await.unwrap();
        Self { db, clock, group, account, registry, net, prospects }
    }

    fn engine(&self, owner: &str) -> Engine {
        Engine::new(self.db.store.clone(), self.registry.clone(), Arc::new(self.clock.clone()), owner)
    }

    async fn queue(&self, prospect: usize, text: &str) -> ScheduledResponse {
        let request = QueueResponseRequest {
            prospect_id: Some(self.prospects[prospect].id.clone()),
            message: Some(text.into()),
            ..Default::default()
        };
        queue_response(&self.db.store, &self.registry, &self.clock, &self.group.id, &request, None).await.unwrap()
    }

    async fn response(&self, id: &str) -> ScheduledResponse {
        self.db.store.get_response(&self.group.id, id).await.unwrap().unwrap()
    }

    /// Runs `engines` to idle, then moves the clock by `step_ms`, for `total_ms`.
    async fn run_for(&self, engines: &[&Engine], total_ms: i64, step_ms: i64) {
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
    fn delivered_ids(&self, text: &str) -> Vec<String> {
        self.net.deliveries().into_iter().filter(|d| d.text.as_deref() == Some(text)).map(|d| d.provider_id).collect()
    }

    /// A started campaign of `template` over `leads` prospects, and an engine composing with `composer`.
    async fn campaign(&self, template: &str, leads: usize, composer: Arc<dyn ContentComposer>) -> (Campaign, Engine) {
        let now = self.clock.now();
        let audience = Audience {
            id: sonarly_domain::id::new_audience_id(now),
            group_id: self.group.id.clone(),
            name: "Leads".into(),
            audience_type: "linkedin_search".into(),
            description: None,
            folder_id: None,
            prospect_count: 0,
            filling_job_id: None,
            created_at: now,
            updated_at: now,
        };
        self.db.store.insert_audience(&audience).await.unwrap();
        self.db.store.upsert_prospects(&self.prospects[..leads], Some(&audience.id)).await.unwrap();
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

    async fn instances(&self, campaign: &Campaign) -> Vec<WorkflowInstance> {
        self.db.store.campaign_instances(&campaign.id).await.unwrap()
    }
}

/// A stand-in for a configured model: every call writes a new text (`Note n`),
/// or always `fixed` when given, from a basic sample (no approval needed); it
/// counts its calls.
struct CountingComposer {
    fixed: Option<String>,
    calls: Mutex<Vec<String>>,
}

impl CountingComposer {
    fn new(fixed: Option<&str>) -> Arc<Self> {
        Arc::new(Self { fixed: fixed.map(str::to_owned), calls: Mutex::new(Vec::new()) })
    }

    fn calls(&self) -> Vec<String> {
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

// --- responses ------------------------------------------------------------------

both_backends!(a_same_text_follow_up_after_a_send_that_failed_before_delivering_is_delivered, |backend| async move {
    let w = World::new(backend, rules(0, 1_000)).await;
    let engine = w.engine("a");
    let first = w.queue(0, "Thanks!").await;
    engine.run_until_idle().await;
    assert_eq!(w.response(&first.id).await.status, status::SENT);

    // LinkedIn answers the next "Thanks!" with a 503 and delivers nothing.
    w.net.fault_for_text("Thanks!", Fault::FailBefore(Failure::Status(503)));
    let second = w.queue(0, "Thanks!").await;
    w.run_for(&[&engine], 40 * MINUTE, MINUTE).await;

    let (first, second) = (w.response(&first.id).await, w.response(&second.id).await);
    assert_eq!(second.status, status::SENT, "{second:?}");
    let delivered = w.delivered_ids("Thanks!");
    assert_eq!(delivered.len(), 2, "each queued copy delivered once");
    assert!(first.message_id.is_some() && second.message_id.is_some());
    assert_ne!(first.message_id, second.message_id, "each carries its own message");
    assert!(second.sent_at.unwrap() >= second.created_at);
});

both_backends!(a_reply_deferred_by_spacing_is_not_treated_as_a_retry, |backend| async move {
    let w = World::new(backend, rules(5, 1_000)).await;
    let engine = w.engine("a");
    let first = w.queue(1, "Same words").await;
    engine.run_until_idle().await;
    // Queued right after the first went out: the 5 s spacing holds it back once.
    let second = w.queue(1, "Same words").await;
    w.run_for(&[&engine], 20 * MINUTE, 1_000).await;
    let (first, second) = (w.response(&first.id).await, w.response(&second.id).await);
    assert_eq!((first.status.as_str(), second.status.as_str()), (status::SENT, status::SENT));
    assert!(second.deferred, "spacing held the second one back");
    assert_eq!(w.delivered_ids("Same words").len(), 2, "both were delivered");
    assert_ne!(first.message_id, second.message_id, "each carries its own message");
});

both_backends!(a_send_slower_than_the_client_timeout_is_delivered_once, |backend| async move {
    let w = World::new(backend, rules(0, 1_000)).await;
    let engine = w.engine("a");
    // The provider takes 45 s; the client gives up after 30 s; the message arrives anyway.
    w.net.fault_for_text("Slow one", Fault::Slow(45_000));
    let queued = w.queue(2, "Slow one").await;
    w.run_for(&[&engine], 40 * MINUTE, 5_000).await;
    let done = w.response(&queued.id).await;
    assert_eq!(done.status, status::SENT, "{done:?}");
    assert_eq!(w.delivered_ids("Slow one").len(), 1, "delivered once");
});

both_backends!(a_send_still_running_when_its_lease_runs_out_is_not_sent_again, |backend| async move {
    let w = World::new(backend, rules(0, 1_000)).await;
    let queued = w.queue(3, "Held in flight").await;
    w.net.fault_for_text("Held in flight", Fault::Hold);
    let first = w.engine("a");
    let running = tokio::spawn(async move { first.run_until_idle().await });
    w.net.wait_stuck(1).await;
    // The call outlives the lease; a second instance claims the row.
    w.clock.advance_millis(61_000);
    let second = w.engine("b");
    second.run_until_idle().await;
    w.net.release_held(1);
    running.await.unwrap();
    w.run_for(&[&second], 40 * MINUTE, MINUTE).await;
    let done = w.response(&queued.id).await;
    assert_eq!(done.status, status::SENT, "{done:?}");
    assert_eq!(w.delivered_ids("Held in flight").len(), 1, "delivered once");
});

both_backends!(a_message_delivered_then_failed_is_found_not_sent_again, |backend| async move {
    let w = World::new(backend, rules(0, 1_000)).await;
    // What it delivered shows only after 90 s.
    w.net.set_visibility_delay(90_000);
    let engine = w.engine("a");
    let mut ids = Vec::new();
    for (k, failure) in [Failure::Status(503), Failure::Reset, Failure::Timeout].into_iter().enumerate() {
        let text = format!("Delivered then {failure:?}");
        w.net.fault_for_text(&text, Fault::DeliverThenFail(failure));
        ids.push((w.queue(k, &text).await.id, text));
    }
    w.run_for(&[&engine], 40 * MINUTE, MINUTE).await;
    for (id, text) in &ids {
        let done = w.response(id).await;
        assert_eq!(done.status, status::SENT, "{done:?}");
        assert_eq!(w.delivered_ids(text).len(), 1, "{text}: delivered once");
    }
});

// --- campaign steps ----------------------------------------------------------------

/// `connect-engage-dm` for a connection: the invitation is skipped, then a
/// visit, a like, and two messages four days apart.
const DM_TEMPLATE: &str = "connect-engage-dm";

both_backends!(a_same_text_campaign_follow_up_after_a_failed_send_is_delivered, |backend| async move {
    let w = World::new(backend, rules(0, 1_000)).await;
    let composer = CountingComposer::new(Some("Thanks for connecting!"));
    let (campaign, engine) = w.campaign(DM_TEMPLATE, 1, composer).await;
    // The first message goes through; the follow-up's first try is a 503 that delivers nothing.
    w.net.fault_for_text("Thanks for connecting!", Fault::None);
    w.net.fault_for_text("Thanks for connecting!", Fault::FailBefore(Failure::Status(503)));
    w.run_for(&[&engine], 7 * DAY, 30 * MINUTE).await;
    let instance = w.instances(&campaign).await.remove(0);
    assert_eq!(instance.latest_step.as_deref(), Some("direct_message_2"), "{instance:?}");
    assert_eq!(w.delivered_ids("Thanks for connecting!").len(), 2, "both messages delivered");
});

both_backends!(a_campaign_step_is_composed_once_across_deferrals_and_retries, |backend| async move {
    // One message a day: the second lead's messages wait for the next day.
    let w = World::new(backend, rules(0, 1)).await;
    let composer = CountingComposer::new(None);
    let (campaign, engine) = w.campaign(DM_TEMPLATE, 2, composer.clone()).await;
    // The first message is delivered and then answered with a 503, seen only 90 s later.
    w.net.set_visibility_delay(90_000);
    w.net.fault_for_text("Note 1", Fault::DeliverThenFail(Failure::Status(503)));
    w.run_for(&[&engine], 12 * DAY, 30 * MINUTE).await;
    let instances = w.instances(&campaign).await;
    assert!(instances.iter().all(|i| i.latest_step.as_deref() == Some("direct_message_2")), "{instances:?}");
    let texts: Vec<String> = w.net.deliveries().into_iter().filter_map(|d| d.text).collect();
    assert_eq!(composer.calls().len(), 4, "two messages for each of two leads, each composed once");
    let mut sorted = texts.clone();
    sorted.sort();
    assert_eq!(sorted, composer.calls(), "each composed text delivered exactly once: {texts:?}");
});

both_backends!(a_slow_campaign_message_is_delivered_once, |backend| async move {
    let w = World::new(backend, rules(0, 1_000)).await;
    let composer = CountingComposer::new(Some("Slow campaign note"));
    let (campaign, engine) = w.campaign(DM_TEMPLATE, 1, composer).await;
    w.net.fault_for_text("Slow campaign note", Fault::Slow(45_000));
    // The first message is due two days and an hour in: watch that hour in 5-second steps.
    w.run_for(&[&engine], 2 * DAY + 30 * MINUTE, 30 * MINUTE).await;
    w.run_for(&[&engine], HOUR, 5_000).await;
    w.run_for(&[&engine], DAY, 30 * MINUTE).await;
    let instance = w.instances(&campaign).await.remove(0);
    assert_eq!(instance.latest_step.as_deref(), Some("direct_message_1"), "{instance:?}");
    assert_eq!(w.delivered_ids("Slow campaign note").len(), 1);
});

both_backends!(a_campaign_step_still_running_when_its_lease_runs_out_is_not_repeated, |backend| async move {
    let w = World::new(backend, rules(0, 1_000)).await;
    let composer = CountingComposer::new(Some("Held campaign note"));
    let (campaign, first) = w.campaign(DM_TEMPLATE, 1, composer.clone()).await;
    w.net.fault_for_text("Held campaign note", Fault::Hold);
    // Up to the first message, which hangs in flight.
    let running = {
        let first = first.clone();
        let clock = w.clock.clone();
        tokio::spawn(async move {
            for _ in 0..(3 * 24) {
                first.run_until_idle().await;
                clock.advance_millis(HOUR);
            }
        })
    };
    w.net.wait_stuck(1).await;
    w.clock.advance_millis(61_000);
    let second = w.engine("b").with_composer(composer);
    second.run_until_idle().await;
    w.net.release_held(1);
    running.await.unwrap();
    w.run_for(&[&first, &second], DAY, 10 * MINUTE).await;
    let instance = w.instances(&campaign).await.remove(0);
    assert!(instance.step_index > 4, "moved past the first message: {instance:?}");
    assert_eq!(w.delivered_ids("Held campaign note").len(), 1, "delivered once");
});
