//! Connecting, reconnecting and unblocking Unipile seats through the API (issue 13.4),
//! against a local mock of Unipile (wiremock): the verified connect and its three
//! webhooks, hosted-auth links, checkpoints moving the seat through the seat policy, and
//! the refusals (scope, another group's seat, a sandbox seat, a private DSN, Unipile
//! refusing or down). No answer ever carries the API key or a webhook secret.

use crate::support::*;
use serde_json::{Value, json};
use sonarly_domain::linkedin_account::AccountStatus;
use sonarly_domain::models::AccountGroup;
use sonarly_domain::secrets::{Keyring, SecretKey};
use sonarly_domain::webhooks::UrlPolicy;
use sonarly_testkit::{TestBackend, both_backends};
use wiremock::matchers::{any, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "pNQnUCoZ.Zd6OCJZtYHf6ynN+5RSu0FihC/71MhtOXwy8H+Ejtz0=";
const ACC: &str = "t5XY4yQzR9WVrlNFyzPMhw";
const SECRET: &str = "0123456789abcdef0123456789abcdef";
const WIZARD: &str = "https://account.unipile.com/pqrG5wH1vZ3sdS1aU2rHMQ";
const SCOPE: &str = "linkedin-accounts:write";

/// The app with a secret key (Unipile API keys are stored sealed) and an outbound policy
/// that lets it call the mock on 127.0.0.1 (`strict`: the default policy).
async fn app(backend: TestBackend, strict: bool) -> TestApp {
    let mut app = TestApp::new(backend).await;
    let mut state = app.state.clone();
    if !strict {
        state = state.with_webhook_policy(UrlPolicy::PERMISSIVE);
    }
    state.registry = state.registry.clone().with_keyring(Keyring::new(SecretKey::from_bytes([7; 32]), None));
    app.state = state;
    app.router = sonarly_api::router(app.state.clone());
    app
}

/// A mock Unipile that knows one account, a Sales Navigator seat, and only our key.
async fn unipile() -> MockServer {
    let server = MockServer::start().await;
    let problem = |status: u16, kind: &str, title: &str| {
        ResponseTemplate::new(status).set_body_json(json!({ "status": status, "type": kind, "title": title }))
    };
    Mock::given(any())
        .respond_with(problem(401, "errors/missing_credentials", "Missing credentials"))
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/me"))
        .and(header("X-API-KEY", KEY))
        .and(query_param("account_id", ACC))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "AccountOwnerProfile", "provider": "LINKEDIN",
            "provider_id": "ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E",
            "first_name": "Avery", "last_name": "Stone", "public_identifier": "avery-stone",
            "premium": true, "sales_navigator": { "owner_seat_id": "224412843", "contract_id": "178912454" }
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/me"))
        .and(header("X-API-KEY", KEY))
        .respond_with(problem(404, "errors/resource_not_found", "Resource not found."))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/webhooks"))
        .and(header("X-API-KEY", KEY))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({ "object": "WebhookCreated", "webhook_id": "wh_1" })),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/hosted/accounts/link"))
        .and(header("X-API-KEY", KEY))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "object": "HostedAuthURL", "url": WIZARD })))
        .with_priority(1)
        .mount(&server)
        .await;
    let checkpoint = |code: &str| {
        Mock::given(method("POST"))
            .and(path("/api/v1/accounts/checkpoint"))
            .and(header("X-API-KEY", KEY))
            .and(body_partial_json(json!({ "account_id": ACC, "code": code })))
    };
    checkpoint("123456")
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({ "object": "AccountReconnected", "account_id": ACC })),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    checkpoint("TRY_ANOTHER_WAY")
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "object": "Checkpoint", "account_id": ACC, "checkpoint": { "type": "2FA", "source": "APP" }
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/accounts/checkpoint"))
        .and(header("X-API-KEY", KEY))
        .respond_with(problem(401, "errors/invalid_checkpoint_solution", "Invalid checkpoint solution"))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

/// The bodies of the requests the mock got on `route`.
async fn sent_to(server: &MockServer, route: &str) -> Vec<Value> {
    let requests = server.received_requests().await.unwrap();
    requests.iter().filter(|r| r.url.path() == route).map(|r| serde_json::from_slice(&r.body).unwrap()).collect()
}

fn assert_no_secret(reply: &Reply, secrets: &[&str]) {
    let text = reply.body.to_string();
    for secret in secrets.iter().chain([&KEY]) {
        assert!(!text.contains(secret), "an answer carries a secret: {text}");
    }
}

/// Connects the mock's seat through the API; returns its id.
async fn connect(app: &TestApp, group: &AccountGroup, key: &str, server: &MockServer) -> String {
    let body = json!({
        "name": "Avery", "unipileDsn": server.uri(), "unipileApiKey": KEY, "unipileAccountId": ACC,
        "webhookSecret": SECRET,
    });
    let reply =
        app.post_json(&format!("/v1/accounts/{}/linkedin-accounts", group.id), key, &[], &body.to_string()).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_no_secret(&reply, &[SECRET]);
    reply.body["data"]["id"].as_str().unwrap().to_owned()
}

both_backends!(a_seat_connected_through_the_api_is_verified_and_its_webhooks_registered, |backend| async move {
    let app = app(backend, false).await;
    let server = unipile().await;
    let group = app.group("G").await;
    let key = app.key_with(&[&group], SCOPE, 1_000).await;
    let base = format!("/v1/accounts/{}/linkedin-accounts", group.id);

    // Declared nothing, Unipile says Sales Navigator; the server picks the webhook secret.
    let body = json!({
        "name": "Avery", "unipileDsn": server.uri(), "unipileApiKey": KEY, "unipileAccountId": ACC,
        "publicUrl": "https://sonarly.example.com/", "timezone": "Europe/Berlin", "workingHours": "08:00-17:00",
    });
    let reply = app.post_json(&base, &key, &[], &body.to_string()).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let data = &reply.body["data"];
    let id = data["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (&data["provider"], &data["accountType"], &data["status"], &data["timezone"]),
        (&json!("unipile"), &json!("sales_navigator"), &json!("connected"), &json!("Europe/Berlin"))
    );
    assert_eq!(data["workingHours"], json!({"start": "08:00", "end": "17:00"}));
    let receiver = format!("https://sonarly.example.com/v1/webhooks/unipile/{id}");
    assert_eq!(data["webhooks"]["requestUrl"], receiver.as_str());
    assert!(data["webhooks"]["error"].is_null(), "{data}");
    let sources: Vec<&str> =
        data["webhooks"]["registered"].as_array().unwrap().iter().map(|h| h["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["messaging", "users", "account_status"]);

    // The three requests Unipile got: our receiver, the seat's account, one secret header.
    let hooks = sent_to(&server, "/api/v1/webhooks").await;
    assert_eq!(hooks.len(), 3);
    let secret = hooks[0]["headers"][0]["value"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32, "{secret}");
    for hook in &hooks {
        assert_eq!(hook["request_url"], receiver.as_str());
        assert_eq!(hook["account_ids"], json!([ACC]));
        assert_eq!(hook["headers"][0], json!({"key": "X-Sonarly-Webhook-Secret", "value": secret}));
    }
    let stored = app.db.store.get_linkedin_account(&group.id, &id).await.unwrap().unwrap();
    assert_eq!(stored.webhook_secret_hash.as_deref(), Some(sonarly_domain::apikey::hash_key(&secret).as_str()));
    assert!(!stored.provider_settings.contains(KEY), "the API key is stored sealed");
    assert_no_secret(&reply, &[&secret]);

    // The seat works with the stored (sealed) key: a reconnect link for it.
    let reply = app.post_json(&format!("{base}/{id}/reconnect-link"), &key, &[], "").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["url"], WIZARD);
    assert_eq!(reply.body["data"]["expiresAt"], "2026-06-03T11:00:00.000Z");
    let links = sent_to(&server, "/api/v1/hosted/accounts/link").await;
    assert_eq!((&links[0]["type"], &links[0]["reconnect_account"]), (&json!("reconnect"), &json!(ACC)));

    // Its public URL changed: the three webhooks again, with a new secret that replaces the stored one.
    let reply =
        app.post_json(&format!("{base}/{id}/webhooks"), &key, &[], r#"{"publicUrl": "https://new.example.com"}"#).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["id"], id.as_str());
    let receiver = format!("https://new.example.com/v1/webhooks/unipile/{id}");
    assert_eq!(reply.body["data"]["webhooks"]["requestUrl"], receiver.as_str());
    let hooks = sent_to(&server, "/api/v1/webhooks").await;
    assert_eq!(hooks.len(), 6);
    let renewed = hooks[3]["headers"][0]["value"].as_str().unwrap().to_owned();
    assert_ne!(renewed, secret);
    assert!(hooks[3..].iter().all(|h| h["request_url"] == receiver.as_str() && h["headers"][0]["value"] == renewed));
    let stored = app.db.store.get_linkedin_account(&group.id, &id).await.unwrap().unwrap();
    assert_eq!(stored.webhook_secret_hash.as_deref(), Some(sonarly_domain::apikey::hash_key(&renewed).as_str()));
    assert_no_secret(&reply, &[&secret, &renewed]);

    // A link to connect another account, with the caller's workspace.
    let body = json!({"unipileDsn": server.uri(), "unipileApiKey": KEY, "name": "bob"});
    let reply = app.post_json(&format!("{base}/connect-link"), &key, &[], &body.to_string()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["url"], WIZARD);
    let links = sent_to(&server, "/api/v1/hosted/accounts/link").await;
    assert_eq!((&links[1]["type"], &links[1]["providers"]), (&json!("create"), &json!(["LINKEDIN"])));
    assert_no_secret(&reply, &[]);

    // The list shows it, without secrets either.
    let list = app.get(&base, &key).await;
    assert_eq!(list.body["data"]["items"][0]["id"], id.as_str());
    assert_no_secret(&list, &[&secret, &renewed]);
});

both_backends!(a_checkpoint_solved_through_the_api_brings_the_seat_back, |backend| async move {
    let app = app(backend, false).await;
    let server = unipile().await;
    let group = app.group("G").await;
    let key = app.key_with(&[&group], SCOPE, 1_000).await;
    let id = connect(&app, &group, &key, &server).await;
    let seat = app.db.store.system().linkedin_account(&id).await.unwrap().unwrap();
    sonarly_app::linkedin::seat::set_status(&app.db.store, &seat, AccountStatus::NeedsAction, "2FA", seat.created_at)
        .await
        .unwrap();
    let checkpoint = format!("/v1/accounts/{}/linkedin-accounts/{id}/checkpoint", group.id);
    let status = || async { app.db.store.system().linkedin_account(&id).await.unwrap().unwrap().status };

    // A wrong code: 400 on `code`, the seat unchanged.
    let reply = app.post_json(&checkpoint, &key, &[], r#"{"code": "000000"}"#).await;
    assert_error(&reply, 400, "VALIDATION_ERROR");
    assert_eq!(reply.body["error"]["fields"][0]["field"], "code");
    assert_eq!(status().await, AccountStatus::NeedsAction);
    for blank in [r#"{"code": "  "}"#, r#"{}"#] {
        let reply = app.post_json(&checkpoint, &key, &[], blank).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert_eq!(reply.body["error"]["fields"][0]["field"], "code", "{}", reply.body);
    }

    // Another step: named, and the seat still needs its owner.
    let reply = app.post_json(&checkpoint, &key, &[], r#"{"code": "TRY_ANOTHER_WAY"}"#).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        (&reply.body["data"]["outcome"], &reply.body["data"]["nextCheckpoint"]),
        (&json!("checkpoint"), &json!("2FA"))
    );
    assert_eq!(reply.body["data"]["linkedinAccount"]["status"], "needs_action");

    // Solved: recovering, through the seat policy (an event says so).
    let reply = app.post_json(&checkpoint, &key, &[], r#"{"code": " 123456 "}"#).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["outcome"], "solved");
    assert!(reply.body["data"]["nextCheckpoint"].is_null());
    assert_eq!(reply.body["data"]["linkedinAccount"]["id"], id.as_str());
    assert_eq!(reply.body["data"]["linkedinAccount"]["status"], "recovering");
    assert_eq!(status().await, AccountStatus::Recovering);
    assert_no_secret(&reply, &[SECRET]);
    let sent = sent_to(&server, "/api/v1/accounts/checkpoint").await;
    assert_eq!(sent.last().unwrap(), &json!({"provider": "LINKEDIN", "account_id": ACC, "code": "123456"}));
});

both_backends!(seat_routes_refuse_what_they_cannot_do, |backend| async move {
    let app = app(backend, false).await;
    let server = unipile().await;
    let group = app.prospecting_group(sonarly_domain::prospecting::Plan::Starter, 10).await;
    let other = app.group("Other").await;
    let key = app.key_with(&[&group], SCOPE, 1_000).await;
    let other_key = app.key_with(&[&other], SCOPE, 1_000).await;
    let seat = app.db.store.group_linkedin_accounts(&group.id).await.unwrap().remove(0).id;
    let unipile_seat = connect(&app, &group, &key, &server).await;

    // A sandbox seat has no checkpoint, no Unipile account, no webhooks: 422.
    let base = format!("/v1/accounts/{}/linkedin-accounts/{seat}", group.id);
    for (route, body) in [
        ("checkpoint", r#"{"code": "123456"}"#),
        ("reconnect-link", "{}"),
        ("webhooks", r#"{"publicUrl": "https://x.example.com"}"#),
    ] {
        let reply = app.post_json(&format!("{base}/{route}"), &key, &[], body).await;
        assert_error(&reply, 422, "VALIDATION_ERROR");
        assert!(reply.body["error"]["message"].as_str().unwrap().contains("sandbox"), "{}", reply.body);
    }

    // Another group's seat is absent; so is an unknown one.
    for seat in [&unipile_seat, &seat, &"6650f0c2a1b2c3d4e5f60718".to_owned()] {
        let path = format!("/v1/accounts/{}/linkedin-accounts/{seat}/checkpoint", other.id);
        assert_error(&app.post_json(&path, &other_key, &[], r#"{"code": "123456"}"#).await, 404, "NOT_FOUND");
        let path = format!("/v1/accounts/{}/linkedin-accounts/{seat}/reconnect-link", other.id);
        assert_error(&app.post_json(&path, &other_key, &[], "{}").await, 404, "NOT_FOUND");
    }
    // And another group itself too.
    let path = format!("/v1/accounts/{}/linkedin-accounts/{unipile_seat}/checkpoint", group.id);
    assert_error(&app.post_json(&path, &other_key, &[], r#"{"code": "123456"}"#).await, 404, "NOT_FOUND");

    // Without the scope: 403 on every route, before anything else.
    let reader = app.key_with(&[&group], "audiences:read,campaigns:write,webhooks:write", 1_000).await;
    let base = format!("/v1/accounts/{}/linkedin-accounts", group.id);
    for route in [
        base.clone(),
        format!("{base}/connect-link"),
        format!("{base}/{unipile_seat}/reconnect-link"),
        format!("{base}/{unipile_seat}/checkpoint"),
        format!("{base}/{unipile_seat}/webhooks"),
    ] {
        assert_error(&app.post_json(&route, &reader, &[], "{}").await, 403, "SCOPE_DENIED");
    }
    // A key with every scope has it.
    let all = app.key(&[&group]).await;
    let reply = app.post_json(&format!("{base}/{unipile_seat}/reconnect-link"), &all, &[], "").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(sent_to(&server, "/api/v1/accounts/checkpoint").await.len(), 0, "nothing reached Unipile");
});

both_backends!(connect_refusals_name_the_field_and_store_nothing, |backend| async move {
    let app = app(backend, false).await;
    let server = unipile().await;
    let group = app.group("G").await;
    let key = app.key_with(&[&group], SCOPE, 1_000).await;
    let base = format!("/v1/accounts/{}/linkedin-accounts", group.id);
    let body = |api_key: &str, account: &str| {
        json!({"name": "Avery", "unipileDsn": server.uri(), "unipileApiKey": api_key, "unipileAccountId": account,
               "webhookSecret": SECRET})
        .to_string()
    };
    let cases = [
        (body("wrong-key", ACC), "unipileApiKey"),
        (body(KEY, "unknown"), "unipileAccountId"),
        (body(KEY, " "), "unipileAccountId"),
        (
            json!({"name": "A", "unipileDsn": server.uri(), "unipileApiKey": KEY, "unipileAccountId": ACC}).to_string(),
            "webhookSecret",
        ),
        (
            json!({"name": "A", "unipileDsn": server.uri(), "unipileApiKey": KEY, "unipileAccountId": ACC,
                   "webhookSecret": "short"})
            .to_string(),
            "webhookSecret",
        ),
        (
            json!({"name": "A", "unipileDsn": server.uri(), "unipileApiKey": KEY, "unipileAccountId": ACC,
                   "publicUrl": "sonarly.example.com"})
            .to_string(),
            "publicUrl",
        ),
        (
            json!({"name": "A", "unipileDsn": "ftp://x", "unipileApiKey": KEY, "unipileAccountId": ACC,
                   "webhookSecret": SECRET})
            .to_string(),
            "unipileDsn",
        ),
        (
            json!({"name": "A", "unipileDsn": server.uri(), "unipileApiKey": KEY, "unipileAccountId": ACC,
                   "webhookSecret": SECRET, "workingHours": "nine to five"})
            .to_string(),
            "workingHours",
        ),
        (
            json!({"name": "A", "unipileDsn": server.uri(), "unipileApiKey": KEY, "unipileAccountId": ACC,
                   "webhookSecret": SECRET, "timezone": "Mars/Olympus"})
            .to_string(),
            "timezone",
        ),
        (
            json!({"name": "A", "unipileDsn": server.uri(), "unipileApiKey": KEY, "unipileAccountId": ACC,
                   "webhookSecret": SECRET, "apiKey": "x"})
            .to_string(),
            "apiKey",
        ),
    ];
    for (body, field) in cases {
        let reply = app.post_json(&base, &key, &[], &body).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert_eq!(reply.body["error"]["fields"][0]["field"], field, "{}", reply.body);
        assert_no_secret(&reply, &[SECRET]);
    }
    let reply = app
        .post_json(
            &format!("{base}/connect-link"),
            &key,
            &[],
            &json!({"unipileDsn": server.uri(), "unipileApiKey": "nope"}).to_string(),
        )
        .await;
    assert_error(&reply, 400, "VALIDATION_ERROR");
    assert_eq!(reply.body["error"]["fields"][0]["field"], "unipileApiKey");
    assert!(app.db.store.group_linkedin_accounts(&group.id).await.unwrap().is_empty());

    // Unipile down (nothing listens on local port 9): 502, retryable, nothing stored.
    let down = json!({"name": "A", "unipileDsn": "http://127.0.0.1:9", "unipileApiKey": KEY,
                      "unipileAccountId": ACC, "webhookSecret": SECRET});
    assert_error(&app.post_json(&base, &key, &[], &down.to_string()).await, 502, "UPSTREAM_ERROR");
    let down = json!({"unipileDsn": "http://127.0.0.1:9", "unipileApiKey": KEY});
    assert_error(
        &app.post_json(&format!("{base}/connect-link"), &key, &[], &down.to_string()).await,
        502,
        "UPSTREAM_ERROR",
    );
    assert!(app.db.store.group_linkedin_accounts(&group.id).await.unwrap().is_empty());
});

both_backends!(a_private_unipile_dsn_is_refused_before_any_call, |backend| async move {
    // The default outbound policy: https and public addresses only.
    let app = app(backend, true).await;
    let server = unipile().await;
    let group = app.group("G").await;
    let key = app.key_with(&[&group], SCOPE, 1_000).await;
    let base = format!("/v1/accounts/{}/linkedin-accounts", group.id);
    let port = server.address().port();
    for dsn in [
        server.uri(),
        format!("https://127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "https://10.1.2.3:13851".to_owned(),
        "https://[::1]:13851".to_owned(),
        "https://169.254.169.254".to_owned(),
        "https://user:pass@api8.unipile.com:13851".to_owned(),
    ] {
        let connect = json!({"name": "A", "unipileDsn": dsn, "unipileApiKey": KEY, "unipileAccountId": ACC,
                             "webhookSecret": SECRET});
        let link = json!({"unipileDsn": dsn, "unipileApiKey": KEY});
        for (route, body) in [(base.clone(), connect), (format!("{base}/connect-link"), link)] {
            let reply = app.post_json(&route, &key, &[], &body.to_string()).await;
            assert_error(&reply, 400, "VALIDATION_ERROR");
            assert_eq!(reply.body["error"]["fields"][0]["field"], "unipileDsn", "{dsn}: {}", reply.body);
        }
    }
    assert!(server.received_requests().await.unwrap().is_empty(), "the server never called the private address");

    // The metadata address stays refused even where private networks are allowed.
    let permissive = self::app(TestBackend::Sqlite, false).await;
    let group = permissive.group("G").await;
    let key = permissive.key_with(&[&group], SCOPE, 1_000).await;
    let body = json!({"unipileDsn": "http://169.254.169.254", "unipileApiKey": KEY}).to_string();
    let reply = permissive
        .post_json(&format!("/v1/accounts/{}/linkedin-accounts/connect-link", group.id), &key, &[], &body)
        .await;
    assert_error(&reply, 400, "VALIDATION_ERROR");
    assert_eq!(reply.body["error"]["fields"][0]["field"], "unipileDsn");
});
