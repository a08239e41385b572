use crate::support::*;
use sonarly_testkit::both_backends;

both_backends!(audiences_list_hides_filling_ones_and_pages_newest_first, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let other = app.group("Other").await;
    let key = app.key(&[&group]).await;
    let base = app.now_ms() - 100_000;
    let mut ids = Vec::new();
    for i in 0..7 {
        // Pairs share a createdAt, so the id must break ties.
        ids.push(app.audience(&group, &format!("Ready {i}"), base + (i / 2) * 1000, None).await.id);
    }
    let filling = app.audience(&group, "Filling", base + 50_000, Some("job_1")).await;
    app.audience(&other, "Foreign", base + 60_000, None).await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/v1/accounts/{}/audiences?limit=3", group.id),
            Some(c) => format!("/v1/accounts/{}/audiences?limit=3&cursor={c}", group.id),
        };
        let reply = app.get(&path, &key).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        for item in reply.body["data"]["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match reply.body["data"]["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => {
                assert_eq!(reply.body["data"]["hasMore"], false);
                break;
            }
        }
    }
    assert!(!seen.contains(&filling.id));
    assert_eq!(seen.len(), 7);
    let created: Vec<_> = {
        let mut all = Vec::new();
        for id in &seen {
            let one = app.get(&format!("/v1/accounts/{}/audiences/{id}", group.id), &key).await;
            all.push(one.body["data"]["createdAt"].as_str().unwrap().to_owned());
        }
        all
    };
    let mut sorted = created.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(created, sorted, "newest first");
});

both_backends!(audience_get_has_documented_fields_and_readiness_guard, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let ready = app.audience(&group, "Berlin Tech Leaders", 1_777_714_200_000, None).await;
    let filling = app.audience(&group, "Filling", 1_777_714_200_000, Some("job_1")).await;

    let reply = app.get(&format!("/v1/accounts/{}/audiences/{}", group.id, ready.id), &key).await;
    assert_eq!(reply.status, 200);
    let data = &reply.body["data"];
    let mut fields: Vec<_> = data.as_object().unwrap().keys().cloned().collect();
    fields.sort();
    assert_eq!(fields, ["createdAt", "description", "folderId", "id", "name", "prospectCount", "type"]);
    assert!(data["id"].as_str().unwrap().starts_with("aud_"));
    assert_eq!(data["type"], "linkedin_search");
    assert_eq!(data["prospectCount"], 250);
    assert_eq!(data["createdAt"], "2026-05-02T09:30:00.000Z");
    assert!(data["folderId"].is_null() && data["description"].is_null());

    let not_ready = app.get(&format!("/v1/accounts/{}/audiences/{}", group.id, filling.id), &key).await;
    assert_error(&not_ready, 409, "AUDIENCE_NOT_READY");
    let missing = app.get(&format!("/v1/accounts/{}/audiences/aud_nope", group.id), &key).await;
    assert_error(&missing, 404, "NOT_FOUND");

    // An audience of another group is absent, even through a key that sees both groups.
    let other = app.group("Other").await;
    let both = app.key(&[&group, &other]).await;
    let cross = app.get(&format!("/v1/accounts/{}/audiences/{}", other.id, ready.id), &both).await;
    assert_error(&cross, 404, "NOT_FOUND");
});

both_backends!(audiences_and_folders_can_be_created_edited_moved_and_deleted, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}/audiences", group.id);

    let created = app
        .post_json(&base, &key, &[], r#"{"name":"Berlin Tech Leaders","type":"on_demand","description":"CTOs"}"#)
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["data"]["type"], "on_demand");
    assert_eq!(created.body["data"]["prospectCount"], 0);
    for bad in [r#"{"name":"","type":"on_demand"}"#, r#"{"name":"x","type":"weekly"}"#, r#"{"type":"on_demand"}"#] {
        assert_error(&app.post_json(&base, &key, &[], bad).await, 400, "VALIDATION_ERROR");
    }

    let patch = |body: &'static str| {
        let path = format!("{base}/{id}");
        let key = key.clone();
        let app = &app;
        async move {
            app.send(
                axum::http::Method::PATCH,
                &path,
                Some(&key),
                &[("content-type", "application/json")],
                axum::body::Body::from(body),
            )
            .await
        }
    };
    let renamed = patch(r#"{"name":"Berlin CTOs"}"#).await;
    assert_eq!(
        (renamed.body["data"]["name"].as_str(), renamed.body["data"]["description"].as_str()),
        (Some("Berlin CTOs"), Some("CTOs"))
    );
    let cleared = patch(r#"{"description":null}"#).await;
    assert!(cleared.body["data"]["description"].is_null(), "null clears, absence keeps");
    assert_error(&patch("{}").await, 422, "VALIDATION_ERROR");
    assert_error(&patch(r#"{"name":""}"#).await, 400, "VALIDATION_ERROR");

    let folder =
        app.post_json(&format!("{base}/folders"), &key, &[], r#"{"name":"Q3","audienceType":"on_demand"}"#).await;
    assert_eq!(folder.status, 201, "{}", folder.body);
    let folder_id = folder.body["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (folder.body["data"]["isPinned"].as_bool(), folder.body["data"]["position"].as_i64()),
        (Some(false), Some(0))
    );
    let monitoring =
        app.post_json(&format!("{base}/folders"), &key, &[], r#"{"name":"Watch","audienceType":"monitoring"}"#).await;
    assert_eq!(monitoring.body["data"]["position"], 1);
    let renamed_folder = app
        .send(
            axum::http::Method::PATCH,
            &format!("{base}/folders/{folder_id}"),
            Some(&key),
            &[("content-type", "application/json")],
            axum::body::Body::from(r#"{"name":"Q4"}"#),
        )
        .await;
    assert_eq!(renamed_folder.body["data"]["name"], "Q4");

    let moved = app
        .post_json(&format!("{base}/{id}/move-to-folder"), &key, &[], &format!(r#"{{"folderId":"{folder_id}"}}"#))
        .await;
    assert_eq!(moved.body["data"]["folderId"], folder_id.as_str());
    let wrong_kind = monitoring.body["data"]["id"].as_str().unwrap();
    let refused = app
        .post_json(&format!("{base}/{id}/move-to-folder"), &key, &[], &format!(r#"{{"folderId":"{wrong_kind}"}}"#))
        .await;
    assert_error(&refused, 422, "VALIDATION_ERROR");
    let missing = app
        .post_json(&format!("{base}/{id}/move-to-folder"), &key, &[], r#"{"folderId":"507f1f77bcf86cd799439011"}"#)
        .await;
    assert_error(&missing, 404, "NOT_FOUND");

    let nav = app.get(&format!("{base}/navigation"), &key).await;
    assert_eq!(nav.status, 200);
    assert_eq!(nav.body["data"]["folders"][0]["audiences"][0]["id"], id.as_str());
    assert_eq!(nav.body["data"]["folders"][0]["name"], "Q4");
    assert!(nav.body["data"]["ungroupedAudiences"].as_array().unwrap().is_empty());

    let removed = app.post_json(&format!("{base}/{id}/remove-from-folder"), &key, &[], "{}").await;
    assert!(removed.body["data"]["folderId"].is_null());
    let nav = app.get(&format!("{base}/navigation"), &key).await;
    assert_eq!(nav.body["data"]["ungroupedAudiences"][0]["id"], id.as_str());

    let deleted =
        app.send(axum::http::Method::DELETE, &format!("{base}/{id}"), Some(&key), &[], axum::body::Body::empty()).await;
    assert_eq!(deleted.body["data"]["deleted"], true);
    assert_error(&app.get(&format!("{base}/{id}"), &key).await, 404, "NOT_FOUND");
    let again =
        app.send(axum::http::Method::DELETE, &format!("{base}/{id}"), Some(&key), &[], axum::body::Body::empty()).await;
    assert_error(&again, 404, "NOT_FOUND");
});

both_backends!(audiences_being_filled_refuse_every_change, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let filling = app.audience(&group, "Filling", app.now_ms(), Some("job_1")).await;
    let folder = app
        .post_json(
            &format!("/v1/accounts/{}/audiences/folders", group.id),
            &key,
            &[],
            r#"{"name":"F","audienceType":"on_demand"}"#,
        )
        .await;
    let folder_id = folder.body["data"]["id"].as_str().unwrap();
    let base = format!("/v1/accounts/{}/audiences/{}", group.id, filling.id);
    let json = [("content-type", "application/json")];
    let replies = [
        app.send(axum::http::Method::PATCH, &base, Some(&key), &json, axum::body::Body::from(r#"{"name":"x"}"#)).await,
        app.send(axum::http::Method::DELETE, &base, Some(&key), &[], axum::body::Body::empty()).await,
        app.post_json(&format!("{base}/move-to-folder"), &key, &[], &format!(r#"{{"folderId":"{folder_id}"}}"#)).await,
        app.post_json(&format!("{base}/remove-from-folder"), &key, &[], "{}").await,
        app.get(&format!("{base}/prospects"), &key).await,
    ];
    for reply in &replies {
        assert_error(reply, 409, "AUDIENCE_NOT_READY");
    }
    let nav = app.get(&format!("/v1/accounts/{}/audiences/navigation", group.id), &key).await;
    assert!(nav.body["data"]["ungroupedAudiences"].as_array().unwrap().is_empty());
    // A reader cannot write.
    let reader = app.key_with(&[&group], "audiences:read", 100).await;
    let denied = app
        .post_json(&format!("/v1/accounts/{}/audiences", group.id), &reader, &[], r#"{"name":"x","type":"on_demand"}"#)
        .await;
    assert_error(&denied, 403, "SCOPE_DENIED");
    let no_prospects_scope =
        app.get(&format!("/v1/accounts/{}/audiences/{}/prospects", group.id, filling.id), &reader).await;
    assert_error(&no_prospects_scope, 403, "SCOPE_DENIED");
});
