//! Bringing a seat in through the HTTP API: the steps of [`super::onboard`] (hosted-auth
//! links, the verified connect, the three webhooks, checkpoints) for one account group.
//! What differs from the CLI:
//! - a Unipile DSN a caller gives is an address this server will call, so it must pass the
//!   server's outbound URL policy (the one webhook endpoints follow) before any call;
//! - on an existing seat, the seat's own stored Unipile connection is used (its API key
//!   opened with the server's keyring), never credentials from the request;
//! - a solved checkpoint moves the seat through the one seat policy ([`super::seat`]).

use super::connect::{ConnectAccount, ProviderSetup, UnipileSetup};
use super::onboard::{self, ConnectedSeat, HOSTED_LINK_TTL_MS, RegisteredWebhook};
use super::registry::UnipileSettings;
use super::seat::{set_status, status_for_provider_word};
use crate::{AppResult, StoreResultExt};
use sonarly_domain::GroupId;
use sonarly_domain::clock::Clock;
use sonarly_domain::linkedin_account::{LinkedInAccount, ProviderKind, SendingRules};
use sonarly_domain::secrets::{Keyring, SECRET_KEY_ENV};
use sonarly_domain::webhooks::UrlPolicy;
use sonarly_domain::{DomainError, Timestamp};
use sonarly_linkedin::AccountType;
use sonarly_linkedin::unipile::{CheckpointOutcome, normalized_dsn};
use sonarly_store::Store;
use std::net::IpAddr;

/// A hosted-auth wizard URL and when it dies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedLink {
    pub url: String,
    pub expires_at: Timestamp,
}

/// A Unipile seat to connect (`POST …/linkedin-accounts`). Its `Debug` leaves the secrets out.
#[derive(Clone)]
pub struct NewUnipileSeat {
    pub group_id: GroupId,
    pub name: String,
    pub dsn: String,
    pub api_key: String,
    pub account_id: String,
    /// The secret Unipile sends back on the seat's webhooks; generated when absent and
    /// `public_url` is given (the server registers the webhooks, nobody else needs it).
    pub webhook_secret: Option<String>,
    pub rules: SendingRules,
    /// Where Unipile reaches this server: the three webhooks are registered when given.
    pub public_url: Option<String>,
}

impl std::fmt::Debug for NewUnipileSeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUnipileSeat")
            .field("group_id", &self.group_id)
            .field("name", &self.name)
            .field("dsn", &self.dsn)
            .field("account_id", &self.account_id)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// The webhooks registered for a seat, or why they could not all be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhooksOutcome {
    /// The receiver Unipile calls: `{publicUrl}/v1/webhooks/unipile/{seat id}`.
    pub request_url: String,
    pub registered: Vec<RegisteredWebhook>,
    /// Why registering stopped (the seat is stored all the same); `None` when all three are.
    pub error: Option<String>,
}

/// A seat connected through the API.
#[derive(Debug, Clone)]
pub struct ApiConnectedSeat {
    pub seat: ConnectedSeat,
    /// Present when a public URL was given.
    pub webhooks: Option<WebhooksOutcome>,
}

/// What solving a seat's checkpoint led to.
#[derive(Debug, Clone)]
pub enum SeatCheckpoint {
    /// LinkedIn accepted the code: the seat (as stored now, `recovering` if it was stopped).
    Solved(LinkedInAccount),
    /// LinkedIn asks for another step (`2FA`, `OTP`, `IN_APP_VALIDATION`, …): the seat stays `needs_action`.
    Another { account: LinkedInAccount, checkpoint: String },
}

/// The DSN as Unipile wants it, once the server's outbound URL policy allows calling it:
/// `https` (plain `http` only where the policy allows it), and no private, loopback,
/// link-local or metadata address, whether the host is one or resolves to one (unless the
/// policy allows private networks). Every refusal is a 400 naming `unipileDsn`.
pub async fn outbound_dsn(raw: &str, policy: UrlPolicy) -> AppResult<String> {
    let bad = |why: String| DomainError::invalid_field("unipileDsn", why);
    let dsn = dsn_field(raw)?;
    let url = reqwest::Url::parse(&dsn).map_err(|e| bad(format!("is not a URL ({e})")))?;
    if let Some(why) = policy.scheme_refusal(url.scheme()) {
        return Err(bad(why.to_owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials (the API key goes in unipileApiKey)".into()));
    }
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("must name a host".into()))?;
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let lower = host.to_ascii_lowercase();
    let addresses: Vec<IpAddr> = match literal.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) if lower == "localhost" || lower.ends_with(".localhost") => vec![IpAddr::from([127, 0, 0, 1])],
        Err(_) => {
            let port = url.port_or_known_default().unwrap_or(443);
            match tokio::net::lookup_host((host, port)).await {
                Ok(found) => found.map(|a| a.ip()).collect(),
                Err(e) => {
                    return Err(bad(format!("`{host}` cannot be resolved ({e}); check the DSN Unipile gave you")));
                }
            }
        }
    };
    if let Some(why) = addresses.iter().find_map(|ip| policy.refusal(*ip)) {
        return Err(bad(format!("points to {why}, which this server does not call")));
    }
    Ok(dsn)
}

/// A hosted-auth link to connect a new LinkedIn account with the caller's Unipile workspace.
pub async fn connect_link(
    dsn: &str,
    api_key: &str,
    name: Option<&str>,
    policy: UrlPolicy,
    now: Timestamp,
) -> AppResult<HostedLink> {
    if api_key.trim().is_empty() {
        return Err(DomainError::invalid_field("unipileApiKey", "is required"));
    }
    let dsn = outbound_dsn(dsn, policy).await?;
    let url = onboard::hosted_link(&dsn, api_key, None, name, now).await?;
    Ok(HostedLink { url, expires_at: now.plus_millis(HOSTED_LINK_TTL_MS) })
}

/// A hosted-auth link to reconnect the group's seat `seat_id`, with its stored connection.
pub async fn reconnect_link(
    store: &Store,
    keyring: &Keyring,
    group_id: &GroupId,
    seat_id: &str,
    now: Timestamp,
) -> AppResult<HostedLink> {
    let account = group_seat(store, group_id, seat_id).await?;
    let stored = stored_connection(&account, keyring)?;
    let url = onboard::hosted_link(&stored.dsn, &stored.api_key, Some(&stored.account_id), None, now)
        .await
        .map_err(stored_refused)?;
    Ok(HostedLink { url, expires_at: now.plus_millis(HOSTED_LINK_TTL_MS) })
}

/// Solves the checkpoint LinkedIn put on the group's seat `seat_id` with `code`. Solved, a
/// stopped seat goes to `recovering` (the health worker takes it on from there); another
/// step asked, the seat is `needs_action` until it is solved too.
pub async fn solve_seat_checkpoint(
    store: &Store,
    keyring: &Keyring,
    group_id: &GroupId,
    seat_id: &str,
    code: &str,
    now: Timestamp,
) -> AppResult<SeatCheckpoint> {
    if code.trim().is_empty() {
        return Err(DomainError::invalid_field("code", "is required"));
    }
    let account = group_seat(store, group_id, seat_id).await?;
    let stored = stored_connection(&account, keyring)?;
    let outcome = onboard::solve_checkpoint(&stored.dsn, &stored.api_key, &stored.account_id, code)
        .await
        .map_err(stored_refused)?;
    let (word, why, another) = match outcome {
        CheckpointOutcome::Connected { .. } => ("RECONNECTED", "checkpoint solved through the API", None),
        CheckpointOutcome::Another { checkpoint, .. } => {
            ("CHECKPOINT", "LinkedIn asks for another checkpoint step", Some(checkpoint))
        }
    };
    if let Some(next) = status_for_provider_word(account.status, word) {
        set_status(store, &account, next, why, now).await.or_internal()?;
    }
    let account = group_seat(store, group_id, seat_id).await?;
    Ok(match another {
        None => SeatCheckpoint::Solved(account),
        Some(checkpoint) => SeatCheckpoint::Another { account, checkpoint },
    })
}

/// Connects a Unipile seat to the group after Unipile vouched for it
/// ([`onboard::connect_verified`]), then registers its three webhooks when a public URL
/// is given. A failure to register them does not undo the connect: it is reported in
/// [`ApiConnectedSeat::webhooks`], and `POST …/webhooks` registers them again.
pub async fn connect_unipile_seat(
    store: &Store,
    clock: &dyn Clock,
    keyring: &Keyring,
    policy: UrlPolicy,
    input: NewUnipileSeat,
) -> AppResult<ApiConnectedSeat> {
    if let Some(url) = &input.public_url {
        onboard::webhook_url(url, "id")?; // checked before anything is stored
    }
    let webhook_secret = match (&input.webhook_secret, &input.public_url) {
        (Some(secret), _) => secret.clone(),
        (None, Some(_)) => sonarly_domain::apikey::random_secret_hex(),
        (None, None) => {
            return Err(DomainError::invalid_field(
                "webhookSecret",
                "is required unless publicUrl is given (then the server registers the webhooks with a secret of its own)",
            ));
        }
    };
    crate::validate_name("name", &input.name)?;
    input.rules.validate()?;
    if input.api_key.trim().is_empty() {
        return Err(DomainError::invalid_field("unipileApiKey", "is required"));
    }
    if input.account_id.trim().is_empty() {
        return Err(DomainError::invalid_field("unipileAccountId", "is required"));
    }
    let dsn = outbound_dsn(&input.dsn, policy).await?;
    if !keyring.can_seal() {
        return Err(DomainError::unprocessable(format!(
            "This server stores Unipile API keys only encrypted and has no secret key: its operator must set \
             {SECRET_KEY_ENV} (docs/linkedin.md, \"Secrets at rest\")."
        )));
    }
    let setup = UnipileSetup { base_url: dsn, api_key: input.api_key, account_id: input.account_id, webhook_secret };
    let connect = ConnectAccount {
        group_id: input.group_id,
        name: input.name,
        account_type: AccountType::Classic,
        rules: input.rules,
        provider: ProviderSetup::Unipile(setup.clone()),
    };
    let seat = onboard::connect_verified(store, clock, keyring, connect).await?;
    let webhooks = match &input.public_url {
        None => None,
        Some(public_url) => Some(match register(&setup, &seat.account, public_url).await {
            Ok((request_url, registered)) => WebhooksOutcome { request_url, registered, error: None },
            Err(e) => {
                let account = &seat.account.id;
                tracing::warn!(account = %account, error = %e, "the seat's Unipile webhooks could not all be registered");
                let why = e.details.clone().unwrap_or(e.message);
                let request_url = onboard::webhook_url(public_url, account)?;
                WebhooksOutcome { request_url, registered: Vec::new(), error: Some(why) }
            }
        }),
    };
    Ok(ApiConnectedSeat { seat, webhooks })
}

/// Registers the three webhooks of the group's seat `seat_id` again, for `public_url`, with
/// a new secret that replaces the stored one once all three are registered. Those Unipile
/// holds from before stay (with the old secret, refused from then on): delete them in its
/// dashboard.
pub async fn register_seat_webhooks(
    store: &Store,
    keyring: &Keyring,
    group_id: &GroupId,
    seat_id: &str,
    public_url: &str,
    now: Timestamp,
) -> AppResult<(LinkedInAccount, WebhooksOutcome)> {
    let account = group_seat(store, group_id, seat_id).await?;
    onboard::webhook_url(public_url, &account.id)?;
    let stored = stored_connection(&account, keyring)?;
    let secret = sonarly_domain::apikey::random_secret_hex();
    let setup = UnipileSetup {
        base_url: stored.dsn,
        api_key: stored.api_key,
        account_id: stored.account_id,
        webhook_secret: secret.clone(),
    };
    // On a failure nothing changes here: the webhooks that work keep the stored secret.
    let (request_url, registered) = register(&setup, &account, public_url).await.map_err(stored_refused)?;
    let hash = sonarly_domain::apikey::hash_key(&secret);
    store.set_linkedin_webhook_secret_hash(&account.id, &hash, now).await.or_internal()?;
    let account = group_seat(store, group_id, seat_id).await?;
    Ok((account, WebhooksOutcome { request_url, registered, error: None }))
}

/// Registers the three webhooks, stopping at the first failure.
async fn register(
    setup: &UnipileSetup,
    account: &LinkedInAccount,
    public_url: &str,
) -> AppResult<(String, Vec<RegisteredWebhook>)> {
    let request_url = onboard::webhook_url(public_url, &account.id)?;
    let registered = onboard::register_webhooks(setup, account, public_url).await?;
    Ok((request_url, registered))
}

/// The group's seat; another group's seat is not found, like one that does not exist.
pub async fn group_seat(store: &Store, group_id: &GroupId, seat_id: &str) -> AppResult<LinkedInAccount> {
    store
        .get_linkedin_account(group_id, seat_id)
        .await
        .or_internal()?
        .ok_or_else(|| DomainError::not_found("LinkedIn account"))
}

/// A seat's Unipile connection, its API key opened.
struct StoredConnection {
    dsn: String,
    api_key: String,
    account_id: String,
}

fn stored_connection(account: &LinkedInAccount, keyring: &Keyring) -> AppResult<StoredConnection> {
    if account.provider != ProviderKind::Unipile {
        return Err(DomainError::unprocessable(
            "This is a sandbox seat: it has no Unipile connection, so there is no checkpoint to solve, no account \
             to reconnect and no webhook to register.",
        ));
    }
    let settings: UnipileSettings = serde_json::from_str(&account.provider_settings).map_err(|e| {
        tracing::error!(account = %account.id, error = %e, "unreadable Unipile settings");
        DomainError::internal()
    })?;
    let api_key = keyring.open(&settings.api_key).map_err(|e| {
        tracing::error!(account = %account.id, error = %e, "the seat's Unipile API key cannot be opened");
        DomainError::unprocessable(format!(
            "The seat's stored Unipile API key cannot be opened with this server's secret key ({e}); connect the \
             seat again with its API key, or have the operator set the key it was sealed with."
        ))
    })?;
    Ok(StoredConnection { dsn: settings.base_url, api_key, account_id: settings.account_id })
}

/// What Unipile refused about a seat's stored connection is not a field of the request:
/// a 422 saying so (a refused checkpoint `code` stays a 400 on `code`).
fn stored_refused(e: DomainError) -> DomainError {
    let stored = ["unipileApiKey", "unipileAccountId", "unipileDsn"];
    if e.status == 400 && e.fields.iter().any(|f| stored.contains(&f.field.as_str())) {
        let why = e.fields.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("; ");
        return DomainError::unprocessable(format!(
            "Unipile refused the seat's stored connection: {why}. Reconnect the seat (reconnect-link) or connect it again."
        ));
    }
    e
}

fn dsn_field(raw: &str) -> AppResult<String> {
    normalized_dsn(raw).map_err(|_| {
        DomainError::invalid_field("unipileDsn", "must be your Unipile DSN, e.g. api8.unipile.com:13851 or https://…")
    })
}
