//! The seat's profile cache (`profile_cache`): what a seat recently read of a
//! LinkedIn profile (the profile itself, or an email lookup), kept for days so
//! the same profile is not fetched twice from LinkedIn, where every retrieval
//! costs the seat part of its daily budget. The body is opaque here (JSON the
//! governor writes and reads); this module owns the table and its expiry.

use crate::{Store, StoreResult};
use sonarly_domain::Timestamp;

/// One remembered read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedRead {
    pub body: String,
    pub fetched_at: Timestamp,
}

impl Store {
    /// The seat's read of `kind` for `identifier`, if fetched at or after `fresh_since`.
    pub async fn cached_read(
        &self,
        account_id: &str,
        kind: &str,
        identifier: &str,
        fresh_since: Timestamp,
    ) -> StoreResult<Option<CachedRead>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT body, fetched_at FROM profile_cache WHERE linkedin_account_id = $1 AND kind = $2 \
             AND identifier = $3 AND fetched_at >= $4",
        )
        .bind(account_id)
        .bind(kind)
        .bind(identifier)
        .bind(fresh_since.as_millis())
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.map(|(body, at)| CachedRead { body, fetched_at: Timestamp::from_millis(at) }))
    }

    /// Remembers the seat's read of `kind` for each of `identifiers` (a profile is known by
    /// its slug and its member id), and forgets the seat's reads fetched before `expired_before`.
    pub async fn remember_read(
        &self,
        account_id: &str,
        kind: &str,
        identifiers: &[&str],
        body: &str,
        now: Timestamp,
        expired_before: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM profile_cache WHERE linkedin_account_id = $1 AND fetched_at < $2")
            .bind(account_id)
            .bind(expired_before.as_millis())
            .execute(&mut *tx)
            .await?;
        for identifier in identifiers {
            sqlx::query(
                "INSERT INTO profile_cache (linkedin_account_id, kind, identifier, body, fetched_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (linkedin_account_id, kind, identifier) DO UPDATE \
                 SET body = excluded.body, fetched_at = excluded.fetched_at",
            )
            .bind(account_id)
            .bind(kind)
            .bind(*identifier)
            .bind(body)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
