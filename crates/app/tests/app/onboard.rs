//! Connecting a Unipile seat like a real user, against a local mock of Unipile (wiremock):
//! the account is verified before it is stored, its type comes from Unipile, and its three
//! webhooks are registered.

use serde_json::json;
use sonarly_app::linkedin::onboard::{connect_verified, register_webhooks, webhook_url};
use sonarly_app::linkedin::{ConnectAccount, ProviderSetup, UnipileSetup};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::ManualClock;
use sonarly_domain::linkedin_account::SendingRules;
use sonarly_linkedin::AccountType;
use sonarly_linkedin::unipile::WebhookSource;
use sonarly_testkit::{TestDb, both_backends};
use wiremock::matchers::{any, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "pNQnUCoZ.Zd6OCJZtYHf6ynN+5RSu0FihC/71MhtOXwy8H+Ejtz0=";
const ACC: &str = "t5XY4yQzR9WVrlNFyzPMhw";
const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// A mock Unipile that knows one account, a Sales Navigator seat, and only our key.
async fn unipile() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "status": 401, "type": "errors/missing_credentials", "title": "Missing credentials"
        })))
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/me"))
        .and(header("X-API-KEY", KEY))
        .and(query_param("account_id", ACC))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "AccountOwnerProfile",
            "provider": "LINKEDIN",
            "provider_id": "ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E",
            "entity_urn": "urn:li:fsd_profile:ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E",
            "object_urn": "urn:li:member:117391600",
            "first_name": "Avery",
            "last_name": "Stone",
            "public_identifier": "avery-stone",
            "occupation": "Head of Sales",
            "premium": true,
            "open_profile": false,
            "location": "Berlin",
            "email": "avery@example.com",
            "organizations": [],
            "recruiter": null,
            "sales_navigator": { "owner_seat_id": "224412843", "contract_id": "178912454" }
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/me"))
        .and(header("X-API-KEY", KEY))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "status": 404, "type": "errors/resource_not_found", "title": "Resource not found.", "detail": "Account not found"
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

fn input(group_id: &str, dsn: &str, api_key: &str, account_id: &str) -> ConnectAccount {
    ConnectAccount {
        group_id: group_id.into(),
        name: "Avery".into(),
        account_type: AccountType::Classic,
        rules: SendingRules::default(),
        provider: ProviderSetup::Unipile(UnipileSetup {
            base_url: dsn.into(),
            api_key: api_key.into(),
            account_id: account_id.into(),
            webhook_secret: SECRET.into(),
        }),
    }
}

both_backends!(connect_verifies_the_seat_with_unipile_and_derives_its_type, |backend| async move {
    let db = TestDb::new(backend).await.unwrap();
    let clock = ManualClock::new(Timestamp::from_millis(1_780_000_000_000));
    let group = sonarly_app::accounts::create_group(&db.store, &clock, "G").await.unwrap();
    let server = unipile().await;

    // A key Unipile refuses, or an account it does not know: nothing is stored.
    let err = connect_verified(&db.store, &clock, &keyring(), input(&group.id, &server.uri(), "wrong", ACC))
        .await
        .unwrap_err();
    assert_eq!((err.status, err.fields[0].field.as_str()), (400, "unipileApiKey"), "{err:?}");
    let err = connect_verified(&db.store, &clock, &keyring(), input(&group.id, &server.uri(), KEY, "unknown"))
        .await
        .unwrap_err();
    assert_eq!((err.status, err.fields[0].field.as_str()), (400, "unipileAccountId"), "{err:?}");
    assert!(!err.to_string().contains(KEY) && !format!("{err:?}").contains(KEY), "the key is never echoed");
    assert!(db.store.group_linkedin_accounts(&group.id).await.unwrap().is_empty());

    // Declared classic, Unipile says Sales Navigator: Unipile wins.
    let seat =
        connect_verified(&db.store, &clock, &keyring(), input(&group.id, &server.uri(), KEY, ACC)).await.unwrap();
    assert_eq!((seat.declared, seat.derived), (AccountType::Classic, AccountType::SalesNavigator));
    assert_eq!(seat.account.account_type, AccountType::SalesNavigator);
    assert_eq!(seat.profile.as_ref().unwrap().first_name, "Avery");
    let stored = db.store.group_linkedin_accounts(&group.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].account_type, AccountType::SalesNavigator);
});

both_backends!(a_dsn_without_a_scheme_is_accepted, |backend| async move {
    let db = TestDb::new(backend).await.unwrap();
    let clock = ManualClock::new(Timestamp::from_millis(1_780_000_000_000));
    let group = sonarly_app::accounts::create_group(&db.store, &clock, "G").await.unwrap();
    // Nothing listens on local port 9: only the DSN's shape is checked here,
    // and it is not refused as a DSN (the failure is Unipile being unreachable).
    let err =
        connect_verified(&db.store, &clock, &keyring(), input(&group.id, "127.0.0.1:9", KEY, ACC)).await.unwrap_err();
    assert_ne!(err.fields.first().map(|f| f.field.as_str()), Some("unipileDsn"), "{err:?}");
    let err = connect_verified(&db.store, &clock, &keyring(), input(&group.id, "ftp://x", KEY, ACC)).await.unwrap_err();
    assert_eq!(err.fields[0].field, "unipileDsn");
});

#[tokio::test]
async fn connect_registers_the_three_webhooks_of_the_seat() {
    let server = unipile().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/webhooks"))
        .and(header("X-API-KEY", KEY))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({ "object": "WebhookCreated", "webhook_id": "wh" })),
        )
        .expect(3)
        .mount(&server)
        .await;
    let setup = UnipileSetup {
        base_url: server.uri(),
        api_key: KEY.into(),
        account_id: ACC.into(),
        webhook_secret: SECRET.into(),
    };
    let clock = ManualClock::new(Timestamp::from_millis(1_780_000_000_000));
    let account = sonarly_domain::linkedin_account::LinkedInAccount {
        id: "6650f0c2a1b2c3d4e5f60718".into(),
        ..sonarly_testkit_account(&clock)
    };
    let hooks = register_webhooks(&setup, &account, "https://sonarly.example.com/").await.unwrap();
    let sources: Vec<_> = hooks.iter().map(|h| h.source).collect();
    assert_eq!(sources, WebhookSource::ALL);
    let sent = server.received_requests().await.unwrap();
    let bodies: Vec<serde_json::Value> = sent
        .iter()
        .filter(|r| r.url.path() == "/api/v1/webhooks")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(bodies.len(), 3);
    for body in &bodies {
        assert_eq!(body["request_url"], "https://sonarly.example.com/v1/webhooks/unipile/6650f0c2a1b2c3d4e5f60718");
        assert_eq!(body["account_ids"], json!([ACC]));
        assert_eq!(body["headers"][0]["value"], SECRET);
    }
    assert!(bodies[2]["events"].as_array().unwrap().contains(&json!("ok")));

    assert!(webhook_url("sonarly.example.com", "x").is_err(), "a public URL needs its scheme");
    assert!(webhook_url("https://", "x").is_err());
}

/// A stored-account value for calls that only read its id.
fn sonarly_testkit_account(clock: &ManualClock) -> sonarly_domain::linkedin_account::LinkedInAccount {
    use sonarly_domain::clock::Clock;
    use sonarly_domain::linkedin_account::{AccountStatus, LinkedInAccount, ProviderKind};
    let now = clock.now();
    LinkedInAccount {
        id: String::new(),
        group_id: "507f1f77bcf86cd799439011".into(),
        provider: ProviderKind::Unipile,
        display_name: "Avery".into(),
        account_type: AccountType::SalesNavigator,
        status: AccountStatus::Connected,
        rules: SendingRules::default(),
        provider_settings: String::new(),
        webhook_secret_hash: None,
        rate_limited_until: None,
        status_changed_at: now,
        last_webhook_at: None,
        created_at: now,
        updated_at: now,
    }
}

/// The server's keyring (Unipile API keys are stored sealed).
fn keyring() -> sonarly_domain::secrets::Keyring {
    sonarly_domain::secrets::Keyring::new(sonarly_domain::secrets::SecretKey::from_bytes([7; 32]), None)
}
