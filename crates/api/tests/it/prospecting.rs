//! Prospecting and prospect routes over HTTP, on both backends.

use crate::support::*;
use sonarly_domain::prospecting::Plan;
use sonarly_testkit::both_backends;
use std::sync::Arc;

const SEARCH: &str = r#"{"type":"linkedin_search","name":"Berlin Software Engineers","searchUrl":"https://www.linkedin.com/search/results/people/?keywords=software%20engineer","maxResults":30,"searchEmails":false}"#;

both_backends!(start_poll_list_and_look_up, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 10_000).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);

    let started = app.post_json(&format!("{base}/prospecting"), &key, &[], SEARCH).await;
    assert_eq!(started.status, 202, "{}", started.body);
    let job_id = started.body["data"]["jobId"].as_str().unwrap().to_owned();
    assert_eq!(started.body["data"]["status"], "queued");
    let queued = app.get(&format!("{base}/prospecting/{job_id}"), &key).await;
    let audience_id = queued.body["data"]["audienceId"].as_str().unwrap().to_owned();
    assert_error(&app.get(&format!("{base}/audiences/{audience_id}"), &key).await, 409, "AUDIENCE_NOT_READY");
    assert_error(&app.get(&format!("{base}/audiences/{audience_id}/prospects"), &key).await, 409, "AUDIENCE_NOT_READY");
    let listed = app.get(&format!("{base}/audiences"), &key).await;
    assert!(listed.body["data"]["items"].as_array().unwrap().is_empty(), "hidden while filling");

    app.engine().run_until_idle().await;
    let done = app.get(&format!("{base}/prospecting/{job_id}"), &key).await;
    let data = &done.body["data"];
    assert_eq!(data["status"], "completed", "{data}");
    assert_eq!(data["type"], "prospecting");
    assert_eq!(data["stages"]["import"]["status"], "completed");
    assert_eq!(data["stages"]["import"]["progress"], 1.0);
    assert!(data["error"].is_null());

    let mut prospects = Vec::new();
    let mut path = format!("{base}/audiences/{audience_id}/prospects?limit=7");
    loop {
        let page = app.get(&path, &key).await;
        assert_eq!(page.status, 200, "{}", page.body);
        prospects.extend(page.body["data"]["items"].as_array().unwrap().clone());
        match page.body["data"]["nextCursor"].as_str() {
            Some(c) => path = format!("{base}/audiences/{audience_id}/prospects?limit=7&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(prospects.len(), 30);
    let first = &prospects[0];
    for field in [
        "id",
        "firstName",
        "lastName",
        "name",
        "headline",
        "about",
        "photoUrl",
        "linkedinUrl",
        "publicIdentifier",
        "company",
        "providerId",
    ] {
        assert!(first.get(field).is_some(), "{field} missing from {first}");
    }
    assert!(first["company"]["name"].is_string() && first["company"]["industry"].is_string());

    let provider_id = first["providerId"].as_str().unwrap();
    let found = app.get(&format!("{base}/prospects/by-provider-id/{provider_id}"), &key).await;
    assert_eq!(found.body["data"]["resolution"], "unique");
    assert_eq!(found.body["data"]["matches"][0]["prospectId"], first["id"]);
    assert!(found.body["data"]["matches"][0]["personId"].is_string());
    let none = app.get(&format!("{base}/prospects/by-provider-id/ACoAAnobody"), &key).await;
    assert_eq!(
        (none.body["data"]["resolution"].as_str(), none.body["data"]["matches"].as_array().unwrap().len()),
        (Some("none"), 0)
    );
    assert_error(&app.get(&format!("{base}/prospects/by-provider-id/bad%20id"), &key).await, 422, "VALIDATION_ERROR");

    let jobs = app.get(&format!("{base}/prospecting?status=completed"), &key).await;
    assert_eq!(jobs.body["data"]["items"][0]["jobId"], job_id.as_str());
    assert!(
        app.get(&format!("{base}/prospecting?status=queued"), &key).await.body["data"]["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_error(&app.get(&format!("{base}/prospecting?status=done"), &key).await, 400, "VALIDATION_ERROR");
    assert_error(
        &app.post_json(&format!("{base}/prospecting/{job_id}/cancel"), &key, &[], "{}").await,
        422,
        "VALIDATION_ERROR",
    );

    let quota = app.get(&format!("{base}/prospecting/quota"), &key).await;
    assert_eq!(quota.body["data"]["listType"], "LINKEDIN_CLASSIC");
    assert_eq!(quota.body["data"]["used"], 30);
    assert_eq!(quota.body["data"]["exhausted"], false);
    // What a job would cost, shown before starting one: the plan's cap, the balance, the price.
    let charged = app.get(&format!("{base}/prospecting/{job_id}"), &key).await.body["data"]["creditsCharged"].as_i64();
    assert_eq!(quota.body["data"]["plan"], "starter");
    assert_eq!(quota.body["data"]["maxResultsPerJob"], 1000);
    assert_eq!(quota.body["data"]["creditsAvailable"].as_i64(), Some(10_000 - charged.unwrap()));
    assert_eq!(
        (
            quota.body["data"]["creditsPerProspect"].as_i64(),
            quota.body["data"]["creditsPerProspectWithEmails"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert_error(&app.get(&format!("{base}/prospecting/quota?listType=NOPE"), &key).await, 400, "VALIDATION_ERROR");

    let saved = app.get(&format!("{base}/sales-navigator/saved-searches"), &key).await;
    let saved_id = saved.body["data"]["items"][0]["id"].as_str().unwrap().to_owned();
    let lead_lists = app.get(&format!("{base}/sales-navigator/lead-lists"), &key).await;
    assert_eq!(lead_lists.body["data"]["items"].as_array().unwrap().len(), 2);
    let sn = app
        .post_json(
            &format!("{base}/prospecting"),
            &key,
            &[],
            &format!(r#"{{"type":"sales_navigator","name":"Saved","savedSearchId":"{saved_id}","maxResults":10}}"#),
        )
        .await;
    assert_eq!(sn.status, 202, "{}", sn.body);
});

// An unknown Sales Navigator list is refused at start (400 naming the field, as
// the page lists), not accepted with 202 to fail later; known ids still start.
both_backends!(an_unknown_saved_search_or_lead_list_is_refused_at_start, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Starter, 1_000).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let start = |field: &str, id: &str| {
        let body = format!(r#"{{"type":"sales_navigator","name":"SN","{field}":"{id}","maxResults":10}}"#);
        let (app, path, key) = (&app, format!("{base}/prospecting"), &key);
        async move { app.post_json(&path, key, &[], &body).await }
    };
    for field in ["savedSearchId", "leadListId"] {
        let refused = start(field, "1234567890").await;
        assert_error(&refused, 400, "VALIDATION_ERROR");
        assert_eq!(refused.body["error"]["fields"][0]["field"], field);
    }
    let jobs = app.get(&format!("{base}/prospecting"), &key).await;
    assert_eq!(jobs.body["data"]["items"], serde_json::json!([]), "nothing was queued");
    let lists = app.get(&format!("{base}/sales-navigator/lead-lists"), &key).await;
    let lead_list = lists.body["data"]["items"][1]["id"].as_str().unwrap().to_owned();
    let started = start("leadListId", &lead_list).await;
    assert_eq!(started.status, 202, "{}", started.body);
    // A replay of the same key answers the original job without asking again.
    let body = format!(r#"{{"type":"sales_navigator","name":"SN","leadListId":"{lead_list}","maxResults":10}}"#);
    let first = app.post_json(&format!("{base}/prospecting"), &key, &[("idempotency-key", "sn-1")], &body).await;
    let again = app.post_json(&format!("{base}/prospecting"), &key, &[("idempotency-key", "sn-1")], &body).await;
    assert_eq!(first.body["data"]["jobId"], again.body["data"]["jobId"]);
});

both_backends!(starts_are_validated_up_front, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(Plan::Tester, 100).await;
    let key = app.key(&[&group]).await;
    let path = format!("/v1/accounts/{}/prospecting", group.id);
    let cases = [
        (r#"{"name":"x"}"#, "type"),
        (r#"{"type":"linkedin_search"}"#, "name"),
        (r#"{"type":"linkedin_search","name":"x"}"#, "searchUrl"),
        (
            r#"{"type":"linkedin_search","name":"x","searchUrl":"https://evil.com/search/results/people/?keywords=a"}"#,
            "searchUrl",
        ),
        (r#"{"type":"sales_navigator","name":"x"}"#, "savedSearchId"),
        (r#"{"type":"post_commenters","name":"x","postUrl":"https://www.linkedin.com/in/someone"}"#, "postUrl"),
        (r#"{"type":"url_upload","name":"x","profileUrls":[]}"#, "profileUrls"),
        (
            r#"{"type":"url_upload","name":"x","profileUrls":["https://www.linkedin.com/in/ok","https://x.com/in/no"]}"#,
            "profileUrls[1]",
        ),
        (r#"{"type":"carrier_pigeon","name":"x"}"#, "type"),
        (
            r#"{"type":"linkedin_search","name":"x","searchUrl":"https://www.linkedin.com/search/results/people/?keywords=a","maxResults":0}"#,
            "maxResults",
        ),
        (r#"{"type":"linkedin_search","name":"x","maxResults":"ten"}"#, "maxResults"),
    ];
    for (body, field) in cases {
        let reply = app.post_json(&path, &key, &[], body).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        let fields: Vec<_> = reply.body["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_owned())
            .collect();
        assert!(fields.iter().any(|f| f == field), "{body}: expected {field} in {fields:?}");
    }
    let too_many: Vec<String> = (0..1001).map(|i| format!("\"https://www.linkedin.com/in/p{i}\"")).collect();
    let reply = app
        .post_json(
            &path,
            &key,
            &[],
            &format!(r#"{{"type":"url_upload","name":"x","profileUrls":[{}]}}"#, too_many.join(",")),
        )
        .await;
    assert_error(&reply, 400, "VALIDATION_ERROR");
    // 100 credits cannot cover 100 prospects with emails.
    let costly = SEARCH.replace("\"maxResults\":30,\"searchEmails\":false", "\"maxResults\":100,\"searchEmails\":true");
    assert_error(&app.post_json(&path, &key, &[], &costly).await, 402, "INSUFFICIENT_CREDITS");
    // A group without a LinkedIn account cannot prospect.
    let bare = app.group("Bare").await;
    let bare_key = app.key(&[&bare]).await;
    assert_error(
        &app.post_json(&format!("/v1/accounts/{}/prospecting", bare.id), &bare_key, &[], SEARCH).await,
        409,
        "CONFLICT",
    );
});

both_backends!(idempotency_keys_start_one_job, |backend| async move {
    let app = Arc::new(TestApp::new(backend).await);
    let group = app.prospecting_group(Plan::Starter, 10_000).await;
    let key = app.key(&[&group]).await;
    let path = format!("/v1/accounts/{}/prospecting", group.id);
    let idem = [("idempotency-key", "prospecting-run-2026-05-23-001")];
    let first = app.post_json(&path, &key, &idem, SEARCH).await;
    let second = app.post_json(&path, &key, &idem, SEARCH).await;
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (202, 202));
    assert_eq!(first.body["data"]["jobId"], second.body["data"]["jobId"]);
    let other_body = SEARCH.replace("Berlin", "Munich");
    assert_error(&app.post_json(&path, &key, &idem, &other_body).await, 409, "IDEMPOTENCY_CONFLICT");

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (app, key, path) = (app.clone(), key.clone(), path.clone());
        tasks.spawn(async move {
            let reply = app.post_json(&path, &key, &[("idempotency-key", "burst")], SEARCH).await;
            assert_eq!(reply.status, 202, "{}", reply.body);
            reply.body["data"]["jobId"].as_str().unwrap().to_owned()
        });
    }
    let mut ids = std::collections::HashSet::new();
    while let Some(id) = tasks.join_next().await {
        ids.insert(id.unwrap());
    }
    assert_eq!(ids.len(), 1, "20 concurrent starts with one key start one job");
    let jobs = app.get(&format!("{path}?limit=100"), &key).await;
    assert_eq!(jobs.body["data"]["items"].as_array().unwrap().len(), 2);

    // Once the job completed, a replay answers 200.
    app.engine().run_until_idle().await;
    let replay = app.post_json(&path, &key, &idem, SEARCH).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body["data"]["jobId"], first.body["data"]["jobId"]);
    assert_eq!(replay.body["data"]["status"], "completed");
});

both_backends!(foreign_jobs_are_absent, |backend| async move {
    let app = TestApp::new(backend).await;
    let mine = app.prospecting_group(Plan::Starter, 1_000).await;
    let theirs = app.prospecting_group(Plan::Starter, 1_000).await;
    let my_key = app.key(&[&mine]).await;
    let their_key = app.key(&[&theirs]).await;
    let started = app.post_json(&format!("/v1/accounts/{}/prospecting", theirs.id), &their_key, &[], SEARCH).await;
    let job_id = started.body["data"]["jobId"].as_str().unwrap();
    for path in [
        format!("/v1/accounts/{}/prospecting/{job_id}", mine.id),
        format!("/v1/accounts/{}/prospecting/{job_id}", theirs.id),
    ] {
        assert_error(&app.get(&path, &my_key).await, 404, "NOT_FOUND");
    }
    assert_error(
        &app.post_json(&format!("/v1/accounts/{}/prospecting/{job_id}/cancel", mine.id), &my_key, &[], "{}").await,
        404,
        "NOT_FOUND",
    );
    let cancelled =
        app.post_json(&format!("/v1/accounts/{}/prospecting/{job_id}/cancel", theirs.id), &their_key, &[], "{}").await;
    assert_eq!((cancelled.status.as_u16(), cancelled.body["data"]["status"].as_str()), (200, Some("cancelled")));
    let reader = app.key_with(&[&mine], "prospecting:read", 100).await;
    assert_error(
        &app.post_json(&format!("/v1/accounts/{}/prospecting", mine.id), &reader, &[], SEARCH).await,
        403,
        "SCOPE_DENIED",
    );
});
