//! Webhook delivery across a crash, with real `sonarly serve` processes on
//! SQLite and on PostgreSQL: a local receiver answers the first deliveries
//! and then holds every request open; the server is killed with SIGKILL while
//! deliveries are in flight, restarted, and every event must then reach the
//! receiver with a 2xx exactly once, no attempt may be recorded as delivered
//! unless the receiver answered it 2xx, and the attempts cut by the crash are
//! recorded as interrupted failures.
//!
//! Everything the server stores is made through the binary (admin commands)
//! and its HTTP API (the endpoint, `webhook.test` events); the test reads the
//! database only to check the attempts. Waits are bounded by a number of
//! polls, never by reading the clock.

use axum::http::{HeaderMap, StatusCode};
use sonarly_domain::GroupId;
use sonarly_domain::webhooks::AttemptStatus;
use sonarly_store::Store;
use sonarly_testkit::{TestBackend, TestDb, both_backends};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sonarly");
/// Events sent, and how many the receiver answers before it starts holding requests.
const EVENTS: usize = 10;
const ANSWERED_BEFORE_THE_CRASH: usize = 3;
/// One poll every 100 ms, at most this many times (a minute, generous for a busy machine).
const POLLS: usize = 600;
const POLL: Duration = Duration::from_millis(100);

/// Runs an admin command to completion; returns the last line of stdout.
fn admin(args: &[&str], url: &str) -> String {
    let out = Command::new(BIN).args(args).args(["--database", url]).env_remove("SONARLY_DATABASE_URL").output();
    let out = out.unwrap();
    assert!(out.status.success(), "sonarly {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().last().unwrap_or("").trim().to_owned()
}

/// `sonarly serve` allowed to deliver to a plain-http loopback receiver, with a 2 s lease.
fn serve(url: &str) -> (Child, u16) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(BIN)
        .args(["serve", "--no-demo", "--listen", &format!("127.0.0.1:{port}"), "--database", url])
        .args(["--lease-ms", "2000", "--webhooks-allow-private", "--webhooks-allow-http"])
        .env_remove("SONARLY_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..POLLS {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, port);
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("server exited early: {status}");
        }
        std::thread::sleep(POLL);
    }
    panic!("server did not start");
}

/// A minimal HTTP/1.1 POST, so the test talks to the real socket.
fn post(port: u16, path: &str, key: &str, body: &str) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Got {
    id: String,
    timestamp: i64,
    signature: String,
    body: String,
    /// The status answered; `None` while held (a request held when its server died is never answered).
    answered: Option<u16>,
}

#[derive(Default)]
struct Script {
    got: Mutex<Vec<Got>>,
    /// Past the first answers, hold requests open while this is set.
    holding: Mutex<bool>,
}

/// A receiver on its own thread and runtime (the test blocks on processes and sockets).
struct Receiver {
    url: String,
    script: Arc<Script>,
}

impl Receiver {
    fn start() -> Self {
        let script = Arc::new(Script { holding: Mutex::new(true), ..Script::default() });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        listener.set_nonblocking(true).unwrap();
        let state = script.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(state);
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let _ = axum::serve(listener, app).await;
            });
        });
        Self { url, script }
    }

    fn got(&self) -> Vec<Got> {
        self.script.got.lock().unwrap().clone()
    }

    fn stop_holding(&self) {
        *self.script.holding.lock().unwrap() = false;
    }
}

async fn receive(
    axum::extract::State(script): axum::extract::State<Arc<Script>>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let hold = {
        let mut got = script.got.lock().unwrap();
        let hold = got.len() >= ANSWERED_BEFORE_THE_CRASH && *script.holding.lock().unwrap();
        got.push(Got {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp").parse().unwrap_or(0),
            signature: header("webhook-signature"),
            body,
            answered: (!hold).then_some(200),
        });
        hold
    };
    if hold {
        std::future::pending::<()>().await;
    }
    StatusCode::OK
}

fn kill(child: &mut Child, signal: &str) {
    Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    child.wait().unwrap();
}

/// How many of `events` the database shows delivered.
async fn delivered(store: &Store, events: &[String]) -> usize {
    let mut n = 0;
    for event in events {
        let deliveries = store.event_deliveries(event).await.unwrap();
        n += deliveries.iter().filter(|(_, status, _)| status == "succeeded").count();
    }
    n
}

both_backends!(
    a_server_killed_during_deliveries_redelivers_and_never_marks_an_unanswered_one_delivered,
    |backend: TestBackend| async move {
        let (url, _guard) = TestDb::empty(backend).await.unwrap();
        let group = admin(&["groups", "create", "Hooks"], &url);
        let key = admin(&["keys", "create", "--group", &group], &url);
        let store = Store::connect(&url).await.unwrap();
        let receiver = Receiver::start();

        let (mut first, port) = serve(&url);
        let base = format!("/v1/accounts/{group}/webhook-endpoints");
        let (status, created) = post(port, &base, &key, &serde_json::json!({"url": receiver.url}).to_string());
        assert_eq!(status, 201, "{created}");
        let endpoint = created["data"]["id"].as_str().unwrap().to_owned();
        let secret = created["data"]["secret"].as_str().unwrap().to_owned();
        let mut events = Vec::new();
        for _ in 0..EVENTS {
            let (status, tested) = post(port, &format!("{base}/{endpoint}/test"), &key, "");
            assert_eq!(status, 202, "{tested}");
            events.push(tested["data"]["eventId"].as_str().unwrap().to_owned());
        }

        // The first answers are recorded as delivered; then deliveries hang in flight and the server dies.
        let mut ready = false;
        for _ in 0..POLLS {
            let held = receiver.got().iter().filter(|g| g.answered.is_none()).count();
            if held >= 2 && delivered(&store, &events).await == ANSWERED_BEFORE_THE_CRASH {
                ready = true;
                break;
            }
            std::thread::sleep(POLL);
        }
        assert!(ready, "no deliveries in flight: {:?}", receiver.got());
        kill(&mut first, "-KILL");
        let at_crash = receiver.got();
        let held: BTreeSet<String> = at_crash.iter().filter(|g| g.answered.is_none()).map(|g| g.id.clone()).collect();
        assert_eq!(delivered(&store, &events).await, ANSWERED_BEFORE_THE_CRASH, "nothing held is delivered");

        // A new server, and a receiver that answers at once.
        receiver.stop_holding();
        let (mut second, _) = serve(&url);
        for _ in 0..POLLS {
            if delivered(&store, &events).await == EVENTS {
                break;
            }
            std::thread::sleep(POLL);
        }
        kill(&mut second, "-TERM");
        assert_eq!(delivered(&store, &events).await, EVENTS, "every event delivered after the restart");

        // The receiver, deduplicating on webhook-id: every event acknowledged exactly once, each request signed.
        let signer = standardwebhooks::Webhook::new(&secret).unwrap();
        let got = receiver.got();
        let mut acknowledged: BTreeMap<String, usize> = BTreeMap::new();
        for g in &got {
            assert_eq!(signer.sign(&g.id, g.timestamp, g.body.as_bytes()).unwrap(), g.signature, "{g:?}");
            if g.answered.is_some_and(|s| (200..300).contains(&s)) {
                *acknowledged.entry(g.id.clone()).or_default() += 1;
            }
        }
        let expected: BTreeSet<String> = events.iter().cloned().collect();
        assert_eq!(acknowledged.keys().cloned().collect::<BTreeSet<_>>(), expected, "each event acknowledged");
        assert!(acknowledged.values().all(|n| *n == 1), "each event acknowledged once: {acknowledged:?}");
        assert!(held.iter().all(|id| acknowledged.contains_key(id)), "the held ones were delivered again");

        // The attempts: one success per event, each one the receiver answered 2xx; the cut ones interrupted.
        let attempts = store.list_webhook_attempts(&GroupId::from(&group), &endpoint, None, 100).await.unwrap();
        let mut successes: BTreeMap<String, usize> = BTreeMap::new();
        for a in &attempts {
            assert_ne!(a.status, AttemptStatus::InFlight, "no attempt left open: {a:?}");
            if a.status == AttemptStatus::Succeeded {
                assert_eq!(a.response_status, Some(200), "{a:?}");
                *successes.entry(a.event_id.clone()).or_default() += 1;
            }
        }
        assert_eq!(successes, acknowledged, "a success recorded for exactly the answers the receiver gave");
        for id in &held {
            let cut = attempts.iter().filter(|a| &a.event_id == id && a.status == AttemptStatus::Failed);
            assert!(
                cut.clone().any(|a| a.error.as_deref() == Some(sonarly_store::INTERRUPTED)),
                "{id}: the attempt cut by the crash is recorded as interrupted: {:?}",
                cut.collect::<Vec<_>>()
            );
        }
        // Each attempt counted once: numbered 1, 2, … per delivery, at least one per request the receiver saw.
        for event in &events {
            let deliveries = store.event_deliveries(event).await.unwrap();
            assert_eq!(deliveries.len(), 1, "{event}: one delivery");
            let mut numbers: Vec<i64> = attempts.iter().filter(|a| &a.event_id == event).map(|a| a.attempt).collect();
            numbers.sort();
            assert_eq!(numbers, (1..=deliveries[0].2).collect::<Vec<_>>(), "{event}");
            let requests = got.iter().filter(|g| &g.id == event).count();
            assert!(numbers.len() >= requests, "{event}: {requests} requests, {} attempts", numbers.len());
        }
        store.close().await;
    }
);
