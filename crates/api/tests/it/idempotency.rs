//! The Idempotency-Key layer, mounted on POST routes that count their runs.

use crate::support::*;
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use sonarly_api::AppState;
use sonarly_api::envelope::{ApiError, respond};
use sonarly_api::extract::ApiJson;
use sonarly_domain::scope::{RouteAccess, Scope};
use sonarly_testkit::{TestBackend, both_backends};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

struct Counters {
    runs: Arc<AtomicUsize>,
    flaky_runs: Arc<AtomicUsize>,
}

async fn app_with_counters(backend: TestBackend) -> (TestApp, Counters) {
    let runs = Arc::new(AtomicUsize::new(0));
    let flaky_runs = Arc::new(AtomicUsize::new(0));
    let (r, f) = (runs.clone(), flaky_runs.clone());
    let app = TestApp::with_routes(
        backend,
        move |state: &AppState| {
            let layer = || axum::middleware::from_fn_with_state(state.clone(), sonarly_api::idempotency::enforce);
            Router::new()
                .route(
                    "/v1/accounts/{accountGroupId}/test/slow-jobs",
                    post(move |ApiJson(body): ApiJson<serde_json::Value>| {
                        let runs = r.clone();
                        async move {
                            let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
                            if body["slow"] == true {
                                tokio::time::sleep(Duration::from_millis(400)).await;
                            }
                            respond(
                                StatusCode::ACCEPTED,
                                serde_json::json!({ "jobId": format!("job_{n}"), "status": "queued" }),
                            )
                        }
                    })
                    .layer(layer()),
                )
                .route(
                    "/v1/accounts/{accountGroupId}/test/flaky",
                    post(move || {
                        let runs = f.clone();
                        async move {
                            if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                                Err::<Response, _>(ApiError::from(sonarly_domain::DomainError::internal()))
                            } else {
                                Ok(respond(StatusCode::ACCEPTED, serde_json::json!({ "id": "resp_1" })))
                            }
                        }
                    })
                    .layer(layer()),
                )
        },
        vec![
            ("POST", "/v1/accounts/{accountGroupId}/test/slow-jobs", RouteAccess::Scope(Scope::ProspectingWrite)),
            ("POST", "/v1/accounts/{accountGroupId}/test/flaky", RouteAccess::Scope(Scope::MessagesWrite)),
        ],
    )
    .await;
    (app, Counters { runs, flaky_runs })
}

both_backends!(same_key_and_body_replays_the_first_answer, |backend| async move {
    let (app, counters) = app_with_counters(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let path = format!("/v1/accounts/{}/test/slow-jobs", group.id);
    let idem = [("idempotency-key", "prospecting-run-2026-05-23-001")];

    let first = app.post_json(&path, &key, &idem, r#"{"name":"Berlin","maxResults":100}"#).await;
    assert_eq!(first.status, 202);
    assert_eq!(first.body["data"]["jobId"], "job_1");
    // Same body with other whitespace and key order is the same request.
    let again = app.post_json(&path, &key, &idem, "{ \"maxResults\": 100, \"name\": \"Berlin\" }").await;
    assert_eq!(again.status, 202);
    assert_eq!(again.body_without_trace(), first.body_without_trace());
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_trace(&again);
    assert_ne!(again.body["traceId"], first.body["traceId"]);
    assert_eq!(counters.runs.load(Ordering::SeqCst), 1);

    let conflict = app.post_json(&path, &key, &idem, r#"{"name":"Munich","maxResults":100}"#).await;
    assert_error(&conflict, 409, "IDEMPOTENCY_CONFLICT");
    assert_eq!(counters.runs.load(Ordering::SeqCst), 1);

    // Without the header every call runs; another key string is another request.
    app.post_json(&path, &key, &[], r#"{"name":"Berlin"}"#).await;
    app.post_json(&path, &key, &[], r#"{"name":"Berlin"}"#).await;
    app.post_json(&path, &key, &[("idempotency-key", "other")], r#"{"name":"Berlin","maxResults":100}"#).await;
    assert_eq!(counters.runs.load(Ordering::SeqCst), 4);

    // The same key in another account group is independent.
    let second_group = app.group("G2").await;
    let key2 = app.key(&[&second_group]).await;
    let elsewhere = app
        .post_json(&format!("/v1/accounts/{}/test/slow-jobs", second_group.id), &key2, &idem, r#"{"name":"Munich"}"#)
        .await;
    assert_eq!(elsewhere.status, 202);
    assert_eq!(counters.runs.load(Ordering::SeqCst), 5);
});

both_backends!(concurrent_duplicates_execute_once, |backend| async move {
    let (app, counters) = app_with_counters(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let path = format!("/v1/accounts/{}/test/slow-jobs", group.id);
    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (app, key, path) = (app.clone(), key.clone(), path.clone());
        tasks.spawn(async move {
            app.post_json(&path, &key, &[("idempotency-key", "same")], r#"{"slow":true}"#).await.status.as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [202, 409, 409, 409, 409, 409]);
    assert_eq!(counters.runs.load(Ordering::SeqCst), 1);
    let after = app.post_json(&path, &key, &[("idempotency-key", "same")], r#"{"slow":true}"#).await;
    assert_eq!(after.status, 202, "replayed once the first finished");
    assert_eq!(counters.runs.load(Ordering::SeqCst), 1);
});

both_backends!(server_errors_are_not_recorded_and_bad_keys_are_refused, |backend| async move {
    let (app, counters) = app_with_counters(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let path = format!("/v1/accounts/{}/test/flaky", group.id);
    let idem = [("idempotency-key", "retry-me")];
    assert_error(&app.post_json(&path, &key, &idem, "{}").await, 500, "INTERNAL_ERROR");
    let retried = app.post_json(&path, &key, &idem, "{}").await;
    assert_eq!(retried.status, 202);
    assert_eq!(counters.flaky_runs.load(Ordering::SeqCst), 2);

    let long = "k".repeat(257);
    let too_long = app.post_json(&path, &key, &[("idempotency-key", long.as_str())], "{}").await;
    assert_error(&too_long, 400, "VALIDATION_ERROR");
    assert_eq!(too_long.body["error"]["fields"][0]["field"], "Idempotency-Key");
    let max = "k".repeat(256);
    assert_eq!(app.post_json(&path, &key, &[("idempotency-key", max.as_str())], "{}").await.status, 202);
    assert_eq!(counters.flaky_runs.load(Ordering::SeqCst), 3);
});

both_backends!(another_groups_idempotency_records_are_invisible, |backend| async move {
    let (app, counters) = app_with_counters(backend).await;
    let mine = app.group("Mine").await;
    let theirs = app.group("Theirs").await;
    let my_key = app.key(&[&mine]).await;
    let their_key = app.key(&[&theirs]).await;
    let idem = [("idempotency-key", "shared-key")];
    let path = format!("/v1/accounts/{}/test/slow-jobs", theirs.id);
    assert_eq!(app.post_json(&path, &their_key, &idem, r#"{"name":"x"}"#).await.status, 202);
    // Same body (would replay) and different body (would conflict) both look absent.
    for body in [r#"{"name":"x"}"#, r#"{"name":"y"}"#] {
        let probe = app.post_json(&path, &my_key, &idem, body).await;
        let missing = app.post_json("/v1/accounts/507f1f77bcf86cd799439011/test/slow-jobs", &my_key, &idem, body).await;
        assert_error(&probe, 404, "NOT_FOUND");
        assert_eq!(probe.body_without_trace(), missing.body_without_trace());
    }
    assert_eq!(counters.runs.load(Ordering::SeqCst), 1);
});
