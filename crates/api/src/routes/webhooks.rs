//! `POST /v1/webhooks/unipile/{linkedinAccountId}`: Unipile's webhook for one
//! connected account. Not behind API keys: Unipile cannot send one. The
//! `X-Sonarly-Webhook-Secret` header, chosen when the account was connected,
//! authenticates it (see docs/decisions.md, "Inbox and webhooks").

use crate::AppState;
use crate::envelope::{ApiResult, ok};
use crate::extract::{ApiPath, body_rejection};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sonarly_app::inbox::{authenticate_webhook, receive_unipile_webhook};

/// The header carrying the webhook secret.
pub const WEBHOOK_SECRET_HEADER: &str = "x-sonarly-webhook-secret";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPath {
    linkedin_account_id: String,
}

#[derive(Serialize)]
struct Received {
    /// Events handled for this account.
    received: usize,
}

/// Authenticates the secret header first (an unknown account and a wrong
/// secret answer the same 401), then records every event of the body through
/// the same code the inbox sync uses, and answers `{received: n}`.
pub async fn unipile(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<WebhookPath>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let secret = headers.get(WEBHOOK_SECRET_HEADER).and_then(|v| v.to_str().ok());
    let account = authenticate_webhook(&state.store, &path.linkedin_account_id, secret).await?;
    let body = body.map_err(body_rejection)?;
    let received = receive_unipile_webhook(&state.store, state.clock.as_ref(), &account, &body).await?;
    Ok(ok(Received { received }))
}
