//! Sealing the provider secrets stored in account rows with the server's current key
//! (`sonarly linkedin rotate-secrets`): after a key rotation, and for keys stored in
//! plaintext before sealing existed.

use crate::{AppResult, StoreResultExt};
use sonarly_domain::clock::Clock;
use sonarly_domain::linkedin_account::ProviderKind;
use sonarly_domain::secrets::Keyring;
use sonarly_store::Store;

/// What a re-seal did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResealReport {
    /// Unipile seats whose key is now sealed with the current key, having not been before.
    pub resealed: usize,
    /// Unipile seats whose key already was.
    pub current: usize,
    /// Seats whose key could not be opened (or whose settings are unreadable), with why;
    /// they are left as they were.
    pub failed: Vec<(String, String)>,
}

/// Seals every stored Unipile API key with `keyring`'s current key, opening it with the
/// current or the previous key (or as plaintext). A row edited meanwhile is left alone and
/// counted as failed (run again). Needs a keyring that can seal.
pub async fn reseal_provider_secrets(store: &Store, clock: &dyn Clock, keyring: &Keyring) -> AppResult<ResealReport> {
    let mut report = ResealReport::default();
    for account in store.system().all_linkedin_accounts().await.or_internal()? {
        if account.provider != ProviderKind::Unipile {
            continue;
        }
        let resealed = reseal_settings(&account.provider_settings, keyring);
        match resealed {
            Ok(None) => report.current += 1,
            Ok(Some(settings)) => {
                let changed = store
                    .replace_linkedin_provider_settings(&account.id, &account.provider_settings, &settings, clock.now())
                    .await
                    .or_internal()?;
                if changed {
                    report.resealed += 1;
                } else {
                    report.failed.push((account.id, "the seat changed meanwhile; run again".into()));
                }
            }
            Err(why) => report.failed.push((account.id, why)),
        }
    }
    Ok(report)
}

/// The settings with their `apiKey` sealed with the current key, `None` when it already
/// is. Every other field is kept as it is.
fn reseal_settings(settings: &str, keyring: &Keyring) -> Result<Option<String>, String> {
    let mut json: serde_json::Value =
        serde_json::from_str(settings).map_err(|e| format!("unreadable settings: {e}"))?;
    let stored = json.get("apiKey").and_then(|k| k.as_str()).ok_or("the settings hold no Unipile API key")?;
    if !keyring.needs_reseal(stored) {
        return Ok(None);
    }
    let secret = keyring.open(stored).map_err(|e| e.to_string())?;
    let sealed = keyring.seal(&secret).map_err(|e| e.to_string())?;
    json["apiKey"] = serde_json::Value::String(sealed);
    serde_json::to_string(&json).map(Some).map_err(|e| e.to_string())
}
