//! Bringing a seat in: the workspace-wide routes a user needs before and while
//! connecting an account (Unipile OpenAPI v1, `unipile-contract.md` §3 rows 3, 6, 39):
//!
//! - `POST /hosted/accounts/link`: a hosted-auth wizard URL to connect (`create`) or
//!   reconnect (`reconnect`, `reconnect_account`) a LinkedIn account;
//! - `POST /webhooks`: one webhook per `source` (`messaging`, `users`, `account_status`),
//!   with our shared-secret header; the status one lists its `events` explicitly because
//!   Unipile's default set leaves out `ok`, `connecting` and `stopped`;
//! - `POST /accounts/checkpoint`: solve a 2FA/OTP checkpoint of a native connection with a code.
//!
//! These routes need the API key but no account id, so they live on [`UnipileAdmin`]
//! rather than on the per-seat [`super::UnipileLinkedIn`]. Failures map through the
//! connector's usual problem-details mapping (`errors.rs`).

use super::errors::Ctx;
use super::http::{Http, normalize_dsn};
use super::{CONNECT_TIMEOUT, REQUEST_TIMEOUT};
use crate::error::{LinkedInError, LinkedInResult};
use serde::{Deserialize, Serialize};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::{SharedClock, SystemClock};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The header Unipile sends back on every webhook call, carrying the seat's secret.
pub const WEBHOOK_SECRET_HEADER: &str = "X-Sonarly-Webhook-Secret";

/// Every `account_status` event the OAS lists. Unipile's default set leaves out
/// `connecting`, `ok` and `stopped`, and `ok` is what tells us a seat is back.
pub const ACCOUNT_STATUS_EVENTS: [&str; 11] = [
    "ok",
    "connecting",
    "creation_success",
    "creation_fail",
    "reconnected",
    "sync_success",
    "credentials",
    "permissions",
    "error",
    "stopped",
    "deleted",
];

/// A DSN as Unipile's `api_url` wants it: `https://host:port` (a scheme-less
/// `api8.unipile.com:13851` gets `https://`; a trailing `/` or `/api/v1` is dropped).
pub fn normalized_dsn(raw: &str) -> LinkedInResult<String> {
    Ok(normalize_dsn(raw)?.as_str().trim_end_matches('/').to_owned())
}

/// The workspace-wide Unipile client: base URL (DSN) and API key, no account.
pub struct UnipileAdmin {
    http: Http,
}

impl fmt::Debug for UnipileAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnipileAdmin").field("dsn", &self.http.dsn()).finish_non_exhaustive()
    }
}

/// What a hosted-auth link is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostedLinkKind {
    /// Connect a new LinkedIn account.
    Create,
    /// Reconnect this Unipile account (after `CREDENTIALS`, a checkpoint, …).
    Reconnect(String),
}

/// A hosted-auth link request (`POST /hosted/accounts/link`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedLinkRequest {
    pub kind: HostedLinkKind,
    /// When the link dies (Unipile also kills every link at its daily restart).
    pub expires_on: Timestamp,
    /// Echoed to `notify_url` with the new account id.
    pub name: Option<String>,
    /// Where Unipile posts `{status, account_id, name}` once the user is done.
    pub notify_url: Option<String>,
}

/// The source of a Unipile webhook (one source per webhook).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookSource {
    /// `message_received`: new messages, own sends included.
    Messaging,
    /// `new_relation`: accepted invitations.
    Users,
    /// The account's status, every event listed ([`ACCOUNT_STATUS_EVENTS`]).
    AccountStatus,
}

impl WebhookSource {
    pub const ALL: [Self; 3] = [Self::Messaging, Self::Users, Self::AccountStatus];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Messaging => "messaging",
            Self::Users => "users",
            Self::AccountStatus => "account_status",
        }
    }

    /// The events the webhook is registered for, always explicit.
    pub fn events(self) -> Vec<&'static str> {
        match self {
            Self::Messaging => vec!["message_received"],
            Self::Users => vec!["new_relation"],
            Self::AccountStatus => ACCOUNT_STATUS_EVENTS.to_vec(),
        }
    }
}

/// A webhook to register for one seat.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    pub source: WebhookSource,
    /// Our receiver, e.g. `https://host/v1/webhooks/unipile/{ourAccountId}`.
    pub request_url: String,
    /// The Unipile account(s) it listens to.
    pub account_ids: Vec<String>,
    /// Sent back in [`WEBHOOK_SECRET_HEADER`] on every call.
    pub secret: String,
    /// A label shown in Unipile's dashboard.
    pub name: Option<String>,
}

impl fmt::Debug for WebhookRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRequest")
            .field("source", &self.source)
            .field("request_url", &self.request_url)
            .field("account_ids", &self.account_ids)
            .field("secret", &"<redacted>")
            .field("name", &self.name)
            .finish()
    }
}

/// What solving a checkpoint led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointOutcome {
    /// The account is connected (`AccountCreated`) or reconnected (`AccountReconnected`).
    Connected { account_id: String },
    /// LinkedIn asks for another step (`Checkpoint`, e.g. `2FA` after `IN_APP_VALIDATION`).
    Another { account_id: String, checkpoint: String },
}

#[derive(Serialize)]
struct HostedLinkBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "expiresOn")]
    expires_on: String,
    api_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    providers: Option<[&'static str; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reconnect_account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notify_url: Option<&'a str>,
}

#[derive(Deserialize)]
struct HostedLinkWire {
    url: String,
}

#[derive(Serialize)]
struct HeaderPair<'a> {
    key: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
struct WebhookBody<'a> {
    source: &'static str,
    request_url: &'a str,
    account_ids: &'a [String],
    format: &'static str,
    enabled: bool,
    events: Vec<&'static str>,
    headers: [HeaderPair<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WebhookCreatedWire {
    webhook_id: String,
}

#[derive(Serialize)]
struct CheckpointBody<'a> {
    provider: &'static str,
    account_id: &'a str,
    code: &'a str,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CheckpointWire {
    object: String,
    account_id: String,
    checkpoint: Option<CheckpointKindWire>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CheckpointKindWire {
    #[serde(rename = "type")]
    kind: String,
}

impl UnipileAdmin {
    /// A client with the default timeouts (connect 10 s, request 30 s).
    pub fn new(base_url: &str, api_key: &str) -> LinkedInResult<Self> {
        Self::with_timeouts(base_url, api_key, CONNECT_TIMEOUT, REQUEST_TIMEOUT)
    }

    /// A client with explicit timeouts (tests use short ones).
    pub fn with_timeouts(base_url: &str, api_key: &str, connect: Duration, request: Duration) -> LinkedInResult<Self> {
        let clock: SharedClock = Arc::new(SystemClock);
        Ok(Self { http: Http::workspace(base_url, api_key, "", connect, request, clock)? })
    }

    /// The DSN as sent in `api_url`.
    pub fn dsn(&self) -> String {
        self.http.dsn()
    }

    /// `POST /hosted/accounts/link` (LinkedIn only) → the wizard URL to open.
    pub async fn hosted_link(&self, request: &HostedLinkRequest) -> LinkedInResult<String> {
        let (kind, providers, reconnect_account) = match &request.kind {
            HostedLinkKind::Create => ("create", Some(["LINKEDIN"]), None),
            HostedLinkKind::Reconnect(id) => {
                if id.trim().is_empty() {
                    return Err(LinkedInError::InvalidInput("the Unipile account id to reconnect is empty".into()));
                }
                ("reconnect", None, Some(id.trim()))
            }
        };
        let body = HostedLinkBody {
            kind,
            expires_on: request.expires_on.to_rfc3339(),
            api_url: self.http.dsn(),
            providers,
            reconnect_account,
            name: request.name.as_deref().map(str::trim).filter(|n| !n.is_empty()),
            notify_url: request.notify_url.as_deref(),
        };
        let wire: HostedLinkWire =
            self.http.post_read(&["hosted", "accounts", "link"], vec![], &body, Ctx::Other).await?;
        if wire.url.trim().is_empty() {
            return Err(LinkedInError::Transient("Unipile answered a hosted-auth link without a url".into()));
        }
        Ok(wire.url)
    }

    /// `POST /webhooks` → the webhook id (empty if Unipile's answer did not carry one:
    /// the webhook exists all the same).
    pub async fn register_webhook(&self, request: &WebhookRequest) -> LinkedInResult<String> {
        if request.account_ids.iter().all(|id| id.trim().is_empty()) {
            // Without account_ids a webhook applies to every account of the workspace.
            return Err(LinkedInError::InvalidInput("a seat webhook needs the Unipile account id".into()));
        }
        if request.secret.trim().is_empty() {
            return Err(LinkedInError::InvalidInput("a seat webhook needs its secret".into()));
        }
        let body = WebhookBody {
            source: request.source.as_str(),
            request_url: &request.request_url,
            account_ids: &request.account_ids,
            format: "json",
            enabled: true,
            events: request.source.events(),
            headers: [HeaderPair { key: WEBHOOK_SECRET_HEADER, value: &request.secret }],
            name: request.name.as_deref(),
        };
        let wire: WebhookCreatedWire = self.http.post_json(&["webhooks"], vec![], &body, Ctx::Other).await?;
        Ok(wire.webhook_id)
    }

    /// `POST /accounts/checkpoint` with the code LinkedIn sent (2FA app, SMS, e-mail).
    /// `TRY_ANOTHER_WAY` asks for another kind of checkpoint (OAS).
    pub async fn solve_checkpoint(&self, account_id: &str, code: &str) -> LinkedInResult<CheckpointOutcome> {
        let (account_id, code) = (account_id.trim(), code.trim());
        if account_id.is_empty() {
            return Err(LinkedInError::InvalidInput("the Unipile account id is empty".into()));
        }
        if code.is_empty() {
            return Err(LinkedInError::InvalidInput("the checkpoint code is empty".into()));
        }
        let body = CheckpointBody { provider: "LINKEDIN", account_id, code };
        let wire: CheckpointWire = self.http.post_json(&["accounts", "checkpoint"], vec![], &body, Ctx::Other).await?;
        let answered = if wire.account_id.is_empty() { account_id.to_owned() } else { wire.account_id };
        Ok(match (wire.object.as_str(), wire.checkpoint) {
            ("Checkpoint", checkpoint) => CheckpointOutcome::Another {
                account_id: answered,
                checkpoint: checkpoint.map(|c| c.kind).filter(|k| !k.is_empty()).unwrap_or_else(|| "unknown".into()),
            },
            _ => CheckpointOutcome::Connected { account_id: answered },
        })
    }
}
