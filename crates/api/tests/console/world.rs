//! The console's world: the real router (API and console) served on
//! 127.0.0.1 and a free port, over a fresh SQLite database with the Demo group
//! and key that `sonarly serve` creates on a first start, on a [`ManualClock`];
//! and the engine, stepped by the test (never spawned), so that time moves and
//! the sandbox accepts invitations and replies only when the test says so.

use serde_json::Value;
use sonarly_api::AppState;
use sonarly_app::keys::NewKey;
use sonarly_domain::Timestamp;
use sonarly_domain::clock::{ManualClock, SharedClock};
use sonarly_domain::models::AccountGroup;
use sonarly_domain::scope::{Scope, ScopeSet};
use sonarly_engine::Engine;
use sonarly_linkedin::sandbox::SandboxConfig;
use sonarly_testkit::{TestBackend, TestDb};
use std::sync::Arc;

/// Where the clock starts: Wednesday 2026-06-03, 10:00 UTC (the Demo seats
/// work around the clock, so the hour matters to nothing).
pub const START: &str = "2026-06-03T10:00:00Z";

pub struct World {
    pub db: TestDb,
    pub clock: ManualClock,
    pub engine: Engine,
    /// `http://127.0.0.1:PORT`, the console's own origin.
    pub base: String,
    pub group: AccountGroup,
    /// The Demo key (all scopes).
    pub key: String,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl World {
    /// The server with the Demo group, its two sandbox seats (their luck
    /// pinned, so every run meets the same people) and its key; `extra` routes
    /// are served beside the application (the harness's own test page).
    pub async fn start(extra: axum::Router) -> Self {
        let db = TestDb::new(TestBackend::Sqlite).await.expect("SQLite test database");
        let clock = ManualClock::new(Timestamp::parse_rfc3339(START).unwrap());
        let shared: SharedClock = Arc::new(clock.clone());
        let state = AppState::new(db.store.clone(), shared.clone()).await.unwrap();
        let (group, key) = sonarly_app::keys::ensure_demo(&db.store, &clock)
            .await
            .unwrap()
            .expect("an empty database gets a Demo group");
        pin_seats(&db, &group, &clock).await;
        let engine = Engine::new(db.store.clone(), state.registry.clone(), shared, "console-test")
            .with_composer(state.composer.clone());

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = extra.merge(sonarly_api::router(state));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            // Idle keep-alive connections (the test's own client) are not waited for long at the end.
            let config = sonarly_api::server::ServerConfig {
                shutdown_timeout: std::time::Duration::from_secs(1),
                ..Default::default()
            };
            sonarly_api::server::serve(listener, app, config, shutdown).await;
        });
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap();
        Self {
            db,
            clock,
            engine,
            base,
            group,
            key: key.plaintext().to_owned(),
            http,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// Moves the clock `ms` forward and runs the engine until nothing is due.
    pub async fn tick(&self, ms: i64) {
        self.clock.advance_millis(ms);
        self.engine.run_until_idle().await;
    }

    /// A key of the Demo group with every scope but `without`.
    pub async fn key_without(&self, without: Scope) -> String {
        let scopes: Vec<&str> =
            ScopeSet::all().iter().filter(|s| *s != without).map(|s| s.as_str()).collect::<Vec<_>>();
        let new = NewKey {
            name: format!("without {}", without.as_str()),
            group_ids: vec![self.group.id.clone()],
            scopes: ScopeSet::parse(&scopes.join(",")).unwrap(),
            rate_limit_per_minute: sonarly_domain::models::DEFAULT_KEY_RATE_LIMIT_PER_MINUTE,
        };
        let (_, generated) = sonarly_app::keys::create_key(&self.db.store, &self.clock, new).await.unwrap();
        generated.plaintext().to_owned()
    }

    /// `GET /v1/accounts/{group}{path}` with the Demo key: the answer's `data`.
    pub async fn api_get(&self, path: &str) -> Value {
        let url = format!("{}/v1/accounts/{}{path}", self.base, self.group.id);
        let reply = self.http.get(&url).bearer_auth(&self.key).send().await.unwrap();
        let status = reply.status();
        let body: Value = reply.json().await.unwrap();
        assert!(status.is_success(), "GET {url}: {status}: {body}");
        body["data"].clone()
    }

    /// A JSON request (`POST`, `PATCH`) on the group with the Demo key: the answer's `data`.
    pub async fn api_send(&self, method: reqwest::Method, path: &str, json: Value) -> Value {
        let url = format!("{}/v1/accounts/{}{path}", self.base, self.group.id);
        let reply = self.http.request(method.clone(), &url).bearer_auth(&self.key).json(&json).send().await.unwrap();
        let status = reply.status();
        let body: Value = reply.json().await.unwrap();
        assert!(status.is_success(), "{method} {url}: {status}: {body}");
        body["data"].clone()
    }

    /// Stops the server (requests under way may finish).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(30), server).await;
        }
    }
}

/// Gives each Demo seat a fixed sandbox seed (they derive one from their random
/// ids otherwise): who accepts and who replies is then the same on every run.
async fn pin_seats(db: &TestDb, group: &AccountGroup, clock: &ManualClock) {
    let seats = db.store.group_linkedin_accounts(&group.id).await.unwrap();
    assert!(!seats.is_empty(), "the Demo group has seats");
    for (k, seat) in seats.iter().enumerate() {
        let mut config: SandboxConfig = serde_json::from_str(&seat.provider_settings).unwrap();
        config.account_seed = sonarly_testkit::TEST_ACCOUNT_SEED + k as u64;
        let pinned = serde_json::to_string(&config).unwrap();
        let now = sonarly_domain::clock::Clock::now(clock);
        let done = db.store.replace_linkedin_provider_settings(&seat.id, &seat.provider_settings, &pinned, now).await;
        assert!(done.unwrap(), "the seat's settings were replaced");
    }
}
