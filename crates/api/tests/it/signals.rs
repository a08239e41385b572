//! Signals (spec 2.6 S1–S5) over HTTP, on both backends: scans (start,
//! idempotency, list, get, cancel), a prospect's signals (pending, evaluated,
//! minScore), references, foreign ids and scopes.

use crate::support::*;
use serde_json::{Value, json};
use sonarly_domain::models::AccountGroup;
use sonarly_domain::prospecting::Plan;
use sonarly_testkit::both_backends;

const SEARCH: &str = r#"{"type":"linkedin_search","name":"Engineers","searchUrl":"https://www.linkedin.com/search/results/people/?keywords=software%20engineer","maxResults":25}"#;

/// A group with a sandbox account, a ready audience of 25 engineers and a signal specification.
struct Setup {
    group: AccountGroup,
    key: String,
    base: String,
    audience_id: String,
    spec_id: String,
    prospects: Vec<String>,
}

async fn setup(app: &TestApp) -> Setup {
    let group = app.prospecting_group(Plan::Starter, 10_000).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let job = app.post_json(&format!("{base}/prospecting"), &key, &[], SEARCH).await;
    assert_eq!(job.status, 202, "{}", job.body);
    let job_id = job.body["data"]["jobId"].as_str().unwrap().to_owned();
    app.engine().run_until_idle().await;
    let job = app.get(&format!("{base}/prospecting/{job_id}"), &key).await;
    let audience_id = job.body["data"]["audienceId"].as_str().unwrap().to_owned();
    let page = app.get(&format!("{base}/audiences/{audience_id}/prospects?limit=100"), &key).await;
    let prospects: Vec<String> =
        page.body["data"]["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(prospects.len(), 25);
    let spec = app
        .post_json(
            &format!("{base}/signal-specifications"),
            &key,
            &[],
            &json!({
                "name": "Engineering teams scaling their platform",
                "description": "Hiring engineers, Kubernetes, observability, CI pipelines",
                "sources": ["linkedin_posts", "linkedin_comments", "job_changes", "hiring", "company_news", "funding"],
                "specifications": [{"keywords": ["developer productivity", "Rust"]}]
            })
            .to_string(),
        )
        .await;
    assert_eq!(spec.status, 201, "{}", spec.body);
    let spec_id = spec.body["data"]["id"].as_str().unwrap().to_owned();
    Setup { group, key, base, audience_id, spec_id, prospects }
}

fn scan_body(s: &Setup) -> String {
    json!({"signalSpecificationId": s.spec_id, "audienceId": s.audience_id}).to_string()
}

fn keys_of(data: &Value) -> Vec<String> {
    let mut keys: Vec<_> = data.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn fields(reply: &Reply) -> Vec<String> {
    reply.body["error"]["fields"]
        .as_array()
        .map(|a| a.iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

const ITEM_FIELDS: [&str; 13] = [
    "commentLink",
    "commentedAt",
    "companyName",
    "jobUrl",
    "postLink",
    "postedAt",
    "reasoning",
    "replySummary",
    "score",
    "summary",
    "title",
    "totalComments",
    "totalLikes",
];

both_backends!(scan_start_poll_list_and_read_prospect_signals, |backend| async move {
    let app = TestApp::new(backend).await;
    let s = setup(&app).await;
    let scans = format!("{}/signals/scans", s.base);

    let started = app.post_json(&scans, &s.key, &[], &scan_body(&s)).await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_trace(&started);
    assert_eq!(keys_of(&started.body["data"]), ["createdAt", "scanId", "status"]);
    assert_eq!(started.body["data"]["status"], "queued");
    let scan_id = started.body["data"]["scanId"].as_str().unwrap().to_owned();

    let queued = app.get(&format!("{scans}/{scan_id}"), &s.key).await;
    let data = &queued.body["data"];
    assert_eq!((data["type"].as_str(), data["status"].as_str()), (Some("signal_scan"), Some("queued")));
    assert!(data["error"].is_null());
    assert_eq!(data["progress"], 0.0);
    assert_eq!(data["counts"]["total"], 25);
    assert_eq!(
        (data["signalSpecificationId"].as_str(), data["audienceId"].as_str()),
        (Some(s.spec_id.as_str()), Some(s.audience_id.as_str()))
    );
    for key in ["scanId", "type", "status", "createdAt", "updatedAt", "error"] {
        assert!(data.get(key).is_some(), "{key} missing from {data}");
    }

    let prospect = format!("{}/prospects/{}/signals", s.base, s.prospects[0]);
    let pending = app.get(&prospect, &s.key).await;
    assert_eq!(pending.status, 200, "{}", pending.body);
    assert_eq!(pending.body["data"]["status"], "pending");
    assert_eq!(pending.body["data"]["results"], json!([]));
    assert_eq!(pending.body["data"]["prospectId"], s.prospects[0].as_str());

    app.engine().run_until_idle().await;
    let done = app.get(&format!("{scans}/{scan_id}"), &s.key).await;
    let data = &done.body["data"];
    assert_eq!(data["status"], "completed", "{data}");
    assert_eq!(data["progress"], 1.0);
    assert_eq!((data["counts"]["processed"].as_i64(), data["counts"]["evaluated"].as_i64()), (Some(25), Some(25)));
    assert!(data["counts"]["signals"].as_i64().unwrap() > 25);

    // Every prospect is evaluated; items carry exactly the documented fields.
    let mut all_scores = Vec::new();
    for id in &s.prospects {
        let reply = app.get(&format!("{}/prospects/{id}/signals", s.base), &s.key).await;
        let data = &reply.body["data"];
        assert_eq!(data["status"], "evaluated");
        assert_eq!(data["scanId"], scan_id.as_str());
        for group in data["results"].as_array().unwrap() {
            assert_eq!(keys_of(group), ["items", "type"]);
            let items = group["items"].as_array().unwrap();
            assert!(!items.is_empty(), "empty groups are omitted");
            for item in items {
                assert_eq!(keys_of(item), ITEM_FIELDS);
                let score = item["score"].as_u64().unwrap();
                assert!(score <= 100);
                all_scores.push(score);
                assert!(item["reasoning"].as_str().unwrap().contains("Score = "));
                match group["type"].as_str().unwrap() {
                    "linkedin_comments" => assert!(item["commentedAt"].is_string() && item["postedAt"].is_null()),
                    _ => assert!(item["postedAt"].is_string() && item["commentedAt"].is_null()),
                }
            }
        }
    }

    // minScore filters items and drops groups left empty; the status stays `evaluated`.
    all_scores.sort_unstable();
    let median = all_scores[all_scores.len() / 2];
    let mut kept = 0;
    for id in &s.prospects {
        let reply = app.get(&format!("{}/prospects/{id}/signals?minScore={median}", s.base), &s.key).await;
        assert_eq!(reply.body["data"]["status"], "evaluated");
        for group in reply.body["data"]["results"].as_array().unwrap() {
            let items = group["items"].as_array().unwrap();
            assert!(!items.is_empty());
            for item in items {
                assert!(item["score"].as_u64().unwrap() >= median);
                kept += 1;
            }
        }
    }
    assert_eq!(kept, all_scores.iter().filter(|&&x| x >= median).count());
    let top = app.get(&format!("{prospect}?minScore=100"), &s.key).await;
    assert_eq!(top.body["data"]["status"], "evaluated");
    for bad in ["101", "-1", "abc", "2.5", ""] {
        assert_error(&app.get(&format!("{prospect}?minScore={bad}"), &s.key).await, 400, "VALIDATION_ERROR");
    }

    // A narrower specification re-evaluates one prospect: `evaluated` even with `results: []`.
    let funding_only = app
        .post_json(
            &format!("{}/signal-specifications", s.base),
            &s.key,
            &[],
            r#"{"name":"Quantum teleportation breakthroughs","sources":["funding"]}"#,
        )
        .await;
    let funding_id = funding_only.body["data"]["id"].as_str().unwrap();
    let mut empty_found = false;
    for id in &s.prospects {
        // A later evaluation replaces the earlier one: let time pass between them.
        app.clock.advance_millis(60_000);
        let body = json!({"signalSpecificationId": funding_id, "audienceId": s.audience_id, "prospectIds": [id]});
        assert_eq!(app.post_json(&scans, &s.key, &[], &body.to_string()).await.status, 202);
        app.engine().run_until_idle().await;
        let reply = app.get(&format!("{}/prospects/{id}/signals", s.base), &s.key).await;
        assert_eq!(reply.body["data"]["status"], "evaluated");
        assert_eq!(reply.body["data"]["signalSpecificationId"], funding_id);
        if reply.body["data"]["results"] == json!([]) {
            empty_found = true;
            break;
        }
        for group in reply.body["data"]["results"].as_array().unwrap() {
            assert_eq!(group["type"], "funding");
        }
    }
    assert!(empty_found, "some prospect's company had no funding round in the window");

    // The list: newest first, paged, filtered by status.
    let listed = app.get(&format!("{scans}?limit=1"), &s.key).await;
    assert_eq!(listed.status, 200);
    let first = &listed.body["data"]["items"][0];
    assert_eq!(keys_of(first), ["createdAt", "scanId", "status", "type", "updatedAt"]);
    assert_eq!(listed.body["data"]["hasMore"], true);
    let cursor = listed.body["data"]["nextCursor"].as_str().unwrap();
    let mut seen = vec![first["scanId"].as_str().unwrap().to_owned()];
    let mut path = format!("{scans}?limit=1&cursor={cursor}");
    loop {
        let page = app.get(&path, &s.key).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for item in page.body["data"]["items"].as_array().unwrap() {
            seen.push(item["scanId"].as_str().unwrap().to_owned());
        }
        match page.body["data"]["nextCursor"].as_str() {
            Some(c) => path = format!("{scans}?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert!(seen.contains(&scan_id));
    assert_eq!(seen.len(), seen.iter().collect::<std::collections::HashSet<_>>().len());
    let completed = app.get(&format!("{scans}?status=completed&limit=100"), &s.key).await;
    assert_eq!(completed.body["data"]["items"].as_array().unwrap().len(), seen.len());
    let queued = app.get(&format!("{scans}?status=queued"), &s.key).await;
    assert_eq!(queued.body["data"]["items"], json!([]));
    assert_error(&app.get(&format!("{scans}?status=done"), &s.key).await, 400, "VALIDATION_ERROR");
    assert_error(&app.get(&format!("{scans}?cursor=bogus"), &s.key).await, 400, "VALIDATION_ERROR");
    let foreign_cursor = app.get(&format!("{}/audiences?limit=1", s.base), &s.key).await;
    if let Some(c) = foreign_cursor.body["data"]["nextCursor"].as_str() {
        assert_error(&app.get(&format!("{scans}?cursor={c}"), &s.key).await, 400, "VALIDATION_ERROR");
    }

    // A completed scan cannot be cancelled.
    let cancel = app.post_json(&format!("{scans}/{scan_id}/cancel"), &s.key, &[], "{}").await;
    assert_error(&cancel, 422, "VALIDATION_ERROR");
    assert!(cancel.body["error"]["message"].as_str().unwrap().contains("Scan is not in a cancellable status"));
});

both_backends!(scan_starts_are_idempotent_by_key, |backend| async move {
    let app = TestApp::new(backend).await;
    let s = setup(&app).await;
    let scans = format!("{}/signals/scans", s.base);
    let key_header = [("idempotency-key", "scan-run-001")];
    let first = app.post_json(&scans, &s.key, &key_header, &scan_body(&s)).await;
    assert_eq!(first.status, 202);
    // Same key, same body (keys reordered): the same scan, still 202 while not completed.
    let reordered = json!({"audienceId": s.audience_id, "signalSpecificationId": s.spec_id}).to_string();
    let again = app.post_json(&scans, &s.key, &key_header, &reordered).await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.body["data"]["scanId"], first.body["data"]["scanId"]);
    let other = app
        .post_json(
            &scans,
            &s.key,
            &key_header,
            &json!({"signalSpecificationId": s.spec_id, "audienceId": s.audience_id, "prospectIds": [s.prospects[0]]})
                .to_string(),
        )
        .await;
    assert_error(&other, 409, "IDEMPOTENCY_CONFLICT");

    app.engine().run_until_idle().await;
    let replay = app.post_json(&scans, &s.key, &key_header, &scan_body(&s)).await;
    assert_eq!(replay.status, 200, "a completed scan replays with 200: {}", replay.body);
    assert_eq!(replay.body["data"]["scanId"], first.body["data"]["scanId"]);
    assert_eq!(replay.body["data"]["status"], "completed");
    let listed = app.get(&scans, &s.key).await;
    assert_eq!(listed.body["data"]["items"].as_array().unwrap().len(), 1, "one scan for one key");

    // Without a key every start is a new scan; a bad key is a 400.
    let a = app.post_json(&scans, &s.key, &[], &scan_body(&s)).await;
    let b = app.post_json(&scans, &s.key, &[], &scan_body(&s)).await;
    assert_ne!(a.body["data"]["scanId"], b.body["data"]["scanId"]);
    let long = "k".repeat(257);
    assert_error(
        &app.post_json(&scans, &s.key, &[("idempotency-key", &long)], &scan_body(&s)).await,
        400,
        "VALIDATION_ERROR",
    );
});

// The scan-start page lists 400 and no 422: references that name nothing in the
// group are 400 VALIDATION_ERROR on their field.
both_backends!(scan_requests_are_validated_and_checked_against_the_group, |backend| async move {
    let app = TestApp::new(backend).await;
    let s = setup(&app).await;
    let scans = format!("{}/signals/scans", s.base);
    let post = |body: Value| {
        let (app, scans, key) = (&app, &scans, &s.key);
        async move { app.post_json(scans, key, &[], &body.to_string()).await }
    };

    let missing = post(json!({})).await;
    assert_error(&missing, 400, "VALIDATION_ERROR");
    assert_eq!(fields(&missing), ["signalSpecificationId", "audienceId"]);
    assert_error(&post(json!({"signalSpecificationId": 5, "audienceId": "a"})).await, 400, "VALIDATION_ERROR");
    let empty_list =
        post(json!({"signalSpecificationId": s.spec_id, "audienceId": s.audience_id, "prospectIds": []})).await;
    assert_eq!(fields(&empty_list), ["prospectIds"]);
    let not_json = app.send(axum::http::Method::POST, &scans, Some(&s.key), &[], axum::body::Body::from("x")).await;
    assert_error(&not_json, 415, "UNSUPPORTED_MEDIA_TYPE");

    let unknown_spec = post(json!({"signalSpecificationId": "nope", "audienceId": s.audience_id})).await;
    assert_error(&unknown_spec, 400, "VALIDATION_ERROR");
    assert_eq!(fields(&unknown_spec), ["signalSpecificationId"]);
    let unknown_audience = post(json!({"signalSpecificationId": s.spec_id, "audienceId": "aud_nope"})).await;
    assert_error(&unknown_audience, 400, "VALIDATION_ERROR");
    assert_eq!(fields(&unknown_audience), ["audienceId"]);
    let stranger = post(json!({"signalSpecificationId": s.spec_id, "audienceId": s.audience_id,
        "prospectIds": [s.prospects[1], "not-a-member"]}))
    .await;
    assert_error(&stranger, 400, "VALIDATION_ERROR");
    assert_eq!(fields(&stranger), ["prospectIds[1]"]);

    // Another group's specification and audience are unknown here.
    let other = setup(&app).await;
    let foreign_spec = post(json!({"signalSpecificationId": other.spec_id, "audienceId": s.audience_id})).await;
    assert_error(&foreign_spec, 400, "VALIDATION_ERROR");
    assert_eq!(fields(&foreign_spec), ["signalSpecificationId"]);
    let foreign_audience = post(json!({"signalSpecificationId": s.spec_id, "audienceId": other.audience_id})).await;
    assert_eq!(fields(&foreign_audience), ["audienceId"]);
    let foreign_prospect = post(json!({"signalSpecificationId": s.spec_id, "audienceId": s.audience_id,
        "prospectIds": [other.prospects[0]]}))
    .await;
    assert_eq!(fields(&foreign_prospect), ["prospectIds[0]"]);

    // An audience still being filled is not ready.
    let filling = app.audience(&s.group, "Filling", app.now_ms(), Some("job-in-progress")).await;
    let not_ready = post(json!({"signalSpecificationId": s.spec_id, "audienceId": filling.id})).await;
    assert_error(&not_ready, 409, "AUDIENCE_NOT_READY");

    // A group without a connected LinkedIn account cannot scan.
    let bare = app.group("No account").await;
    let bare_key = app.key(&[&bare]).await;
    let spec = app
        .post_json(
            &format!("/v1/accounts/{}/signal-specifications", bare.id),
            &bare_key,
            &[],
            r#"{"name":"x","sources":["hiring"]}"#,
        )
        .await;
    let audience = app.audience(&bare, "Empty", app.now_ms(), None).await;
    let body = json!({"signalSpecificationId": spec.body["data"]["id"], "audienceId": audience.id});
    let conflict =
        app.post_json(&format!("/v1/accounts/{}/signals/scans", bare.id), &bare_key, &[], &body.to_string()).await;
    assert_error(&conflict, 409, "CONFLICT");

    // Deleting a specification an active scan uses is a 409 naming the scan.
    let active = post(json!({"signalSpecificationId": s.spec_id, "audienceId": s.audience_id})).await;
    let scan_id = active.body["data"]["scanId"].as_str().unwrap();
    let delete = app
        .send(
            axum::http::Method::DELETE,
            &format!("{}/signal-specifications/{}", s.base, s.spec_id),
            Some(&s.key),
            &[],
            axum::body::Body::empty(),
        )
        .await;
    assert_error(&delete, 409, "CONFLICT");
    assert!(delete.body["error"]["message"].as_str().unwrap().contains(scan_id), "{}", delete.body);
});

both_backends!(cancelling_a_running_scan, |backend| async move {
    let app = TestApp::new(backend).await;
    let s = setup(&app).await;
    let scans = format!("{}/signals/scans", s.base);
    let started = app.post_json(&scans, &s.key, &[], &scan_body(&s)).await;
    let scan_id = started.body["data"]["scanId"].as_str().unwrap().to_owned();
    let engine = app.engine();
    assert!(engine.step().await);
    let cancelled = app.post_json(&format!("{scans}/{scan_id}/cancel"), &s.key, &[], "").await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["data"], json!({"scanId": scan_id, "status": "cancelled"}));
    engine.run_until_idle().await;
    let after = app.get(&format!("{scans}/{scan_id}"), &s.key).await;
    assert_eq!(after.body["data"]["status"], "cancelled");
    assert_eq!(after.body["data"]["counts"]["processed"], 10);
    let again = app.post_json(&format!("{scans}/{scan_id}/cancel"), &s.key, &[], "").await;
    assert_error(&again, 422, "VALIDATION_ERROR");
    let cancelled_list = app.get(&format!("{scans}?status=cancelled"), &s.key).await;
    assert_eq!(cancelled_list.body["data"]["items"][0]["scanId"], scan_id.as_str());
    // Prospects evaluated before the cancel keep their results.
    let evaluated = {
        let mut n = 0;
        for id in &s.prospects {
            let reply = app.get(&format!("{}/prospects/{id}/signals", s.base), &s.key).await;
            if reply.body["data"]["status"] == "evaluated" {
                n += 1;
            }
        }
        n
    };
    assert_eq!(evaluated, 10);
});

both_backends!(foreign_ids_are_not_found_and_scopes_are_enforced, |backend| async move {
    let app = TestApp::new(backend).await;
    let s = setup(&app).await;
    let other = setup(&app).await;
    let scans = format!("{}/signals/scans", s.base);
    let theirs = app.post_json(&format!("{}/signals/scans", other.base), &other.key, &[], &scan_body(&other)).await;
    let their_scan = theirs.body["data"]["scanId"].as_str().unwrap();

    // Another group's scan and prospect look exactly like ids that do not exist.
    let foreign = app.get(&format!("{scans}/{their_scan}"), &s.key).await;
    let absent = app.get(&format!("{scans}/6a0000000000000000000000"), &s.key).await;
    assert_error(&foreign, 404, "NOT_FOUND");
    assert_eq!(foreign.body_without_trace(), absent.body_without_trace());
    assert_error(&app.post_json(&format!("{scans}/{their_scan}/cancel"), &s.key, &[], "").await, 404, "NOT_FOUND");
    let foreign_prospect = app.get(&format!("{}/prospects/{}/signals", s.base, other.prospects[0]), &s.key).await;
    assert_error(&foreign_prospect, 404, "NOT_FOUND");
    assert_error(&app.get(&format!("{}/prospects/nope/signals", s.base), &s.key).await, 404, "NOT_FOUND");
    // A group the key cannot reach is a 404 too.
    assert_error(&app.get(&format!("{}/signals/scans", other.base), &s.key).await, 404, "NOT_FOUND");

    let started = app.post_json(&scans, &s.key, &[], &scan_body(&s)).await;
    let scan_id = started.body["data"]["scanId"].as_str().unwrap().to_owned();
    let reader = app.key_with(&[&s.group], "signals:read", 1_000).await;
    let writer = app.key_with(&[&s.group], "signals:write", 1_000).await;
    let prospects_reader = app.key_with(&[&s.group], "prospects:read", 1_000).await;
    let templates = app.key_with(&[&s.group], "templates:read,templates:write", 1_000).await;
    let one = format!("{scans}/{scan_id}");
    let cancel = format!("{one}/cancel");
    let prospect = format!("{}/prospects/{}/signals", s.base, s.prospects[0]);

    assert_error(&app.post_json(&scans, &reader, &[], &scan_body(&s)).await, 403, "SCOPE_DENIED");
    assert_error(&app.post_json(&cancel, &reader, &[], "").await, 403, "SCOPE_DENIED");
    assert_eq!(app.get(&scans, &reader).await.status, 200);
    assert_eq!(app.get(&one, &reader).await.status, 200);
    assert_error(&app.get(&scans, &writer).await, 403, "SCOPE_DENIED");
    assert_error(&app.get(&one, &writer).await, 403, "SCOPE_DENIED");
    for key in [&reader, &writer, &templates] {
        assert_error(&app.get(&prospect, key).await, 403, "SCOPE_DENIED");
    }
    assert_error(&app.get(&scans, &templates).await, 403, "SCOPE_DENIED");
    assert_eq!(app.get(&prospect, &prospects_reader).await.status, 200);
    assert_error(&app.get(&scans, &prospects_reader).await, 403, "SCOPE_DENIED");
    // The scope check comes before the group check.
    assert_error(&app.get(&format!("{}/signals/scans", other.base), &writer).await, 403, "SCOPE_DENIED");
    let cancelled = app.post_json(&cancel, &writer, &[], "").await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_error(&app.get(&scans, "sk_live_nope").await, 401, "UNAUTHORIZED");
});

/// Creates a writing style and returns its id.
async fn style(app: &TestApp, s: &Setup, body: Value) -> String {
    let reply = app.post_json(&format!("{}/writing-styles", s.base), &s.key, &[], &body.to_string()).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["data"]["id"].as_str().unwrap().to_owned()
}

fn stored_prospect(
    app: &TestApp,
    group: &AccountGroup,
    id: &str,
    first: &str,
    last: &str,
    company: &str,
) -> sonarly_domain::prospecting::Prospect {
    let now = sonarly_domain::Timestamp::from_millis(app.now_ms());
    let provider_id = format!("ACoAAtest{id}");
    sonarly_domain::prospecting::Prospect {
        id: id.into(),
        group_id: group.id.clone(),
        person_id: sonarly_domain::prospecting::person_id_for(&provider_id),
        provider_id,
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        name: format!("{first} {last}"),
        company_name: Some(company.into()),
        title: Some("Head of Engineering".into()),
        created_at: now,
        updated_at: now,
        ..Default::default()
    }
}

both_backends!(preview_with_a_stored_prospect_uses_its_stored_signals, |backend| async move {
    let app = TestApp::new(backend).await;
    let s = setup(&app).await;
    app.post_json(&format!("{}/signals/scans", s.base), &s.key, &[], &scan_body(&s)).await;
    app.engine().run_until_idle().await;
    let style_id = style(
        &app,
        &s,
        json!({"name": "Intro", "samples": [
            {"type": "signal", "message": "Hi {{ FirstName }}, I enjoyed {{ Signal }}."},
            {"type": "basic", "message": "Hi {{ FirstName }} at {{ Company }}."}
        ]}),
    )
    .await;
    let preview = format!("{}/writing-styles/{style_id}/preview", s.base);

    // The prospect's best stored signal (at least 40 by default) fills {{ Signal }}.
    let mut checked = 0;
    for id in &s.prospects {
        let signals = app.get(&format!("{}/prospects/{id}/signals?minScore=40", s.base), &s.key).await;
        let results = signals.body["data"]["results"].as_array().unwrap().clone();
        let prospect = app.get(&format!("{}/audiences/{}/prospects?limit=100", s.base, s.audience_id), &s.key).await;
        let first_name = prospect.body["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id.as_str())
            .map(|p| p["firstName"].as_str().unwrap().to_owned())
            .unwrap();
        let reply = app
            .post_json(&preview, &s.key, &[], &json!({"channel": "direct_message", "prospectId": id}).to_string())
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["data"]["composer"], "builtin");
        if results.is_empty() {
            assert_eq!(reply.body["data"]["sampleType"], "basic");
        } else {
            let best = results[0]["items"][0]["summary"].as_str().unwrap();
            assert_eq!(reply.body["data"]["sampleType"], "signal");
            assert_eq!(reply.body["data"]["body"], format!("Hi {first_name}, I enjoyed {best}."));
            checked += 1;
        }
        // With a threshold no signal reaches, the basic sample serves.
        let strict = json!({"channel": "direct_message", "prospectId": id, "minScore": 100});
        let reply = app.post_json(&preview, &s.key, &[], &strict.to_string()).await;
        if reply.body["data"]["sampleType"] == "signal" {
            assert!(results.iter().any(|g| g["items"].as_array().unwrap().iter().any(|i| i["score"] == 100)));
        }
        if checked >= 3 {
            break;
        }
    }
    assert!(checked > 0, "some prospect has a relevant signal");

    // A prospect never evaluated (pending) has no signals: basic.
    let fresh = stored_prospect(&app, &s.group, "fresh-prospect", "Zoë", "Łukasiewicz-Núñez", "Zürich Robotics");
    app.db.store.upsert_prospects(&[fresh], None).await.unwrap();
    let reply = app
        .post_json(
            &preview,
            &s.key,
            &[],
            &json!({"channel": "direct_message", "prospectId": "fresh-prospect"}).to_string(),
        )
        .await;
    assert_eq!(reply.body["data"]["body"], "Hi Zoë at Zürich Robotics.");

    // Long values and non-ASCII names stay within a connection note's 300 characters.
    let long_company = format!("Ünïcödé Robotics {}", "Gesellschaft mit beschränkter Haftung ".repeat(8));
    let long = stored_prospect(&app, &s.group, "long-prospect", "Zoë", "Łukasiewicz-Núñez", long_company.trim());
    app.db.store.upsert_prospects(&[long], None).await.unwrap();
    let note = style(
        &app,
        &s,
        json!({"name": "Note", "contentType": "connection_request", "samples": [
            {"type": "basic", "message": "Hi {{ FirstName }} {{ LastName }}! I keep reading about {{ Company }}. Would love to connect and trade notes on platform teams, hiring and everything in between."}
        ]}),
    )
    .await;
    let reply = app
        .post_json(
            &format!("{}/writing-styles/{note}/preview", s.base),
            &s.key,
            &[],
            &json!({"channel": "connection_request", "prospectId": "long-prospect"}).to_string(),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.body["data"]["body"].as_str().unwrap();
    assert!(body.chars().count() <= 300, "{}", body.chars().count());
    assert!(body.starts_with("Hi Zoë Łukasiewicz-Núñez!"), "{body}");
    assert!(!body.contains("{{"));

    // Request rules: 400 for the shape, 404 for the style, 422 for a prospect outside the group.
    let other = setup(&app).await;
    for (body, field) in [
        (
            json!({"channel": "direct_message", "prospectId": s.prospects[0], "profile": {"firstName": "A"}}),
            "prospectId",
        ),
        (json!({"channel": "direct_message", "prospectId": s.prospects[0], "signals": []}), "signals"),
        (json!({"channel": "direct_message", "prospectId": s.prospects[0], "minScore": 101}), "minScore"),
        (json!({"channel": "direct_message", "prospectId": ""}), "prospectId"),
        (json!({"channel": "direct_message", "profile": {"firstName": "A"}, "minScore": 50}), "minScore"),
        (json!({"channel": "direct_message"}), "profile"),
    ] {
        let reply = app.post_json(&preview, &s.key, &[], &body.to_string()).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert_eq!(fields(&reply), [field], "{body}");
    }
    for id in [other.prospects[0].as_str(), "nope"] {
        let reply = app
            .post_json(&preview, &s.key, &[], &json!({"channel": "direct_message", "prospectId": id}).to_string())
            .await;
        assert_error(&reply, 422, "VALIDATION_ERROR");
        assert_eq!(fields(&reply), ["prospectId"]);
    }
    let missing_style = app
        .post_json(
            &format!("{}/writing-styles/nope/preview", s.base),
            &s.key,
            &[],
            &json!({"channel": "direct_message", "prospectId": "nope"}).to_string(),
        )
        .await;
    assert_error(&missing_style, 404, "NOT_FOUND");
});

// Preview with `prospectId` reads a stored prospect: it needs `prospects:read`
// beside the templates scope, and uses the stored signals only with `signals:read`.
both_backends!(
    preview_with_a_stored_prospect_needs_prospects_read_and_signals_read_for_its_signals,
    |backend| async move {
        let app = TestApp::new(backend).await;
        let s = setup(&app).await;
        app.post_json(&format!("{}/signals/scans", s.base), &s.key, &[], &scan_body(&s)).await;
        app.engine().run_until_idle().await;
        let style_id = style(
            &app,
            &s,
            json!({"name": "Intro", "samples": [
                {"type": "signal", "message": "Hi {{ FirstName }}, I enjoyed {{ Signal }}."},
                {"type": "basic", "message": "Hi {{ FirstName }} at {{ Company }}."}
            ]}),
        )
        .await;
        let preview = format!("{}/writing-styles/{style_id}/preview", s.base);
        let for_prospect = |id: &str| json!({"channel": "direct_message", "prospectId": id}).to_string();
        // A prospect whose stored signals fill the signal sample for a full key.
        let mut with_signal = None;
        for id in &s.prospects {
            let reply = app.post_json(&preview, &s.key, &[], &for_prospect(id)).await;
            if reply.body["data"]["sampleType"] == "signal" {
                with_signal = Some((id.clone(), reply.body["data"]["body"].as_str().unwrap().to_owned()));
                break;
            }
        }
        let (id, full_body) = with_signal.expect("some prospect has a relevant signal");

        // Templates scopes alone: 403 SCOPE_DENIED, and nothing about the prospect in the answer.
        let templates_only = app.key_with(&[&s.group], "templates:read,templates:write", 1_000).await;
        let denied = app.post_json(&preview, &templates_only, &[], &for_prospect(&id)).await;
        assert_error(&denied, 403, "SCOPE_DENIED");
        assert!(denied.body["error"]["message"].as_str().unwrap().contains("prospects:read"));
        let first_name = full_body.trim_start_matches("Hi ").split(',').next().unwrap();
        assert!(!denied.body.to_string().contains(first_name), "{}", denied.body);
        // The inline form needs nothing more than the templates scope.
        let inline = json!({"channel": "direct_message", "profile": {"firstName": "Ada", "company": "Acme"}});
        let reply = app.post_json(&preview, &templates_only, &[], &inline.to_string()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["data"]["body"], "Hi Ada at Acme.");

        // prospects:read without signals:read: the profile, but not the stored signals.
        let no_signals = app.key_with(&[&s.group], "templates:read,prospects:read", 1_000).await;
        let reply = app.post_json(&preview, &no_signals, &[], &for_prospect(&id)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["data"]["sampleType"], "basic");
        assert!(reply.body["data"]["body"].as_str().unwrap().starts_with(&format!("Hi {first_name} at ")));
        // With signals:read as well, the stored signal is used.
        let both = app.key_with(&[&s.group], "templates:read,prospects:read,signals:read", 1_000).await;
        let reply = app.post_json(&preview, &both, &[], &for_prospect(&id)).await;
        assert_eq!(reply.body["data"]["body"], full_body.as_str());
    }
);

both_backends!(preview_through_a_configured_model, |backend| async move {
    use sonarly_app::composer::{OpenAiComposer, OpenAiConfig};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    let mut app = TestApp::new(backend).await;
    let composer = OpenAiComposer::new(OpenAiConfig {
        base_url: format!("{}/v1", server.uri()),
        api_key: Some("sk-test".into()),
        model: "gpt-test".into(),
        timeout: std::time::Duration::from_secs(5),
    })
    .unwrap();
    app.state = app.state.clone().with_composer(std::sync::Arc::new(composer));
    app.router = sonarly_api::router(app.state.clone());
    let s = setup(&app).await;
    let free = style(
        &app,
        &s,
        json!({"name": "Free", "useStrictTemplate": false, "excludeRules": ["pricing"],
               "samples": [{"type": "basic", "message": "Hi {{ FirstName }}, quick idea for {{ Company }}."}]}),
    )
    .await;
    let strict = style(
        &app,
        &s,
        json!({"name": "Strict", "samples": [{"type": "basic", "message": "Hi {{ FirstName }}, quick idea for {{ Company }}."}]}),
    )
    .await;
    let body =
        json!({"channel": "direct_message", "profile": {"firstName": "Zoë", "company": "Zürich Robotics"}}).to_string();

    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"message": {"role": "assistant", "content": "{\"subject\":null,\"body\":\"Hi Zoë, a thought for the Zürich Robotics platform team.\"}"}}]
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let reply = app.post_json(&format!("{}/writing-styles/{free}/preview", s.base), &s.key, &[], &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["composer"], "openai");
    assert_eq!(reply.body["data"]["body"], "Hi Zoë, a thought for the Zürich Robotics platform team.");
    assert_eq!(reply.body["data"]["sampleType"], "basic");

    // A strict style never asks the model.
    let reply = app.post_json(&format!("{}/writing-styles/{strict}/preview", s.base), &s.key, &[], &body).await;
    assert_eq!(reply.body["data"]["composer"], "builtin");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // A failing model (here: 503, then an answer with an excluded phrase) falls back to the built-in draft.
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let reply = app.post_json(&format!("{}/writing-styles/{free}/preview", s.base), &s.key, &[], &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["composer"], "builtin");
    assert_eq!(reply.body["data"]["body"], "Hi Zoë, quick idea for Zürich Robotics.");
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"message": {"content": "{\"body\":\"Hi Zoë, our pricing is unbeatable.\"}"}}]
        })))
        .mount(&server)
        .await;
    let reply = app.post_json(&format!("{}/writing-styles/{free}/preview", s.base), &s.key, &[], &body).await;
    assert_eq!(reply.body["data"]["composer"], "builtin");
    assert_eq!(reply.body["data"]["body"], "Hi Zoë, quick idea for Zürich Robotics.");
});
