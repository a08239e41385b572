//! Bringing a real seat in through Unipile, the way a user does it: a hosted-auth
//! link to connect (or reconnect) the LinkedIn account, a checkpoint code when
//! LinkedIn asks for one, then a connect that asks Unipile who the account is
//! before storing it (the seat type comes from Unipile, not from the caller) and
//! registers the three webhooks the seat needs.

use super::connect::{ConnectAccount, ProviderSetup, UnipileSetup, connect_account_with};
use crate::AppResult;
use crate::upstream::upstream_error;
use sonarly_domain::clock::Clock;
use sonarly_domain::linkedin_account::LinkedInAccount;
use sonarly_domain::{DomainError, ErrorCode, Timestamp};
use sonarly_linkedin::unipile::{
    CheckpointOutcome, HostedLinkKind, HostedLinkRequest, UnipileAdmin, UnipileConfig, UnipileLinkedIn, WebhookRequest,
    WebhookSource, normalized_dsn,
};
use sonarly_linkedin::{AccountType, LinkedIn, LinkedInError, OwnProfile};

/// How long a hosted-auth link lives (Unipile: minutes to hours; every link also dies
/// at Unipile's daily restart).
pub const HOSTED_LINK_TTL_MS: i64 = 60 * 60 * 1000;

/// A seat stored after Unipile vouched for it.
#[derive(Debug, Clone)]
pub struct ConnectedSeat {
    pub account: LinkedInAccount,
    /// The type the caller asked for.
    pub declared: AccountType,
    /// The type stored: Unipile's word for a Unipile seat, the declared one for the sandbox.
    pub derived: AccountType,
    /// Who Unipile says the account is (`None` for the sandbox).
    pub profile: Option<OwnProfile>,
}

/// A webhook Unipile now calls for the seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredWebhook {
    pub source: WebhookSource,
    /// Unipile's id of the webhook (empty if its answer did not carry one).
    pub id: String,
}

/// Connects an account like [`connect_account_with`] (its Unipile API key sealed with
/// `keyring`), but a Unipile seat is first
/// verified with Unipile (`GET /users/me`): a key or account Unipile refuses is a
/// validation error, nothing is stored, and the seat type is the one Unipile reports.
/// The DSN may come without a scheme (`api8.unipile.com:13851` is `https://…`).
pub async fn connect_verified(
    store: &sonarly_store::Store,
    clock: &dyn Clock,
    keyring: &sonarly_domain::secrets::Keyring,
    input: ConnectAccount,
) -> AppResult<ConnectedSeat> {
    let declared = input.account_type;
    let ProviderSetup::Unipile(setup) = &input.provider else {
        let account = connect_account_with(store, clock, keyring, input).await?;
        return Ok(ConnectedSeat { account, declared, derived: declared, profile: None });
    };
    let mut setup = setup.clone();
    setup.base_url = dsn_field(&setup.base_url)?;
    let profile = verify_unipile(&setup).await?;
    let derived = profile.account_type;
    let input = ConnectAccount { account_type: derived, provider: ProviderSetup::Unipile(setup), ..input };
    let account = connect_account_with(store, clock, keyring, input).await?;
    Ok(ConnectedSeat { account, declared, derived, profile: Some(profile) })
}

/// Asks Unipile who the account is (`GET /users/me`); a refusal is a validation error
/// naming the setting at fault.
pub async fn verify_unipile(setup: &UnipileSetup) -> AppResult<OwnProfile> {
    let config = UnipileConfig {
        base_url: dsn_field(&setup.base_url)?,
        api_key: setup.api_key.clone(),
        account_id: setup.account_id.trim().to_owned(),
    };
    let connector = UnipileLinkedIn::new(config).map_err(refused)?;
    connector.own_profile().await.map_err(refused)
}

/// `{public_url}/v1/webhooks/unipile/{account_id}`, the receiver Unipile must call.
pub fn webhook_url(public_url: &str, account_id: &str) -> AppResult<String> {
    let base = public_url.trim().trim_end_matches('/');
    let host = base.strip_prefix("https://").or_else(|| base.strip_prefix("http://")).unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains(['?', '#']) {
        return Err(DomainError::invalid_field(
            "publicUrl",
            "must be the http(s) URL Unipile can reach this server at, e.g. https://sonarly.example.com",
        ));
    }
    Ok(format!("{base}/v1/webhooks/unipile/{account_id}"))
}

/// Registers the seat's three webhooks (`messaging`, `users`, `account_status` with every
/// status, `ok` included), each scoped to the Unipile account and carrying `secret` in
/// `X-Sonarly-Webhook-Secret`, pointing at this server's receiver for `account`.
pub async fn register_webhooks(
    setup: &UnipileSetup,
    account: &LinkedInAccount,
    public_url: &str,
) -> AppResult<Vec<RegisteredWebhook>> {
    let request_url = webhook_url(public_url, &account.id)?;
    let admin = admin(&setup.base_url, &setup.api_key)?;
    let mut registered = Vec::with_capacity(WebhookSource::ALL.len());
    for source in WebhookSource::ALL {
        let request = WebhookRequest {
            source,
            request_url: request_url.clone(),
            account_ids: vec![setup.account_id.trim().to_owned()],
            secret: setup.webhook_secret.clone(),
            name: Some(format!("sonarly {} {}", account.id, source.as_str())),
        };
        let id = admin.register_webhook(&request).await.map_err(refused)?;
        registered.push(RegisteredWebhook { source, id });
    }
    Ok(registered)
}

/// A hosted-auth wizard URL to connect a LinkedIn account, or to reconnect `reconnect`
/// (a Unipile account id); it expires after [`HOSTED_LINK_TTL_MS`].
pub async fn hosted_link(
    dsn: &str,
    api_key: &str,
    reconnect: Option<&str>,
    name: Option<&str>,
    now: Timestamp,
) -> AppResult<String> {
    let admin = admin(dsn, api_key)?;
    let kind = match reconnect {
        Some(id) if id.trim().is_empty() => return Err(DomainError::invalid_field("reconnect", "is empty")),
        Some(id) => HostedLinkKind::Reconnect(id.trim().to_owned()),
        None => HostedLinkKind::Create,
    };
    let request = HostedLinkRequest {
        kind,
        expires_on: now.plus_millis(HOSTED_LINK_TTL_MS),
        name: name.map(str::to_owned),
        notify_url: None,
    };
    admin.hosted_link(&request).await.map_err(refused)
}

/// Solves the checkpoint (2FA, OTP) LinkedIn put on a native connection, with its code.
pub async fn solve_checkpoint(dsn: &str, api_key: &str, account_id: &str, code: &str) -> AppResult<CheckpointOutcome> {
    if code.trim().is_empty() {
        return Err(DomainError::invalid_field("code", "is required"));
    }
    if account_id.trim().is_empty() {
        return Err(DomainError::invalid_field("unipileAccountId", "is required"));
    }
    admin(dsn, api_key)?.solve_checkpoint(account_id, code).await.map_err(|e| match e {
        LinkedInError::ActionRequired(m) => DomainError::invalid_field(
            "code",
            format!("LinkedIn did not accept the code (retry, or ask for a new one): {m}"),
        ),
        other => refused(other),
    })
}

fn admin(dsn: &str, api_key: &str) -> AppResult<UnipileAdmin> {
    UnipileAdmin::new(&dsn_field(dsn)?, api_key).map_err(refused)
}

fn dsn_field(raw: &str) -> AppResult<String> {
    normalized_dsn(raw).map_err(|_| {
        DomainError::invalid_field("unipileDsn", "must be your Unipile DSN, e.g. api8.unipile.com:13851 or https://…")
    })
}

/// What Unipile refused, as a validation error on the setting at fault; Unipile or
/// LinkedIn being unavailable stays an upstream error (retry later).
fn refused(e: LinkedInError) -> DomainError {
    use LinkedInError as E;
    match e {
        E::Unauthorized(m) => DomainError::invalid_field("unipileApiKey", format!("Unipile refused the API key: {m}")),
        E::AccountDisconnected(m) | E::NotFound(m) => DomainError::invalid_field(
            "unipileAccountId",
            format!(
                "Unipile has no connected LinkedIn account with this id (connect it with a hosted link first): {m}"
            ),
        ),
        E::ActionRequired(m) => DomainError::invalid_field(
            "unipileAccountId",
            format!(
                "LinkedIn asks the account owner to act (checkpoint, credentials): {m}; solve it with \
                 `sonarly linkedin checkpoint` or reconnect through a hosted link"
            ),
        ),
        E::FeatureUnavailable(m) | E::InvalidInput(m) | E::NotReachable(m) => {
            DomainError::invalid_field("unipileAccountId", format!("Unipile refused the account: {m}"))
        }
        E::Transient(m) => {
            tracing::warn!(error = %m, "Unipile unreachable during onboarding");
            DomainError::new(
                ErrorCode::UpstreamError,
                format!("Unipile is not reachable or not answering; retry later ({m})"),
            )
        }
        other => upstream_error(other),
    }
}
