//! One worker abstraction for every queue kind the engine drains step by step.
//!
//! A [`Worker`] names its queue kind, how many rows one claim takes, and how
//! long a row waits after a storage failure; one loop
//! ([`Engine::step_worker`]) claims, runs and, on a storage failure, gives
//! the row back. A worker's step does one bounded piece of work on one
//! claimed row and ends the claim itself (finish, release to a later time,
//! or hand it on) in the transaction that records its result. Adding a job
//! is a variant here and a file with its step.
//!
//! Webhook deliveries run concurrently beside these workers (`webhooks`)
//! and share the claim ([`Engine::claim`]).

use crate::{Engine, backoff_ms};
use sonarly_domain::Timestamp;
use sonarly_linkedin::LinkedInError;
use sonarly_store::{
    CAMPAIGN_WORK, INBOX_SYNC_WORK, OUTBOUND_WORK, PROSPECTING_WORK, SEAT_HEALTH_WORK, SIGNAL_SCAN_WORK, StoreError,
    WITHDRAWAL_WORK, WorkItem,
};

/// The queue workers, in the order one engine step runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Worker {
    /// One page of a prospecting job.
    Prospecting,
    /// One scheduled response.
    Outbound,
    /// One step of a lead's campaign workflow.
    Campaign,
    /// One batch of a signal scan.
    Signals,
    /// One inbox sync pass of an account.
    Inbox,
    /// One health check of a seat.
    Health,
    /// One stale invitation of a seat withdrawn (after the sends: they go first).
    Withdrawals,
}

impl Worker {
    pub(crate) const ALL: [Worker; 7] = [
        Worker::Health,
        Worker::Prospecting,
        Worker::Outbound,
        Worker::Campaign,
        Worker::Signals,
        Worker::Inbox,
        Worker::Withdrawals,
    ];

    /// The queue kind of the worker's rows.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Worker::Prospecting => PROSPECTING_WORK,
            Worker::Outbound => OUTBOUND_WORK,
            Worker::Campaign => CAMPAIGN_WORK,
            Worker::Signals => SIGNAL_SCAN_WORK,
            Worker::Inbox => INBOX_SYNC_WORK,
            Worker::Health => SEAT_HEALTH_WORK,
            Worker::Withdrawals => WITHDRAWAL_WORK,
        }
    }

    /// Rows claimed per step: one for long steps, a batch for single actions.
    fn batch(self) -> i64 {
        match self {
            Worker::Outbound | Worker::Campaign => 16,
            Worker::Prospecting | Worker::Signals | Worker::Inbox | Worker::Withdrawals => 1,
            Worker::Health => 8,
        }
    }
}

/// What one step of a resumable job (an import, a scan) decided.
pub(crate) enum Next {
    /// More to do: put the row back, due now.
    Continue,
    /// A retryable provider failure: try again later.
    Retry(LinkedInError),
    /// Done, failed, cancelled or taken over: the row is not ours any more.
    Ended,
}

impl Engine {
    /// Claims up to `limit` due rows of `kind` under a lease until `lease_until`.
    pub(crate) async fn claim(&self, kind: &str, limit: i64, lease_until: Timestamp) -> Vec<WorkItem> {
        match self.store.claim_work(kind, &self.owner, self.now(), lease_until, limit).await {
            Ok(items) => items,
            Err(e) => {
                tracing::warn!(work = kind, error = %e, "cannot claim work");
                Vec::new()
            }
        }
    }

    /// One step of `worker`: claims its due rows and runs each; true when any was claimed.
    /// A step that claimed rows is timed (`sonarly_engine_step_duration_seconds`).
    pub(crate) async fn step_worker(&self, worker: Worker) -> bool {
        let started = std::time::Instant::now();
        let worked = self.claim_and_run(worker).await;
        if worked {
            sonarly_app::metrics::engine_step(worker.kind(), started.elapsed());
        }
        worked
    }

    async fn claim_and_run(&self, worker: Worker) -> bool {
        if worker == Worker::Inbox {
            self.queue_missing_inbox_syncs().await;
        }
        if worker == Worker::Health {
            self.queue_missing_health_checks().await;
        }
        if worker == Worker::Withdrawals {
            self.queue_missing_withdrawals().await;
        }
        let lease_until = self.lease_until();
        let items = self.claim(worker.kind(), worker.batch(), lease_until).await;
        if items.is_empty() {
            return false;
        }
        for item in items {
            if let Err(e) = self.run_item(worker, &item, lease_until).await {
                let at = self.now().plus_millis(self.storage_retry_ms(worker, &item));
                tracing::warn!(work = worker.kind(), item = %item.ref_id, error = %e, retry_at = %at, "step failed on storage; will retry");
                if let Err(e) = self.store.release_work(&item, at, Some("STORAGE"), false).await {
                    tracing::warn!(work = worker.kind(), item = %item.ref_id, error = %e, "could not release the work; its lease will expire");
                }
            }
        }
        true
    }

    async fn run_item(&self, worker: Worker, item: &WorkItem, lease_until: Timestamp) -> Result<(), StoreError> {
        match worker {
            Worker::Prospecting => {
                let next = self.advance_job(item).await?;
                self.end_job_step(item, next).await
            }
            Worker::Signals => {
                let next = self.advance_scan(item).await?;
                self.end_job_step(item, next).await
            }
            Worker::Outbound => self.dispatch(item).await,
            Worker::Campaign => self.run_campaign_step(item).await,
            Worker::Inbox => self.sync_account(item, lease_until).await,
            Worker::Health => self.check_seat(item).await,
            Worker::Withdrawals => self.withdraw_stale(item, lease_until).await,
        }
    }

    /// How long a row waits after a storage failure: the inbox keeps its
    /// rhythm, everything else backs off exponentially.
    fn storage_retry_ms(&self, worker: Worker, item: &WorkItem) -> i64 {
        match worker {
            Worker::Inbox => self.inbox_interval_ms(),
            _ => backoff_ms(item.attempts),
        }
    }

    /// Ends the claim of a resumable job's row the way its step decided.
    async fn end_job_step(&self, item: &WorkItem, next: Next) -> Result<(), StoreError> {
        match next {
            Next::Continue => {
                self.store.release_work(item, self.now(), None, true).await?;
            }
            // Waiting for the seat's budget or hours is no failure: no backoff, no attempt spent.
            Next::Retry(LinkedInError::BudgetSpent { kind, until }) => {
                tracing::info!(work = %item.kind, item = %item.ref_id, kind, resume_at = %until, "waiting for the seat's budget");
                self.store.release_work(item, until, Some("BUDGET_SPENT"), true).await?;
            }
            Next::Retry(e) => {
                let at = match &e {
                    LinkedInError::RateLimited { retry_after: Some(d) } => self.now().plus_millis(d.as_millis() as i64),
                    _ => self.now().plus_millis(backoff_ms(item.attempts)),
                };
                tracing::info!(work = %item.kind, item = %item.ref_id, error = %e, retry_at = %at, "step will be retried");
                self.store.release_work(item, at, Some(e.reason_code()), false).await?;
            }
            Next::Ended => {}
        }
        Ok(())
    }
}
