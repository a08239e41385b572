//! `sonarly serve` at the connection level, as an operator meets it: the
//! timeout flags and variables reach the server, SIGTERM with a request still
//! under way exits 0 within the shutdown deadline and says what was cut, a
//! second signal exits at once, and a second server on one SQLite file is
//! refused.
//!
//! Timeouts and deadlines are configured short (300 ms); outcomes are only
//! asserted to come within generous bounds, never at a time.

use sonarly_testkit::{TestBackend, TestDb, both_backends};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sonarly");
/// Anything expected "after a timeout" or "within the deadline" must happen within this.
const BOUND: Duration = Duration::from_secs(30);

/// Runs an admin command to completion; returns the last line of stdout.
fn admin(args: &[&str], url: &str) -> String {
    let out = Command::new(BIN).args(args).args(["--database", url]).env_remove("SONARLY_DATABASE_URL").output();
    let out = out.unwrap();
    assert!(out.status.success(), "sonarly {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().last().unwrap_or("").trim().to_owned()
}

/// A group and an all-scopes key on `url`.
fn group_and_key(url: &str) -> (String, String) {
    let group = admin(&["groups", "create", "Edge"], url);
    let key = admin(&["keys", "create", "--group", &group], url);
    (group, key)
}

/// A running `sonarly serve` on a port of its choosing, its stderr read line by line.
struct Server {
    child: Child,
    addr: String,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    fn start(url: &str, flags: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--no-demo", "--listen", "127.0.0.1:0", "--database", url])
            .args(flags)
            .envs(env.iter().copied())
            .env_remove("SONARLY_DATABASE_URL")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (send, lines) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self { child, addr: String::new(), lines, seen: Vec::new() };
        let banner = server.wait_for_line("Sonarly API on http://");
        server.addr = banner.split("http://").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
        server
    }

    /// Waits for a stderr line containing `needle` and returns it.
    fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + BOUND;
        loop {
            if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no line with {needle:?}; stderr so far:\n{}", self.seen.join("\n")),
            }
        }
    }

    fn connect(&self) -> TcpStream {
        let conn = TcpStream::connect(&self.addr).unwrap();
        conn.set_read_timeout(Some(BOUND)).unwrap();
        conn
    }

    fn signal(&self, name: &str) {
        assert!(
            Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap().success()
        );
    }

    /// Waits for the process to end; returns its status and all of stderr.
    fn wait(mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + BOUND;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "serve did not exit; stderr:\n{}", self.seen.join("\n"));
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status, self.seen.join("\n"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads what the server sends until it closes the connection.
fn read_until_closed(conn: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    match conn.read_to_end(&mut bytes) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the connection was not closed: {e}"),
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The status and the JSON body of one raw answer.
fn parse(raw: &str) -> (u16, serde_json::Value) {
    let status = raw.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}

/// Opens a request that the application is reading the body of: the head asks
/// for `100 Continue`, which the server sends when the handler starts reading,
/// then only part of the body follows.
fn request_under_way(server: &Server, group: &str, key: &str) -> TcpStream {
    let mut conn = server.connect();
    let body = r#"{"name":"Slow","audienceType":"on_demand"}"#;
    write!(
        conn,
        "POST /v1/accounts/{group}/audiences/folders HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nexpect: 100-continue\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(conn.read(&mut byte).unwrap(), 1, "the server answers 100 Continue");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&head));
    conn.write_all(&body.as_bytes()[..10]).unwrap();
    conn
}

both_backends!(
    sigterm_with_requests_under_way_exits_0_within_the_deadline_and_logs_what_was_cut,
    |backend: TestBackend| {
        async move {
            let (url, _db) = TestDb::empty(backend).await.unwrap();
            let (group, key) = group_and_key(&url);
            let server = Server::start(&url, &["--shutdown-timeout-ms", "300", "--body-timeout-ms", "600000"], &[]);
            let mut under_way = request_under_way(&server, &group, &key);
            let mut partial_head = server.connect();
            partial_head.write_all(b"GET /healthz HTTP/1.1\r\nhost: te").unwrap();
            let mut silent = server.connect();

            server.signal("TERM");
            assert_eq!(read_until_closed(&mut silent), "");
            assert_eq!(read_until_closed(&mut partial_head), "");
            assert_eq!(read_until_closed(&mut under_way), "", "cut without an answer");
            let (status, logs) = server.wait();
            assert!(status.success(), "exit 0 after the deadline: {status}\n{logs}");
            assert!(logs.contains("shutting down"), "{logs}");
            assert!(logs.contains("cut 1 open connection(s) with 1 request(s) under way"), "{logs}");
            assert!(logs.contains("sonarly stopped"), "{logs}");
        }
    }
);

#[test]
fn a_second_signal_exits_at_once_without_waiting_for_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let (group, key) = group_and_key(&url);
    // A deadline far beyond the bound: only the second signal can end the process in time.
    let mut server = Server::start(&url, &["--shutdown-timeout-ms", "3600000"], &[]);
    let _under_way = request_under_way(&server, &group, &key);
    server.signal("TERM");
    server.wait_for_line("shutting down");
    server.signal("INT");
    let (status, logs) = server.wait();
    assert_eq!(status.code(), Some(1), "{logs}");
    assert!(logs.contains("second signal"), "{logs}");
}

both_backends!(timeouts_set_by_flag_or_variable_close_slow_clients_in_the_envelope, |backend: TestBackend| {
    async move {
        let (url, _db) = TestDb::empty(backend).await.unwrap();
        let (group, key) = group_and_key(&url);
        let server = Server::start(
            &url,
            &["--header-timeout-ms", "300"],
            &[("SONARLY_BODY_TIMEOUT_MS", "300"), ("SONARLY_IDLE_TIMEOUT_MS", "300")],
        );

        let mut partial_head = server.connect();
        partial_head.write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\n").unwrap();
        let (status, body) = parse(&read_until_closed(&mut partial_head));
        assert_eq!((status, body["error"]["code"].as_str()), (408, Some("REQUEST_TIMEOUT")), "{body}");

        let mut partial_body = request_under_way(&server, &group, &key);
        let (status, body) = parse(&read_until_closed(&mut partial_body));
        assert_eq!((status, body["error"]["code"].as_str()), (408, Some("REQUEST_TIMEOUT")), "{body}");

        let mut idle = server.connect();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n").unwrap();
        let (status, _) = parse(&read_until_closed(&mut idle));
        assert_eq!(status, 200, "answered, then closed once idle");

        let mut too_long = server.connect();
        let _ = write!(too_long, "GET /{} HTTP/1.1\r\nhost: test\r\n\r\n", "a".repeat(70_000));
        let raw = read_until_closed(&mut too_long);
        let (status, body) = parse(&raw);
        assert_eq!((status, body["error"]["code"].as_str()), (414, Some("URI_TOO_LONG")), "{raw}");
        let trace = body["traceId"].as_str().unwrap();
        assert!(raw.contains(&format!("x-trace-id: {trace}")), "{raw}");
    }
});

#[test]
fn a_second_server_on_one_sqlite_file_is_refused_while_other_commands_run_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let (group, _) = group_and_key(&url);
    let first = Server::start(&url, &[], &[]);

    let second = Command::new(BIN)
        .args(["serve", "--no-demo", "--listen", "127.0.0.1:0", "--database", &url])
        .env_remove("SONARLY_DATABASE_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    let pid = first.child.id();
    assert!(
        stderr.contains(&format!("is already served by another sonarly (process {pid})"))
            && stderr.contains("s.db.lock"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: only one `sonarly serve` may use a SQLite file"), "{stderr}");
    assert!(!stderr.contains("Sonarly API on"), "the second server never listened: {stderr}");

    // Short commands are not servers and run beside it.
    admin(&["migrate"], &url);
    admin(&["keys", "create", "--group", &group], &url);

    first.signal("TERM");
    let (status, logs) = first.wait();
    assert!(status.success(), "{logs}");
    // The lock goes with its holder.
    let again = Server::start(&url, &[], &[]);
    again.signal("TERM");
    assert!(again.wait().0.success());
}
