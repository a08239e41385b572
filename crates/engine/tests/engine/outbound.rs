//! The outbound scheduler on both backends, with a manual clock: safety
//! rules, retries, rate limits, and exactly-once sends across a crash (the
//! sandbox; `exactly_once` has the fault-injecting provider).

use crate::world::Setup;
use sonarly_app::responses::{QueueResponseRequest, queue_response};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::Clock;
use sonarly_domain::linkedin_account::{SendingRules, WorkingHours};
use sonarly_domain::prospecting::Prospect;
use sonarly_domain::responses::{ResponseStatus, ScheduledResponse};
use sonarly_linkedin::sandbox::SandboxConfig;
use sonarly_linkedin::{AccountType, OutboundToken};
use sonarly_store::{NewSend, OUTBOUND_WORK, SendAction, SendState};
use sonarly_testkit::{TestBackend, both_backends};

/// The engine tests' World with the seat's connections as prospects.
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
        daily_messages: 10_000,
        ..SendingRules::default()
    }
}

impl World {
    /// A group with one sandbox account and prospects who are its connections.
    async fn new(backend: TestBackend, start: &str, rules: SendingRules, sandbox: SandboxConfig) -> Self {
        let setup = Setup {
            account_type: AccountType::SalesNavigator,
            rules,
            sandbox: sonarly_testkit::pinned_sandbox(SandboxConfig { messages_per_day: 100_000, ..sandbox }),
            ..Setup::default()
        };
        let base = crate::world::World::new(backend, setup.at(start)).await;
        let prospects = base.connection_prospects(20).await;
        Self { base, prospects }
    }

    async fn queue(&self, prospect: usize, text: &str) -> ScheduledResponse {
        let request = QueueResponseRequest {
            prospect_id: Some(self.prospects[prospect].id.clone()),
            message: Some(text.into()),
            ..Default::default()
        };
        queue_response(self.store(), &self.registry, &self.clock, &self.group.id, &request, None).await.unwrap()
    }

    async fn response(&self, id: &str) -> ScheduledResponse {
        self.store().get_response(&self.group.id, id).await.unwrap().unwrap()
    }

    async fn responses(&self, ids: &[String]) -> Vec<ScheduledResponse> {
        let mut out = Vec::new();
        for id in ids {
            out.push(self.response(id).await);
        }
        out
    }

    async fn ledger_tokens(&self) -> Vec<String> {
        self.store().sandbox_actions_since(&self.account.id, 0).await.unwrap().into_iter().map(|a| a.token).collect()
    }
}

both_backends!(a_queued_response_is_sent_once_and_reported_honestly, |backend| async move {
    let w = World::new(backend, "2026-06-01T10:00:00Z", around_the_clock(), SandboxConfig::default()).await;
    let queued = w.queue(0, "Thanks for connecting!").await;
    assert_eq!((queued.status, queued.deferred, queued.sent_at), (ResponseStatus::Queued, false, None));
    w.engine("a").run_until_idle().await;
    let sent = w.response(&queued.id).await;
    assert_eq!(sent.status, ResponseStatus::Sent, "{sent:?}");
    assert_eq!(sent.sent_at, Some(w.clock.now()));
    assert!(sent.message_id.is_some() && sent.conversation_id.is_some() && sent.provider_chat_id.is_some());
    assert_eq!(w.ledger_tokens().await, vec![queued.id.clone()]);
    // A second reply to the same prospect goes into the now-known conversation.
    let second = w.queue(0, "Following up").await;
    assert_eq!(second.conversation_id, sent.conversation_id);
    w.engine("a").run_until_idle().await;
    assert_eq!(w.response(&second.id).await.status, ResponseStatus::Sent);
    assert_eq!(w.store().count_work(OUTBOUND_WORK).await.unwrap(), 0);
});

both_backends!(working_hours_defer_to_the_next_local_morning, |backend| async move {
    let rules = SendingRules {
        timezone: "Europe/Berlin".into(),
        min_spacing_secs: 0,
        max_spacing_secs: 0,
        ..SendingRules::default()
    };
    // 20:00 in Berlin (CEST): after hours.
    let w = World::new(backend, "2026-06-01T18:00:00Z", rules, SandboxConfig::default()).await;
    let queued = w.queue(1, "Hello").await;
    assert!(queued.deferred);
    assert_eq!(queued.scheduled_at.to_rfc3339(), "2026-06-02T07:00:00.000Z");
    w.engine("a").run_until_idle().await;
    assert_eq!(w.response(&queued.id).await.status, ResponseStatus::Queued, "nothing leaves outside working hours");
    assert!(w.ledger_tokens().await.is_empty());
    w.clock.set(Timestamp::parse_rfc3339("2026-06-02T07:00:00Z").unwrap());
    w.engine("a").run_until_idle().await;
    assert_eq!(w.response(&queued.id).await.status, ResponseStatus::Sent);
});

both_backends!(daily_caps_and_spacing_hold_responses_back, |backend| async move {
    let rules = SendingRules { daily_messages: 2, min_spacing_secs: 60, max_spacing_secs: 90, ..around_the_clock() };
    let w = World::new(backend, "2026-06-01T10:00:00Z", rules, SandboxConfig::default()).await;
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for k in 0..3 {
            ids.push(w.queue(k, &format!("Hello {k}")).await.id);
        }
        ids
    };
    let engine = w.engine("a");
    engine.run_until_idle().await;
    let now = w.responses(&ids).await;
    assert_eq!(
        now.iter().filter(|r| r.status == ResponseStatus::Sent).count(),
        1,
        "spacing lets one through at a time"
    );
    let waiting: Vec<_> = now.iter().filter(|r| r.status == ResponseStatus::Queued).collect();
    assert!(waiting.iter().all(|r| r.deferred && r.scheduled_at > w.clock.now()));
    assert!(waiting.iter().all(|r| r.scheduled_at <= w.clock.now().plus_millis(90_000)));

    w.clock.advance_millis(91_000);
    engine.run_until_idle().await;
    w.clock.advance_millis(91_000);
    engine.run_until_idle().await;
    let later = w.responses(&ids).await;
    assert_eq!(later.iter().filter(|r| r.status == ResponseStatus::Sent).count(), 2, "the daily cap is 2");
    let held = later.iter().find(|r| r.status == ResponseStatus::Queued).unwrap();
    assert_eq!(held.scheduled_at.to_rfc3339(), "2026-06-02T00:00:00.000Z", "next local day (UTC account)");
    w.clock.set(Timestamp::parse_rfc3339("2026-06-02T00:00:01Z").unwrap());
    engine.run_until_idle().await;
    assert!(w.responses(&ids).await.iter().all(|r| r.status == ResponseStatus::Sent));
    assert_eq!(w.ledger_tokens().await.len(), 3);
});

both_backends!(transient_faults_retry_and_still_send_exactly_once, |backend| async move {
    let w = World::new(
        backend,
        "2026-06-01T10:00:00Z",
        around_the_clock(),
        SandboxConfig { fault_rate: 0.25, ..SandboxConfig::default() },
    )
    .await;
    let mut ids = Vec::new();
    for k in 0..30 {
        ids.push(w.queue(k % 20, &format!("Message {k}")).await.id);
    }
    let engine = w.engine("a");
    for _ in 0..60 {
        engine.run_until_idle().await;
        w.clock.advance_millis(11 * 60_000);
    }
    for id in &ids {
        assert_eq!(w.response(id).await.status, ResponseStatus::Sent, "{id}");
    }
    let mut tokens = w.ledger_tokens().await;
    tokens.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(tokens, expected, "each response reached LinkedIn exactly once");
});

both_backends!(a_linkedin_rate_limit_pauses_the_account, |backend| async move {
    let w = World::new(
        backend,
        "2026-06-01T10:00:00Z",
        around_the_clock(),
        SandboxConfig { burst_per_minute: 2, ..SandboxConfig::default() },
    )
    .await;
    let mut ids = Vec::new();
    for k in 0..3 {
        ids.push(w.queue(k, "Hi").await.id);
    }
    w.engine("a").run_until_idle().await;
    let account = w.store().system().linkedin_account(&w.account.id).await.unwrap().unwrap();
    let until = account.rate_limited_until.expect("the account is paused");
    assert!(until > w.clock.now());
    // Two went out; the one LinkedIn refused waits for the pause to end.
    let all = w.responses(&ids).await;
    assert_eq!(all.iter().filter(|r| r.status == ResponseStatus::Sent).count(), 2);
    let paused = all.iter().find(|r| r.status == ResponseStatus::Queued).unwrap();
    assert!(paused.deferred);
    assert_eq!(paused.scheduled_at, until);
    w.clock.set(until);
    w.engine("a").run_until_idle().await;
    assert_eq!(w.response(&paused.id).await.status, ResponseStatus::Sent);
});

both_backends!(a_crash_after_sending_is_reconciled_not_resent, |backend| async move {
    let w = World::new(backend, "2026-06-01T10:00:00Z", around_the_clock(), SandboxConfig::default()).await;
    let queued = w.queue(3, "Sent just before the crash").await;
    // An instance claims the row, records its attempt, sends, and dies before recording the outcome.
    let now = w.clock.now();
    let item = w.store().claim_work(OUTBOUND_WORK, "doomed", now, now.plus_millis(60_000), 1).await.unwrap().remove(0);
    let response = w.response(&queued.id).await;
    w.store().claim_send_slot(&item, &response, "message", now, now, now.plus_millis(60_000)).await.unwrap();
    let new = NewSend {
        token: response.id.clone(),
        linkedin_account_id: w.account.id.clone(),
        work_kind: OUTBOUND_WORK.into(),
        ref_id: response.id.clone(),
        action: SendAction::StartChat,
        recipient_provider_id: response.recipient_provider_id.clone(),
        provider_chat_id: None,
        subject: None,
        body: Some(response.body.clone()),
    };
    let send = w.store().prepare_send(&new, now).await.unwrap();
    let deadline = now.plus_millis(30_000);
    w.store().begin_attempt(&send.token, 0, "doomed", None, now, deadline).await.unwrap().expect("attempt 1 begins");
    let provider = w.registry.provider(&w.account).unwrap();
    let sent = provider
        .start_chat(&OutboundToken::new(queued.id.clone()), &response.recipient_provider_id, &response.body)
        .await
        .unwrap();
    assert_eq!(w.response(&queued.id).await.status, ResponseStatus::Sending);

    let survivor = w.engine("survivor");
    survivor.run_until_idle().await;
    assert_eq!(w.response(&queued.id).await.status, ResponseStatus::Sending, "the lease still protects the row");
    // Past the lease, the attempt has not settled yet (its deadline plus the settle period): nobody acts.
    w.clock.advance_millis(61_000);
    survivor.run_until_idle().await;
    assert_eq!(w.response(&queued.id).await.status, ResponseStatus::Sending, "the attempt is still settling");
    w.clock.set(deadline.plus_millis(sonarly_engine::DEFAULT_SETTLE_MS));
    survivor.run_until_idle().await;
    let done = w.response(&queued.id).await;
    assert_eq!(done.status, ResponseStatus::Sent);
    assert_eq!(w.ledger_tokens().await, vec![queued.id.clone()], "reconciled, not sent again");
    let send = w.store().get_send(&queued.id).await.unwrap().unwrap();
    assert_eq!((send.state, send.attempt), (SendState::Delivered, 1));
    assert_eq!(send.provider_ref, Some(format!("message:{}", sent.message_id.unwrap())), "attributed to it");
    // The daily count saw one action, not two.
    let counted = w.store().count_actions(&w.account.id, "message", Timestamp::from_millis(0)).await.unwrap();
    assert_eq!(counted, 1);
});
