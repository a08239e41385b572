//! Shared fixtures: a mock Unipile that only answers requests carrying the right
//! `X-API-KEY` (anything else gets Unipile's 401 `errors/missing_credentials`).

use serde_json::{Value, json};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::ManualClock;
use sonarly_linkedin::OutboundToken;
use sonarly_linkedin::unipile::{UnipileConfig, UnipileLinkedIn};
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{any, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

/// An access token in Unipile's format (contract §1).
pub const KEY: &str = "pNQnUCoZ.Zd6OCJZtYHf6ynN+5RSu0FihC/71MhtOXwy8H+Ejtz0=";
/// A Unipile account id (contract §7).
pub const ACC: &str = "t5XY4yQzR9WVrlNFyzPMhw";
/// Member ids, slugs, thread ids in LinkedIn's shapes.
pub const MEMBER: &str = "ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E";
pub const OTHER_MEMBER: &str = "ACoAAAh_Ffqss54sqAGQOD8u7sl5of04y9_3AwyM";
pub const SN_LEAD: &str = "ACwAAASNCJcBS2NERCgi0j_f7_oYqCSbTGsNYBc";
pub const THREAD: &str = "2-OWYyMjMyNTItYzkzZC00ZjdjLWJjMjYtMTBlNTJmNDJlNTkyXzEwMA==";
pub const CHAT: &str = "Efc-rFoUVMy4MRBsN6BWSw";
/// The mock clock: 2026-05-01T12:00:00.000Z.
pub const NOW_MS: i64 = 1_777_636_800_000;

pub fn now() -> Timestamp {
    Timestamp::from_millis(NOW_MS)
}

pub fn ts(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("test timestamp")
}

pub fn token() -> OutboundToken {
    OutboundToken::new("tok-1")
}

pub fn config(base_url: &str) -> UnipileConfig {
    UnipileConfig { base_url: base_url.to_owned(), api_key: KEY.to_owned(), account_id: ACC.to_owned() }
}

/// A mock server (with the wrong-key catch-all) and a connector pointed at it.
pub async fn setup() -> (MockServer, UnipileLinkedIn) {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(problem(401, "errors/missing_credentials", "Missing credentials"))
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    let connector = connector_for(&server.uri());
    (server, connector)
}

pub fn connector_for(base_url: &str) -> UnipileLinkedIn {
    UnipileLinkedIn::with_timeouts(config(base_url), Duration::from_secs(2), Duration::from_secs(5))
        .expect("connector")
        .with_clock(Arc::new(ManualClock::new(now())))
}

/// A route of the mock that also requires the API key.
pub fn route(verb: &str, route_path: &str) -> MockBuilder {
    Mock::given(method(verb)).and(path(route_path)).and(header("X-API-KEY", KEY))
}

pub fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

pub fn created(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(body)
}

/// A problem-details error body (contract §2.1).
pub fn problem(status: u16, kind: &str, title: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "status": status, "type": kind, "title": title }))
}

/// The requests the server saw on one path.
pub async fn requests_to(server: &MockServer, route_path: &str) -> Vec<Request> {
    let all = server.received_requests().await.unwrap_or_default();
    all.into_iter().filter(|r| r.url.path() == route_path).collect()
}

pub fn query(request: &Request, key: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

pub fn json_body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("JSON body")
}

/// The text fields of a `multipart/form-data` body, in order.
pub fn multipart_fields(request: &Request) -> Vec<(String, String)> {
    let content_type = request.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(content_type.starts_with("multipart/form-data"), "not multipart: {content_type}");
    let boundary = content_type.split("boundary=").nth(1).expect("boundary").trim_matches('"').to_owned();
    let body = String::from_utf8_lossy(&request.body).into_owned();
    body.split(&format!("--{boundary}"))
        .filter_map(|part| {
            let (head, value) = part.split_once("\r\n\r\n")?;
            let name = head.split("name=\"").nth(1)?.split('"').next()?.to_owned();
            Some((name, value.trim_end_matches("\r\n").to_owned()))
        })
        .collect()
}

pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `GET /users/{id}` profile payload (contract §4.3), Unipile's LinkedIn variant.
pub fn user_profile(provider_id: &str, slug: &str) -> Value {
    json!({
        "object": "UserProfile",
        "provider": "LINKEDIN",
        "provider_id": provider_id,
        "public_identifier": slug,
        "member_urn": "99714011",
        "first_name": "Julien",
        "last_name": "Crépieux",
        "headline": "Co-founder at Unipile",
        "summary": "Building APIs.",
        "location": "Paris, Île-de-France, France",
        "websites": [],
        "public_profile_url": format!("https://www.linkedin.com/in/{slug}/"),
        "profile_picture_url": "https://media.licdn.com/dms/image/v2/abc",
        "network_distance": "SECOND_DEGREE",
        "is_relationship": false,
        "invitation": null,
        "follower_count": 1200,
        "work_experience": [
            { "position": "Advisor", "company": "Old Co", "company_id": "1441", "skills": [],
              "current": false, "start": "1/2015", "end": "12/2019" },
            { "position": "CEO", "company": "Unipile", "company_id": "103848457", "skills": [],
              "current": true, "start": "1/2020", "end": null }
        ]
    })
}
