//! Idempotency records (Stripe-style).
//!
//! A record is keyed by (scope, method, path, Idempotency-Key) and holds the
//! hash of the first request's body. It is inserted *before* the handler runs,
//! with a lock deadline, so a concurrent duplicate finds it and does not run;
//! once the handler answers, the response is stored and later retries replay it.
//! A record whose lock expired without a response (the process died) can be
//! taken over by the next retry. Records older than the retention are ignored
//! and purged.

use crate::{Store, StoreResult};
use sonarly_domain::Timestamp;

/// Records are kept (and honoured) this long.
pub const IDEMPOTENCY_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// Identifies one idempotent request.
#[derive(Debug, Clone)]
pub struct IdempotencyRequest<'a> {
    /// The account group the request acts on (or the key id for routes outside a group).
    pub scope_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// What to do with an incoming request that carries an Idempotency-Key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// First time (or a takeover after a crash): run the handler, then `complete`.
    Fresh,
    /// Same key and body already answered: replay this.
    Replay(StoredResponse),
    /// Same key, different body.
    Mismatch,
    /// Same key and body, still being handled elsewhere.
    InProgress,
}

/// (request_hash, response_status, response_body, locked_until, created_at)
type RecordRow = (String, Option<i64>, Option<String>, i64, i64);

impl Store {
    pub async fn idempotency_begin(
        &self,
        req: &IdempotencyRequest<'_>,
        now: Timestamp,
        lock_ms: i64,
    ) -> StoreResult<IdempotencyBegin> {
        // Two rounds at most: the second follows the removal of an expired record.
        for _ in 0..2 {
            let inserted = sqlx::query(
                "INSERT INTO idempotency_records (scope_id, method, path, idem_key, request_hash, \
                 response_status, response_body, locked_until, created_at) \
                 VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(req.scope_id)
            .bind(req.method)
            .bind(req.path)
            .bind(req.key)
            .bind(req.request_hash)
            .bind(now.as_millis() + lock_ms)
            .bind(now.as_millis())
            .execute(&self.writer)
            .await?;
            if inserted.rows_affected() == 1 {
                return Ok(IdempotencyBegin::Fresh);
            }
            let row: Option<RecordRow> = sqlx::query_as(
                "SELECT request_hash, response_status, response_body, locked_until, created_at \
                 FROM idempotency_records WHERE scope_id = $1 AND method = $2 AND path = $3 AND idem_key = $4",
            )
            .bind(req.scope_id)
            .bind(req.method)
            .bind(req.path)
            .bind(req.key)
            .fetch_optional(&self.writer)
            .await?;
            let Some((hash, status, body, locked_until, created_at)) = row else { continue };
            if created_at < now.as_millis() - IDEMPOTENCY_RETENTION_MS {
                sqlx::query(
                    "DELETE FROM idempotency_records WHERE scope_id = $1 AND method = $2 AND path = $3 \
                     AND idem_key = $4 AND created_at = $5",
                )
                .bind(req.scope_id)
                .bind(req.method)
                .bind(req.path)
                .bind(req.key)
                .bind(created_at)
                .execute(&self.writer)
                .await?;
                continue;
            }
            if hash != req.request_hash {
                return Ok(IdempotencyBegin::Mismatch);
            }
            if let (Some(status), Some(body)) = (status, body) {
                let status = u16::try_from(status).unwrap_or(500);
                return Ok(IdempotencyBegin::Replay(StoredResponse { status, body }));
            }
            if locked_until > now.as_millis() {
                return Ok(IdempotencyBegin::InProgress);
            }
            // The first attempt died without answering; whoever moves the lock first takes over.
            let taken = sqlx::query(
                "UPDATE idempotency_records SET locked_until = $5 WHERE scope_id = $1 AND method = $2 \
                 AND path = $3 AND idem_key = $4 AND response_status IS NULL AND locked_until = $6",
            )
            .bind(req.scope_id)
            .bind(req.method)
            .bind(req.path)
            .bind(req.key)
            .bind(now.as_millis() + lock_ms)
            .bind(locked_until)
            .execute(&self.writer)
            .await?;
            return Ok(if taken.rows_affected() == 1 { IdempotencyBegin::Fresh } else { IdempotencyBegin::InProgress });
        }
        Ok(IdempotencyBegin::InProgress)
    }

    /// Stores the response of a request that began `Fresh`.
    pub async fn idempotency_complete(
        &self,
        req: &IdempotencyRequest<'_>,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE idempotency_records SET response_status = $5, response_body = $6 \
             WHERE scope_id = $1 AND method = $2 AND path = $3 AND idem_key = $4",
        )
        .bind(req.scope_id)
        .bind(req.method)
        .bind(req.path)
        .bind(req.key)
        .bind(i64::from(response.status))
        .bind(&response.body)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Forgets a request that began `Fresh` but must not be replayed (it failed
    /// on our side), so a retry runs it again.
    pub async fn idempotency_release(&self, req: &IdempotencyRequest<'_>) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM idempotency_records WHERE scope_id = $1 AND method = $2 AND path = $3 \
             AND idem_key = $4 AND response_status IS NULL",
        )
        .bind(req.scope_id)
        .bind(req.method)
        .bind(req.path)
        .bind(req.key)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Deletes records past retention; returns how many went.
    pub async fn idempotency_purge(&self, now: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM idempotency_records WHERE created_at < $1")
            .bind(now.as_millis() - IDEMPOTENCY_RETENTION_MS)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }
}
