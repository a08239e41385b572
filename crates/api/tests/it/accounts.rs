use crate::support::*;
use sonarly_testkit::both_backends;

both_backends!(accounts_list_shows_only_the_keys_groups_in_pages, |backend| async move {
    let app = TestApp::new(backend).await;
    let mut mine = Vec::new();
    for i in 0..25 {
        mine.push(app.group(&format!("Mine {i}")).await);
    }
    let other = app.group("Someone else").await;
    let key = app.key(&mine.iter().collect::<Vec<_>>()).await;
    let _other_key = app.key(&[&other]).await;

    let mut seen = Vec::new();
    let mut path = "/v1/accounts?limit=10".to_owned();
    let mut pages = 0;
    loop {
        let reply = app.get(&path, &key).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["success"], true);
        assert!(reply.body["error"].is_null());
        assert_trace(&reply);
        let data = &reply.body["data"];
        for item in data["items"].as_array().unwrap() {
            assert_eq!(item.as_object().unwrap().len(), 3, "{item}");
            assert!(item["createdAt"].as_str().unwrap().ends_with('Z'));
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        pages += 1;
        if data["hasMore"] == false {
            assert!(data["nextCursor"].is_null());
            break;
        }
        path = format!("/v1/accounts?limit=10&cursor={}", data["nextCursor"].as_str().unwrap());
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<_> = mine.iter().map(|g| g.id.clone()).collect();
    expected.sort();
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, expected, "every group exactly once, none foreign");

    let default_page = app.get("/v1/accounts", &key).await;
    assert_eq!(default_page.body["data"]["items"].as_array().unwrap().len(), 20);
});

both_backends!(bad_limits_and_cursors_are_validation_errors, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    for limit in ["0", "101", "abc", "-5", "2.5"] {
        let reply = app.get(&format!("/v1/accounts?limit={limit}"), &key).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert_eq!(reply.body["error"]["fields"][0]["field"], "limit");
    }
    // The spec's own example cursor is not one we issued, and tampering is detected.
    for cursor in ["eyJjcmVhdGVkQXQiOiIyMDI2LTA0LTI4VDE1OjMwOjAwLjAwMFoifQ", "garbage", "a.b"] {
        let reply = app.get(&format!("/v1/accounts?cursor={cursor}"), &key).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
    }
    let two = app.group("G2").await;
    let _ = two;
    // A cursor from the audiences list is refused by the accounts list.
    for i in 0..3 {
        app.audience(&group, &format!("A{i}"), 1_000 + i, None).await;
    }
    let page = app.get(&format!("/v1/accounts/{}/audiences?limit=1", group.id), &key).await;
    let audience_cursor = page.body["data"]["nextCursor"].as_str().unwrap().to_owned();
    let reply = app.get(&format!("/v1/accounts?cursor={audience_cursor}"), &key).await;
    assert_error(&reply, 400, "VALIDATION_ERROR");
    let mut tampered = audience_cursor.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let reply = app.get(&format!("/v1/accounts/{}/audiences?cursor={tampered}", group.id), &key).await;
    assert_error(&reply, 400, "VALIDATION_ERROR");
});

both_backends!(a_foreign_group_is_indistinguishable_from_a_missing_one, |backend| async move {
    let app = TestApp::new(backend).await;
    let mine = app.group("Mine").await;
    let theirs = app.group("Theirs").await;
    let key = app.key(&[&mine]).await;

    let own = app.get(&format!("/v1/accounts/{}", mine.id), &key).await;
    assert_eq!(own.status, 200);
    assert_eq!(own.body["data"]["name"], "Mine");

    for suffix in ["", "/audiences", "/audiences/aud_01HYR8B9P4D6Y2A7C3E1F0G5H9"] {
        let foreign = app.get(&format!("/v1/accounts/{}{suffix}", theirs.id), &key).await;
        let missing = app.get(&format!("/v1/accounts/507f1f77bcf86cd799439011{suffix}"), &key).await;
        assert_error(&foreign, 404, "NOT_FOUND");
        assert_eq!(foreign.body_without_trace(), missing.body_without_trace());
        assert_eq!(foreign.status, missing.status);
    }
});

both_backends!(missing_invalid_and_revoked_keys_are_unauthorized, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let no_key = app.send(axum::http::Method::GET, "/v1/accounts", None, &[], axum::body::Body::empty()).await;
    assert_error(&no_key, 401, "UNAUTHORIZED");
    let fake = format!("sk_live_{}", "x".repeat(40));
    for bad in [fake.as_str(), "sk_live_short", "not a key", &key[..key.len() - 1]] {
        assert_error(&app.get("/v1/accounts", bad).await, 401, "UNAUTHORIZED");
    }
    let basic = app
        .send(
            axum::http::Method::GET,
            "/v1/accounts",
            None,
            &[("authorization", "Basic Zm9vOmJhcg==")],
            axum::body::Body::empty(),
        )
        .await;
    assert_error(&basic, 401, "UNAUTHORIZED");
    assert_eq!(app.get("/v1/accounts", &key).await.status, 200);

    let keys = sonarly_app::keys::list_keys(&app.db.store).await.unwrap();
    sonarly_app::keys::revoke_key(&app.db.store, &app.clock, &keys[0].id).await.unwrap();
    assert_error(&app.get("/v1/accounts", &key).await, 401, "UNAUTHORIZED");
});

both_backends!(scopes_are_enforced_per_route, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let other = app.group("Other").await;
    let messages_only = app.key_with(&[&group], "messages:read", 1000).await;
    let audiences_reader = app.key_with(&[&group], "audiences:read", 1000).await;

    // GET /v1/accounts needs no scope.
    assert_eq!(app.get("/v1/accounts", &messages_only).await.status, 200);
    assert_eq!(app.get(&format!("/v1/accounts/{}", group.id), &messages_only).await.status, 200);

    let path = format!("/v1/accounts/{}/audiences", group.id);
    let denied = app.get(&path, &messages_only).await;
    assert_error(&denied, 403, "SCOPE_DENIED");
    assert_eq!(denied.body["error"]["message"], "The API key does not have permission to access this resource.");
    // Scope is checked before the group, so a foreign group reveals nothing either.
    let denied_foreign = app.get(&format!("/v1/accounts/{}/audiences", other.id), &messages_only).await;
    assert_eq!(denied_foreign.body_without_trace(), denied.body_without_trace());

    assert_eq!(app.get(&path, &audiences_reader).await.status, 200);
});

both_backends!(linkedin_accounts_are_listed_for_any_key_of_the_group, |backend| async move {
    use sonarly_app::linkedin::{ConnectAccount, ProviderSetup, connect_account};
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let other = app.group("Other").await;
    for k in 0..3 {
        let input = ConnectAccount {
            group_id: group.id.clone(),
            name: format!("Account {k}"),
            account_type: sonarly_linkedin::AccountType::SalesNavigator,
            rules: sonarly_domain::linkedin_account::SendingRules {
                timezone: "Europe/Berlin".into(),
                ..Default::default()
            },
            provider: ProviderSetup::Sandbox(Default::default()),
        };
        connect_account(&app.db.store, &app.clock, input).await.unwrap();
    }
    let key = app.key_with(&[&group], "messages:read", 1000).await;
    let page = app.get(&format!("/v1/accounts/{}/linkedin-accounts?limit=2", group.id), &key).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let items = page.body["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["provider"], "sandbox");
    assert_eq!(items[0]["accountType"], "sales_navigator");
    assert_eq!(items[0]["timezone"], "Europe/Berlin");
    assert_eq!(items[0]["workingHours"]["start"], "09:00");
    assert_eq!(items[0]["dailyCaps"]["invitations"], 80);
    assert!(items[0].get("providerSettings").is_none(), "settings and secrets are never exposed");
    let next = page.body["data"]["nextCursor"].as_str().unwrap();
    let rest = app.get(&format!("/v1/accounts/{}/linkedin-accounts?cursor={next}", group.id), &key).await;
    assert_eq!(rest.body["data"]["items"].as_array().unwrap().len(), 1);
    assert_error(&app.get(&format!("/v1/accounts/{}/linkedin-accounts", other.id), &key).await, 404, "NOT_FOUND");
});
