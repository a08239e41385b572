//! `GET /v1/api-keys/current`: any valid key reads itself (id, name, prefix, scopes, groups),
//! never its secret or hash.

use crate::support::*;
use serde_json::json;
use sonarly_testkit::both_backends;

both_backends!(a_key_reads_itself_without_its_secret, |backend| async move {
    let app = TestApp::new(backend).await;
    let (first, second) = (app.group("First").await, app.group("Second").await);
    let _other = app.group("Someone else").await;
    let key = app.key(&[&first, &second]).await;

    let reply = app.get("/v1/api-keys/current", &key).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let data = &reply.body["data"];
    let stored = app.db.store.list_api_keys().await.unwrap().remove(0);
    assert_eq!(data["id"], stored.id.as_str());
    assert_eq!(data["name"], "test");
    assert_eq!(data["keyPrefix"], &key[..14], "the key's non-secret start");
    assert!(data["createdAt"].as_str().unwrap().ends_with('Z'));
    let mut groups: Vec<String> =
        data["accountGroupIds"].as_array().unwrap().iter().map(|g| g.as_str().unwrap().to_owned()).collect();
    groups.sort();
    let mut expected = vec![first.id.to_string(), second.id.to_string()];
    expected.sort();
    assert_eq!(groups, expected, "exactly the key's groups");
    let all: Vec<&str> = sonarly_domain::scope::Scope::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(data["scopes"].as_array().unwrap().len(), all.len());
    // Exactly these fields: nothing that could be the secret or its hash.
    let mut fields: Vec<&String> = data.as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["accountGroupIds", "createdAt", "id", "keyPrefix", "name", "scopes"]);
    let text = reply.body.to_string();
    assert!(!text.contains(&key) && !text.contains(&stored.key_hash), "{text}");
});

both_backends!(a_key_with_limited_scopes_sees_exactly_its_scopes, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key_with(&[&group], "messages:read,audiences:write", 1_000).await;
    let reply = app.get("/v1/api-keys/current", &key).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["scopes"], json!(["audiences:write", "messages:read"]));
    assert_eq!(reply.body["data"]["accountGroupIds"], json!([group.id.to_string()]));
});

both_backends!(the_current_key_needs_a_valid_key, |backend| async move {
    let app = TestApp::new(backend).await;
    let reply = app.get("/v1/api-keys/current", "sk_live_notakey").await;
    assert_error(&reply, 401, "UNAUTHORIZED");
});
