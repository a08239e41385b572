//! The event log over HTTP: events produced by real flows (a prospecting job
//! completing and cancelled, a credit balance falling low, an account's
//! health changing), newest-first paging, oldest-first catch-up, type
//! filters, scopes and tenancy. On both backends.

use crate::support::*;
use serde_json::Value;
use sonarly_domain::clock::Clock;
use sonarly_domain::prospecting::Plan;
use sonarly_linkedin::ProviderEvent;
use sonarly_testkit::both_backends;

const SEARCH: &str = r#"{"type":"linkedin_search","name":"Berlin Software Engineers","searchUrl":"https://www.linkedin.com/search/results/people/?keywords=software%20engineer","maxResults":30,"searchEmails":false}"#;

fn types(page: &Value) -> Vec<String> {
    page["data"]["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

both_backends!(real_flows_append_events_readable_newest_first_and_by_catch_up, |backend| async move {
    let app = TestApp::new(backend).await;
    // 120 credits: a 30-prospect import takes the balance below the low-credit threshold (100).
    let group = app.prospecting_group(Plan::Starter, 120).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);

    let started = app.post_json(&format!("{base}/prospecting"), &key, &[], SEARCH).await;
    let job_id = started.body["data"]["jobId"].as_str().unwrap().to_owned();
    app.engine().run_until_idle().await;
    app.clock.advance_millis(1_000);
    let second = app.post_json(&format!("{base}/prospecting"), &key, &[], &SEARCH.replace("Berlin", "Paris")).await;
    let second_id = second.body["data"]["jobId"].as_str().unwrap().to_owned();
    let cancelled = app.post_json(&format!("{base}/prospecting/{second_id}/cancel"), &key, &[], "{}").await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    app.clock.advance_millis(1_000);
    let account = app.db.store.group_linkedin_accounts(&group.id).await.unwrap().remove(0);
    let lost = ProviderEvent::AccountStatus { status: "CREDENTIALS".into(), message: None };
    sonarly_app::inbox::handle_event(&app.db.store, &app.clock, &account, &lost).await.unwrap();
    // The same status again is no change and logs nothing.
    let account = app.db.store.system().linkedin_account(&account.id).await.unwrap().unwrap();
    sonarly_app::inbox::handle_event(&app.db.store, &app.clock, &account, &lost).await.unwrap();

    let all = app.get(&format!("{base}/events"), &key).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let listed = types(&all.body);
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["credits.low", "linkedin_account.status_changed", "prospecting.job.cancelled", "prospecting.job.completed"]
    );
    assert_eq!(listed[0], "linkedin_account.status_changed", "newest first: {listed:?}");
    let items = all.body["data"]["items"].as_array().unwrap();
    for item in items {
        assert!(item["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(item["accountGroupId"], group.id.as_str());
        assert_eq!(item["data"]["accountGroupId"], group.id.as_str());
    }
    let completed = items.iter().find(|e| e["type"] == "prospecting.job.completed").unwrap();
    assert_eq!(completed["data"]["jobId"], job_id.as_str());
    assert_eq!(completed["data"]["status"], "completed");
    assert_eq!(completed["data"]["importedCount"], 30);
    assert!(completed["data"]["error"].is_null());
    let low = items.iter().find(|e| e["type"] == "credits.low").unwrap();
    assert_eq!(low["data"]["credits"], 90);
    let health = &items[0]["data"];
    assert_eq!(
        (health["previousStatus"].as_str(), health["status"].as_str()),
        (Some("connected"), Some("needs_action"))
    );
    assert_eq!(health["linkedinAccountId"], account.id.as_str());

    // Pages of one, newest first, follow nextCursor to the end.
    let mut seen = Vec::new();
    let mut path = format!("{base}/events?limit=1");
    loop {
        let page = app.get(&path, &key).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(types(&page.body));
        match page.body["data"]["nextCursor"].as_str() {
            Some(c) => path = format!("{base}/events?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, listed);

    // Types filter.
    let filtered =
        app.get(&format!("{base}/events?types=prospecting.job.completed,prospecting.job.cancelled"), &key).await;
    assert_eq!(types(&filtered.body), ["prospecting.job.cancelled", "prospecting.job.completed"]);

    // Catch-up after the oldest event: oldest first, once events are 2 s old.
    let oldest = items.last().unwrap()["id"].as_str().unwrap().to_owned();
    let early = app.get(&format!("{base}/events?after={oldest}"), &key).await;
    assert!(types(&early.body).len() < listed.len() - 1, "the newest are not settled yet: {}", early.body);
    app.clock.advance_millis(3_000);
    let mut caught_up = Vec::new();
    let mut path = format!("{base}/events?after={oldest}&limit=2");
    loop {
        let page = app.get(&path, &key).await;
        assert_eq!(page.status, 200, "{}", page.body);
        caught_up.extend(types(&page.body));
        match page.body["data"]["nextCursor"].as_str() {
            Some(c) => path = format!("{base}/events?limit=2&cursor={c}"),
            None => break,
        }
    }
    let mut expected: Vec<_> = listed.iter().rev().skip(1).cloned().collect();
    expected.sort();
    caught_up.sort();
    assert_eq!(caught_up, expected);
});

both_backends!(event_queries_are_validated_scoped_and_tenanted, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("Events").await;
    let other = app.group("Other").await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    for (query, field) in [
        ("types=message.received,nope", "types"),
        ("types=message.received,", "types"),
        ("after=evt_01J2X3Y4Z5A6B7C8D9E0F1G2H3", "after"),
        ("limit=0", "limit"),
        ("cursor=junk", "cursor"),
    ] {
        let reply = app.get(&format!("{base}/events?{query}"), &key).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert_eq!(reply.body["error"]["fields"][0]["field"], field, "{query}: {}", reply.body);
    }
    let event = app
        .db
        .store
        .append_event(&group.id, sonarly_domain::events::EventType::CreditsLow, &serde_json::json!({}), app.clock.now())
        .await
        .unwrap();
    let both = app.get(&format!("{base}/events?after={}&cursor=x", event.id), &key).await;
    assert_error(&both, 400, "VALIDATION_ERROR");
    let reader = app.key_with(&[&group], "messages:read", 1_000).await;
    assert_error(&app.get(&format!("{base}/events"), &reader).await, 403, "SCOPE_DENIED");
    let events_only = app.key_with(&[&group], "events:read", 1_000).await;
    assert_eq!(app.get(&format!("{base}/events"), &events_only).await.status, 200);
    assert_error(&app.get(&format!("/v1/accounts/{}/events", other.id), &key).await, 404, "NOT_FOUND");
    // Another group's event id is unknown here.
    let other_key = app.key(&[&other]).await;
    let foreign = app.get(&format!("/v1/accounts/{}/events?after={}", other.id, event.id), &other_key).await;
    assert_error(&foreign, 400, "VALIDATION_ERROR");
});

both_backends!(a_sent_reply_and_a_cancelled_one_are_logged_and_pushed_to_a_subscribed_receiver, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    // A receiver subscribed to the reply events, stored directly (plain http to 127.0.0.1).
    let got: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = Default::default();
    let keep = got.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(serde_json::from_str(&body).unwrap());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    tokio::spawn(async move {
        let _ = axum::serve(listener, receiver).await;
    });
    let subscribe = sonarly_app::webhooks::CreateEndpoint {
        url,
        event_types: Some(vec!["response.sent".into(), "response.cancelled".into(), "message.sent".into()]),
        ..Default::default()
    };
    let policy = sonarly_domain::webhooks::UrlPolicy::PERMISSIVE;
    sonarly_app::webhooks::create_endpoint(&app.db.store, &app.clock, policy, &group.id, &subscribe).await.unwrap();

    // Two first-degree connections of the sandbox account as prospects.
    let account = app.db.store.group_linkedin_accounts(&group.id).await.unwrap().remove(0);
    let provider = app.state.registry.provider(&account).unwrap();
    let now = app.clock.now();
    let prospects: Vec<sonarly_domain::prospecting::Prospect> = provider
        .relations(None)
        .await
        .unwrap()
        .items
        .iter()
        .take(2)
        .enumerate()
        .map(|(k, r)| sonarly_domain::prospecting::Prospect {
            id: format!("{:024x}", k + 1),
            group_id: group.id.clone(),
            provider_id: r.provider_id.clone(),
            member_id: Some(r.provider_id.clone()),
            person_id: sonarly_domain::prospecting::person_id_for(&r.provider_id),
            name: r.name.clone(),
            connection_degree: Some(1),
            created_at: now,
            updated_at: now,
            ..Default::default()
        })
        .collect();
    app.db.store.upsert_prospects(&prospects, None).await.unwrap();
    let base = format!("/v1/accounts/{}", group.id);
    let reply = format!(r#"{{"prospectId":"{}","message":"Thanks for connecting!"}}"#, prospects[0].id);
    let queued = app.post_json(&format!("{base}/messages/responses"), &key, &[], &reply).await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    let response_id = queued.body["data"]["id"].as_str().unwrap().to_owned();
    let later = format!(r#"{{"prospectId":"{}","message":"Later"}}"#, prospects[1].id);
    let second = app.post_json(&format!("{base}/messages/responses"), &key, &[], &later).await;
    let second_id = second.body["data"]["id"].as_str().unwrap().to_owned();
    app.post_json(&format!("{base}/messages/responses/{second_id}/cancel"), &key, &[], "{}").await;
    app.engine().run_until_idle().await;

    let listed = app.get(&format!("{base}/events?types=response.sent,response.cancelled,message.sent"), &key).await;
    let items = listed.body["data"]["items"].as_array().unwrap().clone();
    let sent = items.iter().find(|e| e["type"] == "response.sent").expect("response.sent");
    assert_eq!(sent["data"]["responseId"], response_id.as_str());
    assert_eq!(sent["data"]["status"], "sent");
    assert!(sent["data"]["messageId"].is_string());
    let cancelled = items.iter().find(|e| e["type"] == "response.cancelled").expect("response.cancelled");
    assert_eq!(cancelled["data"]["responseId"], second_id.as_str());
    let ours = items.iter().find(|e| e["type"] == "message.sent").expect("message.sent");
    assert_eq!(ours["data"]["text"], "Thanks for connecting!");
    assert_eq!(ours["data"]["messageId"], sent["data"]["messageId"]);

    let engine = app.engine().with_config(sonarly_engine::EngineConfig {
        webhooks: sonarly_engine::WebhookConfig { policy, ..Default::default() },
        ..Default::default()
    });
    engine.run_webhooks_until_idle().await;
    let mut pushed: Vec<String> = got.lock().unwrap().iter().map(|b| b["type"].as_str().unwrap().to_owned()).collect();
    pushed.sort();
    let mut logged: Vec<String> = items.iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect();
    logged.sort();
    assert_eq!(pushed, logged, "every logged event of the subscribed types reached the receiver");
});
