//! Input at the edge (docs/decisions.md, "Input at the edge"): one policy for
//! control characters in bodies, paths, query values and headers, bodies that
//! are objects where the schema says object, integral floats, and error
//! messages that speak JSON, never Rust. The walks below are driven by our own
//! OpenAPI document, so a new route is covered without touching this file.

use crate::support::*;
use axum::body::Body;
use axum::http::Method;
use serde_json::{Value, json};
use sonarly_domain::prospecting::Plan;
use sonarly_testkit::both_backends;
use std::future::Future;
use std::time::Duration;

/// A hang guard: no test here may hold the shared build lock for long.
async fn within_deadline(test: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(300), test).await.expect("the test finished within its deadline");
}

/// One documented operation: method, path template, parameters and body schema.
struct Operation {
    method: Method,
    template: String,
    path_params: Vec<String>,
    query_params: Vec<String>,
    idempotent: bool,
    body: Option<Value>,
}

fn operations(spec: &Value) -> Vec<Operation> {
    let mut all = Vec::new();
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let named = |place: &str| -> Vec<String> {
                params.iter().filter(|p| p["in"] == place).map(|p| p["name"].as_str().unwrap().to_owned()).collect()
            };
            all.push(Operation {
                method: method.to_uppercase().parse().unwrap(),
                template: template.clone(),
                path_params: named("path"),
                query_params: named("query"),
                idempotent: named("header").iter().any(|h| h.eq_ignore_ascii_case("idempotency-key")),
                body: op["requestBody"]["content"]["application/json"]["schema"]
                    .as_object()
                    .map(|s| resolve(spec, &Value::Object(s.clone()))),
            });
        }
    }
    all
}

/// `schema` with `$ref`s followed and `oneOf`/`anyOf`/`allOf` reduced to
/// their first non-null alternative, at every depth.
fn resolve(spec: &Value, schema: &Value) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return resolve(spec, &spec["components"]["schemas"][name]);
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema[combinator].as_array() {
            let chosen = options.iter().find(|o| o["type"] != "null").unwrap_or(&Value::Null);
            return resolve(spec, chosen);
        }
    }
    let mut out = schema.clone();
    if let Some(props) = schema["properties"].as_object() {
        out["properties"] = Value::Object(props.iter().map(|(k, v)| (k.clone(), resolve(spec, v))).collect());
    }
    if schema.get("items").is_some() {
        out["items"] = resolve(spec, &schema["items"]);
    }
    out
}

/// The schema's type, ignoring `null` in a type list.
fn kind(schema: &Value) -> &str {
    match &schema["type"] {
        Value::String(t) => t,
        Value::Array(types) => types.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "any",
    }
}

/// A value of `schema` with its required members filled by placeholders.
fn placeholder(schema: &Value) -> Value {
    match kind(schema) {
        // An accepted value where the document gives one (enum, example, or
        // the first `value` its description names), so the probe gets past
        // the route's own checks as far as it can.
        "string" => schema["enum"]
            .get(0)
            .or_else(|| schema.get("example"))
            .cloned()
            .or_else(|| schema["description"].as_str().and_then(|d| d.split('`').nth(1)).map(|v| json!(v)))
            .unwrap_or_else(|| json!("x")),
        "integer" | "number" => json!(1),
        "boolean" => json!(false),
        "array" => json!([]),
        "object" => {
            let required: Vec<&str> =
                schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let props = schema["properties"].as_object().cloned().unwrap_or_default();
            Value::Object(
                props
                    .iter()
                    .filter(|(k, _)| required.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), placeholder(v)))
                    .collect(),
            )
        }
        _ => Value::Null,
    }
}

/// Every string leaf of `schema` as (path as the API names it, a body holding
/// `text` there and placeholders elsewhere).
fn string_leaves(schema: &Value, text: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    collect_leaves(schema, text, String::new(), &mut |path, value| out.push((path, value)));
    out.into_iter()
        .map(|(path, inject)| {
            let mut body = placeholder(schema);
            set_at(&mut body, &path, inject);
            (path, body)
        })
        .collect()
}

fn collect_leaves(schema: &Value, text: &str, path: String, out: &mut dyn FnMut(String, Value)) {
    match kind(schema) {
        "string" => out(path, json!(text)),
        "array" => collect_leaves(&schema["items"], text, format!("{path}[0]"), out),
        "object" => {
            for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
                let child = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                collect_leaves(prop, text, child, out);
            }
        }
        _ => {}
    }
}

/// Sets `value` at `path` (`a.b[0]`), creating objects and one-element arrays on the way.
fn set_at(root: &mut Value, path: &str, value: Value) {
    let mut at = root;
    for segment in path.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => (name, Some(rest.trim_end_matches(']').parse::<usize>().unwrap())),
            None => (segment, None),
        };
        if !at.is_object() {
            *at = json!({});
        }
        at = at.as_object_mut().unwrap().entry(name).or_insert(Value::Null);
        if index.is_some() {
            *at = json!([null]);
            at = &mut at[0];
        }
    }
    *at = value;
}

/// `template` with the group's id, `value` for `target` and a well-formed
/// unknown id for every other parameter.
fn fill(template: &str, group_id: &str, target: Option<&str>, value: &str) -> String {
    let mut path = template.to_owned();
    while let Some(start) = path.find('{') {
        let end = start + path[start..].find('}').unwrap();
        let name = path[start + 1..end].to_owned();
        let with = if Some(name.as_str()) == target {
            value.to_owned()
        } else if name == "accountGroupId" {
            group_id.to_owned()
        } else {
            "unknown_01J0000000000000000000000".to_owned()
        };
        path.replace_range(start..=end, &with);
    }
    path
}

/// What one probe got, for the failure list.
fn outcome(reply: &Reply) -> String {
    format!("{} {} {}", reply.status.as_u16(), reply.code(), reply.body["error"]["fields"])
}

fn named_field(reply: &Reply) -> &str {
    reply.body["error"]["fields"][0]["field"].as_str().unwrap_or("")
}

async fn send_json(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Reply {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    app.send(method, path, Some(key), &all, Body::from(body.to_string())).await
}

both_backends!(a_nul_in_any_string_field_path_or_query_value_is_the_same_4xx_on_every_route, |backend| {
    within_deadline(async move {
        let app = TestApp::new(backend).await;
        let group = app.group("G").await;
        let key = app.key(&[&group]).await;
        let spec = serde_json::to_value(sonarly_api::openapi()).unwrap();
        let mut failures = Vec::new();
        let mut probes = 0;
        for op in operations(&spec) {
            let body = op.body.as_ref().map(placeholder);
            let send = |path: String, body: Option<Value>| {
                let (app, key, method) = (&app, key.clone(), op.method.clone());
                async move {
                    match body {
                        Some(body) => send_json(app, method, &path, &key, &[], &body).await,
                        None => app.send(method, &path, Some(&key), &[], Body::empty()).await,
                    }
                }
            };
            for param in &op.path_params {
                for bad in ["%00", "a%00b", "x%1Fy", "%0A"] {
                    probes += 1;
                    let path = fill(&op.template, &group.id, Some(param), bad);
                    let reply = send(path.clone(), body.clone()).await;
                    if reply.status != 404 || reply.code() != "NOT_FOUND" {
                        failures.push(format!("{} {path}: {}", op.method, outcome(&reply)));
                    }
                }
            }
            for param in &op.query_params {
                probes += 1;
                let path = format!("{}?{param}=a%00b", fill(&op.template, &group.id, None, ""));
                let reply = send(path.clone(), body.clone()).await;
                if reply.status != 400 || reply.code() != "VALIDATION_ERROR" || named_field(&reply) != param {
                    failures.push(format!("{} {path}: {}", op.method, outcome(&reply)));
                }
            }
            if let Some(schema) = &op.body {
                let path = fill(&op.template, &group.id, None, "");
                for text in ["a\u{0}b", "\u{1b}[2J", "\u{0}"] {
                    for (field, body) in string_leaves(schema, text) {
                        probes += 1;
                        let reply = send(path.clone(), Some(body.clone())).await;
                        if reply.status != 400 || reply.code() != "VALIDATION_ERROR" || named_field(&reply) != field {
                            failures.push(format!("{} {path} {body}: {}", op.method, outcome(&reply)));
                        }
                    }
                }
            }
            if op.idempotent {
                probes += 1;
                let path = fill(&op.template, &group.id, None, "");
                let headers = [("content-type", "application/json"), ("idempotency-key", "retry 1")];
                let payload = Body::from(body.clone().unwrap_or(json!({})).to_string());
                let reply = app.send(op.method.clone(), &path, Some(&key), &headers, payload).await;
                if reply.status != 400 || named_field(&reply) != "Idempotency-Key" {
                    failures.push(format!("{} {path} Idempotency-Key with a space: {}", op.method, outcome(&reply)));
                }
            }
        }
        // The Unipile webhook is outside the documented routes and needs no key.
        for path in ["/v1/webhooks/unipile/%00", "/v1/webhooks/unipile/acc%00x"] {
            probes += 1;
            let reply =
                app.send(Method::POST, path, None, &[("content-type", "application/json")], Body::from("{}")).await;
            if reply.status != 404 || reply.code() != "NOT_FOUND" {
                failures.push(format!("POST {path}: {}", outcome(&reply)));
            }
        }
        assert!(probes > 300, "the walk reached every route ({probes} probes)");
        assert!(
            failures.is_empty(),
            "{} of {probes} probes answered otherwise:\n{}",
            failures.len(),
            failures.join("\n")
        );
    })
});

both_backends!(text_may_hold_tabs_and_line_breaks, |backend| {
    within_deadline(async move {
        let app = TestApp::new(backend).await;
        let group = app.group("G").await;
        let key = app.key(&[&group]).await;
        let body = json!({"name": "Line one\nline two\r\n\tindented", "type": "on_demand", "description": "é ✓ 🚀"});
        let created =
            send_json(&app, Method::POST, &format!("/v1/accounts/{}/audiences", group.id), &key, &[], &body).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["data"]["name"], body["name"]);
        assert_eq!(created.body["data"]["description"], body["description"]);
    })
});

both_backends!(an_array_is_refused_where_an_object_is_required_and_changes_nothing, |backend| {
    within_deadline(async move {
        let app = TestApp::new(backend).await;
        let group = app.group("G").await;
        let key = app.key(&[&group]).await;
        let base = format!("/v1/accounts/{}", group.id);
        let folder =
            send_json(&app, Method::POST, &format!("{base}/audiences/folders"), &key, &[], &json!(["x", "on_demand"]))
                .await;
        assert_error(&folder, 400, "VALIDATION_ERROR");
        assert_eq!(named_field(&folder), "body");
        assert_eq!(folder.body["error"]["fields"][0]["message"], "must be a JSON object (got an array)");
        let navigation = app.get(&format!("{base}/audiences/navigation"), &key).await;
        assert_eq!(navigation.status, 200);
        assert!(!navigation.body.to_string().contains("\"x\""), "no folder was created: {}", navigation.body);

        let audience = app.audience(&group, "Kept", app.now_ms(), None).await;
        let path = format!("{base}/audiences/{}", audience.id);
        let patched = send_json(&app, Method::PATCH, &path, &key, &[], &json!(["Replaced", "also"])).await;
        assert_error(&patched, 400, "VALIDATION_ERROR");
        assert_eq!(app.get(&path, &key).await.body["data"]["name"], "Kept");
    })
});

both_backends!(wrong_types_name_the_field_in_json_terms_never_a_rust_type, |backend| {
    within_deadline(async move {
        let app = TestApp::new(backend).await;
        let group = app.group("G").await;
        let key = app.key(&[&group]).await;
        let spec = serde_json::to_value(sonarly_api::openapi()).unwrap();
        let rust = [
            "struct", "enum ", "::", "u8", "u16", "u32", "u64", "i32", "i64", "f64", "usize", "Option", "Vec<",
            "String",
        ];
        let mut failures = Vec::new();
        let mut probes = 0;
        for op in operations(&spec) {
            let Some(schema) = &op.body else { continue };
            let path = fill(&op.template, &group.id, None, "");
            let mut bodies =
                vec![("body".to_owned(), json!([placeholder(schema)])), ("body".to_owned(), json!("text"))];
            for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
                let wrong = match kind(prop) {
                    "string" => json!({"an": "object"}),
                    "integer" | "number" => json!("ten"),
                    "boolean" => json!(3),
                    "array" => json!({"not": "a list"}),
                    _ => json!([1, 2]),
                };
                let mut body = placeholder(schema);
                body[name] = wrong;
                bodies.push((name.clone(), body));
            }
            for (field, body) in bodies {
                probes += 1;
                let reply = send_json(&app, op.method.clone(), &path, &key, &[], &body).await;
                let text = reply.body["error"].to_string();
                if reply.status != 400 || named_field(&reply) != field || rust.iter().any(|r| text.contains(r)) {
                    failures.push(format!("{} {path} {body}: {}", op.method, outcome(&reply)));
                }
            }
        }
        assert!(probes > 60, "{probes} probes");
        assert!(failures.is_empty(), "{} of {probes} probes:\n{}", failures.len(), failures.join("\n"));
    })
});

both_backends!(integral_floats_count_as_integers_and_fractions_name_the_field, |backend| {
    within_deadline(async move {
        let app = TestApp::new(backend).await;
        let group = app.prospecting_group(Plan::Starter, 10_000).await;
        let key = app.key(&[&group]).await;
        let path = format!("/v1/accounts/{}/prospecting", group.id);
        let search = |max: Value| {
            json!({"type": "linkedin_search", "name": "Floats", "maxResults": max,
                   "searchUrl": "https://www.linkedin.com/search/results/people/?keywords=rust"})
        };
        let started = send_json(&app, Method::POST, &path, &key, &[], &search(json!(5.0))).await;
        assert_eq!(started.status, 202, "{}", started.body);
        let job = app.get(&format!("{path}/{}", started.body["data"]["jobId"].as_str().unwrap()), &key).await;
        assert_eq!(job.status, 200, "{}", job.body);
        for bad in [json!(5.5), json!(-1.0), json!(1e300)] {
            let refused = send_json(&app, Method::POST, &path, &key, &[], &search(bad.clone())).await;
            assert_error(&refused, 400, "VALIDATION_ERROR");
            assert_eq!(named_field(&refused), "maxResults", "{bad}: {}", refused.body);
        }
    })
});

both_backends!(idempotency_keys_are_visible_ascii_as_the_error_says, |backend| {
    within_deadline(async move {
        let app = TestApp::new(backend).await;
        let group = app.prospecting_group(Plan::Starter, 10_000).await;
        let key = app.key(&[&group]).await;
        let path = format!("/v1/accounts/{}/prospecting", group.id);
        let body = json!({"type": "linkedin_search", "name": "Keys", "maxResults": 5,
                          "searchUrl": "https://www.linkedin.com/search/results/people/?keywords=rust"});
        for bad in ["retry 1", " lead", "tab\there"] {
            let refused = send_json(&app, Method::POST, &path, &key, &[("idempotency-key", bad)], &body).await;
            assert_error(&refused, 400, "VALIDATION_ERROR");
            assert_eq!(named_field(&refused), "Idempotency-Key");
            assert!(refused.body["error"]["fields"][0]["message"].as_str().unwrap().contains("visible ASCII"));
        }
        let first = send_json(&app, Method::POST, &path, &key, &[("idempotency-key", "retry-1_~!")], &body).await;
        assert_eq!(first.status, 202, "{}", first.body);
        let again = send_json(&app, Method::POST, &path, &key, &[("idempotency-key", "retry-1_~!")], &body).await;
        assert_eq!(again.body["data"]["jobId"], first.body["data"]["jobId"]);
    })
});

both_backends!(provider_text_with_nul_is_stored_without_it_on_both_backends, |backend| {
    within_deadline(async move {
        use sonarly_app::linkedin::{ConnectAccount, ProviderSetup, UnipileSetup, connect_account_with};
        let app = TestApp::new(backend).await;
        let group = app.group("Provider").await;
        let secret = "webhook-secret-0123456789";
        let input = ConnectAccount {
            group_id: group.id.clone(),
            name: "Unipile".into(),
            account_type: sonarly_linkedin::AccountType::Classic,
            rules: Default::default(),
            provider: ProviderSetup::Unipile(UnipileSetup {
                base_url: "http://127.0.0.1:9".into(),
                api_key: "unipile-key".into(),
                account_id: "t5XY4yQzR9WVrlNFyzPMhw".into(),
                webhook_secret: secret.into(),
            }),
        };
        let keyring =
            sonarly_domain::secrets::Keyring::new(sonarly_domain::secrets::SecretKey::from_bytes([1; 32]), None);
        let account = connect_account_with(&app.db.store, &app.clock, &keyring, input).await.unwrap();
        let body = json!({
            "event": "message_received", "account_id": "t5XY4yQzR9WVrlNFyzPMhw", "account_type": "LINKEDIN",
            "message_id": "msg\u{0}1", "provider_chat_id": "2-thread\u{0}", "timestamp": "2026-05-24T13:49:07.965Z",
            "message": "Hello\u{0} World\u{7}\nbye", "is_event": 0,
            "sender": {"attendee_provider_id": "ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E", "attendee_name": "Ann\u{0}"},
        });
        let path = format!("/v1/webhooks/unipile/{}", account.id);
        let headers = [("content-type", "application/json"), ("x-sonarly-webhook-secret", secret)];
        let received = app.send(Method::POST, &path, None, &headers, Body::from(body.to_string())).await;
        assert_eq!(received.status, 200, "{}", received.body);
        assert_eq!(received.body["data"]["received"], 1);
        let key = app.key(&[&group]).await;
        let listed = app.get(&format!("/v1/accounts/{}/messages", group.id), &key).await;
        let items = listed.body["data"]["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "the message is kept, not dropped: {}", listed.body);
        assert_eq!(items[0]["text"], "Hello World\nbye");
        assert_eq!(items[0]["conversationProviderId"], "2-thread");
    })
});
