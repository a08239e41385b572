//! Scheduled responses over HTTP, on both backends.

use crate::support::*;
use sonarly_domain::prospecting::{Plan, Prospect, person_id_for};
use sonarly_testkit::both_backends;
use std::sync::Arc;

/// Prospects of `group`: the first `connected` are connections of its sandbox account, plus one stranger.
async fn seed_prospects(app: &TestApp, group: &sonarly_domain::models::AccountGroup) -> Vec<Prospect> {
    let accounts = app.db.store.group_linkedin_accounts(&group.id).await.unwrap();
    let provider = app.state.registry.provider(&accounts[0]).unwrap();
    let relations = provider.relations(None).await.unwrap().items;
    let now = sonarly_domain::Timestamp::from_millis(app.now_ms());
    let mut prospects: Vec<Prospect> = relations
        .iter()
        .take(3)
        .enumerate()
        .map(|(k, r)| sonarly_testkit::connection_prospect(&group.id, format!("{:024x}", k + 1), r, now))
        .collect();
    let search = sonarly_linkedin::PeopleSource::SearchUrl(
        "https://www.linkedin.com/search/results/people/?keywords=cto".into(),
    );
    let stranger = provider
        .search_people(&search, None, 50)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|p| p.connection_degree != Some(1))
        .unwrap();
    prospects.push(Prospect {
        id: format!("{:024x}", 99),
        group_id: group.id.clone(),
        provider_id: stranger.provider_id.clone(),
        member_id: Some(stranger.provider_id.clone()),
        person_id: person_id_for(&stranger.provider_id),
        name: stranger.full_name(),
        connection_degree: Some(3),
        created_at: now,
        updated_at: now,
        ..Prospect::default()
    });
    app.db.store.upsert_prospects(&prospects, None).await.unwrap();
    prospects
}

both_backends!(queue_follow_and_read_responses, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let prospects = seed_prospects(&app, &group).await;
    let base = format!("/v1/accounts/{}/messages/responses", group.id);

    let body = format!(
        r#"{{"prospectId":"{}","message":"Thanks for connecting!","channel":"direct_message"}}"#,
        prospects[0].id
    );
    let queued = app.post_json(&base, &key, &[("idempotency-key", "reply-001")], &body).await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    let data = &queued.body["data"];
    for field in [
        "id",
        "status",
        "scheduledAt",
        "sentAt",
        "channel",
        "conversationId",
        "messageId",
        "idempotencyKey",
        "deferred",
    ] {
        assert!(data.get(field).is_some(), "{field} missing: {data}");
    }
    assert_eq!((data["status"].as_str(), data["channel"].as_str()), (Some("queued"), Some("direct_message")));
    assert_eq!(data["idempotencyKey"], "reply-001");
    assert!(data["sentAt"].is_null() && data["messageId"].is_null());
    let id = data["id"].as_str().unwrap().to_owned();

    // Same key and body: the original request; another body: conflict.
    let again = app.post_json(&base, &key, &[("idempotency-key", "reply-001")], &body).await;
    assert_eq!((again.status.as_u16(), again.body["data"]["id"].as_str()), (202, Some(id.as_str())));
    let other = body.replace("Thanks", "Hi");
    assert_error(
        &app.post_json(&base, &key, &[("idempotency-key", "reply-001")], &other).await,
        409,
        "IDEMPOTENCY_CONFLICT",
    );

    app.engine().run_until_idle().await;
    let sent = app.get(&format!("{base}/{id}"), &key).await;
    assert_eq!(sent.body["data"]["status"], "sent", "{}", sent.body);
    assert!(sent.body["data"]["sentAt"].is_string() && sent.body["data"]["messageId"].is_string());
    let conversation = sent.body["data"]["conversationId"].as_str().unwrap().to_owned();
    let thread = app.get(&format!("/v1/accounts/{}/messages?conversationId={conversation}", group.id), &key).await;
    assert_eq!(thread.status, 200, "{}", thread.body);
    assert!(
        thread.body["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "Thanks for connecting!" && m["isSender"] == true)
    );

    // Cancel: only while queued.
    let later =
        app.post_json(&base, &key, &[], &format!(r#"{{"prospectId":"{}","message":"Later"}}"#, prospects[1].id)).await;
    let later_id = later.body["data"]["id"].as_str().unwrap().to_owned();
    let cancelled = app.post_json(&format!("{base}/{later_id}/cancel"), &key, &[], "{}").await;
    assert_eq!(cancelled.body["data"]["status"], "cancelled");
    assert_error(&app.post_json(&format!("{base}/{later_id}/cancel"), &key, &[], "{}").await, 422, "VALIDATION_ERROR");
    assert_error(&app.post_json(&format!("{base}/{id}/cancel"), &key, &[], "{}").await, 422, "VALIDATION_ERROR");
    app.engine().run_until_idle().await;
    assert_eq!(
        app.get(&format!("{base}/{later_id}"), &key).await.body["data"]["status"],
        "cancelled",
        "nothing sent after a cancel"
    );

    let listed = app.get(&format!("{base}?status=sent"), &key).await;
    assert_eq!(listed.body["data"]["items"].as_array().unwrap().len(), 1);
    assert_error(&app.get(&format!("{base}?status=done"), &key).await, 400, "VALIDATION_ERROR");
    let page = app.get(&format!("{base}?limit=1"), &key).await;
    assert_eq!(page.body["data"]["hasMore"], true);
    // A response id works as the cursor too: the page starts after that response.
    let first = page.body["data"]["items"][0]["id"].as_str().unwrap();
    let after = app.get(&format!("{base}?cursor={first}"), &key).await;
    let opaque = page.body["data"]["nextCursor"].as_str().unwrap();
    assert_eq!(after.body["data"], app.get(&format!("{base}?cursor={opaque}"), &key).await.body["data"]);
    assert_eq!(after.body["data"]["items"].as_array().unwrap().len(), 1);
    assert_error(&app.get(&format!("{base}?cursor=507f1f77bcf86cd799439011"), &key).await, 400, "VALIDATION_ERROR");
});

// A client that hangs up mid-request does not stop the write half-way: the
// request runs to its end in a task of its own (`middleware::trace`). A
// database call dropped half-way can leave a pooled connection inside a
// transaction nobody will commit.
both_backends!(a_request_whose_client_hangs_up_still_finishes_its_write, |backend| async move {
    use axum::body::Body;
    use axum::http::{Method, Request};
    use std::time::Duration;
    use tower::ServiceExt;
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let prospects = seed_prospects(&app, &group).await;
    let base = format!("/v1/accounts/{}/messages/responses", group.id);
    let body = format!(r#"{{"prospectId":"{}","message":"Thanks!","channel":"direct_message"}}"#, prospects[0].id);
    let request = Request::builder()
        .method(Method::POST)
        .uri(&base)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("idempotency-key", "hung-up-001")
        .body(Body::from(body.clone()))
        .unwrap();
    let call = app.router.clone().oneshot(request);
    // Polled once (under way), then dropped: the client went away.
    assert!(tokio::time::timeout(Duration::ZERO, call).await.is_err(), "the request was under way");
    let mut stored = None;
    for _ in 0..1_000 {
        stored = app.db.store.response_by_key(&group.id, "hung-up-001").await.unwrap();
        if stored.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stored = stored.expect("the abandoned request queued its response all the same");
    // The client's retry with the same key gets that response, not a second one.
    let retried = app.post_json(&base, &key, &[("idempotency-key", "hung-up-001")], &body).await;
    assert_eq!(retried.status, 202, "{}", retried.body);
    assert_eq!(retried.body["data"]["id"], stored.id.as_str());
});

both_backends!(responses_are_validated, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let prospects = seed_prospects(&app, &group).await;
    let base = format!("/v1/accounts/{}/messages/responses", group.id);
    let connected = &prospects[0].id;
    let stranger = &prospects[3].id;
    let bad_requests = [
        (r#"{"message":"x"}"#.to_owned(), "prospectId"),
        (format!(r#"{{"prospectId":"{connected}"}}"#), "message"),
        (format!(r#"{{"prospectId":"{connected}","message":"   "}}"#), "message"),
        (format!(r#"{{"prospectId":"{connected}","message":"x","channel":"sms"}}"#), "channel"),
        (format!(r#"{{"prospectId":"{connected}","message":"x","channel":"inmail"}}"#), "subject"),
        (format!(r#"{{"prospectId":{connected:?},"message":42}}"#), "message"),
    ];
    for (body, field) in &bad_requests {
        let reply = app.post_json(&base, &key, &[], body).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert!(
            reply.body["error"]["fields"].as_array().unwrap().iter().any(|f| f["field"] == *field),
            "{body}: {}",
            reply.body
        );
    }
    let long = "x".repeat(8_001);
    let business = [
        (r#"{"prospectId":"507f1f77bcf86cd799439011","message":"x"}"#.to_owned(), "prospectId"),
        (format!(r#"{{"prospectId":"{stranger}","message":"x"}}"#), "prospectId"),
        (format!(r#"{{"prospectId":"{connected}","message":"{long}"}}"#), "message"),
        (format!(r#"{{"prospectId":"{connected}","message":"x","conversationId":"nope"}}"#), "conversationId"),
        (
            format!(
                r#"{{"prospectId":"{connected}","message":"x","channel":"inmail","subject":"{}"}}"#,
                "s".repeat(201)
            ),
            "subject",
        ),
    ];
    for (body, field) in &business {
        let reply = app.post_json(&base, &key, &[], body).await;
        assert_error(&reply, 422, "VALIDATION_ERROR");
        assert!(
            reply.body["error"]["fields"].as_array().unwrap().iter().any(|f| f["field"] == *field),
            "{body}: {}",
            reply.body
        );
    }
    // InMail reaches the stranger through the Sales Navigator account's credits.
    let inmail = app
        .post_json(
            &base,
            &key,
            &[],
            &format!(
                r#"{{"prospectId":"{stranger}","message":"Hello","channel":"inmail","subject":"Quick question"}}"#
            ),
        )
        .await;
    assert_eq!(inmail.status, 202, "{}", inmail.body);
    assert_eq!(inmail.body["data"]["channel"], "inmail");

    // Another group's prospect, response and conversation are absent.
    let other = app.prospecting_group(Plan::Starter, 100).await;
    let other_key = app.key(&[&other]).await;
    let foreign = app
        .post_json(
            &format!("/v1/accounts/{}/messages/responses", other.id),
            &other_key,
            &[],
            &format!(r#"{{"prospectId":"{connected}","message":"x"}}"#),
        )
        .await;
    assert_error(&foreign, 422, "VALIDATION_ERROR");
    let id = inmail.body["data"]["id"].as_str().unwrap();
    assert_error(
        &app.get(&format!("/v1/accounts/{}/messages/responses/{id}", other.id), &other_key).await,
        404,
        "NOT_FOUND",
    );
    let reader = app.key_with(&[&group], "messages:read", 100).await;
    assert_error(
        &app.post_json(&base, &reader, &[], &format!(r#"{{"prospectId":"{connected}","message":"x"}}"#)).await,
        403,
        "SCOPE_DENIED",
    );
});

both_backends!(concurrent_retries_queue_one_response, |backend| async move {
    let app = Arc::new(TestApp::new(backend).await);
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let prospects = seed_prospects(&app, &group).await;
    let base = format!("/v1/accounts/{}/messages/responses", group.id);
    let body = format!(r#"{{"prospectId":"{}","message":"Once only"}}"#, prospects[2].id);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (app, key, base, body) = (app.clone(), key.clone(), base.clone(), body.clone());
        tasks.spawn(async move {
            app.post_json(&base, &key, &[("idempotency-key", "burst")], &body).await.body["data"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        });
    }
    let mut ids = std::collections::HashSet::new();
    while let Some(id) = tasks.join_next().await {
        ids.insert(id.unwrap());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(app.get(&base, &key).await.body["data"]["items"].as_array().unwrap().len(), 1);
});

both_backends!(a_reply_goes_through_the_account_the_prospect_is_connected_to, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    // A second account, with other connections (another account seed).
    let second = sonarly_app::linkedin::connect_account(
        &app.db.store,
        &app.clock,
        sonarly_app::linkedin::ConnectAccount {
            group_id: group.id.clone(),
            name: "Second".into(),
            account_type: sonarly_linkedin::AccountType::Classic,
            rules: Default::default(),
            provider: sonarly_app::linkedin::ProviderSetup::Sandbox(Default::default()),
        },
    )
    .await
    .unwrap();
    let key = app.key(&[&group]).await;
    let relation = app.state.registry.provider(&second).unwrap().relations(None).await.unwrap().items.remove(0);
    let now = sonarly_domain::Timestamp::from_millis(app.now_ms());
    let prospect = Prospect {
        id: format!("{:024x}", 7),
        group_id: group.id.clone(),
        provider_id: relation.provider_id.clone(),
        member_id: Some(relation.provider_id.clone()),
        person_id: person_id_for(&relation.provider_id),
        name: relation.name.clone(),
        connection_degree: Some(1),
        created_at: now,
        updated_at: now,
        ..Prospect::default()
    };
    app.db.store.upsert_prospects(std::slice::from_ref(&prospect), None).await.unwrap();
    let reply = app
        .post_json(
            &format!("/v1/accounts/{}/messages/responses", group.id),
            &key,
            &[],
            &format!(r#"{{"prospectId":"{}","message":"Hello"}}"#, prospect.id),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.body["data"]["accountId"], second.id.as_str());
});

/// Changes the group's seat's settings through the API.
async fn set_seat(app: &TestApp, group: &sonarly_domain::models::AccountGroup, change: serde_json::Value) {
    let seat = app.db.store.group_linkedin_accounts(&group.id).await.unwrap().remove(0);
    let path = format!("/v1/accounts/{}/linkedin-accounts/{}", group.id, seat.id);
    let key = app.key_with(&[group], "linkedin-accounts:write", 1_000).await;
    let headers = [("content-type", "application/json")];
    let reply = app.send(axum::http::Method::PATCH, &path, Some(&key), &headers, change.to_string().into()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

both_backends!(a_reply_queued_outside_working_hours_says_it_waits_for_working_hours, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let prospects = seed_prospects(&app, &group).await;
    // The clock says 10:00 UTC; the seat works from 14:00.
    set_seat(&app, &group, serde_json::json!({ "workingHours": "14:00-18:00" })).await;
    let base = format!("/v1/accounts/{}/messages/responses", group.id);
    let body = format!(r#"{{"prospectId":"{}","message":"Thanks!"}}"#, prospects[0].id);
    let queued = app.post_json(&base, &key, &[], &body).await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    let data = &queued.body["data"];
    assert_eq!((data["deferred"].as_bool(), data["deferredReason"].as_str()), (Some(true), Some("working_hours")));
    assert!(data["scheduledAt"].as_str().unwrap().contains("T14:00:00"), "{data}");
    let id = data["id"].as_str().unwrap();
    let read = app.get(&format!("{base}/{id}"), &key).await;
    assert_eq!(read.body["data"]["deferredReason"], "working_hours");
});

both_backends!(a_reply_held_back_by_the_daily_cap_says_daily_cap_and_one_not_held_says_nothing, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let prospects = seed_prospects(&app, &group).await;
    set_seat(&app, &group, serde_json::json!({ "dailyCaps": { "messages": 1 } })).await;
    let base = format!("/v1/accounts/{}/messages/responses", group.id);
    let mut ids = Vec::new();
    for prospect in &prospects[..2] {
        let body = format!(r#"{{"prospectId":"{}","message":"Thanks!"}}"#, prospect.id);
        let queued = app.post_json(&base, &key, &[], &body).await;
        assert_eq!(queued.status, 202, "{}", queued.body);
        // Queued inside working hours with room under the caps: nothing holds it back yet.
        assert_eq!(queued.body["data"]["deferred"], false);
        assert!(queued.body["data"]["deferredReason"].is_null(), "{}", queued.body);
        ids.push(queued.body["data"]["id"].as_str().unwrap().to_owned());
    }
    app.engine().run_until_idle().await;
    let mut replies = Vec::new();
    for id in &ids {
        replies.push(app.get(&format!("{base}/{id}"), &key).await.body["data"].clone());
    }
    let sent: Vec<_> = replies.iter().filter(|r| r["status"] == "sent").collect();
    let waiting: Vec<_> = replies.iter().filter(|r| r["status"] == "queued").collect();
    assert_eq!((sent.len(), waiting.len()), (1, 1), "{replies:?}");
    assert!(sent[0]["deferredReason"].is_null(), "{}", sent[0]);
    assert_eq!(
        (waiting[0]["deferred"].as_bool(), waiting[0]["deferredReason"].as_str()),
        (Some(true), Some("daily_cap"))
    );
});
