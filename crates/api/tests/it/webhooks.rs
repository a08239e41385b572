//! Webhook endpoints over HTTP, on both backends: the secret is shown on
//! create and rotate only, URLs follow the server's policy, updates and
//! deletes, a test event and a redelivery reach a local receiver, attempts
//! are listed, and scopes and tenancy hold.

use crate::support::*;
use axum::body::Body;
use axum::http::Method;
use sonarly_domain::webhooks::UrlPolicy;
use sonarly_testkit::both_backends;
use std::sync::{Arc, Mutex};

/// A receiver on 127.0.0.1 that answers 200 and keeps the `webhook-id` and body of each request.
async fn receiver() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let got: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let keep = keep.clone();
            async move {
                let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                keep.lock().unwrap().push((id, body));
                "ok"
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

fn json_body(text: &str) -> Body {
    Body::from(text.to_owned())
}

both_backends!(endpoints_are_created_with_a_secret_shown_once_and_managed, |backend| async move {
    let mut app = TestApp::new(backend).await;
    app.state = app.state.clone().with_webhook_policy(UrlPolicy::PERMISSIVE);
    app.router = sonarly_api::router(app.state.clone());
    let group = app.group("Hooks").await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}/webhook-endpoints", group.id);
    let (url, got) = receiver().await;

    let created = app
        .post_json(&base, &key, &[], &format!(r#"{{"url":"{url}","description":"CRM","eventTypes":["credits.low"]}}"#))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let data = &created.body["data"];
    let id = data["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("we_"));
    assert!(data["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(data["eventTypes"], serde_json::json!(["credits.low"]));
    assert_eq!(data["enabled"], true);

    let read = app.get(&format!("{base}/{id}"), &key).await;
    assert_eq!(read.status, 200);
    assert!(read.body["data"].get("secret").is_none(), "never shown again: {}", read.body);
    let listed = app.get(&base, &key).await;
    assert_eq!(listed.body["data"]["items"][0]["id"], id.as_str());
    assert!(!listed.body.to_string().contains("whsec_"));

    let patched = app
        .send(
            Method::PATCH,
            &format!("{base}/{id}"),
            Some(&key),
            &[("content-type", "application/json")],
            json_body(r#"{"description":null,"eventTypes":null}"#),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert!(patched.body["data"]["description"].is_null() && patched.body["data"]["eventTypes"].is_null());

    // A test event reaches the receiver, is listed as an attempt and can be redelivered.
    let tested = app.post_json(&format!("{base}/{id}/test"), &key, &[], "").await;
    assert_eq!(tested.status, 202, "{}", tested.body);
    let event_id = tested.body["data"]["eventId"].as_str().unwrap().to_owned();
    let engine = app.engine().with_config(sonarly_engine::EngineConfig {
        webhooks: sonarly_engine::WebhookConfig { policy: UrlPolicy::PERMISSIVE, ..Default::default() },
        ..Default::default()
    });
    engine.run_webhooks_until_idle().await;
    let redelivered = app.post_json(&format!("{base}/{id}/events/{event_id}/redeliver"), &key, &[], "").await;
    assert_eq!(redelivered.status, 202, "{}", redelivered.body);
    engine.run_webhooks_until_idle().await;
    let ids: Vec<String> = got.lock().unwrap().iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids, vec![event_id.clone(), event_id.clone()]);
    assert!(got.lock().unwrap()[0].1.contains("\"type\":\"webhook.test\""));
    let attempts = app.get(&format!("{base}/{id}/attempts"), &key).await;
    let items = attempts.body["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", attempts.body);
    assert!(
        items
            .iter()
            .all(|a| a["status"] == "succeeded" && a["responseStatus"] == 200 && a["eventId"] == event_id.as_str())
    );

    // Rotation shows the new secret once and keeps the previous one signing for the overlap.
    let rotated = app.post_json(&format!("{base}/{id}/rotate-secret"), &key, &[], r#"{"overlapSeconds":600}"#).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_ne!(rotated.body["data"]["secret"], data["secret"]);
    assert!(rotated.body["data"]["previousSecretExpiresAt"].is_string());
    let bad = app.post_json(&format!("{base}/{id}/rotate-secret"), &key, &[], r#"{"overlapSeconds":-1}"#).await;
    assert_error(&bad, 400, "VALIDATION_ERROR");

    // Disabled endpoints take no test; deleting removes it.
    let disabled = app
        .send(
            Method::PATCH,
            &format!("{base}/{id}"),
            Some(&key),
            &[("content-type", "application/json")],
            json_body(r#"{"enabled":false}"#),
        )
        .await;
    assert_eq!(disabled.body["data"]["enabled"], false);
    assert_error(&app.post_json(&format!("{base}/{id}/test"), &key, &[], "").await, 409, "CONFLICT");
    let deleted = app.send(Method::DELETE, &format!("{base}/{id}"), Some(&key), &[], Body::empty()).await;
    assert_eq!(deleted.body["data"]["deleted"], true);
    assert_error(&app.get(&format!("{base}/{id}"), &key).await, 404, "NOT_FOUND");
});

both_backends!(endpoint_urls_bodies_scopes_and_tenancy_are_checked, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("Hooks").await;
    let other = app.group("Other").await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}/webhook-endpoints", group.id);
    for (body, field) in [
        (r#"{"url":"http://hooks.example.com/x"}"#, "url"),
        (r#"{"url":"https://127.0.0.1/x"}"#, "url"),
        (r#"{"url":"https://169.254.169.254/latest"}"#, "url"),
        (r#"{"url":"not a url"}"#, "url"),
        (r#"{"url":"https://hooks.example.com/x","eventTypes":[]}"#, "eventTypes"),
        (r#"{"url":"https://hooks.example.com/x","eventTypes":["nope"]}"#, "eventTypes[0]"),
    ] {
        let reply = app.post_json(&base, &key, &[], body).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert_eq!(reply.body["error"]["fields"][0]["field"], field, "{body}: {}", reply.body);
    }
    assert_error(
        &app.post_json(&base, &key, &[], r#"{"url":"https://hooks.example.com/x","extra":1}"#).await,
        400,
        "VALIDATION_ERROR",
    );
    let created = app.post_json(&base, &key, &[], r#"{"url":"https://hooks.example.com/x"}"#).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();

    let reader = app.key_with(&[&group], "webhooks:read", 1_000).await;
    assert_eq!(app.get(&base, &reader).await.status, 200);
    assert_error(
        &app.post_json(&base, &reader, &[], r#"{"url":"https://hooks.example.com/y"}"#).await,
        403,
        "SCOPE_DENIED",
    );
    let events_only = app.key_with(&[&group], "events:read", 1_000).await;
    assert_error(&app.get(&base, &events_only).await, 403, "SCOPE_DENIED");
    let other_key = app.key(&[&other]).await;
    let foreign = format!("/v1/accounts/{}/webhook-endpoints/{id}", other.id);
    assert_error(&app.get(&foreign, &other_key).await, 404, "NOT_FOUND");
    assert_error(&app.get(&format!("{base}/{id}"), &other_key).await, 404, "NOT_FOUND");
    let missing_event =
        app.post_json(&format!("{base}/{id}/events/evt_01J2X3Y4Z5A6B7C8D9E0F1G2H3/redeliver"), &key, &[], "").await;
    assert_error(&missing_event, 404, "NOT_FOUND");
});

// Found by `.ci/fuzz`: the document allowed what these bodies refuse. Each
// body is closed (`additionalProperties: false`), `eventTypes` lists at least
// one type of the catalogue, `url` is never null, and rotate-secret's optional
// body is an object (never `null`); the server answers each as documented.
both_backends!(endpoint_bodies_are_refused_as_the_document_says, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.group("Hooks").await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}/webhook-endpoints", group.id);
    let url = "https://hooks.example.com/sonarly";

    let spec = serde_json::to_value(sonarly_api::openapi()).unwrap();
    let schemas = &spec["components"]["schemas"];
    for body in ["CreateEndpointBody", "UpdateEndpointBody", "RotateSecretBody"] {
        assert_eq!(schemas[body]["additionalProperties"], false, "{body}");
    }
    assert_eq!(schemas["CreateEndpointBody"]["properties"]["eventTypes"]["minItems"], 1);
    assert_eq!(schemas["UpdateEndpointBody"]["properties"]["url"]["type"], "string");
    assert_eq!(schemas["UpdateEndpointBody"]["properties"]["enabled"]["type"], "boolean");
    let rotate = &spec["paths"]["/v1/accounts/{accountGroupId}/webhook-endpoints/{endpointId}/rotate-secret"]["post"];
    assert_eq!(
        rotate["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/RotateSecretBody"
    );

    let extra = app.post_json(&base, &key, &[], &format!(r#"{{"url":"{url}","colour":"red"}}"#)).await;
    assert_error(&extra, 400, "VALIDATION_ERROR");
    assert_eq!(extra.body["error"]["fields"][0]["field"], "colour", "{}", extra.body);
    assert!(
        schemas["CreateEndpointBody"]["properties"]["url"]["pattern"].as_str().is_some_and(|p| p.contains("u0085"))
    );
    assert_error(&app.post_json(&base, &key, &[], r#"{"url":"\t"}"#).await, 400, "VALIDATION_ERROR");
    let none = app.post_json(&base, &key, &[], &format!(r#"{{"url":"{url}","eventTypes":[]}}"#)).await;
    assert_error(&none, 400, "VALIDATION_ERROR");
    let unknown = app.post_json(&base, &key, &[], &format!(r#"{{"url":"{url}","eventTypes":["webhook.test"]}}"#)).await;
    assert_error(&unknown, 400, "VALIDATION_ERROR");

    let created = app.post_json(&base, &key, &[], &format!(r#"{{"url":"{url}"}}"#)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let patch = |json: &'static str| {
        let path = format!("{base}/{id}");
        let app = &app;
        let key = &key;
        async move {
            app.send(Method::PATCH, &path, Some(key), &[("content-type", "application/json")], json_body(json)).await
        }
    };
    assert_error(&patch(r#"{"url":null}"#).await, 400, "VALIDATION_ERROR");
    assert_error(&patch(r#"{"enabled":null}"#).await, 400, "VALIDATION_ERROR");
    assert_error(&patch(r#"{"enabled":true,"colour":"red"}"#).await, 400, "VALIDATION_ERROR");
    let rotate = format!("{base}/{id}/rotate-secret");
    assert_error(&app.post_json(&rotate, &key, &[], "null").await, 400, "VALIDATION_ERROR");
    assert_error(&app.post_json(&rotate, &key, &[], r#"{"overlapSeconds":604801}"#).await, 400, "VALIDATION_ERROR");
    let rotated = app.post_json(&rotate, &key, &[], r#"{"overlapSeconds":604800}"#).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
});
