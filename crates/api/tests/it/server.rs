//! The server loop on a real socket (`sonarly_api::server`): header, idle and
//! body timeouts, protocol errors in the envelope, and the bounded shutdown.
//!
//! Timeouts are configured short (300 ms) and closure is only asserted to come
//! within a generous bound, so no test depends on the machine's speed.

use crate::support::*;
use serde_json::Value;
use sonarly_api::server::{ServerConfig, ShutdownReport, serve};
use sonarly_testkit::both_backends;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(60);
/// Anything that should happen "after a timeout" must happen within this.
const BOUND: Duration = Duration::from_secs(10);

/// Every timeout long except the ones a test sets.
fn config() -> ServerConfig {
    ServerConfig { header_timeout: LONG, idle_timeout: LONG, body_timeout: LONG, shutdown_timeout: LONG }
}

struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: JoinHandle<ShutdownReport>,
}

impl Running {
    async fn start(app: &TestApp, config: ServerConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(serve(listener, app.router.clone(), config, async {
            let _ = stopped.await;
        }));
        Self { addr, stop: Some(stop), done }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.unwrap()
    }

    /// Signals the shutdown and waits until the listener is gone.
    async fn begin_shutdown(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        timeout(BOUND, async {
            while TcpStream::connect(self.addr).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the listener closes on shutdown");
    }

    async fn finished(self) -> ShutdownReport {
        timeout(BOUND + LONG, self.done).await.expect("serve returns").unwrap()
    }
}

/// One answer as read off the socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The error envelope with `status` and `code`, its trace id in the header and the body alike.
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.body["success"], false, "{self:?}");
        assert!(self.body["data"].is_null());
        assert_eq!(self.body["error"]["code"], code, "{self:?}");
        let trace = self.body["traceId"].as_str().expect("traceId");
        assert!(trace.starts_with("trace_") && trace.len() == 32, "{trace}");
        assert_eq!(self.header("x-trace-id"), Some(trace));
    }

    fn field(&self) -> &str {
        self.body["error"]["fields"][0]["field"].as_str().unwrap_or("")
    }
}

/// Reads one answer with a `content-length` body; `None` if the connection ends first.
async fn read_answer(conn: &mut TcpStream) -> Option<Answer> {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        match timeout(BOUND, conn.read(&mut byte)).await.expect("an answer or a close within the bound") {
            Ok(1) => raw.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8(raw).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0u8; length];
    timeout(BOUND, conn.read_exact(&mut body)).await.unwrap().ok()?;
    Some(Answer { status, headers, body: serde_json::from_slice(&body).unwrap_or(Value::Null) })
}

/// Asserts the server closes the connection within the bound, sending nothing more.
async fn assert_closed(conn: &mut TcpStream) {
    let mut rest = Vec::new();
    let read = timeout(BOUND, conn.read_to_end(&mut rest)).await.expect("the server closes the connection");
    // A reset after the close is a close too.
    if read.is_ok() {
        assert!(rest.is_empty(), "unexpected bytes: {}", String::from_utf8_lossy(&rest));
    }
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n").into_bytes()
}

/// The head of a POST creating a folder, announcing `length` body bytes.
fn folder_head(group: &str, key: &str, length: usize) -> Vec<u8> {
    format!(
        "POST /v1/accounts/{group}/audiences/folders HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    )
    .into_bytes()
}

const FOLDER: &str = r#"{"name":"Slow","audienceType":"on_demand"}"#;

const HOLD: &str = "/v1/accounts/{accountGroupId}/test/hold";

/// An app with a route that says when a request reached it, then reads the
/// body and answers 200: the test knows for certain a request is under way.
async fn app_with_hold(backend: sonarly_testkit::TestBackend) -> (TestApp, tokio::sync::mpsc::UnboundedReceiver<()>) {
    use axum::extract::Request;
    use sonarly_domain::scope::{RouteAccess, Scope};
    let (entered, reached) = tokio::sync::mpsc::unbounded_channel();
    let hold = move |req: Request| {
        let _ = entered.send(());
        async move {
            let bytes = axum::body::to_bytes(req.into_body(), 1 << 20).await;
            sonarly_api::envelope::ok(serde_json::json!({ "read": bytes.map(|b| b.len()).ok() }))
        }
    };
    let app = TestApp::with_routes(
        backend,
        move |_| axum::Router::new().route(HOLD, axum::routing::post(hold)),
        vec![("POST", HOLD, RouteAccess::Scope(Scope::AudiencesWrite))],
    )
    .await;
    (app, reached)
}

/// The head of a POST to the hold route, announcing `length` body bytes.
fn hold_head(group: &str, key: &str, length: usize) -> Vec<u8> {
    format!(
        "POST /v1/accounts/{group}/test/hold HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {key}\r\n\
         content-length: {length}\r\n\r\n"
    )
    .into_bytes()
}

both_backends!(a_partial_head_is_answered_408_and_a_silent_connection_closed_after_the_header_timeout, |backend| {
    async move {
        let app = TestApp::new(backend).await;
        let server = Running::start(&app, ServerConfig { header_timeout: SHORT, ..config() }).await;

        let mut partial = server.connect().await;
        partial.write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\nx-slow: ").await.unwrap();
        let answer = read_answer(&mut partial).await.expect("a 408 before the close");
        answer.assert_error(408, "REQUEST_TIMEOUT");
        assert_eq!(answer.header("connection"), Some("close"));
        assert_closed(&mut partial).await;

        let mut silent = server.connect().await;
        assert_closed(&mut silent).await;
    }
});

both_backends!(an_idle_connection_is_closed_after_the_idle_timeout_and_only_then, |backend| async move {
    let app = TestApp::new(backend).await;
    // The header timeout does not cut a connection waiting between requests.
    let server = Running::start(&app, ServerConfig { header_timeout: SHORT, ..config() }).await;
    let mut conn = server.connect().await;
    for _ in 0..2 {
        conn.write_all(&get("/healthz")).await.unwrap();
        assert_eq!(read_answer(&mut conn).await.expect("an answer on the kept connection").status, 200);
        tokio::time::sleep(SHORT * 3).await;
    }

    let server = Running::start(&app, ServerConfig { idle_timeout: SHORT, ..config() }).await;
    let mut conn = server.connect().await;
    conn.write_all(&get("/healthz")).await.unwrap();
    let answer = read_answer(&mut conn).await.unwrap();
    assert_eq!(answer.status, 200);
    assert_ne!(answer.header("connection"), Some("close"));
    assert_closed(&mut conn).await;
});

both_backends!(a_partial_body_is_answered_408_after_the_body_timeout, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let server = Running::start(&app, ServerConfig { body_timeout: SHORT, ..config() }).await;

    // A whole body in time is served, and the connection kept.
    let mut conn = server.connect().await;
    for _ in 0..2 {
        conn.write_all(&folder_head(&group.id, &key, FOLDER.len())).await.unwrap();
        conn.write_all(FOLDER.as_bytes()).await.unwrap();
        assert_eq!(read_answer(&mut conn).await.unwrap().status, 201);
    }
    // A body that stops half-way is not.
    conn.write_all(&folder_head(&group.id, &key, FOLDER.len())).await.unwrap();
    conn.write_all(&FOLDER.as_bytes()[..10]).await.unwrap();
    let answer = read_answer(&mut conn).await.expect("a 408 before the close");
    answer.assert_error(408, "REQUEST_TIMEOUT");
    assert_eq!(answer.header("connection"), Some("close"));
    assert_closed(&mut conn).await;
});

both_backends!(heads_hyper_refuses_are_answered_in_the_envelope_with_a_trace_id, |backend| async move {
    let app = TestApp::new(backend).await;
    let server = Running::start(&app, config()).await;
    let exchange = |request: Vec<u8>| {
        let addr = server.addr;
        async move {
            let mut conn = TcpStream::connect(addr).await.unwrap();
            // The server may answer before reading all of a refused head.
            let _ = conn.write_all(&request).await;
            let answer = read_answer(&mut conn).await.expect("an answer");
            assert_eq!(answer.header("connection"), Some("close"), "{answer:?}");
            answer
        }
    };

    for length in [70_000, 200_000] {
        let answer = exchange(get(&format!("/v1/{}", "a".repeat(length)))).await;
        answer.assert_error(414, "URI_TOO_LONG");
    }
    let many: String = (0..101).map(|i| format!("x-h{i}: v\r\n")).collect();
    let answer = exchange(format!("GET /healthz HTTP/1.1\r\nhost: test\r\n{many}\r\n").into_bytes()).await;
    answer.assert_error(431, "HEADERS_TOO_LARGE");
    let big = "v".repeat(100_000);
    let answer = exchange(format!("GET /healthz HTTP/1.1\r\nhost: test\r\nx-big: {big}\r\n\r\n").into_bytes()).await;
    answer.assert_error(431, "HEADERS_TOO_LARGE");

    let answer = exchange(b"GET /healthz HTTP/1.1\r\nhost: test\r\nx-bad: a\x01b\r\n\r\n".to_vec()).await;
    answer.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(answer.field(), "headers");
    let answer = exchange(b"GET /v1/\xff HTTP/1.1\r\nhost: test\r\n\r\n".to_vec()).await;
    answer.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(answer.field(), "path");

    // The server still serves.
    let mut conn = server.connect().await;
    conn.write_all(&get("/healthz")).await.unwrap();
    assert_eq!(read_answer(&mut conn).await.unwrap().status, 200);
});

both_backends!(a_path_segment_that_is_not_utf8_once_decoded_is_named, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let reply = app.get(&format!("/v1/accounts/{}/audiences/aud_%FF", group.id), &key).await;
    assert_error(&reply, 400, "VALIDATION_ERROR");
    assert_eq!(reply.body["error"]["fields"][0]["field"], "audienceId", "{}", reply.body);
    let reply = app.get("/v1/accounts/%C3%28/audiences", &key).await;
    assert_error(&reply, 400, "VALIDATION_ERROR");
    assert_eq!(reply.body["error"]["fields"][0]["field"], "accountGroupId", "{}", reply.body);
});

both_backends!(shutdown_closes_waiting_connections_at_once_and_lets_requests_under_way_finish, |backend| {
    async move {
        let (app, mut reached) = app_with_hold(backend).await;
        let group = app.group("G").await;
        let key = app.key(&[&group]).await;
        let mut server = Running::start(&app, config()).await;

        let mut idle = server.connect().await;
        idle.write_all(&get("/healthz")).await.unwrap();
        assert_eq!(read_answer(&mut idle).await.unwrap().status, 200);
        let mut partial_head = server.connect().await;
        partial_head.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        let mut under_way = server.connect().await;
        under_way.write_all(&hold_head(&group.id, &key, 20)).await.unwrap();
        under_way.write_all(&[b'x'; 10]).await.unwrap();
        timeout(BOUND, reached.recv()).await.expect("the request reaches the application");

        server.begin_shutdown().await;
        assert_closed(&mut idle).await;
        assert_closed(&mut partial_head).await;
        under_way.write_all(&[b'x'; 10]).await.unwrap();
        let answer = read_answer(&mut under_way).await.expect("the request under way is answered");
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.body["data"]["read"], 20);
        assert_eq!(answer.header("connection"), Some("close"));
        assert_closed(&mut under_way).await;
        assert_eq!(server.finished().await, ShutdownReport { connections: 0, requests: 0 });
    }
});

both_backends!(shutdown_cuts_what_is_left_at_the_deadline_and_reports_it, |backend| async move {
    let (app, mut reached) = app_with_hold(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let mut server = Running::start(&app, ServerConfig { shutdown_timeout: SHORT, ..config() }).await;
    let mut under_way = server.connect().await;
    under_way.write_all(&hold_head(&group.id, &key, 20)).await.unwrap();
    under_way.write_all(&[b'x'; 10]).await.unwrap();
    timeout(BOUND, reached.recv()).await.expect("the request reaches the application");

    server.begin_shutdown().await;
    assert_closed(&mut under_way).await;
    assert_eq!(server.finished().await, ShutdownReport { connections: 1, requests: 1 });
});
