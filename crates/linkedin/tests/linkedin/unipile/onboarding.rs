//! Onboarding routes (`UnipileAdmin`): hosted-auth links, webhook registration and
//! checkpoint solving, with the request and response shapes of Unipile's OpenAPI v1
//! (`POST /hosted/accounts/link`, `POST /webhooks`, `POST /accounts/checkpoint`).

use super::support::*;
use serde_json::json;
use sonarly_linkedin::LinkedInError;
use sonarly_linkedin::unipile::{
    CheckpointOutcome, HostedLinkKind, HostedLinkRequest, UnipileAdmin, WebhookRequest, WebhookSource, normalized_dsn,
};
use std::time::Duration;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const WIZARD: &str = "https://account.unipile.com/pqrG5wH1vZ3sdS1aU2rHMQ";

async fn admin_setup() -> (MockServer, UnipileAdmin) {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(problem(401, "errors/missing_credentials", "Missing credentials"))
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    let admin = UnipileAdmin::with_timeouts(&server.uri(), KEY, Duration::from_secs(2), Duration::from_secs(5))
        .expect("admin client");
    (server, admin)
}

fn link(kind: HostedLinkKind) -> HostedLinkRequest {
    HostedLinkRequest { kind, expires_on: ts("2026-05-01T13:00:00Z"), name: Some("group-42".into()), notify_url: None }
}

#[tokio::test]
async fn a_hosted_link_to_connect_offers_linkedin_and_returns_the_wizard_url() {
    let (server, admin) = admin_setup().await;
    route("POST", "/api/v1/hosted/accounts/link")
        .respond_with(ok(json!({ "object": "HostedAuthUrl", "url": WIZARD })))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(admin.hosted_link(&link(HostedLinkKind::Create)).await.unwrap(), WIZARD);
    let sent = json_body(&requests_to(&server, "/api/v1/hosted/accounts/link").await[0]);
    assert_eq!(
        sent,
        json!({
            "type": "create",
            "expiresOn": "2026-05-01T13:00:00.000Z",
            "api_url": server.uri(),
            "providers": ["LINKEDIN"],
            "name": "group-42"
        })
    );
}

#[tokio::test]
async fn a_hosted_link_to_reconnect_names_the_account_and_no_providers() {
    let (server, admin) = admin_setup().await;
    route("POST", "/api/v1/hosted/accounts/link")
        .respond_with(ok(json!({ "object": "HostedAuthUrl", "url": WIZARD })))
        .mount(&server)
        .await;
    let mut request = link(HostedLinkKind::Reconnect(ACC.into()));
    request.notify_url = Some("https://sonarly.example.com/hooks".into());
    admin.hosted_link(&request).await.unwrap();
    let sent = json_body(&requests_to(&server, "/api/v1/hosted/accounts/link").await[0]);
    assert_eq!(sent["type"], "reconnect");
    assert_eq!(sent["reconnect_account"], ACC);
    assert_eq!(sent["notify_url"], "https://sonarly.example.com/hooks");
    assert!(sent.get("providers").is_none(), "the reconnection schema has no providers");

    let empty = admin.hosted_link(&link(HostedLinkKind::Reconnect(" ".into()))).await.unwrap_err();
    assert!(matches!(empty, LinkedInError::InvalidInput(_)));
}

#[tokio::test]
async fn a_hosted_link_refused_for_our_key_is_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(problem(401, "errors/missing_credentials", "Missing credentials"))
        .mount(&server)
        .await;
    let admin = UnipileAdmin::new(&server.uri(), "wrong-key").unwrap();
    let err = admin.hosted_link(&link(HostedLinkKind::Create)).await.unwrap_err();
    assert!(matches!(err, LinkedInError::Unauthorized(_)), "{err:?}");
    let (server, admin) = admin_setup().await;
    route("POST", "/api/v1/hosted/accounts/link")
        .respond_with(problem(400, "errors/invalid_parameters", "Invalid parameters"))
        .mount(&server)
        .await;
    assert!(matches!(admin.hosted_link(&link(HostedLinkKind::Create)).await, Err(LinkedInError::InvalidInput(_))));
}

fn webhook(source: WebhookSource) -> WebhookRequest {
    WebhookRequest {
        source,
        request_url: "https://sonarly.example.com/v1/webhooks/unipile/6650f0c2a1b2c3d4e5f60718".into(),
        account_ids: vec![ACC.into()],
        secret: SECRET.into(),
        name: Some("sonarly".into()),
    }
}

#[tokio::test]
async fn each_source_gets_its_own_webhook_with_the_secret_header_and_explicit_events() {
    let (server, admin) = admin_setup().await;
    for (n, _) in WebhookSource::ALL.iter().enumerate() {
        route("POST", "/api/v1/webhooks")
            .and(wiremock::matchers::body_partial_json(json!({ "source": WebhookSource::ALL[n].as_str() })))
            .respond_with(created(json!({ "object": "WebhookCreated", "webhook_id": format!("wh_{n}") })))
            .expect(1)
            .mount(&server)
            .await;
    }
    let mut ids = Vec::new();
    for source in WebhookSource::ALL {
        ids.push(admin.register_webhook(&webhook(source)).await.unwrap());
    }
    assert_eq!(ids, ["wh_0", "wh_1", "wh_2"]);
    let sent: Vec<_> = requests_to(&server, "/api/v1/webhooks").await.iter().map(json_body).collect();
    for body in &sent {
        assert_eq!(body["request_url"], "https://sonarly.example.com/v1/webhooks/unipile/6650f0c2a1b2c3d4e5f60718");
        assert_eq!(body["account_ids"], json!([ACC]));
        assert_eq!(body["format"], "json");
        assert_eq!(body["headers"], json!([{ "key": "X-Sonarly-Webhook-Secret", "value": SECRET }]));
    }
    assert_eq!(sent[0]["events"], json!(["message_received"]));
    assert_eq!(sent[1]["events"], json!(["new_relation"]));
    let statuses: Vec<&str> = sent[2]["events"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    for needed in ["ok", "connecting", "stopped", "error", "credentials", "reconnected", "deleted"] {
        assert!(statuses.contains(&needed), "account_status events include {needed}: {statuses:?}");
    }
}

#[tokio::test]
async fn a_webhook_needs_an_account_and_a_secret_and_maps_unipile_errors() {
    let (server, admin) = admin_setup().await;
    let mut workspace_wide = webhook(WebhookSource::Users);
    workspace_wide.account_ids.clear();
    assert!(matches!(admin.register_webhook(&workspace_wide).await, Err(LinkedInError::InvalidInput(_))));
    let mut no_secret = webhook(WebhookSource::Users);
    no_secret.secret.clear();
    assert!(matches!(admin.register_webhook(&no_secret).await, Err(LinkedInError::InvalidInput(_))));
    assert!(server.received_requests().await.unwrap_or_default().is_empty(), "nothing was sent");

    route("POST", "/api/v1/webhooks")
        .respond_with(problem(503, "errors/service_unavailable", "Service unavailable"))
        .mount(&server)
        .await;
    assert!(admin.register_webhook(&webhook(WebhookSource::Users)).await.unwrap_err().is_retryable());
}

#[tokio::test]
async fn a_checkpoint_code_completes_the_connection() {
    let (server, admin) = admin_setup().await;
    route("POST", "/api/v1/accounts/checkpoint")
        .respond_with(created(json!({ "object": "AccountCreated", "account_id": ACC })))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = admin.solve_checkpoint(ACC, " 123456 ").await.unwrap();
    assert_eq!(outcome, CheckpointOutcome::Connected { account_id: ACC.into() });
    let sent = json_body(&requests_to(&server, "/api/v1/accounts/checkpoint").await[0]);
    assert_eq!(sent, json!({ "provider": "LINKEDIN", "account_id": ACC, "code": "123456" }));
}

#[tokio::test]
async fn a_checkpoint_may_lead_to_another_or_be_refused() {
    let (server, admin) = admin_setup().await;
    route("POST", "/api/v1/accounts/checkpoint")
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "object": "Checkpoint", "account_id": ACC, "checkpoint": { "type": "2FA", "source": "APP" }
        })))
        .mount(&server)
        .await;
    assert_eq!(
        admin.solve_checkpoint(ACC, "TRY_ANOTHER_WAY").await.unwrap(),
        CheckpointOutcome::Another { account_id: ACC.into(), checkpoint: "2FA".into() }
    );

    let (server, admin) = admin_setup().await;
    route("POST", "/api/v1/accounts/checkpoint")
        .respond_with(problem(401, "errors/invalid_checkpoint_solution", "Invalid checkpoint solution"))
        .mount(&server)
        .await;
    let err = admin.solve_checkpoint(ACC, "000000").await.unwrap_err();
    assert!(matches!(err, LinkedInError::ActionRequired(_)), "{err:?}");
    assert!(err.to_string().contains("invalid_checkpoint_solution"), "{err}");

    assert!(matches!(admin.solve_checkpoint(ACC, "").await, Err(LinkedInError::InvalidInput(_))));
}

#[test]
fn a_dsn_without_a_scheme_is_https() {
    assert_eq!(normalized_dsn("api8.unipile.com:13851").unwrap(), "https://api8.unipile.com:13851");
    assert_eq!(normalized_dsn("https://api8.unipile.com:13851/api/v1/").unwrap(), "https://api8.unipile.com:13851");
    assert!(normalized_dsn("ftp://x").is_err());
    assert!(normalized_dsn(" ").is_err());
}
