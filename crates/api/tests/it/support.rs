//! A `TestApp`: the real router over a fresh database, with typed helpers to
//! seed groups, keys and audiences and to send requests in process.
//!
//! Time is an input: the app runs on a [`ManualClock`] that starts at
//! [`TEST_START`] (a Wednesday, 10:00 UTC, inside every default working day)
//! and moves only when a test moves it, so no answer depends on when the
//! suite runs.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use sonarly_api::AppState;
use sonarly_app::keys::NewKey;
use sonarly_domain::Timestamp;
use sonarly_domain::clock::{Clock, ManualClock, SharedClock};
use sonarly_domain::models::{AccountGroup, Audience};
use sonarly_domain::scope::ScopeSet;
use sonarly_testkit::{TestBackend, TestDb};
use std::sync::Arc;
use tower::ServiceExt;

/// Where every `TestApp`'s clock starts: Wednesday 2026-06-03, 10:00 UTC.
pub const TEST_START: &str = "2026-06-03T10:00:00Z";

pub struct TestApp {
    pub db: TestDb,
    pub router: Router,
    pub state: AppState,
    /// The app's clock; `advance_millis` moves the API and the workers alike.
    pub clock: ManualClock,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The body without its trace id, to compare two answers.
    pub fn body_without_trace(&self) -> Value {
        let mut body = self.body.clone();
        body.as_object_mut().map(|o| o.remove("traceId"));
        body
    }
}

impl TestApp {
    pub async fn new(backend: TestBackend) -> Self {
        Self::with_routes(backend, |_| Router::new(), Vec::new()).await
    }

    /// Mounts extra routes behind the full pipeline (auth, scopes, envelope).
    pub async fn with_routes(
        backend: TestBackend,
        extra: impl FnOnce(&AppState) -> Router<AppState>,
        access: Vec<sonarly_api::ExtraRoute>,
    ) -> Self {
        let db = TestDb::new(backend).await.expect("test database");
        let clock = ManualClock::new(Timestamp::parse_rfc3339(TEST_START).expect("TEST_START"));
        let shared: SharedClock = Arc::new(clock.clone());
        let state = AppState::new(db.store.clone(), shared).await.unwrap();
        let router = sonarly_api::router_with(state.clone(), extra(&state), access);
        Self { db, router, state, clock }
    }

    /// The app's current time in milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.clock.now().as_millis()
    }

    /// The background workers, driven by hand.
    pub fn engine(&self) -> sonarly_engine::Engine {
        sonarly_engine::Engine::new(
            self.db.store.clone(),
            self.state.registry.clone(),
            self.state.clock.clone(),
            "test",
        )
    }

    /// A group with a sandbox Sales Navigator account, on `plan` with `credits`.
    pub async fn prospecting_group(&self, plan: sonarly_domain::prospecting::Plan, credits: i64) -> AccountGroup {
        let group = sonarly_app::accounts::create_group_on(&self.db.store, &self.clock, "Prospecting", plan, credits)
            .await
            .unwrap();
        let input = sonarly_app::linkedin::ConnectAccount {
            group_id: group.id.clone(),
            name: "Sandbox".into(),
            account_type: sonarly_linkedin::AccountType::SalesNavigator,
            rules: Default::default(),
            provider: sonarly_app::linkedin::ProviderSetup::Sandbox(Default::default()),
        };
        sonarly_app::linkedin::connect_account(&self.db.store, &self.clock, input).await.unwrap();
        group
    }

    pub async fn group(&self, name: &str) -> AccountGroup {
        sonarly_app::accounts::create_group(&self.db.store, &self.clock, name).await.unwrap()
    }

    /// A key for `groups` with `scopes` (`all` or a list) and a rate limit.
    pub async fn key_with(&self, groups: &[&AccountGroup], scopes: &str, rate: u32) -> String {
        let new = NewKey {
            name: "test".into(),
            group_ids: groups.iter().map(|g| g.id.clone()).collect(),
            scopes: ScopeSet::parse(scopes).unwrap(),
            rate_limit_per_minute: rate,
        };
        let (_, generated) = sonarly_app::keys::create_key(&self.db.store, &self.clock, new).await.unwrap();
        generated.plaintext().to_owned()
    }

    pub async fn key(&self, groups: &[&AccountGroup]) -> String {
        self.key_with(groups, "all", 10_000).await
    }

    pub async fn audience(&self, group: &AccountGroup, name: &str, at_ms: i64, filling_job: Option<&str>) -> Audience {
        let at = Timestamp::from_millis(at_ms);
        let audience = Audience {
            id: sonarly_domain::id::new_audience_id(at),
            group_id: group.id.clone(),
            name: name.into(),
            audience_type: sonarly_domain::folder::AudienceType::LinkedInSearch,
            description: None,
            folder_id: None,
            prospect_count: 250,
            filling_job_id: filling_job.map(Into::into),
            created_at: at,
            updated_at: at,
        };
        self.db.store.insert_audience(&audience).await.unwrap();
        audience
    }

    /// Another instance of the server on this app's database, as a load
    /// balancer would reach it: its own store handle, key cache and limiters,
    /// on the same clock.
    pub async fn instance(&self) -> Router {
        let store = sonarly_store::Store::connect(&self.db.url).await.expect("second store handle");
        let state = AppState::new(store, Arc::new(self.clock.clone())).await.unwrap();
        sonarly_api::router(state)
    }

    /// A GET answered by `instance` (see [`Self::instance`]).
    pub async fn get_on(&self, instance: &Router, path: &str, key: &str) -> Reply {
        let req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header("authorization", format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        reply(instance.clone().oneshot(req).await.unwrap()).await
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(key) = key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        reply(self.router.clone().oneshot(req.body(body).unwrap()).await.unwrap()).await
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.send(Method::GET, path, Some(key), &[], Body::empty()).await
    }

    pub async fn post_json(&self, path: &str, key: &str, headers: &[(&str, &str)], json: &str) -> Reply {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.send(Method::POST, path, Some(key), &all, Body::from(json.to_owned())).await
    }
}

async fn reply(response: axum::response::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{status}: body is not JSON: {}", String::from_utf8_lossy(&bytes)));
    Reply { status, headers, body }
}

/// Asserts the error envelope shape, status and code.
pub fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status.as_u16(), status, "body: {}", reply.body);
    assert_eq!(reply.body["success"], false);
    assert!(reply.body["data"].is_null());
    assert_eq!(reply.code(), code, "body: {}", reply.body);
    assert!(reply.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_trace(reply);
}

/// The trace id is `trace_` + ULID, in the body and in the header alike.
pub fn assert_trace(reply: &Reply) {
    let trace = reply.body["traceId"].as_str().expect("traceId");
    assert!(trace.starts_with("trace_") && trace.len() == 32, "{trace}");
    assert_eq!(reply.header("x-trace-id"), trace);
}
