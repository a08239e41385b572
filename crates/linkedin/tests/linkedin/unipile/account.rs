//! The seat's own health: `GET /accounts/{id}` (OAS `Account`, `sources[].status`).

use super::support::*;
use serde_json::json;
use sonarly_linkedin::{LinkedIn, LinkedInError, SeatHealth};

/// Unipile's LinkedIn `Account` (contract §4.1) with these source statuses.
fn account(statuses: &[&str]) -> serde_json::Value {
    let sources: Vec<_> = statuses
        .iter()
        .enumerate()
        .map(|(n, status)| json!({ "id": format!("{ACC}_MESSAGING_{n}"), "status": status }))
        .collect();
    json!({
        "object": "Account",
        "type": "LINKEDIN",
        "id": ACC,
        "name": "Kim Unipile",
        "created_at": "2026-03-02T09:12:44.120Z",
        "current_signature": null,
        "signatures": [],
        "groups": [],
        "sources": sources,
        "connection_params": { "im": {
            "id": MEMBER, "publicIdentifier": "kim-unipile", "username": "kim@example.com",
            "premiumId": null, "premiumContractId": null, "premiumFeatures": [], "organizations": []
        } }
    })
}

async fn health_for(answer: wiremock::ResponseTemplate) -> Result<SeatHealth, LinkedInError> {
    let (server, li) = setup().await;
    route("GET", &format!("/api/v1/accounts/{ACC}")).respond_with(answer).expect(1).mount(&server).await;
    li.seat_health().await
}

#[tokio::test]
async fn seat_health_reads_the_account_sources_and_the_worst_status_wins() {
    assert_eq!(health_for(ok(account(&["OK"]))).await.unwrap(), SeatHealth::Ok);
    assert_eq!(health_for(ok(account(&["OK", "OK"]))).await.unwrap(), SeatHealth::Ok);
    assert_eq!(
        health_for(ok(account(&["OK", "CREDENTIALS"]))).await.unwrap(),
        SeatHealth::NeedsAction("CREDENTIALS".into())
    );
    assert_eq!(health_for(ok(account(&["ERROR"]))).await.unwrap(), SeatHealth::Disconnected("ERROR".into()));
    assert_eq!(health_for(ok(account(&["STOPPED"]))).await.unwrap(), SeatHealth::Disconnected("STOPPED".into()));
    assert_eq!(health_for(ok(account(&["CONNECTING", "OK"]))).await.unwrap(), SeatHealth::Connecting);
}

#[tokio::test]
async fn seat_health_of_an_account_unipile_no_longer_has_is_gone() {
    let gone = wiremock::ResponseTemplate::new(404).set_body_json(json!({
        "status": 404, "type": "errors/resource_not_found", "title": "Resource not found.", "detail": "Account not found"
    }));
    assert!(matches!(health_for(gone).await.unwrap(), SeatHealth::Gone(_)));
}

#[tokio::test]
async fn seat_health_asks_the_account_route_with_our_key_only() {
    let (server, li) = setup().await;
    route("GET", &format!("/api/v1/accounts/{ACC}")).respond_with(ok(account(&["OK"]))).expect(1).mount(&server).await;
    li.seat_health().await.unwrap();
    let seen = requests_to(&server, &format!("/api/v1/accounts/{ACC}")).await;
    assert_eq!(seen[0].url.query(), None, "the account is in the path, not the query");

    // Unipile down: ask again later; our own key refused: not the seat's fault.
    let down = problem(503, "errors/service_unavailable", "Service unavailable");
    assert!(health_for(down).await.unwrap_err().is_retryable());
    let li = sonarly_linkedin::unipile::UnipileLinkedIn::new(sonarly_linkedin::unipile::UnipileConfig {
        api_key: "wrong-key".into(),
        ..config(&server.uri())
    })
    .unwrap()
    .with_clock(std::sync::Arc::new(sonarly_domain::clock::ManualClock::new(now())));
    assert!(matches!(li.seat_health().await.unwrap_err(), LinkedInError::Unauthorized(_)));
}
