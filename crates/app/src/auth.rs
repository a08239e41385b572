//! Authentication of presented API keys, served from an in-process cache.
//!
//! Every API request authenticates, so the lookup by hash (and the key's
//! groups and scopes) is kept in memory ([`KeyCache`]) instead of costing a
//! database round trip each time (docs/decisions.md, "Key cache"):
//! - a revocation made through this process's store takes effect at once
//!   ([`Store::local_key_changes`]);
//! - one made by another instance or by `sonarly keys revoke` moves the
//!   database's authentication epoch, which the cache reads at most every
//!   [`REVALIDATE_EVERY_MS`] (5 s): that is how late another instance may be;
//! - any cached key is reloaded after [`MAX_AGE_MS`] regardless.
//!
//! Only keys that authenticate are cached: an unknown or revoked key costs a
//! lookup each time, as before (and counts against the caller's address).
//! `last_used_at` never costs the request a write: uses are noted in memory
//! and written in one batch at most once a minute, off the request.

use crate::{AppResult, StoreResultExt};
use sonarly_domain::apikey::{hash_key, hashes_match, looks_like_key};
use sonarly_domain::clock::Clock;
use sonarly_domain::models::ApiKey;
use sonarly_domain::{DomainError, ErrorCode, Timestamp};
use sonarly_store::Store;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// How often the cache asks the database whether a key lost access (the
/// authentication epoch): the longest another instance's revocation waits.
pub const REVALIDATE_EVERY_MS: i64 = 5_000;

/// A cached key is reloaded after this long even if nothing signalled a change.
pub const MAX_AGE_MS: i64 = 60_000;

/// Key uses are written at most this often (one batch for all keys).
pub const RECORD_USE_EVERY_MS: i64 = 60_000;

pub fn unauthorized() -> DomainError {
    DomainError::new(ErrorCode::Unauthorized, "The API key is missing, invalid or revoked.")
}

/// Resolves a presented key from the database. Missing, malformed, unknown and
/// revoked keys all answer the same 401, so the answer reveals nothing about
/// which it was.
pub async fn authenticate(store: &Store, presented: &str) -> AppResult<ApiKey> {
    if !looks_like_key(presented) {
        return Err(unauthorized());
    }
    load(store, &hash_key(presented)).await
}

async fn load(store: &Store, hash: &str) -> AppResult<ApiKey> {
    let key = store.find_api_key_by_hash(hash).await.or_internal()?.ok_or_else(unauthorized)?;
    // The row was found by hash equality in SQL; this constant-time check makes
    // the final decision independent of any comparison timing.
    if !hashes_match(&key.key_hash, hash) || key.is_revoked() {
        return Err(unauthorized());
    }
    Ok(key)
}

/// Records use of a key (throttled in the store).
pub async fn record_use(store: &Store, clock: &dyn Clock, key: &ApiKey) -> AppResult<()> {
    store.touch_api_key(&key.id, clock.now()).await.or_internal()
}

/// Authenticated keys by hash, with their groups and scopes (see the module docs).
#[derive(Default)]
pub struct KeyCache {
    state: Mutex<CacheState>,
    /// One epoch check at a time; the others go on with what is cached.
    checking: AtomicBool,
    uses: Mutex<Uses>,
    /// Held while a batch of uses is written: one batch at a time, and a
    /// writer that comes during one waits for it to be committed.
    flushing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct CacheState {
    keys: HashMap<String, Cached>,
    /// Bumped on every clear: a load that began before a clear is not kept.
    generation: u64,
    /// The database epoch the cached keys were loaded under, and when it was read (ms).
    epoch: Option<i64>,
    epoch_checked_at: i64,
    /// [`Store::local_key_changes`] as last seen.
    local_changes: u64,
}

impl CacheState {
    fn clear(&mut self) {
        self.keys.clear();
        self.generation += 1;
    }
}

struct Cached {
    key: Arc<ApiKey>,
    loaded_at: i64,
}

#[derive(Default)]
struct Uses {
    pending: HashMap<String, Timestamp>,
    /// When the last batch was written (ms); `None` before the first.
    written_at: Option<i64>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl KeyCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// [`authenticate`], answered from memory while the key is cached and no
    /// revocation was signalled.
    pub async fn authenticate(&self, store: &Store, clock: &dyn Clock, presented: &str) -> AppResult<Arc<ApiKey>> {
        if !looks_like_key(presented) {
            return Err(unauthorized());
        }
        let hash = hash_key(presented);
        let now = clock.now().as_millis();
        self.revalidate(store, now).await;
        let generation = {
            let mut state = lock(&self.state);
            if let Some(cached) = state.keys.get(&hash) {
                if now - cached.loaded_at < MAX_AGE_MS
                    && now >= cached.loaded_at
                    && hashes_match(&cached.key.key_hash, &hash)
                {
                    return Ok(cached.key.clone());
                }
                state.keys.remove(&hash);
            }
            state.generation
        };
        let key = Arc::new(load(store, &hash).await?);
        let mut state = lock(&self.state);
        if state.generation == generation {
            state.keys.insert(hash, Cached { key: key.clone(), loaded_at: now });
        }
        Ok(key)
    }

    /// Drops every cached key when this process revoked one, or when the
    /// database's epoch moved (read at most every [`REVALIDATE_EVERY_MS`]).
    async fn revalidate(&self, store: &Store, now: i64) {
        let due = {
            let mut state = lock(&self.state);
            let local = store.local_key_changes();
            if local != state.local_changes {
                state.local_changes = local;
                state.clear();
            }
            state.epoch.is_none() || now - state.epoch_checked_at >= REVALIDATE_EVERY_MS || now < state.epoch_checked_at
        };
        if !due || self.checking.swap(true, Ordering::AcqRel) {
            return;
        }
        let read = store.auth_epoch().await;
        self.checking.store(false, Ordering::Release);
        match read {
            Ok(epoch) => {
                let mut state = lock(&self.state);
                if state.epoch != Some(epoch) {
                    state.epoch = Some(epoch);
                    state.clear();
                }
                state.epoch_checked_at = now;
            }
            // Unknown: trust nothing cached until the database answers again.
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the authentication epoch; cached keys dropped");
                let mut state = lock(&self.state);
                state.epoch = None;
                state.clear();
            }
        }
    }

    /// Notes that `key_id` was used at `now`. True when a batch is due: the
    /// caller then writes it off the request with [`Self::write_uses`].
    pub fn note_use(&self, key_id: &str, now: Timestamp) -> bool {
        let mut uses = lock(&self.uses);
        uses.pending.insert(key_id.to_owned(), now);
        let due = uses.written_at.is_none_or(|at| now.as_millis() - at >= RECORD_USE_EVERY_MS);
        due && self.flushing.try_lock().is_ok()
    }

    /// Writes the uses noted so far in one batch (at most one batch at a time:
    /// a call during another's batch waits for it, so on return every use
    /// noted before the call is stored).
    pub async fn write_uses(&self, store: &Store, now: Timestamp) -> AppResult<()> {
        let _flushing = self.flushing.lock().await;
        let batch: Vec<(String, Timestamp)> = {
            let mut uses = lock(&self.uses);
            uses.written_at = Some(now.as_millis());
            uses.pending.drain().collect()
        };
        store.touch_api_keys(&batch).await.or_internal()
    }

    /// Keys held (tests and diagnostics).
    pub fn len(&self) -> usize {
        lock(&self.state).keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
