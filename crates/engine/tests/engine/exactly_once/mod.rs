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

mod soak;
mod world;

use sonarly_domain::clock::Clock;
use sonarly_domain::responses::ResponseStatus;
use sonarly_linkedin::OutboundToken;
use sonarly_store::OUTBOUND_WORK;
use sonarly_testkit::both_backends;
use sonarly_testkit::fault::{Failure, Fault};
use world::*;

// --- responses ------------------------------------------------------------------

both_backends!(a_same_text_follow_up_after_a_send_that_failed_before_delivering_is_delivered, |backend| async move {
    let w = World::new(backend, rules(0, 1_000)).await;
    let engine = w.engine("a");
    let first = w.queue(0, "Thanks!").await;
    engine.run_until_idle().await;
    assert_eq!(w.response(&first.id).await.status, ResponseStatus::Sent);

    // LinkedIn answers the next "Thanks!" with a 503 and delivers nothing.
    w.net.fault_for_text("Thanks!", Fault::FailBefore(Failure::Status(503)));
    let second = w.queue(0, "Thanks!").await;
    w.run_for(&[&engine], 40 * MINUTE, MINUTE).await;

    let (first, second) = (w.response(&first.id).await, w.response(&second.id).await);
    assert_eq!(second.status, ResponseStatus::Sent, "{second:?}");
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
    assert_eq!((first.status, second.status), (ResponseStatus::Sent, ResponseStatus::Sent));
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
    assert_eq!(done.status, ResponseStatus::Sent, "{done:?}");
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
    assert_eq!(done.status, ResponseStatus::Sent, "{done:?}");
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
        assert_eq!(done.status, ResponseStatus::Sent, "{done:?}");
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

// --- the protocol's edges ------------------------------------------------------------

both_backends!(a_late_answer_from_a_superseded_attempt_changes_nothing, |backend| async move {
    let w = World::new(backend, rules(0, 1_000)).await;
    let queued = w.queue(4, "Late answer").await;
    w.net.fault_for_text("Late answer", Fault::Hold);
    let first = w.engine("a");
    let running = tokio::spawn(async move { first.run_until_idle().await });
    w.net.wait_stuck(1).await;
    // Far past the attempt's deadline and settle period, with nothing to show
    // for it, another instance tries again, and that attempt delivers.
    w.clock.advance_millis(30 * MINUTE);
    let second = w.engine("b");
    second.run_until_idle().await;
    let done = w.response(&queued.id).await;
    assert_eq!(done.status, ResponseStatus::Sent);
    let send = w.db.store.get_send(&queued.id).await.unwrap().unwrap();
    assert_eq!(send.attempt, 2);
    let second_delivery = w.delivered_ids("Late answer");
    assert_eq!(second_delivery.len(), 1);
    // Then the first attempt's call comes back, delivered: its outcome is fenced off.
    w.net.release_held(1);
    running.await.unwrap();
    let after = w.db.store.get_send(&queued.id).await.unwrap().unwrap();
    assert_eq!((after.attempt, after.provider_ref.clone()), (2, Some(format!("message:{}", second_delivery[0]))));
    assert_eq!(w.response(&queued.id).await, done, "the response still shows the second attempt's outcome");
    assert_eq!(
        w.delivered_ids("Late answer").len(),
        2,
        "the documented residual: a provider that answers after the settle period"
    );
});

both_backends!(a_send_never_confirmed_fails_with_a_reason_after_the_last_attempt, |backend| async move {
    let w = World::new(backend, rules(0, 1_000)).await;
    for _ in 0..8 {
        w.net.fault_for_text("Never lands", Fault::FailBefore(Failure::Status(503)));
    }
    let queued = w.queue(5, "Never lands").await;
    w.run_for(&[&w.engine("a")], 2 * HOUR, MINUTE).await;
    let failed = w.response(&queued.id).await;
    assert_eq!(failed.status, ResponseStatus::Failed, "{failed:?}");
    assert_eq!(failed.failure_code.as_deref(), Some("DELIVERY_UNCONFIRMED"));
    let message = failed.failure_message.unwrap_or_default();
    assert!(message.contains("after 8 attempts") && message.contains("not sent again"), "{message}");
    assert!(w.delivered_ids("Never lands").is_empty());
});

both_backends!(a_send_reserved_but_never_recorded_is_reconciled_before_anything_is_sent, |backend| async move {
    let w = World::new(backend, rules(0, 1_000)).await;
    let queued = w.queue(0, "Unrecorded").await;
    // A claim reserves the slot (the response shows `sending`), sends, and dies before
    // recording an attempt (as a claim from before the attempt record existed would have).
    let now = w.clock.now();
    let lease = now.plus_millis(60_000);
    let item = w.db.store.claim_work(OUTBOUND_WORK, "doomed", now, lease, 1).await.unwrap().remove(0);
    let response = w.response(&queued.id).await;
    w.db.store.claim_send_slot(&item, &response, "message", now, now, lease).await.unwrap();
    let provider = w.registry.provider(&w.account).unwrap();
    let token = OutboundToken::new(queued.id.clone());
    provider.start_chat(&token, &response.recipient_provider_id, "Unrecorded").await.unwrap();
    w.run_for(&[&w.engine("b")], 20 * MINUTE, MINUTE).await;
    assert_eq!(w.response(&queued.id).await.status, ResponseStatus::Sent);
    assert_eq!(w.delivered_ids("Unrecorded").len(), 1, "reconciled, not sent again");
});

// --- the soak ----------------------------------------------------------------------------

both_backends!(a_randomized_soak_delivers_everything_once_or_fails_with_a_reason, |backend| async move {
    let figures = soak::run(backend, 200, 25, 7).await;
    eprintln!("{figures}");
    assert!(figures.faults > 0 && figures.crashes > 0, "the soak met faults and crashes: {figures}");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "2,000 actions; figures in docs/performance.md"]
async fn soak_2000_on_sqlite() {
    eprintln!("{}", soak::run(sonarly_testkit::TestBackend::Sqlite, 1_400, 120, 2026).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "2,000 actions; figures in docs/performance.md"]
async fn soak_2000_on_postgres() {
    if !sonarly_testkit::postgres_available() {
        return;
    }
    eprintln!("{}", soak::run(sonarly_testkit::TestBackend::Postgres, 1_400, 120, 2026).await);
}
