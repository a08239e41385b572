//! The event catalog, end to end, on both backends: real flows on the sandbox
//! with the manual clock produce every event type, each appears in
//! `GET …/events` and reaches a subscribed local receiver, signed as the
//! `standardwebhooks` crate signs. Nothing here appends an event itself.
//!
//! The flows: a test event; a prospecting job completed (taking the balance
//! below the low-credit threshold), two more racing for the last credits (one
//! fails) and one cancelled; a signal scan; a campaign whose leads are
//! invited, accept, get messages and reply (the sandbox's replies arrive
//! through the inbox sync) until it completes; a campaign whose fallback-only
//! note waits for approval (one lead approved, one discarded); a campaign
//! stopped; replies sent and cancelled; the account losing its credentials
//! (a response queued before fails); and a second endpoint failing for five
//! days, which is disabled.

use crate::support::*;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sonarly_domain::clock::Clock;
use sonarly_domain::events::EventType;
use sonarly_domain::linkedin_account::{SendingRules, WorkingHours};
use sonarly_domain::prospecting::{Plan, Prospect, person_id_for};
use sonarly_domain::webhooks::UrlPolicy;
use sonarly_linkedin::sandbox::SandboxConfig;
use sonarly_linkedin::{AccountType, ProviderEvent};
use sonarly_testkit::both_backends;
use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A receiver on 127.0.0.1 answering `status` to every request and keeping each one.
async fn receiver(status: u16) -> (String, Received) {
    let got: Received = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push((headers, body));
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, got)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn data_str(reply: &Reply, field: &str) -> String {
    reply.body["data"][field].as_str().unwrap_or_else(|| panic!("no data.{field} in {}", reply.body)).to_owned()
}

const SIGNALS: &str = r#"{"name":"Engineering teams scaling their platform","description":"Hiring engineers, Kubernetes, observability, CI pipelines","sources":["linkedin_posts","linkedin_comments","job_changes","hiring","company_news","funding"],"specifications":[{"keywords":["developer productivity","Rust"]}]}"#;

fn search(name: &str, max: u32) -> String {
    json!({"type": "linkedin_search", "name": name, "maxResults": max, "searchEmails": false,
           "searchUrl": "https://www.linkedin.com/search/results/people/?keywords=software%20engineer"})
    .to_string()
}

both_backends!(every_event_type_comes_from_a_real_flow_to_the_log_and_a_subscribed_receiver, |backend| async move {
    let mut app = TestApp::new(backend).await;
    app.state = app.state.clone().with_webhook_policy(UrlPolicy::PERMISSIVE);
    app.router = sonarly_api::router(app.state.clone());
    // 120 credits: a 30-prospect import takes the balance below the low-credit threshold (100).
    let group =
        sonarly_app::accounts::create_group_on(&app.db.store, &app.clock, "Catalog", Plan::Starter, 120).await.unwrap();
    let rules = SendingRules {
        working_hours: WorkingHours::AROUND_THE_CLOCK,
        min_spacing_secs: 0,
        max_spacing_secs: 0,
        daily_invitations: 100,
        weekly_invitations: 1_000,
        daily_messages: 1_000,
        daily_profile_visits: 1_000,
        daily_engagements: 1_000,
        ..SendingRules::default()
    };
    // Prospects that accept and reply more often than the default sandbox's, so that 28 leads do all of it.
    let sandbox = SandboxConfig { acceptance_rate: 0.7, reply_rate: 0.7, ..SandboxConfig::default() };
    let input = sonarly_app::linkedin::ConnectAccount {
        group_id: group.id.clone(),
        name: "Sandbox".into(),
        account_type: AccountType::SalesNavigator,
        rules,
        provider: sonarly_app::linkedin::ProviderSetup::Sandbox(sandbox),
    };
    let account = sonarly_app::linkedin::connect_account(&app.db.store, &app.clock, input).await.unwrap();
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let engine = app.engine().with_config(sonarly_engine::EngineConfig {
        webhooks: sonarly_engine::WebhookConfig { policy: UrlPolicy::PERMISSIVE, ..Default::default() },
        ..Default::default()
    });

    // A receiver subscribed to everything, and an endpoint that always fails.
    let (url, received) = receiver(200).await;
    let (broken_url, broken) = receiver(500).await;
    let created =
        app.post_json(&format!("{base}/webhook-endpoints"), &key, &[], &json!({"url": url}).to_string()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let (endpoint_id, secret) = (data_str(&created, "id"), data_str(&created, "secret"));
    let failing =
        app.post_json(&format!("{base}/webhook-endpoints"), &key, &[], &json!({"url": broken_url}).to_string()).await;
    assert_eq!(failing.status, 201, "{}", failing.body);
    let tested = app.post_json(&format!("{base}/webhook-endpoints/{endpoint_id}/test"), &key, &[], "").await;
    assert_eq!(tested.status, 202, "{}", tested.body);

    // Prospecting: one job completes (120 -> 90 credits: credits.low), one is cancelled, and two
    // started together with 60 each find only 90 credits between them: at least one fails.
    let first = app.post_json(&format!("{base}/prospecting"), &key, &[], &search("Engineers", 30)).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let first_id = data_str(&first, "jobId");
    engine.run_until_idle().await;
    let job = app.get(&format!("{base}/prospecting/{first_id}"), &key).await;
    assert_eq!(job.body["data"]["status"], "completed", "{}", job.body);
    let audience_id = data_str(&job, "audienceId");
    for name in ["Racing A", "Racing B"] {
        let started = app.post_json(&format!("{base}/prospecting"), &key, &[], &search(name, 60)).await;
        assert_eq!(started.status, 202, "{}", started.body);
    }
    let doomed = app.post_json(&format!("{base}/prospecting"), &key, &[], &search("Cancelled", 30)).await;
    let cancel = format!("{base}/prospecting/{}/cancel", data_str(&doomed, "jobId"));
    assert_eq!(app.post_json(&cancel, &key, &[], "{}").await.status, 200);
    engine.run_until_idle().await;

    // A signal scan over the first job's audience.
    let spec = app.post_json(&format!("{base}/signal-specifications"), &key, &[], SIGNALS).await;
    assert_eq!(spec.status, 201, "{}", spec.body);
    let scan = json!({"signalSpecificationId": data_str(&spec, "id"), "audienceId": audience_id});
    let scan = app.post_json(&format!("{base}/signals/scans"), &key, &[], &scan.to_string()).await;
    assert_eq!(scan.status, 202, "{}", scan.body);
    engine.run_until_idle().await;

    // Campaigns: the first job's prospects, all but two in a full campaign; the last two in a
    // campaign whose only note is a fallback (so it waits for approval); two more leads in one that is stopped.
    let page = app.get(&format!("{base}/audiences/{audience_id}/prospects?limit=100"), &key).await;
    let leads: Vec<String> =
        page.body["data"]["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(leads.len(), 30, "{}", page.body);
    let campaign = |template: &str, name: &str, audience: &str, leads: &[String]| {
        json!({"starterTemplateId": template, "name": name, "audienceId": audience, "leadIds": leads}).to_string()
    };
    let full = app
        .post_json(
            &format!("{base}/campaigns"),
            &key,
            &[],
            &campaign("connect-engage-dm", "Full", &audience_id, &leads[..28]),
        )
        .await;
    assert_eq!(full.status, 201, "{}", full.body);
    let full_id = data_str(&full, "id");
    let gated = campaign("connect", "Gated", &audience_id, &leads[28..]);
    let gated_id = data_str(&app.post_json(&format!("{base}/campaigns"), &key, &[], &gated).await, "id");
    let style = json!({"name": "Fallback only", "contentType": "connection_request",
        "samples": [{"type": "fallback", "message": "Hi, glad to connect."}]});
    let style = app.post_json(&format!("{base}/writing-styles"), &key, &[], &style.to_string()).await;
    let slots = app.get(&format!("{base}/campaigns/{gated_id}/content-slots"), &key).await;
    let slot = slots.body["data"]["items"][0]["id"].as_str().unwrap().to_owned();
    let linked = app
        .send(
            axum::http::Method::PATCH,
            &format!("{base}/campaigns/{gated_id}/content-slots/{slot}"),
            Some(&key),
            &[("content-type", "application/json")],
            axum::body::Body::from(json!({"templateId": data_str(&style, "id")}).to_string()),
        )
        .await;
    assert_eq!(linked.status, 200, "{}", linked.body);
    let (other_audience, others) = crate::campaigns::audience_with(&app, &group, 2, None).await;
    let stopped = campaign("connect", "Stopped", &other_audience.id, &others);
    let stopped_id = data_str(&app.post_json(&format!("{base}/campaigns"), &key, &[], &stopped).await, "id");
    for id in [&full_id, &gated_id, &stopped_id] {
        let started = app.post_json(&format!("{base}/campaigns/{id}/start"), &key, &[], "").await;
        assert_eq!(started.status, 200, "{}", started.body);
    }
    let stop = app.post_json(&format!("{base}/campaigns/{stopped_id}/stop"), &key, &[], "").await;
    assert_eq!(stop.status, 200, "{}", stop.body);

    // Replies to two of the account's connections: one is sent, one cancelled before it goes.
    let provider = app.state.registry.provider(&account).unwrap();
    let now = app.clock.now();
    let connections: Vec<Prospect> = provider
        .relations(None)
        .await
        .unwrap()
        .items
        .iter()
        .take(3)
        .enumerate()
        .map(|(k, r)| Prospect {
            id: format!("{:024x}", k + 1),
            group_id: group.id.clone(),
            provider_id: r.provider_id.clone(),
            member_id: Some(r.provider_id.clone()),
            person_id: person_id_for(&r.provider_id),
            name: r.name.clone(),
            connection_degree: Some(1),
            created_at: now,
            updated_at: now,
            ..Default::default()
        })
        .collect();
    app.db.store.upsert_prospects(&connections, None).await.unwrap();
    let reply = |k: usize, text: &str| json!({"prospectId": connections[k].id, "message": text}).to_string();
    let sent =
        app.post_json(&format!("{base}/messages/responses"), &key, &[], &reply(0, "Thanks for connecting!")).await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    let later = app.post_json(&format!("{base}/messages/responses"), &key, &[], &reply(1, "Later")).await;
    let cancelled =
        app.post_json(&format!("{base}/messages/responses/{}/cancel", data_str(&later, "id")), &key, &[], "{}").await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);

    // Four simulated weeks (past the 21-day acceptance timeout); the gated campaign's leads are decided
    // as soon as they wait.
    let gated_status = format!("{base}/campaigns/{gated_id}/lead-status?leadIds={},{}", leads[28], leads[29]);
    let (mut approved, mut discarded) = (false, false);
    for _ in 0..(28 * DAY / (4 * HOUR)) {
        engine.run_until_idle().await;
        if !(approved && discarded) {
            let rows = app.get(&gated_status, &key).await;
            for row in rows.body["data"]["items"].as_array().unwrap() {
                if row["hasPendingApproval"] != true {
                    continue;
                }
                let instance = row["workflowInstanceId"].as_str().unwrap();
                let action = if approved { "discard" } else { "approve" };
                let path = format!("{base}/campaigns/{gated_id}/workflow-instances/{instance}/{action}");
                let decided = app.post_json(&path, &key, &[], "").await;
                assert_eq!(decided.status, 200, "{}", decided.body);
                if approved {
                    discarded = true;
                } else {
                    approved = true;
                }
            }
        }
        engine.run_webhooks_until_idle().await;
        app.clock.advance_millis(4 * HOUR);
    }
    assert!(approved && discarded, "both gated leads waited for approval");
    let done = app.get(&format!("{base}/campaigns/{full_id}"), &key).await;
    assert_eq!(done.body["data"]["status"], "completed", "{}", done.body);

    // The account loses its credentials with a reply still queued: the reply fails.
    let doomed = app.post_json(&format!("{base}/messages/responses"), &key, &[], &reply(2, "Too late")).await;
    assert_eq!(doomed.status, 202, "{}", doomed.body);
    let lost = ProviderEvent::AccountStatus { status: "CREDENTIALS".into(), message: None };
    let account = app.db.store.system().linkedin_account(&account.id).await.unwrap().unwrap();
    sonarly_app::inbox::handle_event(&app.db.store, &app.clock, &account, &lost).await.unwrap();
    engine.run_until_idle().await;
    engine.run_webhooks_until_idle().await;
    let failed = app.get(&format!("{base}/messages/responses/{}", data_str(&doomed, "id")), &key).await;
    assert_eq!(failed.body["data"]["status"], "failed", "{}", failed.body);

    // The log, paged through newest first.
    let mut logged = Vec::new();
    let mut path = format!("{base}/events?limit=100");
    loop {
        let page = app.get(&path, &key).await;
        assert_eq!(page.status, 200, "{}", page.body);
        logged.extend(page.body["data"]["items"].as_array().unwrap().iter().cloned());
        match page.body["data"]["nextCursor"].as_str() {
            Some(c) => path = format!("{base}/events?limit=100&cursor={c}"),
            None => break,
        }
    }
    let catalog: BTreeSet<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    let logged_types: BTreeSet<&str> = logged.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(logged_types, catalog, "every event type is in the log");
    // Each type's payload has the fields of its documented example (the OpenAPI `webhooks` section),
    // each of the same JSON kind where both have a value.
    let keys = |data: &Value| data.as_object().unwrap().keys().cloned().collect::<BTreeSet<String>>();
    let mut drift = Vec::new();
    for t in EventType::ALL {
        let documented = keys(&t.example_data());
        for event in logged.iter().filter(|e| e["type"] == t.as_str()) {
            let real = keys(&event["data"]);
            let kind = |v: &Value| match v {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            let example = t.example_data();
            let mismatched: Vec<String> = real
                .intersection(&documented)
                .filter(|k| {
                    let (a, b) = (&event["data"][k.as_str()], &example[k.as_str()]);
                    !a.is_null() && !b.is_null() && kind(a) != kind(b)
                })
                .cloned()
                .collect();
            if real != documented || !mismatched.is_empty() {
                drift.push(format!(
                    "{}: only real {:?}, only documented {:?}, of another kind {mismatched:?}",
                    t.as_str(),
                    real.difference(&documented).collect::<Vec<_>>(),
                    documented.difference(&real).collect::<Vec<_>>()
                ));
                break;
            }
        }
    }
    assert!(drift.is_empty(), "payloads differ from their documented examples:\n{}", drift.join("\n"));

    // The receiver: each request signed as the reference implementation signs, each event once.
    let signer = standardwebhooks::Webhook::new(&secret).unwrap();
    let requests = received.lock().unwrap().clone();
    let mut ids = HashSet::new();
    let mut pushed_types = BTreeSet::new();
    for (headers, body) in &requests {
        let id = header(headers, "webhook-id");
        let timestamp: i64 = header(headers, "webhook-timestamp").parse().unwrap();
        let expected = signer.sign(id, timestamp, body.as_bytes()).unwrap();
        assert_eq!(header(headers, "webhook-signature"), expected, "{id} is signed with the endpoint's secret");
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["data"]["accountGroupId"], group.id.as_str());
        assert!(ids.insert(id.to_owned()), "{id} delivered once");
        pushed_types.insert(body["type"].as_str().unwrap().to_owned());
    }
    let pushed_types: BTreeSet<&str> = pushed_types.iter().map(String::as_str).collect();
    assert_eq!(pushed_types, catalog, "every event type reached the subscribed receiver");
    let logged_ids: HashSet<String> = logged.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, logged_ids, "every logged event, and nothing else, reached the receiver");
    let disabled = logged.iter().find(|e| e["type"] == "webhook_endpoint.disabled").unwrap();
    assert_eq!(disabled["data"]["endpointId"], data_str(&failing, "id").as_str());
    assert!(!broken.lock().unwrap().is_empty());
});
