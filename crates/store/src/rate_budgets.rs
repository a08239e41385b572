//! Request budgets shared by every instance on one database (PostgreSQL
//! deployments with several instances): one row per key holding its GCRA
//! state ([`sonarly_domain::budget`]). Instances lease slices of a budget, so
//! a key's limit holds for the whole deployment while the database sees one
//! read and one write per slice, never one per request.

use crate::{Store, StoreError, StoreResult};
use sonarly_domain::budget::{Lease, lease};

/// Attempts before giving a contended lease up (each loses only to another
/// instance's lease of the same key, which made progress).
const ATTEMPTS: usize = 16;

impl Store {
    /// Leases up to `want` requests of `key_id`'s budget of `limit` a minute at
    /// `now_micros` (the deployment's shared clock, microseconds), giving back
    /// `unused` requests of this instance's previous lease. A budget measured
    /// with another limit starts afresh. Compare-and-set on the stored state:
    /// no lock is held, one SQL text serves both backends.
    pub async fn lease_rate_budget(
        &self,
        key_id: &str,
        limit: u32,
        want: u32,
        unused: u32,
        now_micros: i64,
    ) -> StoreResult<Lease> {
        for _ in 0..ATTEMPTS {
            let row: Option<(i64, i64)> =
                sqlx::query_as("SELECT limit_per_minute, tat_micros FROM rate_budgets WHERE key_id = $1")
                    .bind(key_id)
                    .fetch_optional(&self.writer)
                    .await?;
            let done = match row {
                None => {
                    let granted = lease(None, limit, want, 0, now_micros);
                    let inserted = sqlx::query(
                        "INSERT INTO rate_budgets (key_id, limit_per_minute, tat_micros) VALUES ($1, $2, $3) \
                         ON CONFLICT (key_id) DO NOTHING",
                    )
                    .bind(key_id)
                    .bind(i64::from(limit))
                    .bind(granted.tat)
                    .execute(&self.writer)
                    .await?;
                    (inserted.rows_affected() == 1).then_some(granted)
                }
                Some((stored_limit, tat)) => {
                    let same_limit = stored_limit == i64::from(limit);
                    let granted = if same_limit {
                        lease(Some(tat), limit, want, unused, now_micros)
                    } else {
                        lease(None, limit, want, 0, now_micros)
                    };
                    if same_limit && granted.tat == tat {
                        // A refusal with nothing given back: nothing to write.
                        Some(granted)
                    } else {
                        let updated = sqlx::query(
                            "UPDATE rate_budgets SET limit_per_minute = $2, tat_micros = $3 \
                             WHERE key_id = $1 AND limit_per_minute = $4 AND tat_micros = $5",
                        )
                        .bind(key_id)
                        .bind(i64::from(limit))
                        .bind(granted.tat)
                        .bind(stored_limit)
                        .bind(tat)
                        .execute(&self.writer)
                        .await?;
                        (updated.rows_affected() == 1).then_some(granted)
                    }
                }
            };
            if let Some(granted) = done {
                return Ok(granted);
            }
        }
        Err(StoreError::Contended(format!("the request budget of key {key_id} kept changing")))
    }
}
