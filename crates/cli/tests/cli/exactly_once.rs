//! Exactly-once delivery with real server processes: a server killed with
//! SIGKILL while dispatching 2,000 responses, and three servers draining 3,000
//! responses from one PostgreSQL database (the sandbox's journal, unique per
//! account and token, is the ledger of what reached "LinkedIn"); and servers
//! sending through a Unipile account to a mock that is slower than the call
//! budget and the lease, fails before and after delivering, and never
//! deduplicates (`sonarly_testkit::fault::UnipileMock`), where the mock's own
//! record of deliveries is the ledger.

use sonarly_app::linkedin::{
    ConnectAccount, ProviderRegistry, ProviderSetup, UnipileSetup, connect_account, connect_account_with,
};
use sonarly_app::responses::{QueueResponseRequest, queue_response};
use sonarly_domain::GroupId;
use sonarly_domain::clock::{SharedClock, SystemClock};
use sonarly_domain::linkedin_account::{LinkedInAccount, SendingRules, WorkingHours};
use sonarly_domain::prospecting::{Plan, Prospect, person_id_for};
use sonarly_domain::responses::ResponseStatus;
use sonarly_domain::secrets::Keyring;
use sonarly_linkedin::AccountType;
use sonarly_linkedin::sandbox::SandboxConfig;
use sonarly_store::{OUTBOUND_WORK, Store};
use sonarly_testkit::fault::{Failure, Fault, FaultMix, FaultyNetwork, UnipileMock};
use sonarly_testkit::{TestBackend, TestDb, both_backends, postgres_available};
use std::collections::{HashMap, HashSet};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sonarly");
/// The servers' SONARLY_SECRET_KEY (32 bytes of 7, base64), which seals the Unipile key.
const SECRET_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// A server with a 2 s lease; sends whose outcome is unknown settle for 1 s
/// (the sandbox shows what it did at once).
fn start_server(url: &str) -> Child {
    start_server_with(url, &["--lease-ms", "2000", "--settle-ms", "1000"])
}

fn start_server_with(url: &str, settings: &[&str]) -> Child {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(BIN)
        .args(["serve", "--no-demo", "--listen", &format!("127.0.0.1:{port}"), "--database", url])
        .args(settings)
        .env("RUST_LOG", "warn")
        .env("SONARLY_SECRET_KEY", SECRET_KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + STALL;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(25));
    }
    child
}

/// A group with one fast sandbox account (no working-hour, cap or spacing
/// limits) and `responses` queued replies to its connections.
async fn queued_world(store: &Store, responses: usize) -> (String, LinkedInAccount, Vec<String>) {
    let clock: SharedClock = Arc::new(SystemClock);
    let group = sonarly_app::accounts::create_group_on(store, &SystemClock, "Load", Plan::Scale, 0).await.unwrap();
    let rules = SendingRules {
        working_hours: WorkingHours::AROUND_THE_CLOCK,
        min_spacing_secs: 0,
        max_spacing_secs: 0,
        daily_messages: 1_000_000,
        ..SendingRules::default()
    };
    let sandbox = SandboxConfig { messages_per_day: 1_000_000, ..SandboxConfig::default() };
    let input = ConnectAccount {
        group_id: group.id.clone(),
        name: "Load".into(),
        account_type: AccountType::Classic,
        rules,
        provider: ProviderSetup::Sandbox(sandbox),
    };
    let account = connect_account(store, &SystemClock, input).await.unwrap();
    let registry = ProviderRegistry::new(store.clone(), clock.clone());
    let relations = registry.provider(&account).unwrap().relations(None).await.unwrap().items;
    let now = clock.now();
    let prospects: Vec<Prospect> = relations
        .iter()
        .enumerate()
        .map(|(k, r)| sonarly_testkit::connection_prospect(&group.id, format!("{k:024x}"), r, now))
        .collect();
    store.upsert_prospects(&prospects, None).await.unwrap();
    let mut ids = Vec::with_capacity(responses);
    for k in 0..responses {
        let request = QueueResponseRequest {
            prospect_id: Some(prospects[k % prospects.len()].id.clone()),
            message: Some(format!("Load message {k}")),
            ..Default::default()
        };
        ids.push(queue_response(store, &registry, &SystemClock, &group.id, &request, None).await.unwrap().id);
    }
    (group.id.into_string(), account, ids)
}

/// How long the sends may make no progress at all before a test calls it a hang. Only a stall
/// fails: a loaded machine that sends slowly still passes, however long the whole run takes.
const STALL: Duration = Duration::from_secs(90);

/// Waits until `expected` responses are sent, or fails once none was sent for [`STALL`].
async fn wait_until_sent(store: &Store, group_id: &str, expected: i64) {
    wait_for_sent(store, group_id, |sent| sent == expected).await;
}

/// Waits until the count of sent responses satisfies `done`, or fails once it stopped moving for
/// [`STALL`] (a count that never grows, a server that never started).
async fn wait_for_sent(store: &Store, group_id: &str, done: impl Fn(i64) -> bool) {
    let mut last = -1;
    let mut moved = Instant::now();
    loop {
        let sent = store.count_responses(&GroupId::from(group_id), ResponseStatus::Sent).await.unwrap();
        if done(sent) {
            return;
        }
        if sent != last {
            (last, moved) = (sent, Instant::now());
        }
        assert!(moved.elapsed() < STALL, "stalled: {sent} sent, none more in {STALL:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every response reached the sandbox exactly once, and nothing else did.
async fn assert_ledger_matches(store: &Store, account: &LinkedInAccount, ids: &[String]) {
    let ledger = store.sandbox_actions_since(&account.id, 0).await.unwrap();
    let tokens: Vec<String> = ledger.into_iter().map(|a| a.token).collect();
    let unique: HashSet<&String> = tokens.iter().collect();
    assert_eq!(unique.len(), tokens.len(), "no token twice");
    let expected: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique, expected, "every response exactly once, none lost, none extra");
    assert_eq!(store.count_work(OUTBOUND_WORK).await.unwrap(), 0);
}

both_backends!(a_killed_server_never_sends_twice_or_loses_anything, |backend: TestBackend| async move {
    let (url, _guard) = TestDb::empty(backend).await.unwrap();
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let (group_id, account, ids) = queued_world(&store, 2_000).await;

    let mut first = start_server(&url);
    wait_for_sent(&store, &group_id, |sent| sent >= 300).await;
    Command::new("kill").args(["-KILL", &first.id().to_string()]).status().unwrap();
    first.wait().unwrap();
    let at_kill = store.count_responses(&GroupId::from(&group_id), ResponseStatus::Sent).await.unwrap();
    assert!(at_kill < 2_000, "killed mid-dispatch ({at_kill} sent)");

    let mut second = start_server(&url);
    wait_until_sent(&store, &group_id, 2_000).await;
    Command::new("kill").args(["-TERM", &second.id().to_string()]).status().unwrap();
    second.wait().unwrap();
    assert_ledger_matches(&store, &account, &ids).await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_on_one_postgres_drain_without_duplicates() {
    if !postgres_available() {
        return;
    }
    let (url, _guard) = TestDb::empty(TestBackend::Postgres).await.unwrap();
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let (group_id, account, ids) = queued_world(&store, 3_000).await;
    let mut servers: Vec<Child> = (0..3).map(|_| start_server(&url)).collect();
    wait_until_sent(&store, &group_id, 3_000).await;
    for server in &mut servers {
        Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
        server.wait().unwrap();
    }
    assert_ledger_matches(&store, &account, &ids).await;
}

/// A group whose one account is a Unipile account served by `mock`, with
/// `texts` queued as replies to its connections: text `k` to connection
/// `k % 8`, except that equal texts go to the same person (same-text follow-ups).
async fn unipile_world(
    store: &Store,
    net: &FaultyNetwork,
    mock: &UnipileMock,
    texts: &[String],
) -> (String, LinkedInAccount) {
    let clock: SharedClock = Arc::new(SystemClock);
    let group = sonarly_app::accounts::create_group_on(store, &SystemClock, "Unipile", Plan::Scale, 0).await.unwrap();
    let rules = SendingRules {
        working_hours: WorkingHours::AROUND_THE_CLOCK,
        min_spacing_secs: 0,
        max_spacing_secs: 0,
        daily_messages: 1_000_000,
        ..SendingRules::default()
    };
    let setup = UnipileSetup {
        base_url: mock.base_url(),
        api_key: UnipileMock::API_KEY.into(),
        account_id: UnipileMock::ACCOUNT_ID.into(),
        webhook_secret: "a-webhook-secret-of-some-length".into(),
    };
    let input = ConnectAccount {
        group_id: group.id.clone(),
        name: "Unipile".into(),
        account_type: AccountType::Classic,
        rules,
        provider: ProviderSetup::Unipile(setup),
    };
    let keyring = Keyring::from_settings(Some(SECRET_KEY), None).unwrap();
    let account = connect_account_with(store, &SystemClock, &keyring, input).await.unwrap();
    let registry = ProviderRegistry::new(store.clone(), clock.clone()).with_keyring(keyring);
    let now = clock.now();
    let prospects: Vec<Prospect> = net
        .connections()
        .iter()
        .enumerate()
        .map(|(k, m)| Prospect {
            id: format!("{k:024x}"),
            group_id: group.id.clone(),
            provider_id: m.provider_id.clone(),
            member_id: Some(m.provider_id.clone()),
            person_id: person_id_for(&m.provider_id),
            name: format!("{} {}", m.first_name, m.last_name),
            connection_degree: Some(1),
            created_at: now,
            updated_at: now,
            ..Prospect::default()
        })
        .collect();
    store.upsert_prospects(&prospects, None).await.unwrap();
    for (k, text) in texts.iter().enumerate() {
        let first = texts.iter().position(|t| t == text).unwrap_or(k);
        let request = QueueResponseRequest {
            prospect_id: Some(prospects[first % prospects.len()].id.clone()),
            message: Some(text.clone()),
            ..Default::default()
        };
        queue_response(store, &registry, &SystemClock, &group.id, &request, None).await.unwrap();
    }
    (group.id.into_string(), account)
}

/// Each queued text reached the mock exactly as many times as it was queued,
/// every response is `sent`, and each carries its own attributed message.
async fn assert_delivered_as_queued(store: &Store, net: &FaultyNetwork, account: &LinkedInAccount, texts: &[String]) {
    let mut queued: HashMap<&str, usize> = HashMap::new();
    for t in texts {
        *queued.entry(t.as_str()).or_default() += 1;
    }
    for (text, times) in &queued {
        assert_eq!(net.delivered_count(text), *times, "{text:?} delivered as often as it was queued");
    }
    assert_eq!(net.deliveries().len(), texts.len(), "nothing else was delivered");
    let sends = store.sends_of_account(&account.id).await.unwrap();
    assert_eq!(sends.len(), texts.len());
    let delivered: HashMap<String, String> = net
        .deliveries()
        .into_iter()
        .map(|d| (format!("message:{}", d.provider_id), d.text.unwrap_or_default()))
        .collect();
    let mut refs = HashSet::new();
    for send in &sends {
        let reference = send.provider_ref.clone().unwrap_or_else(|| panic!("attributed: {send:?}"));
        assert_eq!(delivered.get(&reference), send.body.as_ref(), "attributed to a delivery of its own text");
        assert!(refs.insert(reference), "no message attributed twice");
    }
    assert_eq!(store.count_work(OUTBOUND_WORK).await.unwrap(), 0);
}

both_backends!(a_server_on_a_slow_and_failing_unipile_delivers_each_reply_once, |backend: TestBackend| async move {
    let (url, _guard) = TestDb::empty(backend).await.unwrap();
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let net = FaultyNetwork::new(Arc::new(SystemClock), 8, 0);
    let mock = UnipileMock::start(net.clone()).await.unwrap();
    let mut texts: Vec<String> = (0..3).map(|k| format!("Slow reply {k}")).collect();
    texts.extend(["Thanks!".into(), "Thanks!".into()]);
    texts.extend(["Delivered then reset", "Delivered then 503", "Delivered then timeout"].map(String::from));
    for text in &texts[..3] {
        // Slower than the call budget (half the 4 s lease) and than the lease itself.
        net.fault_for_text(text, Fault::Slow(5_000));
    }
    // The second "Thanks!" meets a 503 that delivers nothing.
    net.fault_for_text("Thanks!", Fault::None);
    net.fault_for_text("Thanks!", Fault::FailBefore(Failure::Status(503)));
    net.fault_for_text("Delivered then reset", Fault::DeliverThenFail(Failure::Reset));
    net.fault_for_text("Delivered then 503", Fault::DeliverThenFail(Failure::Status(503)));
    net.fault_for_text("Delivered then timeout", Fault::DeliverThenFail(Failure::Timeout));
    let (group_id, account) = unipile_world(&store, &net, &mock, &texts).await;

    let mut server = start_server_with(&url, &["--lease-ms", "4000", "--settle-ms", "6000"]);
    wait_until_sent(&store, &group_id, texts.len() as i64).await;
    Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    server.wait().unwrap();
    assert_delivered_as_queued(&store, &net, &account, &texts).await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_with_a_lease_shorter_than_the_send_deliver_each_reply_once() {
    if !postgres_available() {
        return;
    }
    let (url, _guard) = TestDb::empty(TestBackend::Postgres).await.unwrap();
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let net = FaultyNetwork::new(Arc::new(SystemClock), 12, 0);
    let mock = UnipileMock::start(net.clone()).await.unwrap();
    // Every send takes 8 s: longer than the 5 s lease; delivered messages show 8 s after the request.
    net.set_mix(FaultMix {
        seed: 11,
        fail_before: 0.0,
        deliver_then_fail: 0.0,
        slow: 1.0,
        slow_ms: (8_000, 8_000),
        hang: 0.0,
    });
    let texts: Vec<String> = (0..12).map(|k| format!("Eight seconds {k}")).collect();
    let (group_id, account) = unipile_world(&store, &net, &mock, &texts).await;
    let settings = ["--lease-ms", "5000", "--settle-ms", "10000"];
    let mut servers: Vec<Child> = (0..2).map(|_| start_server_with(&url, &settings)).collect();
    wait_until_sent(&store, &group_id, texts.len() as i64).await;
    for server in &mut servers {
        Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
        server.wait().unwrap();
    }
    assert_delivered_as_queued(&store, &net, &account, &texts).await;
}
