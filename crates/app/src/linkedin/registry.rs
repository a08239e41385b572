//! Turns connected-account rows into live providers, once per account.

use super::governor::{Governed, Urgency};
use super::journal::StoreJournal;
use sonarly_domain::clock::SharedClock;
use sonarly_domain::linkedin_account::{LinkedInAccount, ProviderKind};
use sonarly_domain::secrets::{Keyring, SECRET_KEY_ENV};
use sonarly_linkedin::sandbox::{Sandbox, SandboxConfig, SandboxMeter};
use sonarly_linkedin::unipile::{UnipileConfig, UnipileLinkedIn};
use sonarly_linkedin::{LinkedInError, SharedLinkedIn};
use sonarly_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Live providers by account id. A provider is rebuilt when its account row
/// changes (settings edited), so no restart is needed.
#[derive(Clone)]
pub struct ProviderRegistry {
    store: Store,
    clock: SharedClock,
    providers: Arc<Mutex<HashMap<String, (i64, SharedLinkedIn)>>>,
    /// Providers handed in for an account (tests: a fault-injecting double); never rebuilt.
    fixed: Arc<Mutex<HashMap<String, SharedLinkedIn>>>,
    /// Whether reads go through the safety governor (always, but for the test that shows what
    /// happens without it).
    governed: bool,
    /// Each sandbox account's meter (what LinkedIn counted, its restrictions), kept across rebuilds.
    meters: Arc<Mutex<HashMap<String, Arc<SandboxMeter>>>>,
    /// Opens the sealed provider secrets of account rows ([`ProviderRegistry::with_keyring`]).
    keyring: Arc<Keyring>,
}

impl ProviderRegistry {
    pub fn new(store: Store, clock: SharedClock) -> Self {
        Self {
            store,
            clock,
            providers: Arc::new(Mutex::new(HashMap::new())),
            fixed: Arc::new(Mutex::new(HashMap::new())),
            governed: true,
            meters: Arc::new(Mutex::new(HashMap::new())),
            keyring: Arc::new(Keyring::none()),
        }
    }

    /// Opens sealed provider secrets (a Unipile API key) with `keyring`; without it only
    /// keys stored before sealing existed (plaintext) open. Connectors built before are not
    /// reused by the registry this returns.
    pub fn with_keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = Arc::new(keyring);
        self.providers = Arc::new(Mutex::new(HashMap::new()));
        self
    }

    /// Hands out the connectors themselves, without the governor: only for the test that shows
    /// the sandbox restricting seats driven without it.
    pub fn without_governor(mut self) -> Self {
        self.governed = false;
        self
    }

    /// Serves `account_id` with `provider` from now on, whatever its settings say
    /// (how tests hand the engine a fault-injecting double). Clones share it.
    pub fn set_provider(&self, account_id: &str, provider: SharedLinkedIn) {
        self.fixed.lock().unwrap_or_else(|p| p.into_inner()).insert(account_id.to_owned(), provider);
    }

    /// The meter of sandbox account `account_id` (calls LinkedIn counted, restrictions);
    /// the sandbox built for it counts into this one. Clones share it.
    pub fn sandbox_meter(&self, account_id: &str) -> Arc<SandboxMeter> {
        self.meters.lock().unwrap_or_else(|p| p.into_inner()).entry(account_id.to_owned()).or_default().clone()
    }

    /// The keyring that opens (and seals) the seats' provider secrets.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The provider for `account`'s background work: every read is charged against the
    /// seat's budgets and waits for its working hours ([`Governed`]).
    pub fn provider(&self, account: &LinkedInAccount) -> Result<SharedLinkedIn, LinkedInError> {
        self.governed(account, Urgency::Background)
    }

    /// The provider for a request someone is waiting on: budgets apply, working hours do not.
    pub fn interactive(&self, account: &LinkedInAccount) -> Result<SharedLinkedIn, LinkedInError> {
        self.governed(account, Urgency::Interactive)
    }

    fn governed(&self, account: &LinkedInAccount, urgency: Urgency) -> Result<SharedLinkedIn, LinkedInError> {
        let inner = super::metered::Metered::wrap(self.connector(account)?, account.provider);
        if !self.governed {
            return Ok(inner);
        }
        Ok(Arc::new(Governed::new(inner, self.store.clone(), self.clock.clone(), account.clone(), urgency)))
    }

    /// The connector itself, built once per version of the account row.
    fn connector(&self, account: &LinkedInAccount) -> Result<SharedLinkedIn, LinkedInError> {
        if let Some(p) = self.fixed.lock().unwrap_or_else(|p| p.into_inner()).get(&account.id) {
            return Ok(p.clone());
        }
        let version = account.updated_at.as_millis();
        if let Some((v, p)) = self.providers.lock().unwrap_or_else(|p| p.into_inner()).get(&account.id)
            && *v == version
        {
            return Ok(p.clone());
        }
        let provider: SharedLinkedIn = match account.provider {
            ProviderKind::Sandbox => {
                let config: SandboxConfig = serde_json::from_str(&account.provider_settings)
                    .map_err(|e| LinkedInError::InvalidInput(format!("sandbox settings: {e}")))?;
                Arc::new(Sandbox::with_meter(
                    &account.id,
                    config,
                    self.clock.clone(),
                    Arc::new(StoreJournal::new(self.store.clone())),
                    self.sandbox_meter(&account.id),
                ))
            }
            ProviderKind::Unipile => {
                let config: UnipileSettings = serde_json::from_str(&account.provider_settings)
                    .map_err(|e| LinkedInError::InvalidInput(format!("unipile settings: {e}")))?;
                let api_key = self.unipile_api_key(account, &config.api_key)?;
                Arc::new(UnipileLinkedIn::new(UnipileConfig {
                    base_url: config.base_url,
                    api_key,
                    account_id: config.account_id,
                })?)
            }
        };
        self.providers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.id.clone(), (version, provider.clone()));
        Ok(provider)
    }

    /// The seat's Unipile API key, opened; a key that does not open is our credentials failing.
    fn unipile_api_key(&self, account: &LinkedInAccount, stored: &str) -> Result<String, LinkedInError> {
        if !Keyring::is_sealed(stored) {
            tracing::warn!(
                account = %account.id,
                "the seat's Unipile API key is stored unencrypted: set {SECRET_KEY_ENV} and run `sonarly linkedin rotate-secrets`"
            );
        }
        self.keyring.open(stored).map_err(|e| {
            tracing::error!(account = %account.id, error = %e, "the seat's Unipile API key cannot be opened");
            LinkedInError::Unauthorized(format!("the seat's stored Unipile API key: {e}"))
        })
    }
}

/// The Unipile account id of a Unipile-driven account (webhooks name it), or
/// `None` for other providers and unreadable settings.
pub fn unipile_account_id(account: &LinkedInAccount) -> Option<String> {
    if account.provider != ProviderKind::Unipile {
        return None;
    }
    serde_json::from_str::<UnipileSettings>(&account.provider_settings).ok().map(|s| s.account_id)
}

/// How Unipile settings are stored in `provider_settings`.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UnipileSettings {
    pub base_url: String,
    pub api_key: String,
    pub account_id: String,
}
