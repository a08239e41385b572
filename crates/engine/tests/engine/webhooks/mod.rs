//! Webhook delivery end to end, against local receivers, on both backends:
//! retries until success with every attempt recorded, interrupted attempts
//! closed once, three instances sharing the work, SSRF refusals, and the
//! 5-day disable. Time is a manual clock; signatures are checked with the
//! `standardwebhooks` crate's signer (`verify.rs` checks its verifier).

mod support;
mod verify;

use sonarly_domain::events::EventType;
use sonarly_domain::webhooks::{AttemptOutcome, AttemptStatus, UrlPolicy};
use sonarly_store::{AttemptEnd, AttemptStart, INTERRUPTED, WEBHOOK_DELIVERY_WORK};
use sonarly_testkit::both_backends;
use std::collections::HashSet;
use support::*;

/// Longer than the longest of the first three retry delays with jitter (30 min + 20 %).
const PAST_THIRD_RETRY_MS: i64 = 2_160_001;
const DAY_MS: i64 = 86_400_000;

both_backends!(
    a_receiver_failing_three_times_gets_the_event_once_as_a_success_with_three_failures_recorded,
    |backend| async move {
        let Some(world) = World::new(backend).await else { return };
        let receiver = Receiver::start(&[500, 503, 500]).await;
        let endpoint = world.endpoint(&receiver.url, None).await;
        let event = world.event(42).await;
        let engine = world.engine("one", UrlPolicy::PERMISSIVE);

        world.deliver_for(&engine, 5, PAST_THIRD_RETRY_MS).await;

        let received = receiver.received();
        assert_eq!(received.len(), 4, "three failures, then one success, then nothing more");
        let signer = standardwebhooks::Webhook::new(&endpoint.secret).unwrap();
        for r in &received {
            assert_eq!(header(r, "webhook-id"), event.id, "the same webhook-id on every attempt");
            assert_eq!(r.body, event.webhook_body());
            assert_eq!(header(r, "content-type"), "application/json");
            let ts: i64 = header(r, "webhook-timestamp").parse().unwrap();
            let expected = signer.sign(&event.id, ts, r.body.as_bytes()).unwrap();
            assert_eq!(header(r, "webhook-signature"), expected, "signed like the reference implementation");
        }
        let stamps: Vec<i64> = received.iter().map(|r| header(r, "webhook-timestamp").parse().unwrap()).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]), "each attempt is signed at its own time: {stamps:?}");
        assert_eq!(stamps[0], START_MS / 1000, "timestamps come from the injected clock");

        let attempts = world.db.store.list_webhook_attempts(&world.group.id, &endpoint.id, None, 100).await.unwrap();
        let summary: Vec<_> = attempts.iter().rev().map(|a| (a.attempt, a.status, a.response_status)).collect();
        assert_eq!(
            summary,
            vec![
                (1, AttemptStatus::Failed, Some(500)),
                (2, AttemptStatus::Failed, Some(503)),
                (3, AttemptStatus::Failed, Some(500)),
                (4, AttemptStatus::Succeeded, Some(200)),
            ]
        );
        assert!(attempts.iter().all(|a| a.finished_at.is_some() && a.latency_ms.is_some()));
        assert_eq!(
            world.db.store.event_deliveries(&event.id).await.unwrap(),
            vec![(endpoint.id.clone(), "succeeded".to_owned(), 4)]
        );
        assert_eq!(world.db.store.count_work(WEBHOOK_DELIVERY_WORK).await.unwrap(), 0);
        let healthy = world.db.store.get_webhook_endpoint(&world.group.id, &endpoint.id).await.unwrap().unwrap();
        assert!(healthy.failing_since.is_none(), "a success ends the failure streak");
    }
);

both_backends!(an_attempt_interrupted_by_a_crash_is_counted_once_and_never_marked_delivered, |backend| async move {
    let Some(world) = World::new(backend).await else { return };
    let receiver = Receiver::start(&[]).await;
    let endpoint = world.endpoint(&receiver.url, None).await;
    let event = world.event(7).await;
    let store = &world.db.store;

    // A worker records its attempt, then dies before the request completes.
    let now = world.now();
    let items = store.claim_work(WEBHOOK_DELIVERY_WORK, "dead", now, now.plus_millis(60_000), 10).await.unwrap();
    let item = items.into_iter().next().unwrap();
    let AttemptStart::Ready { attempt_id, attempt, .. } =
        store.begin_webhook_attempt(&item, now, now.plus_millis(60_000)).await.unwrap()
    else {
        panic!("the first claim is ready")
    };
    assert_eq!(attempt, 1);
    let engine = world.engine("alive", UrlPolicy::PERMISSIVE);
    engine.run_webhooks_until_idle().await;
    assert!(receiver.received().is_empty(), "the lease still belongs to the dead worker");
    assert_eq!(store.event_deliveries(&event.id).await.unwrap()[0].1, "pending", "not delivered while unknown");

    // The lease runs out; another instance closes the attempt as interrupted and delivers.
    world.clock.advance_millis(60_001);
    engine.run_webhooks_until_idle().await;
    assert_eq!(receiver.received().len(), 1);
    let attempts = store.list_webhook_attempts(&world.group.id, &endpoint.id, None, 10).await.unwrap();
    let summary: Vec<_> = attempts.iter().rev().map(|a| (a.attempt, a.status, a.error.clone())).collect();
    assert_eq!(
        summary,
        vec![(1, AttemptStatus::Failed, Some(INTERRUPTED.to_owned())), (2, AttemptStatus::Succeeded, None)]
    );

    // The dead worker comes back with an answer for its old attempt: nothing changes.
    let late =
        AttemptOutcome { succeeded: true, response_status: Some(200), response_body: None, error: None, latency_ms: 1 };
    let end = store.finish_webhook_attempt(&item, &attempt_id, 1, &late, 0.0, world.now()).await.unwrap();
    assert_eq!(end, AttemptEnd::Stale);
    assert_eq!(
        store.event_deliveries(&event.id).await.unwrap(),
        vec![(endpoint.id.clone(), "succeeded".to_owned(), 2)]
    );
    assert_eq!(store.list_webhook_attempts(&world.group.id, &endpoint.id, None, 10).await.unwrap().len(), 2);
});

both_backends!(three_instances_share_deliveries_and_make_each_attempt_once, |backend| async move {
    let Some(world) = World::new(backend).await else { return };
    let (a, b) = (Receiver::start(&[]).await, Receiver::start(&[]).await);
    let endpoints = [world.endpoint(&a.url, None).await, world.endpoint(&b.url, None).await];
    let mut ids = HashSet::new();
    for n in 0..30 {
        ids.insert(world.event(n).await.id);
    }
    let engines: Vec<_> = ["i1", "i2", "i3"].iter().map(|o| world.engine(o, UrlPolicy::PERMISSIVE)).collect();
    tokio::join!(
        engines[0].run_webhooks_until_idle(),
        engines[1].run_webhooks_until_idle(),
        engines[2].run_webhooks_until_idle()
    );
    for receiver in [&a, &b] {
        let got: Vec<String> = receiver.received().iter().map(|r| header(r, "webhook-id").to_owned()).collect();
        assert_eq!(got.len(), 30, "each event once per endpoint");
        assert_eq!(got.into_iter().collect::<HashSet<_>>(), ids);
    }
    for endpoint in &endpoints {
        let attempts = world.db.store.list_webhook_attempts(&world.group.id, &endpoint.id, None, 100).await.unwrap();
        assert_eq!(attempts.len(), 30);
        assert!(attempts.iter().all(|a| a.attempt == 1 && a.status == AttemptStatus::Succeeded));
    }
});

both_backends!(private_loopback_and_metadata_addresses_are_refused_by_default, |backend| async move {
    let Some(world) = World::new(backend).await else { return };
    let receiver = Receiver::start(&[]).await;
    let port = receiver.port;
    // Stored directly (the API would refuse these URLs already); delivery must refuse them on its own.
    let urls = [
        receiver.url.clone(),
        format!("http://[::1]:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        "http://10.0.0.1:9/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ];
    let mut endpoints = Vec::new();
    for url in &urls {
        endpoints.push(world.raw_endpoint(url).await);
    }
    world.event(1).await;
    let http_only = UrlPolicy { allow_http: true, allow_private: false };
    world.engine("strict", http_only).run_webhooks_until_idle().await;
    assert!(receiver.received().is_empty(), "nothing reached the local receiver");
    for (endpoint, url) in endpoints.iter().zip(&urls) {
        let attempts = world.db.store.list_webhook_attempts(&world.group.id, &endpoint.id, None, 10).await.unwrap();
        assert_eq!(attempts.len(), 1, "{url}");
        let error = attempts[0].error.clone().unwrap_or_default();
        assert!(attempts[0].status == AttemptStatus::Failed && error.contains("refused"), "{url}: {error}");
        assert!(attempts[0].response_status.is_none(), "{url}: no request was made");
    }
    // The default policy also wants HTTPS.
    world.event(2).await;
    world.clock.advance_millis(10_000);
    world.engine("default", UrlPolicy::default()).run_webhooks_until_idle().await;
    let attempts = world.db.store.list_webhook_attempts(&world.group.id, &endpoints[0].id, None, 10).await.unwrap();
    assert!(attempts.iter().all(|a| a.error.as_deref().is_some_and(|e| e.contains("refused"))));
    assert!(receiver.received().is_empty());
});

both_backends!(an_endpoint_failing_for_five_days_is_disabled_and_a_disabled_event_is_delivered, |backend| async move {
    let Some(world) = World::new(backend).await else { return };
    let broken = Receiver::start(&[500; 400]).await;
    let watcher = Receiver::start(&[]).await;
    let failing = world.endpoint(&broken.url, None).await;
    let watching = world.endpoint(&watcher.url, Some(&["webhook_endpoint.disabled"])).await;
    let engine = world.engine("one", UrlPolicy::PERMISSIVE);
    for day in 0..6 {
        world.event(day).await;
        world.deliver_for(&engine, 4, DAY_MS / 4).await;
    }
    let disabled = world.db.store.get_webhook_endpoint(&world.group.id, &failing.id).await.unwrap().unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.disabled_reason, Some(sonarly_domain::webhooks::DisabledReason::Failing));
    let bodies: Vec<serde_json::Value> =
        watcher.received().iter().map(|r| serde_json::from_str(&r.body).unwrap()).collect();
    assert_eq!(bodies.len(), 1, "the watcher subscribed to nothing else: {bodies:?}");
    assert_eq!(bodies[0]["type"], EventType::WebhookEndpointDisabled.as_str());
    assert_eq!(bodies[0]["data"]["endpointId"], failing.id.as_str());
    assert_eq!(bodies[0]["data"]["accountGroupId"], world.group.id.as_str());
    let before = broken.received().len();
    world.event(99).await;
    world.deliver_for(&engine, 2, DAY_MS).await;
    assert_eq!(broken.received().len(), before, "a disabled endpoint gets nothing");
    assert!(world.db.store.get_webhook_endpoint(&world.group.id, &watching.id).await.unwrap().unwrap().enabled);
});
