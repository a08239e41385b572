use crate::support::*;
use axum::body::Body;
use axum::http::Method;
use sonarly_domain::scope::{RouteAccess, Scope};
use sonarly_testkit::both_backends;

both_backends!(unknown_routes_wrong_methods_and_ops_use_the_envelope, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    assert_error(&app.get("/nope", &key).await, 404, "NOT_FOUND");
    assert_error(&app.get("/v1/accounts/x/unknown-thing", &key).await, 404, "NOT_FOUND");
    let wrong = app.send(Method::DELETE, "/healthz", None, &[], Body::empty()).await;
    assert_error(&wrong, 405, "METHOD_NOT_ALLOWED");
    let wrong = app.send(Method::PUT, "/v1/accounts", Some(&key), &[], Body::empty()).await;
    assert_error(&wrong, 405, "METHOD_NOT_ALLOWED");

    let health = app.send(Method::GET, "/healthz", None, &[], Body::empty()).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["data"]["status"], "ok");
    assert_trace(&health);
    let ready = app.send(Method::GET, "/readyz", None, &[], Body::empty()).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["data"]["status"], "ready");

    // After the database goes away, readiness says so in the envelope.
    app.db.store.close().await;
    let gone = app.send(Method::GET, "/readyz", None, &[], Body::empty()).await;
    assert_error(&gone, 503, "SERVICE_UNAVAILABLE");
});

both_backends!(bodies_are_validated_inside_the_envelope, |backend| async move {
    use axum::routing::post;
    use sonarly_api::extract::ApiJson;
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Input {
        name: String,
        count: u8,
    }
    async fn echo(ApiJson(input): ApiJson<Input>) -> axum::response::Response {
        sonarly_api::envelope::ok(serde_json::json!({ "name": input.name }))
    }
    async fn boom() -> axum::response::Response {
        panic!("boom")
    }
    let app = TestApp::with_routes(
        backend,
        |_| {
            axum::Router::new()
                .route("/v1/accounts/{accountGroupId}/test/echo", post(echo))
                .route("/v1/accounts/{accountGroupId}/test/boom", post(boom))
        },
        vec![
            ("POST", "/v1/accounts/{accountGroupId}/test/echo", RouteAccess::Scope(Scope::TemplatesWrite)),
            ("POST", "/v1/accounts/{accountGroupId}/test/boom", RouteAccess::Scope(Scope::TemplatesWrite)),
        ],
    )
    .await;
    let group = app.group("G").await;
    let key = app.key(&[&group]).await;
    let path = format!("/v1/accounts/{}/test/echo", group.id);

    let good = app.post_json(&path, &key, &[], r#"{"name":"x","count":3}"#).await;
    assert_eq!(good.status, 200, "{}", good.body);
    let malformed = app.post_json(&path, &key, &[], r#"{"name":"#).await;
    assert_error(&malformed, 400, "VALIDATION_ERROR");
    let wrong_type = app.post_json(&path, &key, &[], r#"{"name":"x","count":"three"}"#).await;
    assert_error(&wrong_type, 400, "VALIDATION_ERROR");
    assert_eq!(wrong_type.body["error"]["fields"][0]["field"], "count");
    let missing = app.post_json(&path, &key, &[], r#"{"count":1}"#).await;
    assert_error(&missing, 400, "VALIDATION_ERROR");
    assert!(missing.body["error"]["details"].as_str().unwrap().contains("name"));
    let overflow = app.post_json(&path, &key, &[], r#"{"name":"x","count":300}"#).await;
    assert_error(&overflow, 400, "VALIDATION_ERROR");
    let not_json = app.send(Method::POST, &path, Some(&key), &[("content-type", "text/plain")], Body::from("hi")).await;
    assert_error(&not_json, 415, "UNSUPPORTED_MEDIA_TYPE");
    let huge = format!(r#"{{"name":"{}","count":1}}"#, "x".repeat(2 * 1024 * 1024));
    assert_error(&app.post_json(&path, &key, &[], &huge).await, 413, "PAYLOAD_TOO_LARGE");

    let panicked = app.post_json(&format!("/v1/accounts/{}/test/boom", group.id), &key, &[], "{}").await;
    assert_error(&panicked, 500, "INTERNAL_ERROR");
});

both_backends!(head_requests_need_what_get_needs, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("G").await;
    let key = app.key_with(&[&group], "audiences:read", 100).await;
    let head = |path: String| {
        let key = key.clone();
        let router = app.router.clone();
        async move {
            let req =
                axum::http::Request::head(path).header("authorization", format!("Bearer {key}")).body(Body::empty());
            tower::ServiceExt::oneshot(router, req.unwrap()).await.unwrap().status().as_u16()
        }
    };
    assert_eq!(head("/v1/accounts".into()).await, 200);
    assert_eq!(head(format!("/v1/accounts/{}/audiences", group.id)).await, 200);
});
