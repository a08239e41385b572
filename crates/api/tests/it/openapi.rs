//! The OpenAPI document is generated from the routes, served, and kept in
//! `docs/openapi.json` so every change to the contract is reviewed.
//! Run with `UPDATE_OPENAPI=1` to accept a change.

use crate::support::*;
use axum::body::Body;
use axum::http::Method;
use sonarly_domain::scope::route_access;
use sonarly_testkit::TestBackend;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

#[test]
fn openapi_matches_the_reviewed_snapshot() {
    let generated = sonarly_api::openapi().to_pretty_json().unwrap() + "\n";
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(SNAPSHOT, &generated).unwrap();
    }
    let reviewed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        generated == reviewed,
        "the OpenAPI document changed; review it and run `UPDATE_OPENAPI=1 cargo test -p sonarly-api openapi`"
    );
}

#[test]
fn every_documented_operation_has_a_scope_decision() {
    let spec = serde_json::to_value(sonarly_api::openapi()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    assert!(!paths.is_empty());
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            assert!(route_access(&method, path).is_some(), "{method} {path} is missing from ROUTE_ACCESS");
        }
    }
}

#[tokio::test]
async fn openapi_and_docs_are_served() {
    let app = TestApp::new(TestBackend::Sqlite).await;
    let reply = app.send(Method::GET, "/v1/openapi.json", None, &[], Body::empty()).await;
    assert_eq!(reply.status, 200);
    assert!(reply.body["paths"]["/v1/accounts"]["get"].is_object());
    assert!(reply.body["components"]["securitySchemes"]["bearerAuth"].is_object());
    let docs = app.router.clone();
    let response =
        tower::ServiceExt::oneshot(docs, axum::http::Request::get("/docs").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), 200);
}
