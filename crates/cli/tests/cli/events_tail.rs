//! `sonarly events tail` with the real binary, on SQLite and PostgreSQL: the
//! JSON lines it prints (the last events, after an event, of some types,
//! none of the past with `--last 0`), and that it follows events appended
//! while it runs, of its own group only, including one stamped before an
//! event it already printed.
//!
//! The events are stored at fixed moments of a manual clock in the past, so
//! the binary (on the system clock) finds them settled; waits for lines are
//! bounded.

use serde_json::{Value, json};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::clock::ManualClock;
use sonarly_domain::events::{Event, EventType, account_status_data, credits_low_data};
use sonarly_store::Store;
use sonarly_testkit::{TestBackend, TestDb, both_backends};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sonarly");
/// Wednesday 2026-06-03, 10:00 UTC.
const T0: i64 = 1_780_480_800_000;
/// The longest wait for one followed line (the binary polls every 100 ms).
const LINE_WAIT: Duration = Duration::from_secs(30);

/// What `tail` prints for an event.
fn expected(event: &Event) -> Value {
    json!({"id": event.id, "type": event.event_type.as_str(), "createdAt": event.created_at.to_rfc3339(),
           "accountGroupId": event.group_id, "data": event.data})
}

/// Appends the `k`-th event of the test to `group` at `T0 + k s`: low credits and status changes in turn.
async fn append(store: &Store, group: &str, k: i64) -> Event {
    let at = Timestamp::from_millis(T0 + k * 1_000);
    let (event_type, data) = if k % 2 == 0 {
        (EventType::CreditsLow, credits_low_data(group, 99 - k))
    } else {
        (EventType::LinkedinAccountStatusChanged, account_status_data(group, "acc", "connected", "disconnected"))
    };
    store.append_event(&GroupId::from(group), event_type, &data, at).await.unwrap()
}

fn tail_command(url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(["events", "tail"]).args(args).args(["--database", url]).env_remove("SONARLY_DATABASE_URL");
    command
}

/// Runs `tail` with `--no-follow`; returns its lines as JSON.
fn tail_once(url: &str, args: &[&str]) -> Vec<Value> {
    let out = tail_command(url, args).arg("--no-follow").output().unwrap();
    assert!(out.status.success(), "tail {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

/// A following `tail`, its stdout read line by line.
struct Following {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Following {
    fn start(url: &str, args: &[&str]) -> Self {
        let mut child = tail_command(url, args)
            .args(["--poll-ms", "100"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    fn next(&self) -> Value {
        let line = self.lines.recv_timeout(LINE_WAIT).expect("tail printed the next event");
        serde_json::from_str(&line).unwrap()
    }

    /// No line within a few polls.
    fn quiet(&self) {
        if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            panic!("unexpected line: {line}");
        }
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

both_backends!(tail_prints_events_as_json_lines_and_follows_new_ones, |backend: TestBackend| async move {
    let db = TestDb::new(backend).await.unwrap();
    let store = &db.store;
    let clock = ManualClock::new(Timestamp::from_millis(T0));
    let group = sonarly_app::accounts::create_group(store, &clock, "Tail").await.unwrap().id;
    let other = sonarly_app::accounts::create_group(store, &clock, "Other").await.unwrap().id;
    let mut events = Vec::new();
    for k in 0..12 {
        events.push(append(store, &group, k).await);
    }
    append(store, &other, 5).await;
    let url = db.url.clone();

    // The last 10 (the default), oldest first, exactly as stored.
    let last = tail_once(&url, &["--group", &group]);
    assert_eq!(last, events[2..].iter().map(expected).collect::<Vec<_>>());
    // After an event: everything after it.
    let after = tail_once(&url, &["--group", &group, "--after", &events[3].id]);
    assert_eq!(after, events[4..].iter().map(expected).collect::<Vec<_>>());
    // Of one type, the last 3.
    let low = tail_once(&url, &["--group", &group, "--types", "credits.low", "--last", "3"]);
    assert_eq!(low, [&events[6], &events[8], &events[10]].map(expected));
    // None of the past with --last 0.
    assert_eq!(tail_once(&url, &["--group", &group, "--last", "0"]), Vec::<Value>::new());
    // Mistakes are named.
    let unknown = tail_command(&url, &["--group", "000000000000000000000000", "--no-follow"]).output().unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account group"));

    // Following: the last two, then what is appended to this group (not to another).
    let following = Following::start(&url, &["--group", &group, "--last", "2"]);
    assert_eq!(following.next(), expected(&events[10]));
    assert_eq!(following.next(), expected(&events[11]));
    following.quiet();
    append(store, &other, 20).await;
    let new = [append(store, &group, 21).await, append(store, &group, 22).await];
    assert_eq!(following.next(), expected(&new[0]));
    assert_eq!(following.next(), expected(&new[1]));
    following.quiet();
    drop(following);

    // An event stamped before one already printed but stored after it (a transaction that commits
    // late) is not skipped, and the one printed first is not printed again: following starts after
    // the newest settled event. The newer event is stamped far ahead, so that it is never settled
    // and nothing here depends on the clock.
    let late = sonarly_app::accounts::create_group(store, &clock, "Late").await.unwrap().id;
    let old = append(store, &late, 0).await;
    let ahead = Timestamp::parse_rfc3339("2100-01-01T00:00:00Z").unwrap();
    let future = store.append_event(&late, EventType::CreditsLow, &credits_low_data(&late, 1), ahead).await.unwrap();
    let following = Following::start(&url, &["--group", &late, "--last", "2"]);
    assert_eq!(following.next(), expected(&old));
    assert_eq!(following.next(), expected(&future));
    let committed_late = append(store, &late, 30).await;
    assert_eq!(following.next(), expected(&committed_late));
    following.quiet();
});
