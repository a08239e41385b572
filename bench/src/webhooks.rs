//! `webhooks`: `size` events (default 10,000) appended one by one while one
//! engine's webhook dispatcher fans each out to 3 local receivers (axum on
//! 127.0.0.1). Prints the append rate, the delivery throughput, and the
//! latency from an event's `createdAt` to its receipt (p50 / p99 / max), all
//! on the system clock.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use sonarly_app::linkedin::ProviderRegistry;
use sonarly_app::webhooks::{CreateEndpoint, create_endpoint};
use sonarly_domain::clock::{Clock, SharedClock, SystemClock};
use sonarly_domain::events::{EventType, credits_low_data};
use sonarly_domain::webhooks::UrlPolicy;
use sonarly_engine::{Engine, EngineConfig, WebhookConfig};
use sonarly_testkit::TestDb;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Receipt time (ms, system clock) per webhook-id, per receiver.
type Receipts = Arc<Mutex<HashMap<String, i64>>>;

async fn receiver() -> (String, Receipts) {
    let receipts: Receipts = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(|State(r): State<Receipts>, headers: HeaderMap| async move {
                let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                r.lock().unwrap().insert(id, SystemClock.now().as_millis());
                "ok"
            }),
        )
        .with_state(receipts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, receipts)
}

pub async fn run(db: &TestDb, size: usize) {
    let clock: SharedClock = Arc::new(SystemClock);
    let store = &db.store;
    let group = sonarly_app::accounts::create_group(store, clock.as_ref(), "Webhooks bench").await.unwrap();
    let mut receivers = Vec::new();
    for _ in 0..3 {
        let (url, receipts) = receiver().await;
        let body = CreateEndpoint { url, ..Default::default() };
        create_endpoint(store, clock.as_ref(), UrlPolicy::PERMISSIVE, &group.id, &body).await.unwrap();
        receivers.push(receipts);
    }
    let config = EngineConfig {
        poll_interval: Duration::from_millis(20),
        webhooks: WebhookConfig { policy: UrlPolicy::PERMISSIVE, ..WebhookConfig::default() },
        ..EngineConfig::default()
    };
    let registry = ProviderRegistry::new(store.clone(), clock.clone());
    let engine = Engine::new(store.clone(), registry, clock.clone(), "bench").with_config(config);
    let cancel = tokio_util::sync::CancellationToken::new();
    let dispatcher = engine.spawn_webhooks(cancel.clone());

    let started = Instant::now();
    let mut created = HashMap::with_capacity(size);
    for n in 0..size {
        let data = credits_low_data(&group.id, n as i64);
        let event = store.append_event(&group.id, EventType::CreditsLow, &data, clock.now()).await.unwrap();
        created.insert(event.id, event.created_at.as_millis());
    }
    let appended = started.elapsed();
    let expected = size * receivers.len();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let got: usize = receivers.iter().map(|r| r.lock().unwrap().len()).sum();
        if got >= expected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = started.elapsed();
    cancel.cancel();
    let _ = dispatcher.await;

    let mut latencies: Vec<i64> = Vec::with_capacity(expected);
    for r in &receivers {
        for (id, at) in r.lock().unwrap().iter() {
            if let Some(c) = created.get(id) {
                latencies.push(at - c);
            }
        }
    }
    latencies.sort_unstable();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)));
    println!(
        "{size} events appended in {:.1} s ({:.0} events/s); {} of {expected} deliveries received in {:.1} s \
         ({:.0} deliveries/s); latency event -> receipt: p50 {} ms, p99 {} ms, max {} ms",
        appended.as_secs_f64(),
        size as f64 / appended.as_secs_f64(),
        latencies.len(),
        delivered.as_secs_f64(),
        latencies.len() as f64 / delivered.as_secs_f64(),
        pct(0.50).copied().unwrap_or(0),
        pct(0.99).copied().unwrap_or(0),
        latencies.last().copied().unwrap_or(0),
    );
}
