use crate::support::*;
use sonarly_testkit::both_backends;

both_backends!(audiences_list_hides_filling_ones_and_pages_newest_first, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let other = app.group("Other").await;
    let key = app.key(&[&group]).await;
    let base = now_ms() - 100_000;
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
