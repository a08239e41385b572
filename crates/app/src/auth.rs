//! Authentication of presented API keys.

use crate::{AppResult, StoreResultExt};
use sonarly_domain::apikey::{hash_key, hashes_match, looks_like_key};
use sonarly_domain::clock::Clock;
use sonarly_domain::models::ApiKey;
use sonarly_domain::{DomainError, ErrorCode};
use sonarly_store::Store;

pub fn unauthorized() -> DomainError {
    DomainError::new(ErrorCode::Unauthorized, "The API key is missing, invalid or revoked.")
}

/// Resolves a presented key. Missing, malformed, unknown and revoked keys all
/// answer the same 401, so the answer reveals nothing about which it was.
pub async fn authenticate(store: &Store, presented: &str) -> AppResult<ApiKey> {
    if !looks_like_key(presented) {
        return Err(unauthorized());
    }
    let hash = hash_key(presented);
    let key = store.find_api_key_by_hash(&hash).await.or_internal()?.ok_or_else(unauthorized)?;
    // The row was found by hash equality in SQL; this constant-time check makes
    // the final decision independent of any comparison timing.
    if !hashes_match(&key.key_hash, &hash) || key.is_revoked() {
        return Err(unauthorized());
    }
    Ok(key)
}

/// Records use of a key (throttled in the store).
pub async fn record_use(store: &Store, clock: &dyn Clock, key: &ApiKey) -> AppResult<()> {
    store.touch_api_key(&key.id, clock.now()).await.or_internal()
}
