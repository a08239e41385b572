//! Provider secrets at rest, as an operator handles them: `sonarly linkedin connect`
//! seals a Unipile API key with SONARLY_SECRET_KEY (and refuses without one), `linkedin
//! list` never shows it, and `linkedin rotate-secrets` moves every key to a new server key.

use sonarly_domain::Timestamp;
use sonarly_domain::clock::ManualClock;
use sonarly_domain::secrets::SecretKey;
use sonarly_store::Store;
use sonarly_testkit::fault::{FaultyNetwork, UnipileMock};
use sonarly_testkit::{TestBackend, TestDb};
use std::process::{Command, Output};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_sonarly");
/// The mock Unipile's key: connecting asks Unipile who the account is before storing it.
const API_KEY: &str = UnipileMock::API_KEY;
/// 32 bytes of 1, then of 2, in base64 (as `openssl rand -base64 32` prints a key).
const KEY_ONE: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const KEY_TWO: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

/// Runs `sonarly` with exactly the given secret keys in its environment.
fn run(url: &str, keys: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .args(["--database", url])
        .env_remove("SONARLY_DATABASE_URL")
        .env_remove("SONARLY_SECRET_KEY")
        .env_remove("SONARLY_SECRET_KEY_PREVIOUS")
        .env("SONARLY_UNIPILE_API_KEY", API_KEY);
    for (name, value) in keys {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().lines().last().unwrap_or("").to_owned()
}

fn unipile_connect<'a>(group: &'a str, dsn: &'a str) -> Vec<&'a str> {
    vec!["linkedin", "connect", "--group", group, "--provider", "unipile", "--unipile-dsn", dsn]
        .into_iter()
        .chain(["--unipile-account-id", UnipileMock::ACCOUNT_ID])
        .collect()
}

async fn stored_settings(url: &str, id: &str) -> String {
    let store = Store::connect(url).await.unwrap();
    let settings = store.system().linkedin_account(id).await.unwrap().unwrap().provider_settings;
    store.close().await;
    settings
}

/// The id of the key made of 32 times `byte`.
fn key_id(byte: u8) -> String {
    SecretKey::from_bytes([byte; 32]).id().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unipile_api_key_is_stored_sealed_never_listed_and_rotated_to_a_new_server_key() {
    let (url, _guard) = TestDb::empty(TestBackend::Sqlite).await.unwrap();
    let url = url.as_str();
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_780_000_000_000)));
    let mock = UnipileMock::start(FaultyNetwork::new(clock, 2, 0)).await.unwrap();
    let dsn = mock.base_url();
    let group = ok(&run(url, &[], &["groups", "create", "Secrets"]));

    let refused = run(url, &[], &unipile_connect(&group, &dsn));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("SONARLY_SECRET_KEY is not set") && stderr.contains("openssl rand -base64 32"), "{stderr}");
    let bad = run(url, &[("SONARLY_SECRET_KEY", "c2hvcnQ=")], &unipile_connect(&group, &dsn));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && stderr.contains("SONARLY_SECRET_KEY must be 32 bytes"), "{stderr}");
    assert!(!stderr.contains("c2hvcnQ="), "the key is never echoed");
    ok(&run(url, &[], &["linkedin", "connect", "--group", &group, "--provider", "sandbox"]));

    let connected = run(url, &[("SONARLY_SECRET_KEY", KEY_ONE)], &unipile_connect(&group, &dsn));
    let id = ok(&connected);
    let settings = stored_settings(url, &id).await;
    assert!(!settings.contains(API_KEY) && settings.contains(&format!("enc:v1:{}:", key_id(1))), "{settings}");
    let listed = run(url, &[], &["linkedin", "list"]);
    let shown = format!("{}{}", String::from_utf8_lossy(&listed.stdout), String::from_utf8_lossy(&listed.stderr));
    assert!(listed.status.success() && shown.contains(&id), "{shown}");
    assert!(!shown.contains(API_KEY) && !shown.contains("enc:v1") && !shown.contains("apiKey"), "{shown}");

    // Rotation: the old key becomes the previous one, the command re-seals, the old key goes.
    let rotate = ["linkedin", "rotate-secrets"];
    let without = run(url, &[], &rotate);
    assert!(!without.status.success() && String::from_utf8_lossy(&without.stderr).contains("SONARLY_SECRET_KEY"));
    let lost = run(url, &[("SONARLY_SECRET_KEY", KEY_TWO)], &rotate);
    assert!(!lost.status.success(), "a key sealed with an unknown key is reported");
    assert!(String::from_utf8_lossy(&lost.stderr).contains("SONARLY_SECRET_KEY_PREVIOUS"));
    assert_eq!(stored_settings(url, &id).await, settings, "and left as it was");
    let both = [("SONARLY_SECRET_KEY", KEY_TWO), ("SONARLY_SECRET_KEY_PREVIOUS", KEY_ONE)];
    assert_eq!(ok(&run(url, &both, &rotate)), "1");
    let resealed = stored_settings(url, &id).await;
    assert!(resealed.contains(&format!("enc:v1:{}:", key_id(2))) && !resealed.contains(API_KEY), "{resealed}");
    assert_eq!(ok(&run(url, &[("SONARLY_SECRET_KEY", KEY_TWO)], &rotate)), "0", "nothing left to re-seal");
}
