//! The seat health check: one queue row per seat. A seat that cannot act
//! (`needs_action`, `disconnected`) asks the provider how it is every 10 to
//! 20 minutes (Unipile: `GET /accounts/{id}`, no LinkedIn call) and resumes
//! on its own, through `recovering`, when the provider says OK; a webhook
//! saying OK gets there sooner. A `recovering` seat becomes `connected` once
//! its recovery day is over. A seat that acts costs nothing here: its row
//! just comes back every hour.

use crate::{Engine, jitter};
use sonarly_app::linkedin::seat::{set_status, status_for_health};
use sonarly_domain::linkedin_account::{AccountStatus, RECOVERY_MS};
use sonarly_store::{SEAT_HEALTH_WORK, StoreError, WorkItem};

/// How often a seat that cannot act asks the provider how it is.
const PROBE_MS: (i64, i64) = (10 * 60_000, 20 * 60_000);
/// How often the row of a seat that acts comes back (to notice it stopped acting).
const IDLE_MS: i64 = 3_600_000;

impl Engine {
    /// Queues a health row for each seat that has none.
    pub(crate) async fn queue_missing_health_checks(&self) {
        let now = self.now();
        match self.store.system().accounts_without_work(SEAT_HEALTH_WORK).await {
            Ok(missing) => {
                for (account_id, group_id) in missing {
                    if let Err(e) = self.store.ensure_work(SEAT_HEALTH_WORK, &account_id, &group_id, now).await {
                        tracing::warn!(account = %account_id, error = %e, "cannot queue the seat health check");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list seats without a health check"),
        }
    }

    /// One health check of one seat.
    pub(crate) async fn check_seat(&self, item: &WorkItem) -> Result<(), StoreError> {
        let now = self.now();
        let Some(account) = self.store.system().linkedin_account(&item.ref_id).await? else {
            self.store.finish_work(item).await?; // the seat was removed
            return Ok(());
        };
        let probe_at = now.plus_millis(jitter(&account.id, now, PROBE_MS.0, PROBE_MS.1));
        match account.status {
            AccountStatus::Connected => {
                self.store.release_work(item, now.plus_millis(IDLE_MS), None, true).await?;
            }
            AccountStatus::Recovering => {
                let over = account.status_changed_at.plus_millis(RECOVERY_MS);
                if now >= over {
                    set_status(&self.store, &account, AccountStatus::Connected, "recovery day over", now).await?;
                    self.store.release_work(item, now.plus_millis(IDLE_MS), None, true).await?;
                } else {
                    self.store.release_work(item, over.min(now.plus_millis(IDLE_MS)), None, true).await?;
                }
            }
            // Just stopped: give the owner (and the provider) the first interval before asking,
            // so a fresh status is not flipped back by a stale answer.
            AccountStatus::NeedsAction | AccountStatus::Disconnected
                if now < account.status_changed_at.plus_millis(PROBE_MS.0) =>
            {
                let first = account.status_changed_at.plus_millis(PROBE_MS.0);
                self.store.release_work(item, first, None, true).await?;
            }
            AccountStatus::NeedsAction | AccountStatus::Disconnected => {
                let provider = match self.registry.provider(&account) {
                    Ok(p) => p,
                    Err(e) => {
                        self.store.release_work(item, probe_at, Some(e.reason_code()), false).await?;
                        return Ok(());
                    }
                };
                match provider.seat_health().await {
                    Ok(health) => {
                        if let Some(next) = status_for_health(account.status, &health) {
                            let why = format!("the provider reports {health:?}");
                            set_status(&self.store, &account, next, &why, now).await?;
                        }
                        self.store.release_work(item, probe_at, None, true).await?;
                    }
                    Err(e) => {
                        tracing::info!(account = %account.id, error = %e, "seat health unknown; asking again later");
                        self.store.release_work(item, probe_at, Some(e.reason_code()), false).await?;
                    }
                }
            }
        }
        Ok(())
    }
}
