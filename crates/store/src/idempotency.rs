//! Idempotent creation, one mechanism for every resource created under an
//! Idempotency-Key (scheduled responses, prospecting jobs, signal scans).
//!
//! The key lives on the resource, unique per account group. A creation
//! first looks, inside its transaction, for the resource created under the
//! same key: within the window ([`sonarly_domain::idempotency::WINDOW_MS`])
//! it is returned instead of creating anything; an older one gives its key
//! up. Two concurrent creations with one key race on the unique index: the
//! loser rolls back and looks again, finding the winner's resource. After
//! [`CREATE_ATTEMPTS`] lost races the creation answers
//! [`StoreError::Contended`] (retryable) rather than guessing.

use crate::{StoreError, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::idempotency::within_window;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

/// Tries of a keyed creation before it gives up on a race it cannot resolve.
pub(crate) const CREATE_ATTEMPTS: usize = 3;

/// The tables whose rows carry an Idempotency-Key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyed {
    Responses,
    ProspectingJobs,
    SignalScans,
}

impl Keyed {
    /// The resource created under a key in a group.
    const fn select_sql(self) -> &'static str {
        match self {
            Self::Responses => "SELECT * FROM scheduled_responses WHERE group_id = $1 AND idempotency_key = $2",
            Self::ProspectingJobs => "SELECT * FROM prospecting_jobs WHERE group_id = $1 AND idempotency_key = $2",
            Self::SignalScans => "SELECT * FROM signal_scans WHERE group_id = $1 AND idempotency_key = $2",
        }
    }

    /// Gives an expired key up.
    const fn release_sql(self) -> &'static str {
        match self {
            Self::Responses => {
                "UPDATE scheduled_responses SET idempotency_key = NULL WHERE group_id = $1 AND idempotency_key = $2"
            }
            Self::ProspectingJobs => {
                "UPDATE prospecting_jobs SET idempotency_key = NULL WHERE group_id = $1 AND idempotency_key = $2"
            }
            Self::SignalScans => {
                "UPDATE signal_scans SET idempotency_key = NULL WHERE group_id = $1 AND idempotency_key = $2"
            }
        }
    }

    const fn what(self) -> &'static str {
        match self {
            Self::Responses => "scheduled response",
            Self::ProspectingJobs => "prospecting job",
            Self::SignalScans => "signal scan",
        }
    }

    /// The answer when every try lost its race.
    pub(crate) fn contended(self) -> StoreError {
        StoreError::Contended(format!("concurrent creations of a {} with one Idempotency-Key", self.what()))
    }
}

/// Inside a creating transaction: the resource created under `key` in the
/// group that still answers for it (replay it), or `None` (create), after an
/// expired one gave its key up.
pub(crate) async fn keyed_in<T>(
    tx: &mut Transaction<'static, Any>,
    keyed: Keyed,
    group_id: &GroupId,
    key: &str,
    now: Timestamp,
    from_row: fn(&AnyRow) -> Result<T, sqlx::Error>,
    created_at: fn(&T) -> Timestamp,
) -> StoreResult<Option<T>> {
    let row = sqlx::query(keyed.select_sql()).bind(group_id.as_str()).bind(key).fetch_optional(&mut **tx).await?;
    let Some(existing) = row.as_ref().map(from_row).transpose()? else { return Ok(None) };
    if within_window(created_at(&existing), now) {
        return Ok(Some(existing));
    }
    sqlx::query(keyed.release_sql()).bind(group_id.as_str()).bind(key).execute(&mut **tx).await?;
    Ok(None)
}
