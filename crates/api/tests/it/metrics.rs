//! `GET /metrics` after a small walk-through on the sandbox (list the seats, an
//! import, a queued response, a webhook delivery, a rate-limit refusal): every
//! family is there with its label names and a non-zero sample, and no label
//! carries a person's name, an email, a message text, or an id from a path.
//!
//! The recorder is process-wide and the other tests of this binary record into
//! it too, so only presence, label names and non-zero values are asserted. The
//! database gauges are set on each scrape, so the two backends run one after
//! the other in one test (two scraping at once would overwrite each other's).

use crate::support::*;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use sonarly_domain::Timestamp;
use sonarly_domain::prospecting::Plan;
use sonarly_domain::webhooks::UrlPolicy;
use sonarly_testkit::TestBackend;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tower::ServiceExt;

const MESSAGE: &str = "Metrics walk-through: thanks for connecting!";
const SEARCH: &str = r#"{"type":"linkedin_search","name":"Metrics Walk","searchUrl":"https://www.linkedin.com/search/results/people/?keywords=data%20engineer","maxResults":12,"searchEmails":false}"#;

/// One sample line: family (without `_bucket`/`_sum`/`_count`), labels, value.
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format (enough of it: `name{k="v",…} value`).
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (head, value) = line.rsplit_once(' ').expect("a value");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number in {line}"));
        let (name, labels) = match head.split_once('{') {
            None => (head.to_owned(), BTreeMap::new()),
            Some((name, rest)) => (name.to_owned(), parse_labels(rest.strip_suffix('}').expect("closing brace"))),
        };
        samples.push(Sample { name, labels, value });
    }
    samples
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").expect("key=\"value\"");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("a closing quote") {
                (_, '\\') => value.push(chars.next().expect("an escaped character").1),
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.to_owned(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    labels
}

async fn scrape(app: &TestApp) -> String {
    let handle = sonarly_api::metrics::install();
    let router = sonarly_api::metrics::router(handle, app.db.store.clone(), app.state.clock.clone());
    let response =
        router.oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.expect("the metrics route answers");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

/// The walk-through; returns the seat's id and what no label may carry.
async fn walk_through(app: &mut TestApp) -> (String, Vec<String>) {
    app.state = app.state.clone().with_webhook_policy(UrlPolicy::PERMISSIVE);
    app.router = sonarly_api::router(app.state.clone());
    let group = app.prospecting_group(Plan::Starter, 10_000).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let mut private = vec![group.id.to_string(), key.clone()];

    // The seats, and a key over its limit (a rate-limit refusal).
    assert_eq!(app.get(&format!("{base}/linkedin-accounts"), &key).await.status, 200);
    let slow = app.key_with(&[&group], "all", 1).await;
    assert_eq!(app.get(&format!("{base}/linkedin-accounts"), &slow).await.status, 200);
    assert_error(&app.get(&format!("{base}/linkedin-accounts"), &slow).await, 429, "RATE_LIMIT_EXCEEDED");
    // A path no route matches is counted as `unmatched`, never by its text.
    assert_error(&app.get(&format!("/v1/nowhere/{}", group.id), &key).await, 404, "NOT_FOUND");

    // An import.
    let started = app.post_json(&format!("{base}/prospecting"), &key, &[], SEARCH).await;
    assert_eq!(started.status, 202, "{}", started.body);
    let job_id = started.body["data"]["jobId"].as_str().unwrap().to_owned();
    private.push(job_id.clone());
    app.engine().run_until_idle().await;
    let job = app.get(&format!("{base}/prospecting/{job_id}"), &key).await;
    assert_eq!(job.body["data"]["status"], "completed", "{}", job.body);
    let audience_id = job.body["data"]["audienceId"].as_str().unwrap().to_owned();
    let prospects = app.get(&format!("{base}/audiences/{audience_id}/prospects?limit=100"), &key).await;
    for p in prospects.body["data"]["items"].as_array().unwrap() {
        for field in ["name", "firstName", "lastName", "email", "providerId", "publicIdentifier", "id"] {
            if let Some(text) = p[field].as_str().filter(|t| t.len() > 2) {
                private.push(text.to_owned());
            }
        }
    }

    // A response queued to a connection: queued (a due row waiting), then sent.
    let accounts = app.db.store.group_linkedin_accounts(&group.id).await.unwrap();
    let provider = app.state.registry.provider(&accounts[0]).unwrap();
    let relation = provider.relations(None).await.unwrap().items.remove(0);
    private.push(relation.name.clone());
    let now = Timestamp::from_millis(app.now_ms());
    let prospect = sonarly_testkit::connection_prospect(&group.id, format!("{:024x}", 7), &relation, now);
    app.db.store.upsert_prospects(std::slice::from_ref(&prospect), None).await.unwrap();
    let body = format!(r#"{{"prospectId":"{}","message":"{MESSAGE}","channel":"direct_message"}}"#, prospect.id);
    let queued = app.post_json(&format!("{base}/messages/responses"), &key, &[], &body).await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    let response_id = queued.body["data"]["id"].as_str().unwrap().to_owned();
    private.extend([MESSAGE.to_owned(), response_id.clone()]);
    app.clock.advance_millis(3_000);
    let waiting = parse(&scrape(app).await);
    let oldest = waiting
        .iter()
        .find(|s| s.name == "sonarly_queue_oldest_due_age_seconds" && s.labels["kind"] == "outbound")
        .expect("the outbound queue's age");
    assert!(oldest.value >= 3.0, "the queued response waited 3 s: {}", oldest.value);
    app.engine().run_until_idle().await;
    let sent = app.get(&format!("{base}/messages/responses/{response_id}"), &key).await;
    assert_eq!(sent.body["data"]["status"], "sent", "{}", sent.body);

    // A webhook endpoint and a delivered test event.
    let (url, _got) = receiver().await;
    let hooks = format!("{base}/webhook-endpoints");
    let created = app.post_json(&hooks, &key, &[], &format!(r#"{{"url":"{url}"}}"#)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let endpoint = created.body["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.post_json(&format!("{hooks}/{endpoint}/test"), &key, &[], "").await.status, 202);
    let engine = app.engine().with_config(sonarly_engine::EngineConfig {
        webhooks: sonarly_engine::WebhookConfig { policy: UrlPolicy::PERMISSIVE, ..Default::default() },
        ..Default::default()
    });
    engine.run_webhooks_until_idle().await;
    private.push(endpoint);

    // One more response left waiting, so the queue gauges show due work at the end too.
    let body = format!(r#"{{"prospectId":"{}","message":"{MESSAGE} Again.","channel":"direct_message"}}"#, prospect.id);
    assert_eq!(app.post_json(&format!("{base}/messages/responses"), &key, &[], &body).await.status, 202);
    app.clock.advance_millis(1_000);
    (accounts[0].id.clone(), private)
}

/// A receiver on 127.0.0.1 that answers 200.
async fn receiver() -> (String, Arc<tokio::task::JoinHandle<()>>) {
    let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let served = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, Arc::new(served))
}

/// The family a sample line belongs to.
fn family_of(name: &str) -> &str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && sonarly_app::metrics::HISTOGRAMS.contains(&base)
        {
            return base;
        }
    }
    name
}

async fn families_after_a_walk_through(backend: TestBackend) {
    let mut app = TestApp::new(backend).await;
    sonarly_api::metrics::install();
    let (seat, private) = walk_through(&mut app).await;
    let text = scrape(&app).await;
    let samples = parse(&text);

    for (family, labels, _) in sonarly_app::metrics::FAMILIES {
        assert!(text.contains(&format!("# TYPE {family} ")), "{family} has no TYPE line:\n{text}");
        let mine: Vec<&Sample> = samples.iter().filter(|s| family_of(&s.name) == family).collect();
        assert!(!mine.is_empty(), "{family} has no sample:\n{text}");
        let expected: BTreeSet<&str> = labels.iter().copied().collect();
        for sample in &mine {
            let names: BTreeSet<&str> = sample.labels.keys().map(String::as_str).filter(|k| *k != "le").collect();
            assert_eq!(names, expected, "{family}'s labels in {}{:?}", sample.name, sample.labels);
        }
        // Pool timeouts count a failure the walk-through does not cause.
        if family != sonarly_app::metrics::DB_POOL_TIMEOUTS {
            assert!(mine.iter().any(|s| s.value > 0.0), "{family} has no non-zero sample:\n{text}");
        }
    }

    let has = |family: &str, labels: &[(&str, &str)]| {
        let found = samples.iter().any(|s| {
            s.name == family
                && s.value > 0.0
                && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
        });
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with(family)).collect();
        assert!(found, "no non-zero {family} with {labels:?} in:\n{}", lines.join("\n"));
    };
    has(
        "sonarly_http_requests_total",
        &[("route", "/v1/accounts/{accountGroupId}/prospecting"), ("method", "POST"), ("status", "202")],
    );
    has("sonarly_http_requests_total", &[("route", "unmatched"), ("method", "GET"), ("status", "404")]);
    has("sonarly_rate_limit_refusals_total", &[("limit", "api_key")]);
    has("sonarly_provider_calls_total", &[("provider", "sandbox"), ("kind", "search"), ("outcome", "ok")]);
    // The reply opens a chat, or joins one the sandbox network already holds with that person
    // (the network follows the seat's random id): either way one delivered action.
    let delivered = |kind: &str| {
        samples.iter().any(|s| {
            s.name == "sonarly_outbound_actions_total"
                && s.value > 0.0
                && s.labels.get("kind").map(String::as_str) == Some(kind)
                && s.labels.get("outcome").map(String::as_str) == Some("delivered")
        })
    };
    assert!(delivered("start_chat") || delivered("message"), "no delivered outbound action in:\n{text}");
    has("sonarly_webhook_deliveries_total", &[("outcome", "delivered")]);
    has("sonarly_engine_step_duration_seconds_count", &[("worker", "prospecting")]);
    has("sonarly_seat_state", &[("seat", seat.as_str()), ("state", "connected")]);
    has("sonarly_seat_budget_used_total", &[("seat", seat.as_str()), ("kind", "search_page")]);
    has("sonarly_prospecting_imported_total", &[]);
    has("sonarly_queue_depth", &[("kind", "inbox_sync")]);

    // Nothing personal, nothing from a path: names, emails, texts and ids stay out of labels.
    for sample in &samples {
        for value in sample.labels.values() {
            assert!(!value.contains('@'), "an email-like label value: {}{:?}", sample.name, sample.labels);
            let value = value.to_lowercase();
            for secret in &private {
                // Long values (ids, texts, full names) anywhere; short ones (a first name) as the whole value.
                let secret = secret.to_lowercase();
                assert!(
                    value != secret && (secret.len() < 12 || !value.contains(&secret)),
                    "{:?} in a label of {}: {:?}",
                    secret,
                    sample.name,
                    sample.labels
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_has_its_labels_and_samples_after_a_walk_through() {
    families_after_a_walk_through(TestBackend::Sqlite).await;
    if sonarly_testkit::postgres_available() {
        families_after_a_walk_through(TestBackend::Postgres).await;
    }
}

/// docs/operations.md names every family, and its dashboard is JSON with a panel per family.
#[test]
fn the_operations_page_documents_every_family_and_its_dashboard_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operations.md");
    let doc = std::fs::read_to_string(path).expect("docs/operations.md");
    let json = doc.split("```json\n").nth(1).and_then(|rest| rest.split("\n```").next()).expect("a ```json block");
    let dashboard: serde_json::Value = serde_json::from_str(json).expect("the dashboard is valid JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let exprs: Vec<&str> =
        panels.iter().flat_map(|p| p["targets"].as_array().unwrap()).map(|t| t["expr"].as_str().unwrap()).collect();
    for (family, labels, _) in sonarly_app::metrics::FAMILIES {
        assert!(doc.contains(&format!("| `{family}` |")), "{family} is not in the table of docs/operations.md");
        for label in labels {
            assert!(doc.contains(&format!("`{label}`")), "{family}'s label {label} is not documented");
        }
        assert!(exprs.iter().any(|e| e.contains(family)), "no dashboard panel shows {family}");
    }
    for alert in
        ["SonarlySeatRestricted", "SonarlyQueueAgeGrowing", "SonarlyWebhookEndpointFailing", "SonarlyHttp5xxRate"]
    {
        assert!(doc.contains(&format!("alert: {alert}")), "{alert} is missing");
    }
}
