//! A local webhook receiver (axum on 127.0.0.1, port 0) that records every
//! request and answers from a script, and a world with a group, an engine on
//! a manual clock, and helpers to add endpoints and events.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use sonarly_app::linkedin::ProviderRegistry;
use sonarly_app::webhooks::{CreateEndpoint, create_endpoint};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::{Clock, ManualClock, SharedClock};
use sonarly_domain::events::{Event, EventType, credits_low_data};
use sonarly_domain::models::AccountGroup;
use sonarly_domain::webhooks::{UrlPolicy, WebhookEndpoint};
use sonarly_engine::{Engine, EngineConfig, WebhookConfig};
use sonarly_testkit::{TestBackend, TestDb};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Wednesday 2026-06-03, 10:00 UTC.
pub const START_MS: i64 = 1_780_480_800_000;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

#[derive(Clone, Default)]
struct Script {
    received: Arc<Mutex<Vec<Received>>>,
    /// Answers for the first requests, then 200.
    answers: Arc<Mutex<Vec<u16>>>,
}

pub struct Receiver {
    pub url: String,
    pub port: u16,
    script: Script,
    _server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// A receiver answering `answers` in order, then 200 for ever.
    pub async fn start(answers: &[u16]) -> Self {
        let script = Script { received: Default::default(), answers: Arc::new(Mutex::new(answers.to_vec())) };
        let app = Router::new().route("/hook", post(receive)).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url: format!("http://127.0.0.1:{port}/hook"), port, script, _server: server }
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.received.lock().unwrap().clone()
    }
}

async fn receive(State(script): State<Script>, headers: HeaderMap, body: Bytes) -> StatusCode {
    script.received.lock().unwrap().push(Received { headers, body: String::from_utf8_lossy(&body).into_owned() });
    let mut answers = script.answers.lock().unwrap();
    let code = if answers.is_empty() { 200 } else { answers.remove(0) };
    StatusCode::from_u16(code).unwrap()
}

pub fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

pub struct World {
    pub db: TestDb,
    pub clock: ManualClock,
    pub group: AccountGroup,
}

impl World {
    pub async fn new(backend: TestBackend) -> Option<Self> {
        Self::at(backend, Timestamp::from_millis(START_MS)).await
    }

    pub async fn at(backend: TestBackend, start: Timestamp) -> Option<Self> {
        let db = TestDb::new(backend).await?;
        let clock = ManualClock::new(start);
        let group = sonarly_app::accounts::create_group(&db.store, &clock, "Hooks").await.unwrap();
        Some(Self { db, clock, group })
    }

    /// An engine on this world's clock delivering under `policy`.
    pub fn engine(&self, owner: &str, policy: UrlPolicy) -> Engine {
        let shared: SharedClock = Arc::new(self.clock.clone());
        let registry = ProviderRegistry::new(self.db.store.clone(), shared.clone());
        let config = EngineConfig {
            webhooks: WebhookConfig {
                policy,
                connect_timeout: Duration::from_secs(5),
                total_timeout: Duration::from_secs(10),
                ..WebhookConfig::default()
            },
            ..EngineConfig::default()
        };
        Engine::new(self.db.store.clone(), registry, shared, owner).with_config(config)
    }

    pub async fn endpoint(&self, url: &str, types: Option<&[&str]>) -> WebhookEndpoint {
        let body = CreateEndpoint {
            url: url.into(),
            description: None,
            event_types: types.map(|t| t.iter().map(|s| s.to_string()).collect()),
            enabled: None,
        };
        create_endpoint(&self.db.store, &self.clock, UrlPolicy::PERMISSIVE, &self.group.id, &body).await.unwrap()
    }

    /// An endpoint stored as is, without the URL checks of the API (to test delivery's own).
    pub async fn raw_endpoint(&self, url: &str) -> WebhookEndpoint {
        let mut endpoint = self.endpoint("http://127.0.0.1:9/placeholder", None).await;
        self.db.store.delete_webhook_endpoint(&self.group.id, &endpoint.id).await.unwrap();
        endpoint.url = url.to_owned();
        endpoint.id = sonarly_domain::id::new_prefixed_ulid("we", self.clock.now());
        self.db.store.insert_webhook_endpoint(&endpoint).await.unwrap();
        endpoint
    }

    pub async fn event(&self, credits: i64) -> Event {
        let data = credits_low_data(&self.group.id, credits);
        self.db.store.append_event(&self.group.id, EventType::CreditsLow, &data, self.clock.now()).await.unwrap()
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Delivers what is due, then moves the clock past the longest next retry delay, `rounds` times.
    pub async fn deliver_for(&self, engine: &Engine, rounds: usize, step_ms: i64) {
        for _ in 0..rounds {
            engine.run_webhooks_until_idle().await;
            self.clock.advance_millis(step_ms);
        }
        engine.run_webhooks_until_idle().await;
    }
}
