//! Deliveries verified by implementations no one here wrote. The
//! `standardwebhooks` crate's verifier checks the timestamp against the
//! system clock, so these tests stamp deliveries with the system time (they
//! pass at any hour; the file is listed in .ci/wall-clock-guard for that).
//!
//! With `SONARLY_WEBHOOK_SAMPLES=path`, the samples test also writes what the
//! server sent (and tampered variants) for the Python reference library to
//! verify (.ci/webhooks-python).

use super::support::*;
use sonarly_domain::clock::{Clock, SystemClock};
use sonarly_domain::webhooks::{UrlPolicy, generate_secret, secret_key, sign};
use sonarly_testkit::{TestBackend, both_backends};
use standardwebhooks::{Webhook, WebhookError};

fn headers_of(r: &Received) -> axum::http::HeaderMap {
    r.headers.clone()
}

both_backends!(signatures_verify_with_the_standardwebhooks_crate_and_tampering_fails, |backend| async move {
    let Some(world) = World::at(backend, SystemClock.now()).await else { return };
    let receiver = Receiver::start(&[]).await;
    let endpoint = world.endpoint(&receiver.url, None).await;
    world.event(5).await;
    let engine = world.engine("one", UrlPolicy::PERMISSIVE);
    engine.run_webhooks_until_idle().await;
    let got = receiver.received().remove(0);
    let hook = Webhook::new(&endpoint.secret).unwrap();
    hook.verify(got.body.as_bytes(), &headers_of(&got)).expect("the server's signature verifies");

    let tampered = got.body.replace("\"credits\":5", "\"credits\":500");
    assert_ne!(tampered, got.body);
    assert!(matches!(hook.verify(tampered.as_bytes(), &headers_of(&got)), Err(WebhookError::InvalidSignature)));
    let stranger = Webhook::new(&generate_secret()).unwrap();
    assert!(matches!(stranger.verify(got.body.as_bytes(), &headers_of(&got)), Err(WebhookError::InvalidSignature)));
    // The same delivery signed ten minutes earlier is outside the 5-minute tolerance.
    let id = header(&got, "webhook-id").to_owned();
    let old = header(&got, "webhook-timestamp").parse::<i64>().unwrap() - 600;
    let mut stale = headers_of(&got);
    stale.insert("webhook-timestamp", old.to_string().parse().unwrap());
    let key = secret_key(&endpoint.secret).unwrap();
    stale.insert("webhook-signature", sign(&key, &id, old, &got.body).parse().unwrap());
    assert!(matches!(hook.verify(got.body.as_bytes(), &stale), Err(WebhookError::TimestampTooOldError)));

    // After a rotation both secrets verify during the overlap.
    let now = world.now();
    let rotated = world
        .db
        .store
        .rotate_webhook_secret(&world.group.id, &endpoint.id, &generate_secret(), now.plus_millis(3_600_000), now)
        .await
        .unwrap()
        .unwrap();
    world.event(6).await;
    engine.run_webhooks_until_idle().await;
    let next = receiver.received().remove(1);
    assert_eq!(header(&next, "webhook-signature").split(' ').count(), 2);
    Webhook::new(&rotated.secret).unwrap().verify(next.body.as_bytes(), &headers_of(&next)).expect("new secret");
    hook.verify(next.body.as_bytes(), &headers_of(&next)).expect("previous secret, inside the overlap");
});

/// Writes signed samples for .ci/webhooks-python when `SONARLY_WEBHOOK_SAMPLES` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_for_the_python_reference_library() {
    let Ok(path) = std::env::var("SONARLY_WEBHOOK_SAMPLES") else { return };
    let world = World::at(TestBackend::Sqlite, SystemClock.now()).await.unwrap();
    let receiver = Receiver::start(&[]).await;
    let endpoint = world.endpoint(&receiver.url, None).await;
    world.event(11).await;
    world.engine("samples", UrlPolicy::PERMISSIVE).run_webhooks_until_idle().await;
    let got = receiver.received().remove(0);
    let (id, ts, sig) =
        (header(&got, "webhook-id"), header(&got, "webhook-timestamp"), header(&got, "webhook-signature"));
    let old_ts = ts.parse::<i64>().unwrap() - 600;
    let old_sig = sign(&secret_key(&endpoint.secret).unwrap(), id, old_ts, &got.body);
    let sample = |name: &str, secret: &str, body: &str, ts: String, sig: &str, valid: bool| {
        serde_json::json!({"name": name, "secret": secret, "body": body, "valid": valid,
            "headers": {"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig}})
    };
    let samples = serde_json::json!([
        sample("as delivered", &endpoint.secret, &got.body, ts.to_owned(), sig, true),
        sample(
            "tampered body",
            &endpoint.secret,
            &got.body.replace("\"credits\":11", "\"credits\":12"),
            ts.to_owned(),
            sig,
            false
        ),
        sample("wrong secret", &generate_secret(), &got.body, ts.to_owned(), sig, false),
        sample("timestamp outside the tolerance", &endpoint.secret, &got.body, old_ts.to_string(), &old_sig, false),
    ]);
    std::fs::write(&path, serde_json::to_string_pretty(&samples).unwrap()).unwrap();
}
