//! The system view: the few reads that find a group-owned row by its id alone,
//! across every group.
//!
//! Everything else on [`Store`] that reads or writes a group's rows takes the
//! [`GroupId`](sonarly_domain::GroupId) first, so a use case serving an API
//! request cannot reach another group's data by passing a bare id. The engine's
//! workers, however, start from a work row (which names a seat, a campaign
//! instance or a scan, not a caller), and the LinkedIn webhook ingress starts
//! from the seat id in its URL and proves the caller with the seat's secret.
//! Those callers, and only those, use `store.system()`: the name makes every
//! such read visible at the call site (as svix separates `secure_find(org_id)`
//! from plain finds), and a reviewer can grep for it. The operator's keyring
//! rotation (every seat's secrets) and the metrics scrape (seat states) are the
//! other callers. The rows are owned by their modules; this view only names
//! the cross-group entry points.

use crate::{Store, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::campaign::WorkflowInstance;
use sonarly_domain::linkedin_account::LinkedInAccount;
use sonarly_domain::prospecting::Prospect;

/// Cross-group reads for workers and the webhook ingress (see the module doc).
#[derive(Clone, Copy)]
pub struct System<'a>(&'a Store);

impl Store {
    /// The cross-group view: for the engine's workers and the webhook ingress
    /// only, never for a use case that serves a group's API request.
    pub fn system(&self) -> System<'_> {
        System(self)
    }
}

impl System<'_> {
    /// A LinkedIn seat by id alone (a work row or a webhook URL names it).
    pub async fn linkedin_account(&self, id: &str) -> StoreResult<Option<LinkedInAccount>> {
        self.0.find_linkedin_account(id).await
    }

    /// Every seat of every group, oldest first (keyring rotation, workers).
    pub async fn all_linkedin_accounts(&self) -> StoreResult<Vec<LinkedInAccount>> {
        self.0.all_linkedin_accounts().await
    }

    /// Connected seats (id, group) with no `kind` row queued.
    pub async fn accounts_without_work(&self, kind: &str) -> StoreResult<Vec<(String, GroupId)>> {
        self.0.accounts_without_work(kind).await
    }

    /// Every seat's stored status and whether a pause or LinkedIn's slow-down holds
    /// it at `now`: (seat id, status, limited), for the metrics scrape.
    pub async fn seat_states(&self, now: sonarly_domain::Timestamp) -> StoreResult<Vec<(String, String, bool)>> {
        self.0.seat_states(now).await
    }

    /// A campaign's workflow instance by id (the executor's lookup from a work row).
    pub async fn campaign_instance(&self, instance_id: &str) -> StoreResult<Option<WorkflowInstance>> {
        self.0.find_instance(instance_id).await
    }

    /// The next prospects of a scan still waiting for evaluation, in scan order.
    pub async fn pending_scan_prospects(&self, scan_id: &str, limit: i64) -> StoreResult<Vec<Prospect>> {
        self.0.pending_scan_prospects(scan_id, limit).await
    }
}
