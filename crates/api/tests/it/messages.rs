//! The unified inbox over HTTP (spec M1) and the Unipile webhook, on both backends.

use crate::support::*;
use axum::body::Body;
use axum::http::Method;
use serde_json::{Value, json};
use sonarly_app::linkedin::{ConnectAccount, ProviderSetup, UnipileSetup, connect_account, connect_account_with};
use sonarly_domain::linkedin_account::LinkedInAccount;
use sonarly_domain::models::AccountGroup;
use sonarly_domain::prospecting::Plan;
use sonarly_testkit::both_backends;

const FIELDS: [&str; 15] = [
    "id",
    "text",
    "sentAt",
    "accountId",
    "accountType",
    "conversationId",
    "conversationProviderId",
    "conversationName",
    "participantProviderId",
    "senderId",
    "isSender",
    "unreadCount",
    "parentMessageId",
    "attachments",
    "prospectId",
];

async fn sandbox_account(app: &TestApp, group: &AccountGroup, name: &str) -> LinkedInAccount {
    let input = ConnectAccount {
        group_id: group.id.clone(),
        name: name.into(),
        account_type: sonarly_linkedin::AccountType::Classic,
        rules: Default::default(),
        provider: ProviderSetup::Sandbox(Default::default()),
    };
    connect_account(&app.db.store, &app.clock, input).await.unwrap()
}

/// Every page of `path` (which already has a query string), following `nextCursor`.
async fn all_pages(app: &TestApp, path: &str, key: &str) -> (Vec<Value>, usize) {
    let (mut items, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_owned(),
        };
        let page = app.get(&url, key).await;
        assert_eq!(page.status, 200, "{}", page.body);
        pages += 1;
        items.extend(page.body["data"]["items"].as_array().unwrap().clone());
        assert_eq!(page.body["data"]["hasMore"], page.body["data"]["nextCursor"].is_string());
        match page.body["data"]["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (items, pages),
        }
    }
}

both_backends!(the_inbox_lists_every_account_newest_first, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let second = sandbox_account(&app, &group, "Second").await;
    let other_group = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    app.engine().run_until_idle().await;

    let accounts = app.db.store.group_linkedin_accounts(&group.id).await.unwrap();
    let mut expected = 0;
    for account in &accounts {
        expected += app.db.store.count_account_messages(&account.id).await.unwrap();
    }
    assert!(expected > 10, "both sandbox accounts have background conversations");

    let (items, pages) = all_pages(&app, &format!("{base}/messages?limit=7"), &key).await;
    assert_eq!(items.len() as i64, expected);
    assert!(pages > 1);
    let ids: std::collections::HashSet<&str> = items.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), items.len(), "no item twice across pages");
    for pair in items.windows(2) {
        let key = |m: &Value| (m["sentAt"].as_str().unwrap().to_owned(), m["id"].as_str().unwrap().to_owned());
        assert!(key(&pair[0]) > key(&pair[1]), "newest first: {} then {}", pair[0], pair[1]);
    }
    let account_ids: std::collections::HashSet<&str> = items.iter().map(|m| m["accountId"].as_str().unwrap()).collect();
    assert!(account_ids.contains(second.id.as_str()) && account_ids.len() == 2);
    for item in &items {
        for field in FIELDS {
            assert!(item.get(field).is_some(), "{field} missing from {item}");
        }
        assert!(item["id"].as_str().is_some_and(sonarly_domain::id::is_hex_id));
        assert!(item["conversationProviderId"].as_str().unwrap().starts_with("2-"));
        assert!(item["conversationName"].is_string() && item["participantProviderId"].is_string());
        assert!(item["senderId"].is_string() && item["isSender"].is_boolean() && item["unreadCount"].is_i64());
        assert!(item["attachments"].is_array());
    }
    assert!(items.iter().any(|m| m["accountType"] == "sales_navigator"));
    assert!(items.iter().any(|m| m["accountType"] == "classic"));
    if let Some(with_file) = items.iter().find(|m| !m["attachments"].as_array().unwrap().is_empty()) {
        let a = &with_file["attachments"][0];
        for field in ["type", "id", "url", "fileName", "mimeType"] {
            assert!(a.get(field).is_some(), "{field} missing from {a}");
        }
    }

    // One conversation.
    let conversation = items[0]["conversationId"].as_str().unwrap();
    let (filtered, _) = all_pages(&app, &format!("{base}/messages?limit=2&conversationId={conversation}"), &key).await;
    let in_conversation = items.iter().filter(|m| m["conversationId"] == conversation).count();
    assert_eq!(filtered.len(), in_conversation);
    assert!(filtered.iter().all(|m| m["conversationId"] == conversation));

    // Another group's conversation and an unknown one are filters nothing matches:
    // 200 with no items (the page lists no 404), the same answer for both.
    let foreign_account = &app.db.store.group_linkedin_accounts(&other_group.id).await.unwrap()[0];
    let foreign = &app.db.store.account_conversations(&foreign_account.id).await.unwrap()[0];
    let foreign_reply = app.get(&format!("{base}/messages?conversationId={}", foreign.id), &key).await;
    assert_eq!(foreign_reply.status, 200, "{}", foreign_reply.body);
    assert_eq!(foreign_reply.body["data"], serde_json::json!({"items": [], "nextCursor": null, "hasMore": false}));
    let unknown = app.get(&format!("{base}/messages?conversationId=0123456789abcdef01234567"), &key).await;
    assert_eq!(foreign_reply.body_without_trace(), unknown.body_without_trace());
    assert_error(&app.get(&format!("{base}/messages?conversationId="), &key).await, 400, "VALIDATION_ERROR");
    assert_error(&app.get(&format!("{base}/messages?limit=0"), &key).await, 400, "VALIDATION_ERROR");
    let audiences_cursor = app.get(&format!("{base}/messages?cursor=abc.def"), &key).await;
    assert_error(&audiences_cursor, 400, "VALIDATION_ERROR");
    assert_error(&app.get(&format!("/v1/accounts/{}/messages", other_group.id), &key).await, 404, "NOT_FOUND");

    // Scopes.
    let no_read = app.key_with(&[&group], "audiences:read,messages:write", 1_000).await;
    assert_error(&app.get(&format!("{base}/messages"), &no_read).await, 403, "SCOPE_DENIED");
    let read_only = app.key_with(&[&group], "messages:read", 1_000).await;
    assert_eq!(app.get(&format!("{base}/messages?limit=1"), &read_only).await.status, 200);
});

const SECRET: &str = "webhook-secret-0123456789";
const UNIPILE_ACCOUNT: &str = "dfXlh46vQYCsMbVarumWlg";
const THREAD: &str = "2-OWYyMjMyNTItYzkzZC00ZjdjLWJjMjYtMTBlNTJmNDJlNTkyXzEwMA==";
const SENDER: &str = "ACoAAAh_Ffqss54sqAGQOD8u7sl5of04y9_3AwyM";

fn message_received(message_id: &str, account_id: &str) -> Value {
    json!({
        "account_id": account_id,
        "account_type": "LINKEDIN",
        "account_info": { "type": "LINKEDIN", "feature": "classic", "user_id": "ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E" },
        "event": "message_received",
        "chat_id": "R8J-xM9WX7eoHLp6gSVtWQ",
        "timestamp": "2026-05-24T13:49:07.965Z",
        "webhook_name": "Sonarly",
        "message_id": message_id,
        "message": "Hello World !",
        "sender": {
            "attendee_id": "12Siz1Vcmfnke_Vai4Gg",
            "attendee_name": "Bastien Unipile",
            "attendee_provider_id": SENDER,
            "attendee_profile_url": format!("https://www.linkedin.com/in/{SENDER}/")
        },
        "attendees": [{ "attendee_id": "C8zaRZTlVcmfnke_Vai4Gg", "attendee_name": "Kim Unipile",
                        "attendee_provider_id": "ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E" }],
        "attachments": { "id": "2-MTY5MzQ3ODM0XzAxMw==", "type": "img", "mimetype": "image/jpeg",
                         "size": { "height": "150", "width": "150" }, "sticker": "false", "unavailable": "false",
                         "url": "att://iWfwCtGXSr288YQm5MbWVaeGtYNHQyaEZQcVpPbW5PdGNsQQ==" },
        "subject": null,
        "provider_chat_id": THREAD,
        "provider_message_id": "2-MTc3OTE5XzEwMA==",
        "is_sender": false,
        "is_event": 0,
        "quoted": null,
        "message_type": "MESSAGE",
        "is_group": false
    })
}

async fn unipile_account(app: &TestApp, group: &AccountGroup) -> LinkedInAccount {
    let input = ConnectAccount {
        group_id: group.id.clone(),
        name: "Unipile".into(),
        account_type: sonarly_linkedin::AccountType::Classic,
        rules: Default::default(),
        provider: ProviderSetup::Unipile(UnipileSetup {
            base_url: "http://127.0.0.1:9".into(),
            api_key: "unipile-key".into(),
            account_id: UNIPILE_ACCOUNT.into(),
            webhook_secret: SECRET.into(),
        }),
    };
    let keyring = sonarly_domain::secrets::Keyring::new(sonarly_domain::secrets::SecretKey::from_bytes([1; 32]), None);
    connect_account_with(&app.db.store, &app.clock, &keyring, input).await.unwrap()
}

async fn webhook(app: &TestApp, account_id: &str, secret: Option<&str>, body: &str) -> Reply {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(secret) = secret {
        headers.push(("x-sonarly-webhook-secret", secret));
    }
    let path = format!("/v1/webhooks/unipile/{account_id}");
    app.send(Method::POST, &path, None, &headers, Body::from(body.to_owned())).await
}

both_backends!(unipile_webhooks_feed_the_inbox_once, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("Webhooks").await;
    let account = unipile_account(&app, &group).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let body = message_received("ykmhfXlRW0W_cqReJYrfBw", UNIPILE_ACCOUNT).to_string();

    let received = webhook(&app, &account.id, Some(SECRET), &body).await;
    assert_eq!(received.status, 200, "{}", received.body);
    assert_eq!(received.body["data"], json!({"received": 1}));
    assert_trace(&received);

    let listed = app.get(&format!("{base}/messages"), &key).await;
    let items = listed.body["data"]["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{}", listed.body);
    let m = &items[0];
    for field in FIELDS {
        assert!(m.get(field).is_some(), "{field} missing from {m}");
    }
    assert_eq!(m["text"], "Hello World !");
    assert_eq!(m["sentAt"], "2026-05-24T13:49:07.965Z");
    assert_eq!(m["accountId"], account.id.as_str());
    assert_eq!(m["accountType"], "classic");
    assert_eq!(m["conversationProviderId"], THREAD);
    assert_eq!(m["participantProviderId"], SENDER);
    assert_eq!(m["senderId"], SENDER);
    assert_eq!(m["isSender"], false);
    assert_eq!(m["unreadCount"], 1);
    assert!(m["parentMessageId"].is_null() && m["prospectId"].is_null() && m["conversationName"].is_null());
    assert_eq!(
        m["attachments"],
        json!([{"type": "img", "id": "2-MTY5MzQ3ODM0XzAxMw==",
                "url": "att://iWfwCtGXSr288YQm5MbWVaeGtYNHQyaEZQcVpPbW5PdGNsQQ==", "fileName": null,
                "mimeType": "image/jpeg"}])
    );

    // Unipile retries: the same webhook again stores nothing new.
    let again = webhook(&app, &account.id, Some(SECRET), &body).await;
    assert_eq!(again.status, 200);
    let relisted = app.get(&format!("{base}/messages"), &key).await;
    assert_eq!(relisted.body["data"]["items"].as_array().unwrap().len(), 1);
    assert_eq!(relisted.body["data"]["items"][0]["unreadCount"], 1, "a repeat is not another unread message");

    // Events about another Unipile account are ignored.
    let foreign = message_received("other-message", "someOtherUnipileAccount").to_string();
    let ignored = webhook(&app, &account.id, Some(SECRET), &foreign).await;
    assert_eq!(ignored.body["data"], json!({"received": 0}));
    assert_eq!(app.get(&format!("{base}/messages"), &key).await.body["data"]["items"].as_array().unwrap().len(), 1);
});

both_backends!(webhooks_need_the_accounts_secret, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("Webhooks").await;
    let account = unipile_account(&app, &group).await;
    let sandbox = sandbox_account(&app, &group, "Sandbox").await;
    let body = message_received("ykmhfXlRW0W_cqReJYrfBw", UNIPILE_ACCOUNT).to_string();

    let wrong = webhook(&app, &account.id, Some("webhook-secret-9876543210"), &body).await;
    assert_error(&wrong, 401, "UNAUTHORIZED");
    let missing = webhook(&app, &account.id, None, &body).await;
    assert_error(&missing, 401, "UNAUTHORIZED");
    let unknown = webhook(&app, "0123456789abcdef01234567", Some(SECRET), &body).await;
    assert_error(&unknown, 401, "UNAUTHORIZED");
    let no_secret = webhook(&app, &sandbox.id, Some(SECRET), &body).await;
    assert_error(&no_secret, 401, "UNAUTHORIZED");
    assert_eq!(wrong.body_without_trace(), unknown.body_without_trace(), "the same answer for both");
    assert_eq!(app.db.store.count_account_messages(&account.id).await.unwrap(), 0);

    // An API key is no substitute for the secret.
    let key = app.key(&[&group]).await;
    let path = format!("/v1/webhooks/unipile/{}", account.id);
    let with_key = app
        .send(Method::POST, &path, Some(&key), &[("content-type", "application/json")], Body::from(body.clone()))
        .await;
    assert_error(&with_key, 401, "UNAUTHORIZED");

    // Authenticated but unreadable, then the other event kinds.
    assert_error(&webhook(&app, &account.id, Some(SECRET), "not json").await, 400, "VALIDATION_ERROR");
    let relation = json!({"event": "new_relation", "account_id": UNIPILE_ACCOUNT, "account_type": "LINKEDIN",
        "user_provider_id": SENDER, "user_full_name": "Bastien Unipile", "timestamp": "2026-05-24T13:49:07.965Z"});
    let status =
        json!({"AccountStatus": {"account_id": UNIPILE_ACCOUNT, "account_type": "LINKEDIN", "message": "CREDENTIALS"}});
    let both = json!([relation, status]).to_string();
    assert_eq!(webhook(&app, &account.id, Some(SECRET), &both).await.body["data"], json!({"received": 2}));
    let account = app.db.store.system().linkedin_account(&account.id).await.unwrap().unwrap();
    assert_eq!(account.status.as_str(), "needs_action", "credentials are for the owner to fix");
    let get = app.send(Method::GET, &path, None, &[], Body::empty()).await;
    assert_error(&get, 405, "METHOD_NOT_ALLOWED");
});

// Provider input is bounded where it enters the inbox: a message dated in the
// year 9999 is taken as received now (it does not pin itself to the top of the
// inbox), and a 1 MB text is cut to 8,000 characters with a marker.
both_backends!(provider_messages_from_the_far_future_or_oversized_are_bounded, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("Webhooks").await;
    let account = unipile_account(&app, &group).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);

    let mut future = message_received("from-the-future", UNIPILE_ACCOUNT);
    future["timestamp"] = json!("9999-12-31T23:59:59.999Z");
    future["message"] = json!("x".repeat(1_000_000));
    let received = webhook(&app, &account.id, Some(SECRET), &future.to_string()).await;
    assert_eq!(received.status, 200, "{}", received.body);
    let received_at = app.get(&format!("{base}/messages"), &key).await.body["data"]["items"][0].clone();
    assert_eq!(received_at["sentAt"], TEST_START.replace("00Z", "00.000Z"), "taken as received now");
    let text = received_at["text"].as_str().unwrap();
    assert_eq!(text.chars().count(), sonarly_app::provider_input::MAX_MESSAGE_CHARS);
    assert!(text.ends_with(sonarly_app::provider_input::TRUNCATION_MARKER), "{}", &text[text.len() - 40..]);

    // An hour later, an ordinary message is listed above it.
    app.clock.advance_millis(3_600_000);
    let mut later = message_received("an-hour-later", UNIPILE_ACCOUNT);
    later["timestamp"] = json!("2026-06-03T11:00:00.000Z");
    later["provider_message_id"] = json!("2-later");
    webhook(&app, &account.id, Some(SECRET), &later.to_string()).await;
    let listed = app.get(&format!("{base}/messages"), &key).await;
    let texts: Vec<&str> =
        listed.body["data"]["items"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 2);
    assert_eq!(texts[0], "Hello World !", "the newer message comes first");

    // A provider id no LinkedIn id comes close to is refused, and nothing is stored.
    let absurd = message_received(&"m".repeat(10_000), UNIPILE_ACCOUNT);
    let refused = webhook(&app, &account.id, Some(SECRET), &absurd.to_string()).await;
    assert_error(&refused, 400, "VALIDATION_ERROR");
    assert_eq!(app.get(&format!("{base}/messages"), &key).await.body["data"]["items"].as_array().unwrap().len(), 2);
});
