//! `sonarly api …` against a real `sonarly serve` (SQLite, with its Demo group and key): the
//! `--json` output of each command parses, `prospecting start` draws its progress bar and ends
//! with the audience id, errors name the code and trace id, and the key is never printed.
//! The server runs on the system clock; the Demo accounts work around the clock, so nothing
//! depends on the hour, and every wait is bounded.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sonarly");
const BOUND: Duration = Duration::from_secs(60);
const SEARCH: &str = "https://www.linkedin.com/search/results/people/?keywords=software%20engineer";

struct Served {
    child: Child,
    url: String,
    group: String,
    key: String,
    _dir: tempfile::TempDir,
}

/// A child process (`events tail` follows forever) ended with the test, even a failed one.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sonarly serve` on a fresh SQLite file and a free port: its URL, Demo group and key.
fn serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("api.db").display());
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
        .env_remove("SONARLY_DATABASE_URL")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (send, lines) = mpsc::channel::<String>();
    let out = send.clone();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || stdout.lines().map_while(Result::ok).for_each(|l| drop(out.send(format!("out {l}")))));
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || stderr.lines().map_while(Result::ok).for_each(|l| drop(send.send(format!("err {l}")))));
    let (mut url, mut group, mut key) = (None, None, None);
    let mut seen = Vec::new();
    while url.is_none() || group.is_none() || key.is_none() {
        let line = lines.recv_timeout(BOUND).unwrap_or_else(|_| panic!("serve did not start:\n{}", seen.join("\n")));
        if let Some(rest) = line.split("Sonarly API on http://").nth(1) {
            url = Some(format!("http://{}", rest.split_whitespace().next().unwrap()));
        }
        if let Some(rest) = line.strip_prefix("out Created the \"Demo\" account group (") {
            group = Some(rest.trim_end_matches(").").to_owned());
        }
        if let Some(rest) = line.strip_prefix("out sk_") {
            key = Some(format!("sk_{rest}"));
        }
        seen.push(line);
    }
    Served { child, url: url.unwrap(), group: group.unwrap(), key: key.unwrap(), _dir: dir }
}

impl Served {
    fn api(&self, args: &[&str]) -> Output {
        let out = Command::new(BIN)
            .arg("api")
            .args(args)
            .env("SONARLY_URL", &self.url)
            .env("SONARLY_API_KEY", &self.key)
            .env_remove("SONARLY_GROUP")
            .output()
            .unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!all.contains(&self.key), "the key is never printed: {all}");
        out
    }

    /// A successful command's stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.api(args);
        assert!(out.status.success(), "sonarly api {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let text = self.ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {text}"))
    }
}

#[test]
fn api_commands_drive_a_running_server() {
    let s = serve();
    let g = s.group.as_str();

    let accounts = s.json(&["accounts", "list"]);
    assert_eq!(accounts["items"][0]["id"], g, "{accounts}");
    assert_eq!(accounts["hasMore"], false);
    let table = s.ok(&["accounts", "list"]);
    assert!(table.starts_with("ID ") && table.contains(g), "{table}");
    let seats = s.json(&["linkedin-accounts", "list", "--group", g]);
    assert_eq!(seats["items"].as_array().unwrap().len(), 2, "{seats}");

    // Start a job: a progress bar on stderr, the audience id last on stdout.
    let out = s.api(&[
        "prospecting",
        "start",
        "--group",
        g,
        "--name",
        "Berlin",
        "--search-url",
        SEARCH,
        "--max-results",
        "12",
        "--progress",
        "--poll-ms",
        "100",
    ]);
    let (stdout, stderr) = (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("100%") && stderr.contains("completed"), "{stderr}");
    let audience = stdout.lines().last().unwrap().trim().to_owned();
    assert!(audience.starts_with("aud_"), "{stdout}");

    // With --json and a key: the job, and the same job again for the same key.
    let args = [
        "prospecting",
        "start",
        "--group",
        g,
        "--name",
        "Paris",
        "--search-url",
        SEARCH,
        "--max-results",
        "5",
        "--idempotency-key",
        "paris-1",
        "--poll-ms",
        "100",
    ];
    let job = s.json(&args);
    assert_eq!((job["status"].as_str(), job["importedCount"].as_i64()), (Some("completed"), Some(5)), "{job}");
    let again = s.json(&args);
    assert_eq!(again["jobId"], job["jobId"]);
    let status = s.json(&["prospecting", "status", "--group", g, job["jobId"].as_str().unwrap()]);
    assert_eq!(status["audienceId"], job["audienceId"]);
    assert_eq!(s.json(&["prospecting", "list", "--group", g])["items"].as_array().unwrap().len(), 2);

    let prospects = s.json(&["audiences", "prospects", "--group", g, &audience, "--limit", "5", "--all"]);
    assert_eq!(prospects["items"].as_array().unwrap().len(), 12, "{prospects}");
    let page = s.json(&["audiences", "prospects", "--group", g, &audience, "--limit", "5"]);
    assert_eq!((page["items"].as_array().unwrap().len(), page["hasMore"].as_bool()), (5, Some(true)));
    assert_eq!(s.json(&["audiences", "get", "--group", g, &audience])["prospectCount"], 12);
    assert_eq!(s.json(&["audiences", "list", "--group", g])["items"].as_array().unwrap().len(), 2);

    for args in [["messages", "list"], ["responses", "list"], ["campaigns", "list"]] {
        let listed = s.json(&[args[0], args[1], "--group", g]);
        assert!(listed["items"].is_array(), "{args:?}: {listed}");
    }
    let missing = s.api(&["responses", "cancel", "--group", g, "nope"]);
    assert!(!missing.status.success());
    let stop = s.api(&["campaigns", "stop", "--group", g, "nope"]);
    assert!(String::from_utf8_lossy(&stop.stderr).contains("NOT_FOUND"), "{stop:?}");

    // The event log, as JSON lines.
    let events = s.ok(&["events", "tail", "--group", g, "--no-follow", "--json"]);
    let events: Vec<Value> = events.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(events.iter().filter(|e| e["type"] == "prospecting.job.completed").count() == 2, "{events:?}");

    // Replies: the Demo inbox's first contact becomes a prospect (a url_upload job), a reply is
    // queued, listed and cancelled (or, if the scheduler was quicker, refused as no longer queued).
    let contact = {
        let mut waited = 0;
        loop {
            let inbox = s.json(&["messages", "list", "--group", g, "--limit", "100"]);
            let found = inbox["items"]
                .as_array()
                .unwrap()
                .iter()
                .find_map(|m| m["participantProviderId"].as_str().map(str::to_owned));
            if let Some(found) = found {
                break found;
            }
            waited += 1;
            assert!(waited < 120, "the inbox sync brought no conversation: {inbox}");
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    let profile = format!("https://www.linkedin.com/in/{contact}");
    let imported = s.json(&[
        "prospecting",
        "start",
        "--group",
        g,
        "--name",
        "Inbox",
        "--profile-url",
        &profile,
        "--poll-ms",
        "100",
    ]);
    let audience_id = imported["audienceId"].as_str().unwrap();
    let prospect =
        s.json(&["audiences", "prospects", "--group", g, audience_id])["items"][0]["id"].as_str().unwrap().to_owned();
    let queued = s.json(&[
        "responses",
        "queue",
        "--group",
        g,
        "--prospect",
        &prospect,
        "--message",
        "Thanks for connecting!",
        "--idempotency-key",
        "reply-1",
    ]);
    assert_eq!(queued["prospectId"], prospect.as_str(), "{queued}");
    assert_eq!(queued["idempotencyKey"], "reply-1");
    let id = queued["id"].as_str().unwrap();
    let listed = s.json(&["responses", "list", "--group", g, "--all"]);
    assert!(listed["items"].as_array().unwrap().iter().any(|r| r["id"] == id), "{listed}");
    let cancel = s.api(&["responses", "cancel", "--group", g, id, "--json"]);
    if cancel.status.success() {
        let cancelled: Value = serde_json::from_slice(&cancel.stdout).unwrap();
        assert_eq!(cancelled["status"], "cancelled");
    } else {
        assert!(String::from_utf8_lossy(&cancel.stderr).contains("VALIDATION_ERROR"), "{cancel:?}");
    }

    // Campaigns: one made through the client, started and stopped from the terminal.
    let campaign = {
        let client = sonarly_client::Client::new(&s.url, &s.key).unwrap();
        let body =
            sonarly_client::CreateCampaignBody::new(sonarly_client::StarterTemplateId::Connect, "Run", &audience);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(client.create_campaign(g, &body)).unwrap().id
    };
    let drafts = s.json(&["campaigns", "list", "--group", g, "--status", "draft"]);
    assert_eq!(drafts["items"][0]["id"], campaign.as_str(), "{drafts}");
    let started = s.json(&["campaigns", "start", "--group", g, &campaign]);
    assert_eq!(
        (started["campaign"]["status"].as_str(), started["triggered"].as_bool()),
        (Some("active"), Some(true)),
        "{started}"
    );
    let table = s.ok(&["campaigns", "list", "--group", g]);
    assert!(table.lines().any(|l| l.starts_with(&campaign) && l.contains("active")), "{table}");
    let stopped = s.json(&["campaigns", "stop", "--group", g, &campaign]);
    assert_eq!(stopped["campaign"]["status"], "stopped", "{stopped}");

    // Following: the last event first, then a new one once the server's catch-up returns it, once.
    let mut tail = KillOnDrop(
        Command::new(BIN)
            .args(["api", "events", "tail", "--group", g, "--last", "1", "--poll-ms", "100", "--json"])
            .env("SONARLY_URL", &s.url)
            .env("SONARLY_API_KEY", &s.key)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (send, lines) = mpsc::channel::<String>();
    let stdout = BufReader::new(tail.0.stdout.take().unwrap());
    std::thread::spawn(move || stdout.lines().map_while(Result::ok).for_each(|l| drop(send.send(l))));
    let first: Value = serde_json::from_str(&lines.recv_timeout(BOUND).expect("the last event")).unwrap();
    assert!(first["id"].as_str().is_some_and(|id| id.starts_with("evt_")), "{first}");
    let newer = s.json(&[
        "prospecting",
        "start",
        "--group",
        g,
        "--name",
        "Rome",
        "--search-url",
        SEARCH,
        "--max-results",
        "3",
        "--poll-ms",
        "100",
    ]);
    let followed = loop {
        let line = lines.recv_timeout(BOUND).expect("the new job's event is followed");
        let event: Value = serde_json::from_str(&line).unwrap();
        assert_ne!(event["id"], first["id"], "printed twice");
        if event["data"]["jobId"] == newer["jobId"] {
            break event;
        }
    };
    assert_eq!(followed["type"], "prospecting.job.completed");
    drop(tail);

    // Errors: the code and trace id; a missing key says what to set.
    let out = s.api(&["accounts", "get", "nope"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("404 NOT_FOUND") && stderr.contains("trace_"), "{stderr}");
    let out = Command::new(BIN)
        .args(["api", "accounts", "list"])
        .env_remove("SONARLY_API_KEY")
        .env("SONARLY_URL", &s.url)
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("SONARLY_API_KEY"));
    let out = s.api(&["--key", "sk_live_wrong", "accounts", "list"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"), "{out:?}");
}
