//! The `sonarly` binary as a user runs it: admin commands, `serve`, the demo
//! key, logs and graceful shutdown, on SQLite and PostgreSQL.

use sonarly_testkit::{TestBackend, TestDb, both_backends};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sonarly");

/// Runs a command to completion; returns stdout, failing on a non-zero exit.
fn sonarly(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).env_remove("SONARLY_DATABASE_URL").output().unwrap();
    assert!(out.status.success(), "sonarly {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn last_line(text: &str) -> String {
    text.lines().last().unwrap_or("").trim().to_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A minimal HTTP/1.1 client, so the test talks to the real socket.
fn http_get(port: u16, path: &str, key: Option<&str>) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Accept: application/json\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(database: &str, extra: &[&str]) -> Self {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", &listen, "--database", database])
            .args(extra)
            .env_remove("SONARLY_DATABASE_URL")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            if let Some(status) = child.try_wait().unwrap() {
                panic!("server exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }

    /// Sends SIGTERM and returns (exit success, stderr).
    fn stop(mut self) -> (bool, String) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stderr = String::new();
                self.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
                return (status.success(), stderr);
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

both_backends!(admin_commands_and_serve_follow_the_cli_contract, |backend: TestBackend| async move {
    let (url, _guard) = TestDb::empty(backend).await.unwrap();
    let url = url.as_str();

    let group_id = last_line(&sonarly(&["groups", "create", "Acme Growth", "--database", url]));
    assert!(sonarly_domain::id::is_hex_id(&group_id), "{group_id}");
    let other_group = last_line(&sonarly(&["--database", url, "groups", "create", "Other"]));
    assert!(sonarly(&["groups", "list", "--database", url]).contains("Acme Growth"));
    // Plans and credits: a new group starts on tester with a small grant.
    assert!(sonarly(&["groups", "list", "--database", url]).contains("tester\t200 credits"));
    sonarly(&["groups", "set-plan", &group_id, "scale", "--database", url]);
    let balance = last_line(&sonarly(&["groups", "add-credits", &group_id, "500", "--database", url]));
    assert_eq!(balance, "700");
    assert!(sonarly(&["groups", "list", "--database", url]).contains("scale\t700 credits"));
    for bad in [vec!["groups", "set-plan", &group_id, "platinum"], vec!["groups", "add-credits", &group_id, "0"]] {
        let out = Command::new(BIN).args(&bad).args(["--database", url]).output().unwrap();
        assert!(!out.status.success(), "{bad:?}");
    }

    let key = last_line(&sonarly(&[
        "keys",
        "create",
        "--group",
        &group_id,
        "--scopes",
        "audiences:read",
        "--rate-limit",
        "50",
        "--database",
        url,
    ]));
    assert!(key.starts_with("sk_live_") && key.len() >= "sk_live_".len() + 32, "{key}");
    let full =
        last_line(&sonarly(&["keys", "create", "--database", url, "--group", &group_id, "--group", &other_group]));
    assert!(full.starts_with("sk_live_"));

    let listing = sonarly(&["keys", "list", "--database", url]);
    assert!(listing.contains(&key[..14]) && !listing.contains(&key) && !listing.contains(&full));
    assert!(listing.contains("audiences:read") && listing.contains("50"));

    // Bad input is refused with a message, not a panic.
    let bad = Command::new(BIN).args(["keys", "create", "--group", "nope", "--database", url]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("does not exist"));
    let bad = Command::new(BIN)
        .args(["keys", "create", "--group", &group_id, "--scopes", "audiences:admin", "--database", url])
        .output()
        .unwrap();
    assert!(!bad.status.success());

    let server = Server::start(url, &["--no-demo"]);
    let (status, body) = http_get(server.port, "/v1/accounts", Some(&key));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["items"][0]["id"], group_id.as_str());
    assert_eq!(body["data"]["items"].as_array().unwrap().len(), 1);
    let (status, _) = http_get(server.port, &format!("/v1/accounts/{group_id}/audiences?limit=10"), Some(&key));
    assert_eq!(status, 200);
    let (status, body) = http_get(server.port, "/v1/accounts", Some("sk_live_wrong"));
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("UNAUTHORIZED")));

    let key_id = listing.lines().find(|l| l.contains(&key[..14])).unwrap().split('\t').next().unwrap().to_owned();
    sonarly(&["keys", "revoke", &key_id, "--database", url]);
    // The server reads the revocation epoch at most every 5 s (docs/decisions.md, "Key cache").
    let stopped = (0..40).any(|_| {
        let (status, _) = http_get(server.port, "/v1/accounts", Some(&key));
        status == 401 || {
            std::thread::sleep(Duration::from_millis(250));
            false
        }
    });
    assert!(stopped, "a revoked key stops working within 5 s");
    assert!(sonarly(&["keys", "list", "--database", url]).contains("revoked"));

    let (clean_exit, logs) = server.stop();
    assert!(clean_exit, "graceful shutdown exits 0; logs:\n{logs}");
    assert!(logs.contains("trace_") && logs.contains("/v1/accounts/{accountGroupId}/audiences"), "{logs}");
    assert!(!logs.contains(&key) && !logs.contains(&full), "keys never reach the logs");
    assert!(!logs.contains("sk_live_"), "not even a prefix of a presented key");
});

both_backends!(serve_creates_a_demo_group_and_key_on_an_empty_database, |backend: TestBackend| async move {
    let (url, _guard) = TestDb::empty(backend).await.unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &listen, "--log-format", "json"])
        .env("SONARLY_DATABASE_URL", &url)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = Vec::new();
    let key = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "serve ended before printing a key: {printed:?}");
        printed.push(line.clone());
        if line.trim().starts_with("sk_live_") {
            break line.trim().to_owned();
        }
    };
    assert!(printed.iter().any(|l| l.contains("Demo")), "{printed:?}");
    assert!(printed.iter().any(|l| l.contains("API key")), "the key has a clear label: {printed:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, body) = http_get(port, "/v1/accounts", Some(&key));
    assert_eq!(status, 200);
    assert_eq!(body["data"]["items"][0]["name"], "Demo");
    let group = body["data"]["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = http_get(port, &format!("/v1/accounts/{group}/audiences"), Some(&key));
    assert_eq!(status, 200, "the demo key has every scope");
    let (status, _) = http_get(port, "/readyz", None);
    assert_eq!(status, 200);
    let (status, body) = http_get(port, &format!("/v1/accounts/{group}/linkedin-accounts"), Some(&key));
    assert_eq!(status, 200);
    let accounts = body["data"]["items"].as_array().unwrap();
    assert_eq!(accounts.len(), 2, "two sandbox accounts: {body}");
    for account in accounts {
        assert_eq!(account["provider"], "sandbox");
        assert_eq!(
            (account["workingHours"]["start"].as_str(), account["workingHours"]["end"].as_str()),
            (Some("00:00"), Some("24:00"))
        );
    }

    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    let mut logs = String::new();
    child.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    let request_lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "request")
        .collect();
    assert!(request_lines.len() >= 3, "{logs}");
    for line in &request_lines {
        assert!(line["trace_id"].as_str().unwrap().starts_with("trace_"));
        assert!(line["method"].is_string() && line["route"].is_string());
        assert!(line["status"].is_number() && line["latency_ms"].is_number());
    }
    assert!(!logs.contains(&key));

    // A second start on the same database does not mint another key.
    let server = Server::start(&url, &[]);
    let (clean, _) = server.stop();
    assert!(clean);
    let keys = sonarly(&["keys", "list", "--database", &url]);
    assert_eq!(keys.lines().count(), 2, "header plus the one demo key:\n{keys}");
});

#[test]
fn the_plaintext_key_is_not_stored_in_the_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let group = last_line(&sonarly(&["groups", "create", "G", "--database", &url]));
    let key = last_line(&sonarly(&["keys", "create", "--group", &group, "--database", &url]));
    sonarly(&["migrate", "--database", &url]);
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let secret_part = &key.as_bytes()["sk_live_".len() + 6..];
    assert!(!bytes.windows(secret_part.len()).any(|w| w == secret_part));
    let hash = sonarly_domain::apikey::hash_key(&key);
    assert!(bytes.windows(hash.len()).any(|w| w == hash.as_bytes()), "the hash is what is stored");
}

/// First run, second run and bad configuration: each failing start says what
/// is wrong in CLI words, naming the setting as it was given, and leaves
/// nothing half-made, so the next good start still prints the Demo key.
mod first_run_second_run_bad_configuration {
    use super::*;
    use sonarly_testkit::postgres_available;
    use std::path::Path;

    /// Runs `sonarly args…` to its end with `env` on top of a clean
    /// environment; returns (success, stdout, stderr). A generous deadline
    /// guards against a command that starts serving instead of failing.
    fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
        let mut child = Command::new(BIN)
            .args(args)
            .env_remove("SONARLY_DATABASE_URL")
            .env_remove("SONARLY_LISTEN")
            .env_remove("SONARLY_OPENAI_BASE_URL")
            .env_remove("SONARLY_OPENAI_MODEL")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).unwrap();
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            stderr.read_to_string(&mut s).unwrap();
            s
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("sonarly {args:?} did not exit");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (status.success(), out.join().unwrap(), err.join().unwrap())
    }

    /// A `serve` on a fresh port that printed the Demo key.
    struct DemoServer {
        child: Child,
        port: u16,
        key: String,
        group_id: String,
    }

    impl DemoServer {
        fn start(database: &str) -> Self {
            let port = free_port();
            let mut child = Command::new(BIN)
                .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", database])
                .env_remove("SONARLY_DATABASE_URL")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdout = BufReader::new(child.stdout.take().unwrap());
            let mut printed = Vec::new();
            let key = loop {
                let mut line = String::new();
                assert!(stdout.read_line(&mut line).unwrap() > 0, "serve printed no Demo key: {printed:?}");
                printed.push(line.clone());
                if line.trim().starts_with("sk_live_") {
                    break line.trim().to_owned();
                }
            };
            let created = printed.iter().find(|l| l.starts_with("Created the \"Demo\" account group (")).unwrap();
            let group_id = created.split(['(', ')']).nth(1).unwrap().to_owned();
            let deadline = Instant::now() + Duration::from_secs(30);
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(Instant::now() < deadline, "server did not start");
                std::thread::sleep(Duration::from_millis(50));
            }
            let (status, body) = http_get(port, "/v1/accounts", Some(&key));
            assert_eq!((status, body["data"]["items"][0]["id"].as_str()), (200, Some(group_id.as_str())), "{body}");
            Self { child, port, key, group_id }
        }

        fn stop(self) {
            Server { child: self.child, port: self.port }.stop();
        }
    }

    /// After a failed start: no SQLite file, no account group, no key.
    fn assert_nothing_was_created(url: &str) {
        if let Some(path) = url.strip_prefix("sqlite://") {
            assert!(!Path::new(path).exists(), "the failed start created {path}");
        }
        assert_eq!(sonarly(&["groups", "list", "--database", url]), "", "the failed start created a group");
        assert_eq!(sonarly(&["keys", "list", "--database", url]).lines().count(), 1, "the failed start created a key");
    }

    both_backends!(
        a_busy_port_fails_the_start_before_the_database_and_the_demo_key,
        |backend: TestBackend| async move {
            let (url, _guard) = TestDb::empty(backend).await.unwrap();
            let busy = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = busy.local_addr().unwrap().to_string();
            let (ok, stdout, stderr) = run(&["serve", "--listen", &addr, "--database", &url], &[]);
            assert!(!ok);
            assert!(
                stderr.contains(&format!("error: cannot listen on {addr}: the address is already in use\n")),
                "{stderr}"
            );
            assert!(stderr.contains("\nhint: ") && stderr.contains("with --listen"), "{stderr}");
            let (_, _, stderr) = run(&["serve", "--database", &url], &[("SONARLY_LISTEN", &addr)]);
            assert!(stderr.contains("with SONARLY_LISTEN"), "the hint names the setting as given: {stderr}");
            assert!(!stdout.contains("sk_live_"), "{stdout}");
            assert_nothing_was_created(&url);
            drop(busy);
            DemoServer::start(&url).stop();
        }
    );

    both_backends!(
        an_openai_base_url_without_a_model_fails_before_the_port_and_the_database,
        |backend: TestBackend| async move {
            let (url, _guard) = TestDb::empty(backend).await.unwrap();
            let model_api = "http://127.0.0.1:9/v1";
            let (ok, stdout, stderr) =
                run(&["serve", "--listen", "127.0.0.1:0", "--database", &url, "--openai-base-url", model_api], &[]);
            assert!(!ok);
            assert!(stderr.starts_with("error: --openai-base-url is set but no model is\nhint: "), "{stderr}");
            assert!(stderr.contains("--openai-model NAME"), "{stderr}");
            assert!(!stdout.contains("sk_live_"), "{stdout}");
            let (ok, _, stderr) = run(
                &["serve", "--listen", "127.0.0.1:0", "--database", &url],
                &[("SONARLY_OPENAI_BASE_URL", model_api)],
            );
            assert!(!ok);
            assert!(stderr.starts_with("error: SONARLY_OPENAI_BASE_URL is set but no model is\n"), "{stderr}");
            let (ok, _, stderr) = run(
                &[
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--database",
                    &url,
                    "--openai-base-url",
                    "ftp://x",
                    "--openai-model",
                    "m",
                ],
                &[],
            );
            assert!(!ok && stderr.contains("error: --openai-base-url must be an http:// or https:// URL"), "{stderr}");
            assert_nothing_was_created(&url);
            DemoServer::start(&url).stop();
        }
    );

    #[test]
    fn an_in_memory_sqlite_database_serves_the_demo_key() {
        let server = DemoServer::start("sqlite::memory:");
        let group = server.group_id.clone();
        let (status, _) = http_get(server.port, "/readyz", None);
        assert_eq!(status, 200, "the readers see the migrated schema");
        let (status, body) =
            http_get(server.port, &format!("/v1/accounts/{group}/linkedin-accounts"), Some(&server.key));
        assert_eq!((status, body["data"]["items"].as_array().map(Vec::len)), (200, Some(2)), "{body}");
        let (status, body) = http_get(server.port, &format!("/v1/accounts/{group}/audiences"), Some(&server.key));
        assert_eq!(status, 200, "{body}");
        server.stop();
        // An admin command gets an empty database of its own, and says nothing is wrong.
        let (ok, stdout, stderr) = run(&["groups", "list", "--database", "sqlite::memory:"], &[]);
        assert!(ok && stdout.is_empty() && !stderr.contains("error"), "{stdout}{stderr}");
    }

    #[test]
    fn an_unreachable_postgres_is_reported_with_its_cause_and_the_setting_as_given() {
        let port = free_port(); // nothing listens there
        let url = format!("postgres://sonarly:s3cret-pw@127.0.0.1:{port}/sonarly");
        let (ok, _, stderr) = run(&["groups", "list", "--database", &url], &[]);
        assert!(!ok);
        assert!(
            stderr.starts_with(&format!(
                "error: cannot open the database given by --database: PostgreSQL at 127.0.0.1:{port}: connection refused"
            )),
            "{stderr}"
        );
        assert!(!stderr.contains("pool timed out") && !stderr.contains("s3cret-pw"), "{stderr}");
        let (ok, stdout, stderr) = run(&["serve", "--listen", "127.0.0.1:0"], &[("SONARLY_DATABASE_URL", &url)]);
        assert!(!ok && !stdout.contains("sk_live_"), "{stdout}");
        assert!(stderr.contains("given by SONARLY_DATABASE_URL: PostgreSQL at"), "{stderr}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_missing_postgres_database_or_role_is_named() {
        if !postgres_available() {
            return;
        }
        let (url, _guard) = TestDb::empty(TestBackend::Postgres).await.unwrap();
        let (server, _) = url.rsplit_once('/').unwrap();
        let (ok, _, stderr) = run(&["keys", "list", "--database", &format!("{server}/sonarly_no_such_db")], &[]);
        assert!(!ok && stderr.contains(r#": database "sonarly_no_such_db" does not exist"#), "{stderr}");
        let wrong_role = url.replacen("postgres://postgres@", "postgres://sonarly_no_such_role@", 1);
        let (ok, _, stderr) = run(&["keys", "list", "--database", &wrong_role], &[]);
        assert!(!ok && stderr.contains(r#": role "sonarly_no_such_role" does not exist"#), "{stderr}");
    }

    #[test]
    fn a_missing_sqlite_directory_is_named_with_the_path_and_nothing_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let file = missing.join("x.db");
        let url = format!("sqlite://{}", file.display());
        let expected = format!(
            "error: cannot open the database given by --database: SQLite file {}: the directory {} does not exist",
            file.display(),
            missing.display()
        );
        for command in [&["groups", "list"][..], &["serve", "--listen", "127.0.0.1:0"]] {
            let (ok, stdout, stderr) = run(&[command, &["--database", &url]].concat(), &[]);
            assert!(!ok && stderr.starts_with(&expected), "{command:?}: {stderr}");
            assert!(!stdout.contains("sk_live_"), "{stdout}");
        }
        assert!(!missing.exists(), "nothing is created");
    }

    #[test]
    fn output_into_a_closed_pipe_ends_quietly() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let group = last_line(&sonarly(&["groups", "create", "G", "--database", &url]));
        sonarly(&["keys", "create", "--group", &group, "--database", &url]);
        for command in [&["openapi"][..], &["groups", "list"], &["keys", "list"], &["linkedin", "list"]] {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader); // the reader is gone before the first write, as with `| head` at its end
            let child = Command::new(BIN)
                .args(command)
                .args(["--database", &url])
                .stdout(writer)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{command:?}: {stderr}");
            assert!(!stderr.contains("panicked") && !stderr.contains("error"), "{command:?}: {stderr}");
        }
    }

    both_backends!(a_second_start_names_the_demo_group_and_how_to_make_a_key, |backend: TestBackend| async move {
        let (url, _guard) = TestDb::empty(backend).await.unwrap();
        let first = DemoServer::start(&url);
        let group = first.group_id.clone();
        first.stop();

        let server = Server::start(&url, &["--log-format", "json"]);
        let (status, _) = http_get(server.port, "/healthz", None);
        assert_eq!(status, 200);
        let (clean, logs) = server.stop();
        assert!(clean, "{logs}");
        let line = logs.lines().find(|l| l.contains(r#"The "Demo" account group exists"#)).expect(&logs);
        let suggested = line.split_once("run: ").unwrap().1;
        assert_eq!(suggested, format!("sonarly keys create --group {group} --database {url}"));
        // The suggested command works as printed.
        let key = last_line(&sonarly(&suggested.split(' ').skip(1).collect::<Vec<_>>()));
        assert!(key.starts_with("sk_live_"), "{key}");
        assert_eq!(
            sonarly(&["keys", "list", "--database", &url]).lines().count(),
            3,
            "header, the Demo key, the new one"
        );

        // Logs: no colours into a pipe; latency in milliseconds with at most two decimals.
        assert!(!logs.contains('\u{1b}'), "no ANSI escapes when stderr is not a terminal: {logs}");
        let latencies: Vec<String> = logs
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["message"] == "request")
            .map(|v| v["latency_ms"].to_string())
            .collect();
        assert!(!latencies.is_empty(), "{logs}");
        for latency in latencies {
            let decimals = latency.split_once('.').map_or(0, |(_, d)| d.len());
            assert!(decimals <= 2 && !latency.contains('e'), "latency_ms={latency}");
        }

        // Groups but no Demo group: no Demo is made, and the line says how to get a key.
        let (url, _guard) = TestDb::empty(backend).await.unwrap();
        sonarly(&["groups", "create", "Acme", "--database", &url]);
        let (clean, logs) = Server::start(&url, &[]).stop();
        assert!(clean, "{logs}");
        assert!(logs.contains("already has account groups, so no Demo group was created"), "{logs}");
        assert!(logs.contains("sonarly keys create --group <id>"), "{logs}");
        assert_eq!(sonarly(&["groups", "list", "--database", &url]).lines().count(), 1);
        assert_eq!(sonarly(&["keys", "list", "--database", &url]).lines().count(), 1, "no key was made");
    });
}

#[test]
fn linkedin_update_changes_the_flags_given_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("seats.db").display());
    let url = url.as_str();
    let group = last_line(&sonarly(&["groups", "create", "Seats", "--database", url]));
    let account =
        last_line(&sonarly(&["linkedin", "connect", "--group", &group, "--provider", "sandbox", "--database", url]));
    let changed = sonarly(&[
        "linkedin",
        "update",
        "--group",
        &group,
        "--account",
        &account,
        "--daily-invitations",
        "25",
        "--timezone",
        "Europe/Paris",
        "--working-hours",
        "08:00-16:00",
        "--database",
        url,
    ]);
    // The others (200 a week, 100 messages, spacing 45-120 s) kept their values.
    assert_eq!(
        last_line(&changed),
        format!(
            "{account}: Europe/Paris 08:00-16:00, invitations 25/day 200/week, messages 100/day, spacing 45-120 s, ramp-up 0 weeks"
        )
    );
    let listed = sonarly(&["linkedin", "list", "--database", url]);
    assert!(listed.contains("Europe/Paris\t08:00-16:00"), "{listed}");

    // A bad value is named, and nothing changes; another group's account does not exist for it.
    let other = last_line(&sonarly(&["groups", "create", "Other", "--database", url]));
    for (args, says) in [
        (vec!["--group", group.as_str(), "--account", &account, "--timezone", "Mars/Olympus"], "timezone"),
        (vec!["--group", &group, "--account", &account, "--min-spacing-secs", "600"], "spacing"),
        (vec!["--group", &other, "--account", &account, "--daily-invitations", "1"], "no LinkedIn account"),
    ] {
        let out = Command::new(BIN)
            .args(["linkedin", "update", "--database", url])
            .args(&args)
            .env_remove("SONARLY_DATABASE_URL")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(sonarly(&["linkedin", "list", "--database", url]), listed);
}
