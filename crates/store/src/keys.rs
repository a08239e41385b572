//! API keys: stored as SHA-256 hashes only, with the groups each key can reach.
//!
//! Instances cache authenticated keys (`sonarly_app::auth::KeyCache`), so
//! every change that must end a key's access (a revocation today) goes with a
//! signal: it bumps the one-row `auth_epoch` in the same transaction, which
//! every instance on the database reads every few seconds, and this handle's
//! own change counter, which caches in this process see at once.

use crate::{Store, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::models::ApiKey;
use sonarly_domain::scope::ScopeSet;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::sync::atomic::Ordering;

const KEY_COLUMNS: &str =
    "id, name, display_prefix, key_hash, scopes, rate_limit_per_minute, revoked_at, last_used_at, created_at";

/// `last_used_at` is refreshed at most this often, so authentication does not
/// turn every read request into a write.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

fn key_from_row(row: &AnyRow, group_ids: Vec<String>) -> Result<ApiKey, sqlx::Error> {
    let scopes: String = row.try_get("scopes")?;
    let rate: i64 = row.try_get("rate_limit_per_minute")?;
    Ok(ApiKey {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        display_prefix: row.try_get("display_prefix")?,
        key_hash: row.try_get("key_hash")?,
        // Stored scopes were validated on write; an unknown one (from a newer
        // version, say) is dropped rather than granted.
        scopes: ScopeSet::parse(&scopes).unwrap_or_default(),
        group_ids: group_ids.into_iter().map(GroupId::new).collect(),
        rate_limit_per_minute: u32::try_from(rate).unwrap_or(u32::MAX),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(Timestamp::from_millis),
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(Timestamp::from_millis),
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

impl Store {
    /// Inserts a key and its group grants in one transaction.
    pub async fn insert_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO api_keys (id, name, display_prefix, key_hash, scopes, rate_limit_per_minute, \
             revoked_at, last_used_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7)",
        )
        .bind(&key.id)
        .bind(&key.name)
        .bind(&key.display_prefix)
        .bind(&key.key_hash)
        .bind(key.scopes.to_storage())
        .bind(i64::from(key.rate_limit_per_minute))
        .bind(key.created_at.as_millis())
        .execute(&mut *tx)
        .await?;
        for group_id in &key.group_ids {
            sqlx::query("INSERT INTO api_key_groups (key_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(&key.id)
                .bind(group_id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn key_groups(&self, key_id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT group_id FROM api_key_groups WHERE key_id = $1 ORDER BY group_id")
            .bind(key_id)
            .fetch_all(&self.reader)
            .await?)
    }

    /// Looks a key up by the hash of what the client presented.
    pub async fn find_api_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKey>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1")))
            .bind(key_hash)
            .fetch_optional(&self.reader)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get("id")?;
        let groups = self.key_groups(&id).await?;
        Ok(Some(key_from_row(&row, groups)?))
    }

    pub async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, id")))
                .fetch_all(&self.reader)
                .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id")?;
            let groups = self.key_groups(&id).await?;
            keys.push(key_from_row(row, groups)?);
        }
        Ok(keys)
    }

    /// Revokes a key; false when no such key exists. Revoking twice is harmless.
    /// Bumps the authentication epoch with it, so every instance's key cache
    /// lets the key go (at once here, within seconds elsewhere).
    pub async fn revoke_api_key(&self, key_id: &str, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
            .bind(key_id)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 1 {
            sqlx::query("UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1").execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.key_changes.fetch_add(1, Ordering::SeqCst);
        Ok(done.rows_affected() == 1)
    }

    /// The authentication epoch: it moves whenever a key loses access, on
    /// whichever instance (or `sonarly keys` command) made the change.
    pub async fn auth_epoch(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT epoch FROM auth_epoch WHERE id = 1").fetch_one(&self.reader).await?)
    }

    /// How many key changes went through this handle (and its clones): a
    /// cheap, in-process signal for key caches.
    pub fn local_key_changes(&self) -> u64 {
        self.key_changes.load(Ordering::SeqCst)
    }

    /// Records that keys were used (key id, last use), each at most once a
    /// minute: one transaction for the whole batch.
    pub async fn touch_api_keys(&self, uses: &[(String, Timestamp)]) -> StoreResult<()> {
        if uses.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await?;
        for (key_id, at) in uses {
            sqlx::query(
                "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
            )
            .bind(key_id)
            .bind(at.as_millis())
            .bind(at.as_millis() - LAST_USED_GRANULARITY_MS)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records that a key was used, at most once per minute per key.
    pub async fn touch_api_key(&self, key_id: &str, now: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(key_id)
        .bind(now.as_millis())
        .bind(now.as_millis() - LAST_USED_GRANULARITY_MS)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
