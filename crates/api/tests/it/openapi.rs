//! The OpenAPI document is generated from the routes, served, and kept in
//! `docs/openapi.json` so every change to the contract is reviewed.
//! Run with `UPDATE_OPENAPI=1` to accept a change.

use crate::support::*;
use axum::body::Body;
use axum::http::Method;
use serde_json::json;
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

fn operations(spec: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

#[test]
fn every_operation_declares_the_statuses_the_pipeline_can_answer() {
    let spec = serde_json::to_value(sonarly_api::openapi()).unwrap();
    for (method, path, op) in operations(&spec) {
        let declared = |status: &str| op["responses"].get(status).is_some();
        let has_input = op["parameters"].as_array().is_some_and(|p| !p.is_empty()) || op.get("requestBody").is_some();
        let mut expected = vec!["401", "429", "500"];
        if has_input {
            expected.push("400");
        }
        if matches!(route_access(&method, &path), Some(sonarly_domain::scope::RouteAccess::Scope(_))) {
            expected.push("403");
        }
        if path.contains("{accountGroupId}") {
            expected.push("404");
        }
        if op.get("requestBody").is_some() {
            expected.extend(["413", "415"]);
        }
        // A query within its stated lengths can pass hyper's 65,534-byte
        // request target once percent-encoded (found by `.ci/fuzz`).
        if op["parameters"].as_array().is_some_and(|p| !p.is_empty()) {
            expected.push("414");
        }
        for status in expected {
            assert!(declared(status), "{method} {path} does not declare {status}");
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            assert!(status.len() == 3 && response["description"].as_str().is_some_and(|d| !d.is_empty()));
        }
    }
}

#[test]
fn every_operation_names_the_scope_of_the_route_table() {
    let spec = serde_json::to_value(sonarly_api::openapi()).unwrap();
    for (method, path, op) in operations(&spec) {
        let declared: Vec<String> = op["security"][0]["bearerAuth"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} has no bearerAuth security"))
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        let expected = match route_access(&method, &path).unwrap() {
            sonarly_domain::scope::RouteAccess::AnyKey => vec![],
            sonarly_domain::scope::RouteAccess::Scope(scope) => vec![scope.as_str().to_owned()],
        };
        assert_eq!(declared, expected, "{method} {path}");
    }
}

#[test]
fn every_list_documents_limit_from_1_to_100() {
    let spec = serde_json::to_value(sonarly_api::openapi()).unwrap();
    let mut lists = 0;
    for (method, path, op) in operations(&spec) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["name"] == "limit" {
                lists += 1;
                let schema = &p["schema"];
                assert_eq!(schema["type"], "integer", "{method} {path}");
                assert_eq!(
                    (schema["minimum"].as_i64(), schema["maximum"].as_i64()),
                    (Some(1), Some(100)),
                    "{method} {path}"
                );
            }
        }
    }
    assert!(lists >= 12, "{lists} lists");
}

/// The schema a `$ref` names, or the schema itself.
fn resolve<'a>(spec: &'a serde_json::Value, schema: &'a serde_json::Value) -> &'a serde_json::Value {
    match schema["$ref"].as_str() {
        Some(r) => &spec["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    }
}

/// Every string a request body carries has a bound (a length, an enum or a
/// format) and every list a maximum size, so the document states what the
/// server enforces.
fn check_bounded(spec: &serde_json::Value, schema: &serde_json::Value, at: &str, problems: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    for combined in ["oneOf", "anyOf", "allOf"] {
        for (i, s) in schema[combined].as_array().into_iter().flatten().enumerate() {
            check_bounded(spec, s, &format!("{at}/{combined}[{i}]"), problems);
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        serde_json::Value::String(t) => vec![t.as_str()],
        serde_json::Value::Array(ts) => ts.iter().filter_map(|t| t.as_str()).collect(),
        _ => vec![],
    };
    if types.contains(&"string") && schema.get("maxLength").is_none() && schema.get("enum").is_none() {
        problems.push(format!("{at}: string without maxLength or enum"));
    }
    if types.contains(&"array") {
        if schema.get("maxItems").is_none() {
            problems.push(format!("{at}: array without maxItems"));
        }
        check_bounded(spec, &schema["items"], &format!("{at}[]"), problems);
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        check_bounded(spec, property, &format!("{at}.{name}"), problems);
    }
}

/// Inputs of the event log and webhook endpoints (issue 15) whose bounds
/// are not stated yet: comma-separated or repeatable type lists without an
/// enforced length. Tracked with that work; nothing else may join this list.
const NOT_YET_BOUNDED: [&str; 5] = [
    "GET /v1/accounts/{accountGroupId}/events \"after\"",
    "GET /v1/accounts/{accountGroupId}/events \"types\"",
    "/webhook-endpoints body.eventTypes",
    "/webhook-endpoints/{endpointId} body.eventTypes",
    "/webhook-endpoints body.eventTypes[]",
];

#[test]
fn every_request_body_and_parameter_states_its_bounds() {
    let spec = serde_json::to_value(sonarly_api::openapi()).unwrap();
    let mut problems = Vec::new();
    for (method, path, op) in operations(&spec) {
        if let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema") {
            check_bounded(&spec, schema, &format!("{method} {path} body"), &mut problems);
        }
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["in"] == "query" || p["in"] == "header" {
                check_bounded(&spec, &p["schema"], &format!("{method} {path} {}", p["name"]), &mut problems);
            }
        }
    }
    problems.retain(|p| !NOT_YET_BOUNDED.iter().any(|known| p.contains(known)));
    assert!(problems.is_empty(), "{} unbounded inputs:\n{}", problems.len(), problems.join("\n"));
}

// What the document states is what the edge enforces: a value past a stated
// bound is a 400 naming its field, before any lookup.
sonarly_testkit::both_backends!(the_documented_bounds_are_enforced, |backend| async move {
    let app = TestApp::new(backend).await;
    let group = app.prospecting_group(sonarly_domain::prospecting::Plan::Starter, 100).await;
    let key = app.key(&[&group]).await;
    let base = format!("/v1/accounts/{}", group.id);
    let long = |n: usize| "a".repeat(n);
    let search = format!("https://www.linkedin.com/search/results/people/?keywords={}", long(2_048));
    let profile = format!("https://www.linkedin.com/in/someone?x={}", long(2_048));
    let sources: Vec<&str> = std::iter::repeat_n("funding", 51).collect();
    let posts = [
        (format!("{base}/audiences/aud_x/move-to-folder"), json!({"folderId": long(101)}), "folderId"),
        (
            format!("{base}/campaigns"),
            json!({"starterTemplateId": "connect", "name": "n", "audienceId": long(101)}),
            "audienceId",
        ),
        (format!("{base}/campaigns/c/duplicate"), json!({"audienceId": "a", "leadIds": [long(101)]}), "leadIds[0]"),
        (
            format!("{base}/prospecting"),
            json!({"type": "linkedin_search", "name": "n", "searchUrl": search}),
            "searchUrl",
        ),
        (
            format!("{base}/prospecting"),
            json!({"type": "url_upload", "name": "n", "profileUrls": [profile]}),
            "profileUrls[0]",
        ),
        (
            format!("{base}/prospecting"),
            json!({"type": "sales_navigator", "name": "n", "leadListId": long(101)}),
            "leadListId",
        ),
        (format!("{base}/messages/responses"), json!({"prospectId": long(101), "message": "hi"}), "prospectId"),
        (
            format!("{base}/messages/responses"),
            json!({"prospectId": "p", "message": "hi", "conversationId": long(101)}),
            "conversationId",
        ),
        (format!("{base}/signal-specifications"), json!({"name": "n", "sources": sources}), "sources"),
        (
            format!("{base}/signals/scans"),
            json!({"signalSpecificationId": long(101), "audienceId": "a"}),
            "signalSpecificationId",
        ),
    ];
    for (path, body, field) in posts {
        let reply = app.post_json(&path, &key, &[], &body.to_string()).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert_eq!(reply.body["error"]["fields"][0]["field"], field, "{path}: {}", reply.body);
    }
    let lead_ids = vec!["a"; 5_100].join(",");
    let gets = [
        (format!("{base}/campaigns/c/lead-status?leadIds={lead_ids}"), "leadIds"),
        (format!("{base}/messages?conversationId={}", long(101)), "conversationId"),
        (format!("{base}/audiences?cursor={}", long(513)), "cursor"),
        (format!("{base}/campaigns?limit=101"), "limit"),
        (format!("{base}/campaigns?status=running"), "status"),
        (format!("{base}/prospecting/quota?listType=OTHER"), "listType"),
    ];
    for (path, field) in gets {
        let reply = app.get(&path, &key).await;
        assert_error(&reply, 400, "VALIDATION_ERROR");
        assert_eq!(reply.body["error"]["fields"][0]["field"], field, "{path}");
    }
});

/// Every operation that creates a resource (a POST answering 201 or 202 with
/// an id, or a job id, in `data`) links to the operations on that resource;
/// every link names an existing operation and gives each of its path
/// parameters, from the request's path or the answer's body.
#[test]
fn every_create_links_to_the_operations_on_what_it_created() {
    let spec = serde_json::to_value(sonarly_api::openapi()).unwrap();
    let ops = operations(&spec);
    let by_id = |id: &str| ops.iter().find(|(_, _, op)| op["operationId"] == id).map(|(_, path, op)| (path, op));
    let mut links = 0;
    for (method, path, op) in &ops {
        let creates = method == "POST"
            && ["201", "202"].iter().any(|s| op["responses"].get(*s).is_some())
            && !["redeliver", "test_endpoint"].contains(&op["operationId"].as_str().unwrap());
        for (status, response) in op["responses"].as_object().unwrap() {
            let declared = response["links"].as_object().cloned().unwrap_or_default();
            if creates && (status == "201" || status == "202") {
                assert!(!declared.is_empty(), "{method} {path} {status} links to no operation");
            }
            for (name, link) in declared {
                let target = link["operationId"].as_str().unwrap();
                let (target_path, target_op) = by_id(target).unwrap_or_else(|| panic!("{name}: no operation {target}"));
                let params = link["parameters"].as_object().unwrap();
                for param in target_op["parameters"].as_array().unwrap().iter().filter(|p| p["in"] == "path") {
                    let name = param["name"].as_str().unwrap();
                    let value = params.get(name).and_then(|v| v.as_str()).unwrap_or_default();
                    let from_request =
                        value.strip_prefix("$request.path.").is_some_and(|p| path.contains(&format!("{{{p}}}")));
                    let from_answer = value.starts_with("$response.body#/data/")
                        && op["responses"][status]["content"]["application/json"]["schema"].is_object();
                    assert!(from_request || from_answer, "{method} {path} -> {target_path}: {name} = {value:?}");
                }
                links += 1;
            }
        }
    }
    assert!(links >= 60, "only {links} links");
}

/// A request body is a JSON object or absent: no body schema admits `null`,
/// which the server refuses ("must be a JSON object (got null)"; found by
/// `.ci/fuzz` on rotate-secret, whose optional body was `oneOf: [null, …]`).
#[test]
fn no_request_body_admits_null() {
    let spec = serde_json::to_value(sonarly_api::openapi()).unwrap();
    for (method, path, op) in operations(&spec) {
        let Some(content) = op["requestBody"]["content"].as_object() else { continue };
        for (media, body) in content {
            let schema = &body["schema"];
            assert!(schema.get("$ref").is_some(), "{method} {path} {media}: body schema is not an object: {schema}");
        }
    }
}
