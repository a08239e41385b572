//! Connecting LinkedIn accounts to an account group.

use super::registry::UnipileSettings;
use crate::{AppResult, StoreResultExt, validate_name};
use sonarly_domain::DomainError;
use sonarly_domain::GroupId;
use sonarly_domain::clock::Clock;
use sonarly_domain::cursor::CursorCodec;
use sonarly_domain::id::new_hex_id;
use sonarly_domain::linkedin_account::{AccountStatus, LinkedInAccount, ProviderKind, RulesChange, SendingRules};
use sonarly_domain::page::{Page, PageRequest};
use sonarly_domain::secrets::Keyring;
use sonarly_linkedin::AccountType;
use sonarly_linkedin::sandbox::SandboxConfig;
use sonarly_store::Store;

pub const LINKEDIN_ACCOUNTS_LIST: &str = "linkedin-accounts";

/// Unipile connection settings. Its `Debug` leaves the secrets out.
#[derive(Clone)]
pub struct UnipileSetup {
    /// The DSN, e.g. `https://api8.unipile.com:13851`.
    pub base_url: String,
    pub api_key: String,
    /// Unipile's id of the LinkedIn account.
    pub account_id: String,
    /// Secret Unipile will send in our webhook header (stored hashed).
    pub webhook_secret: String,
}

impl std::fmt::Debug for UnipileSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnipileSetup")
            .field("base_url", &self.base_url)
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub enum ProviderSetup {
    Sandbox(SandboxConfig),
    Unipile(UnipileSetup),
}

#[derive(Debug, Clone)]
pub struct ConnectAccount {
    pub group_id: GroupId,
    pub name: String,
    pub account_type: AccountType,
    pub rules: SendingRules,
    pub provider: ProviderSetup,
}

/// Connects an account without a secret key: a sandbox account, since a Unipile
/// account's API key is only ever stored sealed ([`connect_account_with`]).
pub async fn connect_account(store: &Store, clock: &dyn Clock, input: ConnectAccount) -> AppResult<LinkedInAccount> {
    connect_account_with(store, clock, &Keyring::none(), input).await
}

/// Connects an account. For the sandbox, the account's own seed derives from
/// its id unless one was given, and `connected_at` is now. A Unipile API key is
/// stored sealed with `keyring`'s key; without one, a Unipile account is refused.
pub async fn connect_account_with(
    store: &Store,
    clock: &dyn Clock,
    keyring: &Keyring,
    input: ConnectAccount,
) -> AppResult<LinkedInAccount> {
    let name = validate_name("name", &input.name)?;
    input.rules.validate()?;
    if store.get_group(&input.group_id).await.or_internal()?.is_none() {
        return Err(DomainError::invalid_field("group", format!("account group {} does not exist", input.group_id)));
    }
    let now = clock.now();
    let id = new_hex_id(now);
    let (provider, settings, secret_hash) = match input.provider {
        ProviderSetup::Sandbox(mut config) => {
            config.validate().map_err(|e| DomainError::invalid_field("sandbox", e))?;
            config.account_type = input.account_type;
            if config.account_seed == SandboxConfig::default().account_seed {
                config.account_seed = u64::from_str_radix(&id[8..], 16).unwrap_or(1);
            }
            config.connected_at_ms = now.as_millis();
            let json = serde_json::to_string(&config).map_err(|_| DomainError::internal())?;
            (ProviderKind::Sandbox, json, None)
        }
        ProviderSetup::Unipile(setup) => {
            let mut issues = Vec::new();
            if !(setup.base_url.starts_with("https://") || setup.base_url.starts_with("http://")) {
                issues.push(sonarly_domain::FieldIssue::new("unipileDsn", "must be an http(s) URL"));
            }
            if setup.api_key.trim().is_empty() {
                issues.push(sonarly_domain::FieldIssue::new("unipileApiKey", "is required"));
            }
            if setup.account_id.trim().is_empty() {
                issues.push(sonarly_domain::FieldIssue::new("unipileAccountId", "is required"));
            }
            if setup.webhook_secret.len() < 16 {
                issues.push(sonarly_domain::FieldIssue::new("webhookSecret", "must be at least 16 characters"));
            }
            if !issues.is_empty() {
                return Err(DomainError::invalid(issues));
            }
            let api_key = keyring.seal(&setup.api_key).map_err(|e| {
                let why = format!("cannot be stored: {e} (see docs/linkedin.md, \"Secrets at rest\")");
                DomainError::invalid_field("unipileApiKey", why)
            })?;
            let settings = UnipileSettings {
                base_url: setup.base_url.trim_end_matches('/').to_owned(),
                api_key,
                account_id: setup.account_id,
            };
            let json = serde_json::to_string(&settings).map_err(|_| DomainError::internal())?;
            (ProviderKind::Unipile, json, Some(sonarly_domain::apikey::hash_key(&setup.webhook_secret)))
        }
    };
    let account = LinkedInAccount {
        id,
        group_id: input.group_id,
        provider,
        display_name: name,
        account_type: input.account_type,
        status: AccountStatus::Connected,
        rules: input.rules,
        provider_settings: settings,
        webhook_secret_hash: secret_hash,
        rate_limited_until: None,
        status_changed_at: now,
        last_webhook_at: None,
        created_at: now,
        updated_at: now,
    };
    store.insert_linkedin_account(&account).await.or_internal()?;
    Ok(account)
}

/// A page of the group's connected accounts, newest first.
pub async fn list_accounts(
    store: &Store,
    codec: &CursorCodec,
    group_id: &GroupId,
    page: &PageRequest,
    now: sonarly_domain::Timestamp,
) -> AppResult<Page<(LinkedInAccount, super::seat::SeatReport)>> {
    let rows = store.list_linkedin_accounts(group_id, page).await.or_internal()?;
    let page = Page::from_rows(rows, page, codec, LINKEDIN_ACCOUNTS_LIST, |a| (a.created_at, a.id.clone()));
    let mut items = Vec::with_capacity(page.items.len());
    for account in page.items {
        let report = super::seat::seat_report(store, &account, now).await.or_internal()?;
        items.push((account, report));
    }
    Ok(Page { items, next_cursor: page.next_cursor, has_more: page.has_more })
}

/// Changes a seat's name or sending rules: caps, budgets, working hours, spacing, ramp-up. The
/// scheduler and the governor read the rules afresh before each action, so a change applies from
/// the seat's next action; what was counted today still counts. `change` is applied to a copy of
/// the seat's current rules, and the whole result must validate.
pub async fn update_seat(
    store: &Store,
    clock: &dyn Clock,
    group_id: &GroupId,
    account_id: &str,
    name: Option<&str>,
    change: &RulesChange,
) -> AppResult<LinkedInAccount> {
    let Some(mut account) = store.get_linkedin_account(group_id, account_id).await.or_internal()? else {
        return Err(DomainError::not_found("LinkedIn account"));
    };
    if let Some(name) = name {
        account.display_name = validate_name("name", name)?;
    }
    change.apply(&mut account.rules);
    account.rules.validate()?;
    let now = clock.now();
    if !store
        .update_linkedin_rules(group_id, account_id, &account.display_name, &account.rules, now)
        .await
        .or_internal()?
    {
        return Err(DomainError::not_found("LinkedIn account"));
    }
    account.updated_at = now;
    Ok(account)
}
