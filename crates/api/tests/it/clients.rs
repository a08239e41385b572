//! Who may call, and how often they may fail: the failed-authentication limit
//! per client address (on the limiters' manual clock) and CORS for an
//! operator's allow-list of origins (docs/decisions.md, "Failed
//! authentication" and "CORS").

use crate::support::*;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use sonarly_api::cors::CorsPolicy;
use sonarly_api::ratelimit::{FakeRelativeClock, LimiterClock, RateLimits};
use sonarly_testkit::both_backends;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

/// A hang guard: no test here may hold the shared build lock for long.
async fn within_deadline(test: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(120), test).await.expect("the test finished within its deadline");
}

/// Rebuilds `app`'s router allowing `per_minute` failed authentications per
/// address, on a manual limiter clock returned to the test.
fn failure_limit(app: &mut TestApp, per_minute: u32) -> FakeRelativeClock {
    let clock = FakeRelativeClock::default();
    let limits = RateLimits::with_clock(LimiterClock::manual(clock.clone())).with_auth_failures_per_minute(per_minute);
    app.state.rate_limits = Arc::new(limits);
    app.router = sonarly_api::router(app.state.clone());
    clock
}

/// `GET path` with `key` from `from` (the connection info the server sets).
async fn get_from(app: &TestApp, from: Option<&str>, path: &str, key: &str) -> Reply {
    let mut request = Request::get(path).header("authorization", format!("Bearer {key}")).body(Body::empty()).unwrap();
    if let Some(from) = from {
        request.extensions_mut().insert(ConnectInfo(from.parse::<SocketAddr>().unwrap()));
    }
    let response = app.router.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply { status, headers, body: serde_json::from_slice(&bytes).unwrap() }
}

const WRONG: &str = "sk_live_0000000000000000000000000000000000000000000000000000000000000000";

both_backends!(an_address_that_keeps_failing_authentication_is_refused_until_its_budget_refills, |backend| {
    within_deadline(async move {
        let mut app = TestApp::new(backend).await;
        let clock = failure_limit(&mut app, 3);
        let group = app.group("G").await;
        let key = app.key(&[&group]).await;
        let (attacker, neighbour) = (Some("203.0.113.7:50000"), Some("203.0.113.8:50000"));

        // 3 a minute: one failure's share is 20 s. Malformed, unknown and missing keys all count.
        for bad in [WRONG, "not-a-key", ""] {
            assert_error(&get_from(&app, attacker, "/v1/accounts", bad).await, 401, "UNAUTHORIZED");
        }
        let refused = get_from(&app, attacker, "/v1/accounts", WRONG).await;
        assert_error(&refused, 429, "RATE_LIMIT_EXCEEDED");
        assert_eq!(refused.header("retry-after"), "20");
        assert!(refused.body["error"]["message"].as_str().unwrap().contains("failed authentications"));
        assert_eq!(refused.header("ratelimit-limit"), "", "the key budget headers belong to keys");

        // Blocked before any key is looked up: a good key from that address waits too…
        clock.advance(Duration::from_secs(5));
        let waiting = get_from(&app, attacker, "/v1/accounts", &key).await;
        assert_error(&waiting, 429, "RATE_LIMIT_EXCEEDED");
        assert_eq!(waiting.header("retry-after"), "15");
        // …while other addresses are not affected.
        assert_eq!(get_from(&app, neighbour, "/v1/accounts", &key).await.status, 200);
        assert_error(&get_from(&app, neighbour, "/v1/accounts", WRONG).await, 401, "UNAUTHORIZED");

        // Waiting Retry-After is enough; one failure's share came back.
        clock.advance(Duration::from_secs(15));
        assert_eq!(get_from(&app, attacker, "/v1/accounts", &key).await.status, 200);
        assert_error(&get_from(&app, attacker, "/v1/accounts", WRONG).await, 401, "UNAUTHORIZED");
        assert_error(&get_from(&app, attacker, "/v1/accounts", WRONG).await, 429, "RATE_LIMIT_EXCEEDED");
        // Successes do not count: a key used all day from an address never trips it.
        clock.advance(Duration::from_secs(60));
        for _ in 0..10 {
            assert_eq!(get_from(&app, attacker, "/v1/accounts", &key).await.status, 200);
        }
    })
});

both_backends!(without_an_address_every_request_shares_one_bucket_and_zero_turns_the_limit_off, |backend| {
    within_deadline(async move {
        let mut app = TestApp::new(backend).await;
        failure_limit(&mut app, 2);
        for _ in 0..2 {
            assert_error(&get_from(&app, None, "/v1/accounts", WRONG).await, 401, "UNAUTHORIZED");
        }
        assert_error(&get_from(&app, None, "/v1/accounts", WRONG).await, 429, "RATE_LIMIT_EXCEEDED");
        failure_limit(&mut app, 0);
        for _ in 0..100 {
            assert_error(&get_from(&app, Some("203.0.113.9:1"), "/v1/accounts", WRONG).await, 401, "UNAUTHORIZED");
        }
    })
});

/// One request over a fresh connection from `local` (an address on the
/// loopback network) to `server`: the status line's code.
async fn status_over_tcp(local: &str, server: SocketAddr, key: &str) -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{local}:0").parse().unwrap()).unwrap();
    let mut stream = socket.connect(server).await.unwrap();
    let request =
        format!("GET /v1/accounts HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("no status line: {text}"))
}

both_backends!(the_server_counts_failures_by_the_connections_peer_address, |backend| {
    within_deadline(async move {
        let mut app = TestApp::new(backend).await;
        failure_limit(&mut app, 2);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server =
            tokio::spawn(sonarly_api::server::serve(listener, app.router.clone(), Default::default(), async {
                let _ = stopped.await;
            }));
        assert_eq!(status_over_tcp("127.0.0.1", addr, WRONG).await, 401);
        assert_eq!(status_over_tcp("127.0.0.1", addr, WRONG).await, 401);
        assert_eq!(status_over_tcp("127.0.0.1", addr, WRONG).await, 429);
        // Another address of the loopback network is another client.
        assert_eq!(status_over_tcp("127.0.0.2", addr, WRONG).await, 401);
        let _ = stop.send(());
        server.await.unwrap();
    })
});

fn header_list(reply: &Reply, name: &str) -> Vec<String> {
    reply.header(name).split(',').map(|v| v.trim().to_ascii_lowercase()).filter(|v| !v.is_empty()).collect()
}

async fn preflight(app: &TestApp, path: &str, origin: &str) -> (u16, Reply) {
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri(path)
        .header("origin", origin)
        .header("access-control-request-method", "PATCH")
        .header("access-control-request-headers", "authorization, content-type, idempotency-key")
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() { serde_json::Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
    (status.as_u16(), Reply { status, headers, body })
}

both_backends!(without_an_allow_list_there_is_no_cors_and_options_is_answered_as_before, |backend| {
    within_deadline(async move {
        let app = TestApp::new(backend).await;
        let group = app.group("G").await;
        let key = app.key(&[&group]).await;
        let (status, reply) = preflight(&app, "/v1/accounts", "https://a.example").await;
        assert_eq!(status, 405);
        assert_error(&reply, 405, "METHOD_NOT_ALLOWED");
        assert_eq!(reply.header("access-control-allow-origin"), "");
        let (_, ops) = preflight(&app, "/healthz", "https://a.example").await;
        assert_error(&ops, 405, "METHOD_NOT_ALLOWED");
        let with_key = app
            .send(Method::OPTIONS, "/v1/accounts", Some(&key), &[("origin", "https://a.example")], Body::empty())
            .await;
        assert_error(&with_key, 405, "METHOD_NOT_ALLOWED");
        let listed =
            app.send(Method::GET, "/v1/accounts", Some(&key), &[("origin", "https://a.example")], Body::empty()).await;
        assert_eq!(listed.status, 200);
        assert_eq!(listed.header("access-control-allow-origin"), "");
    })
});

both_backends!(listed_origins_get_preflights_and_readable_answers_others_do_not, |backend| {
    within_deadline(async move {
        let mut app = TestApp::new(backend).await;
        let group = app.group("G").await;
        let key = app.key(&[&group]).await;
        let policy = CorsPolicy::new(&["https://a.example", "http://localhost:3000"]).unwrap();
        app.state = app.state.clone().with_cors(policy);
        app.router = sonarly_api::router(app.state.clone());
        let audience = format!("/v1/accounts/{}/audiences/aud_x", group.id);

        let (status, allowed) = preflight(&app, &audience, "https://a.example").await;
        assert_eq!(status, 204, "answered before authentication, with no body");
        assert!(allowed.body.is_null());
        assert_eq!(allowed.header("access-control-allow-origin"), "https://a.example");
        assert!(header_list(&allowed, "access-control-allow-methods").contains(&"patch".to_owned()));
        let headers = header_list(&allowed, "access-control-allow-headers");
        for needed in ["authorization", "content-type", "idempotency-key"] {
            assert!(headers.contains(&needed.to_owned()), "{needed} in {headers:?}");
        }
        assert_eq!(allowed.header("access-control-max-age"), "600");
        assert!(allowed.header("x-trace-id").starts_with("trace_"));
        assert_eq!(allowed.header("access-control-allow-credentials"), "");

        // Another origin's preflight is answered as if there were no CORS.
        let (status, other) = preflight(&app, &audience, "https://evil.example").await;
        assert_eq!(status, 405);
        assert_error(&other, 405, "METHOD_NOT_ALLOWED");
        assert_eq!(other.header("access-control-allow-origin"), "");

        // Actual requests: a listed origin can read the answer, errors included, and the headers it needs.
        let from = |origin: &'static str| [("origin", origin)];
        let ok = app.send(Method::GET, "/v1/accounts", Some(&key), &from("http://localhost:3000"), Body::empty()).await;
        assert_eq!(ok.status, 200);
        assert_eq!(ok.header("access-control-allow-origin"), "http://localhost:3000");
        let exposed = header_list(&ok, "access-control-expose-headers");
        for readable in ["x-trace-id", "ratelimit-remaining", "retry-after", "idempotent-replayed"] {
            assert!(exposed.contains(&readable.to_owned()), "{readable} in {exposed:?}");
        }
        assert!(header_list(&ok, "vary").contains(&"origin".to_owned()));
        let refused = app
            .send(Method::GET, "/v1/accounts", Some("sk_live_wrong"), &from("https://a.example"), Body::empty())
            .await;
        assert_error(&refused, 401, "UNAUTHORIZED");
        assert_eq!(refused.header("access-control-allow-origin"), "https://a.example");
        let foreign =
            app.send(Method::GET, "/v1/accounts", Some(&key), &from("https://evil.example"), Body::empty()).await;
        assert_eq!(foreign.status, 200);
        assert_eq!(foreign.header("access-control-allow-origin"), "");
        assert!(header_list(&foreign, "vary").contains(&"origin".to_owned()), "caches keep the two apart");

        // OPTIONS without a preflight's headers is an ordinary request.
        let plain = app.send(Method::OPTIONS, "/v1/accounts", Some(&key), &[], Body::empty()).await;
        assert_error(&plain, 405, "METHOD_NOT_ALLOWED");
    })
});
