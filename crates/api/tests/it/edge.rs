use crate::support::*;
use axum::body::Body;
use axum::http::Method;
use sonarly_domain::scope::{RouteAccess, Scope};
use sonarly_testkit::both_backends;

both_backends!(unknown_routes_wrong_methods_and_ops_use_the_envelope, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    assert_error(&app.get("/nope", &key).await, 404, "NOT_FOUND");
    assert_error(&app.get("/v1/accounts/x/unknown-thing", &key).await, 404, "NOT_FOUND");
    let wrong = app.send(Method::DELETE, "/healthz", None, &[], Body::empty()).await;
    assert_error(&wrong, 405, "METHOD_NOT_ALLOWED");
    let wrong = app.send(Method::PUT, "/v1/accounts", Some(&key), &[], Body::empty()).await;
    assert_error(&wrong, 405, "METHOD_NOT_ALLOWED");

    let health = app.send(Method::GET, "/healthz", None, &[], Body::empty()).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["data"]["status"], "ok");
    assert_trace(&health);
    let ready = app.send(Method::GET, "/readyz", None, &[], Body::empty()).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["data"]["status"], "ready");

    // After the database goes away, readiness says so in the envelope.
    app.db.store.close().await;
    let gone = app.send(Method::GET, "/readyz", None, &[], Body::empty()).await;
    assert_error(&gone, 503, "SERVICE_UNAVAILABLE");
    // So does every route that needs a connection: busy, not broken (503 with
    // Retry-After, never a 500), the key's budget untouched.
    for path in ["/v1/accounts".to_owned(), format!("/v1/accounts/{}/audiences", group.id)] {
        let busy = app.get(&path, &key).await;
        assert_error(&busy, 503, "SERVICE_UNAVAILABLE");
        assert_eq!(busy.header("retry-after"), "1", "{path}");
        assert_trace(&busy);
    }
});

both_backends!(bodies_are_validated_inside_the_envelope, |backend| async move {
    use axum::routing::post;
    use sonarly_api::extract::ApiJson;
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Input {
        name: String,
        count: u8,
    }
    async fn echo(ApiJson(input): ApiJson<Input>) -> axum::response::Response {
        sonarly_api::envelope::ok(serde_json::json!({ "name": input.name }))
    }
    async fn boom() -> axum::response::Response {
        panic!("boom")
    }
    let app = TestApp::with_routes(
        backend,
        |_| {
            axum::Router::new()
                .route("/v1/accounts/{accountGroupId}/test/echo", post(echo))
                .route("/v1/accounts/{accountGroupId}/test/boom", post(boom))
        },
        vec![
            ("POST", "/v1/accounts/{accountGroupId}/test/echo", RouteAccess::Scope(Scope::TemplatesWrite)),
            ("POST", "/v1/accounts/{accountGroupId}/test/boom", RouteAccess::Scope(Scope::TemplatesWrite)),
        ],
    )
    .await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let path = format!("/v1/accounts/{}/test/echo", group.id);

    let good = app.post_json(&path, &key, &[], r#"{"name":"x","count":3}"#).await;
    assert_eq!(good.status, 200, "{}", good.body);
    let malformed = app.post_json(&path, &key, &[], r#"{"name":"#).await;
    assert_error(&malformed, 400, "VALIDATION_ERROR");
    let wrong_type = app.post_json(&path, &key, &[], r#"{"name":"x","count":"three"}"#).await;
    assert_error(&wrong_type, 400, "VALIDATION_ERROR");
    assert_eq!(wrong_type.body["error"]["fields"][0]["field"], "count");
    let missing = app.post_json(&path, &key, &[], r#"{"count":1}"#).await;
    assert_error(&missing, 400, "VALIDATION_ERROR");
    assert!(missing.body["error"]["details"].as_str().unwrap().contains("name"));
    let overflow = app.post_json(&path, &key, &[], r#"{"name":"x","count":300}"#).await;
    assert_error(&overflow, 400, "VALIDATION_ERROR");
    let not_json = app.send(Method::POST, &path, Some(&key), &[("content-type", "text/plain")], Body::from("hi")).await;
    assert_error(&not_json, 415, "UNSUPPORTED_MEDIA_TYPE");
    let huge = format!(r#"{{"name":"{}","count":1}}"#, "x".repeat(2 * 1024 * 1024));
    assert_error(&app.post_json(&path, &key, &[], &huge).await, 413, "PAYLOAD_TOO_LARGE");

    let panicked = app.post_json(&format!("/v1/accounts/{}/test/boom", group.id), &key, &[], "{}").await;
    assert_error(&panicked, 500, "INTERNAL_ERROR");
});

both_backends!(head_requests_need_what_get_needs, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key_with(&[&group], "audiences:read", 100).await;
    let head = |path: String| {
        let key = key.clone();
        let router = app.router.clone();
        async move {
            let req =
                axum::http::Request::head(path).header("authorization", format!("Bearer {key}")).body(Body::empty());
            tower::ServiceExt::oneshot(router, req.unwrap()).await.unwrap().status().as_u16()
        }
    };
    assert_eq!(head("/v1/accounts".into()).await, 200);
    assert_eq!(head(format!("/v1/accounts/{}/audiences", group.id)).await, 200);
});

/// One answer read off a raw HTTP/1.1 connection.
struct RawAnswer {
    status: u16,
    /// The server announced `Connection: close`.
    close: bool,
    body: serde_json::Value,
}

/// A request as a client library sends it: the head, then the body in a second write.
struct RawRequest {
    head: Vec<u8>,
    body: Vec<u8>,
}

fn raw_request(method: &str, path: &str, key: &str, body: &[u8]) -> RawRequest {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    RawRequest { head: head.into_bytes(), body: body.to_vec() }
}

fn raw_get(path: &str, key: &str) -> RawRequest {
    let head = format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {key}\r\n\r\n");
    RawRequest { head: head.into_bytes(), body: Vec::new() }
}

/// Sends `request` and reads one whole answer (status line, headers, a
/// `content-length` body). A connection that ends early is an error.
async fn exchange(
    conn: &mut tokio::io::BufReader<tokio::net::TcpStream>,
    request: &RawRequest,
) -> std::io::Result<RawAnswer> {
    use std::io::{Error, ErrorKind};
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let closed = || Error::new(ErrorKind::UnexpectedEof, "connection closed without a whole response");
    conn.get_mut().write_all(&request.head).await?;
    if !request.body.is_empty() {
        // Let the server see the head alone first, as it often does in the wild.
        tokio::task::yield_now().await;
        conn.get_mut().write_all(&request.body).await?;
    }
    let mut line = String::new();
    if conn.read_line(&mut line).await? == 0 {
        return Err(closed());
    }
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| Error::other(line.clone()))?;
    let (mut length, mut close) = (None, false);
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 {
            return Err(closed());
        }
        let Some((name, value)) = line.trim_end().split_once(':') else { break };
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse::<usize>().ok(),
            "connection" => close = value.trim().eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let mut body = vec![0; length.ok_or_else(|| Error::other("answer without content-length"))?];
    conn.read_exact(&mut body).await?;
    Ok(RawAnswer { status, close, body: serde_json::from_slice(&body).map_err(Error::other)? })
}

both_backends!(keep_alive_connections_survive_early_errors_on_requests_with_bodies, |backend| async move {
    use sonarly_api::ratelimit::{FakeRelativeClock, LimiterClock, RateLimits};
    use tokio::io::BufReader;
    use tokio::net::{TcpListener, TcpStream};

    let mut app = TestApp::new(backend).await;
    // The limiter never refills, so the tiny key stays refused for the whole test.
    app.state.rate_limits =
        std::sync::Arc::new(RateLimits::with_clock(LimiterClock::manual(FakeRelativeClock::default())));
    let group = app.group("G").await;
    let key = app.key_with(&[&group], "all", 1_000_000).await;
    let reader = app.key_with(&[&group], "audiences:read", 1_000_000).await;
    let tiny = app.key_with(&[&group], "all", 1).await;

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, sonarly_api::router(app.state.clone())).into_future());
    let connect = || async move {
        let stream = TcpStream::connect(addr).await.unwrap();
        // A head and body in two writes must not wait for Nagle's algorithm.
        stream.set_nodelay(true).unwrap();
        BufReader::new(stream)
    };

    let audiences = format!("/v1/accounts/{}/audiences", group.id);
    let success = raw_get("/v1/accounts", &key);
    let mut conn = connect().await;
    let spend = raw_get("/v1/accounts", &tiny);
    assert_eq!(exchange(&mut conn, &spend).await.unwrap().status, 200, "the tiny key's one request");

    // Just over the limit (the end may arrive with the bytes that cross it) and twice the limit.
    let limit = sonarly_api::MAX_REQUEST_BODY_BYTES;
    let just_over = format!(r#"{{"name":"{}"}}"#, "x".repeat(limit));
    let twice = format!(r#"{{"name":"{}"}}"#, "x".repeat(2 * limit));
    let (mut dropped, mut closed_after, mut twice_sent) = (Vec::new(), Vec::new(), 0);
    for i in 0..1_000usize {
        // Small bodies of varied sizes, so they arrive in one or several pieces.
        let small = format!(r#"{{"name":"{}"}}"#, "x".repeat(10 + (i * 97) % 5_000));
        let (status, code, request) = match i % 5 {
            0 => (401, "UNAUTHORIZED", raw_request("POST", &audiences, "sk_live_wrong", small.as_bytes())),
            1 => (403, "SCOPE_DENIED", raw_request("POST", &audiences, &reader, small.as_bytes())),
            2 => (405, "METHOD_NOT_ALLOWED", raw_request("PUT", "/v1/accounts", &key, small.as_bytes())),
            3 => (429, "RATE_LIMIT_EXCEEDED", raw_request("POST", &audiences, &tiny, small.as_bytes())),
            _ if i % 10 == 4 => (413, "PAYLOAD_TOO_LARGE", raw_request("POST", &audiences, &key, just_over.as_bytes())),
            _ => {
                twice_sent += 1;
                (413, "PAYLOAD_TOO_LARGE", raw_request("POST", &audiences, &key, twice.as_bytes()))
            }
        };
        match exchange(&mut conn, &request).await {
            Ok(answer) => {
                assert_eq!((answer.status, answer.body["error"]["code"].as_str()), (status, Some(code)), "pair {i}");
                if answer.close {
                    closed_after.push(status);
                    conn = connect().await;
                }
            }
            Err(e) => {
                dropped.push(format!("pair {i}, {status}: {e}"));
                conn = connect().await;
            }
        }
        match exchange(&mut conn, &success).await {
            Ok(answer) => assert_eq!((answer.status, answer.close), (200, false), "pair {i}: {}", answer.body),
            Err(e) => {
                dropped.push(format!("pair {i}, 200 after {status}: {e}"));
                conn = connect().await;
            }
        }
    }
    // A client waiting for `100 Continue` is answered at once, without being
    // asked for a body that is refused anyway, and told the connection ends.
    let mut waiting = raw_request("POST", &audiences, "sk_live_wrong", b"");
    waiting.head = String::from_utf8(waiting.head)
        .unwrap()
        .replace("content-length: 0", "expect: 100-continue\r\ncontent-length: 20")
        .into_bytes();
    let answer = exchange(&mut conn, &waiting).await.unwrap();
    assert_eq!((answer.status, answer.close), (401, true));

    server.abort();
    assert!(dropped.is_empty(), "{} dropped answers, first: {:?}", dropped.len(), &dropped[..dropped.len().min(5)]);
    // Small bodies are drained and the connection kept. Only a body above the
    // limit may end it, always announced; one twice the limit always does.
    assert!(closed_after.iter().all(|status| *status == 413), "{closed_after:?}");
    assert!(closed_after.len() >= twice_sent, "{} closes for {twice_sent} bodies twice the limit", closed_after.len());
});

/// A `MakeWriter` collecting every log line written.
#[derive(Clone, Default)]
struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
    type Writer = Lines;
    fn make_writer(&'a self) -> Lines {
        self.clone()
    }
}

#[tokio::test]
async fn a_line_logged_inside_a_request_carries_its_trace_id() {
    // A process-wide subscriber (set once for this test binary): a thread-local one would miss
    // callsites that another test's thread registered first, when no one was listening.
    static LINES: std::sync::OnceLock<Lines> = std::sync::OnceLock::new();
    let lines = LINES
        .get_or_init(|| {
            let lines = Lines::default();
            let subscriber = tracing_subscriber::fmt().json().with_writer(lines.clone()).finish();
            tracing::subscriber::set_global_default(subscriber).expect("no other test sets a global subscriber");
            lines
        })
        .clone();
    let app = TestApp::new(sonarly_testkit::TestBackend::Sqlite).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    // The use case logs why it answers 503 (the store is closed), deep inside the request.
    app.db.store.close().await;
    let busy = app.get(&format!("/v1/accounts/{}/audiences", group.id), &key).await;
    assert_error(&busy, 503, "SERVICE_UNAVAILABLE");
    let written = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let trace_id = busy.header("x-trace-id").to_owned();
    // Other tests of this binary log here too: the lines of this request are the ones carrying its trace id.
    let inside: Vec<serde_json::Value> = written
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "storage busy: answered 503")
        .filter(|l| l["span"]["trace_id"] == trace_id.as_str())
        .collect();
    assert_eq!(inside.len(), 1, "one line of this request, in its span: {written}");
    assert_eq!(inside[0]["span"]["name"], "request", "{written}");
}
