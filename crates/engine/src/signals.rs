//! The signal scan runner: one batch of prospects per step.
//!
//! A step claims the scan's queue row, reads the recent activity of the next
//! pending prospects through the scan's LinkedIn account (outside any
//! transaction), scores each item against the scan's copy of the
//! specification, and records the batch in one transaction guarded by the
//! lease. A crash before that commit loses only the batch's reads (they are
//! done again, with the same result); after it, the prospects are marked done
//! and are never evaluated twice by the scan.

use crate::Engine;
use crate::worker::Next;
use sonarly_domain::prospecting::JobStatus;
use sonarly_domain::signals::{Activity, SignalScan, SpecTerms, scored_item, specification_from_snapshot};
use sonarly_linkedin::{ActivityItem, LinkedInError};
use sonarly_store::{ProspectOutcome, StoreError, WorkItem};

/// Prospects evaluated per step.
pub(crate) const SCAN_BATCH: i64 = 10;

fn activity(item: &ActivityItem) -> Activity<'_> {
    Activity {
        source: item.source,
        id: &item.id,
        title: item.title.as_deref(),
        text: &item.text,
        occurred_at: item.occurred_at,
        post_link: item.post_link.as_deref(),
        total_likes: item.total_likes,
        total_comments: item.total_comments,
        reply_summary: item.reply_summary.as_deref(),
        comment_link: item.comment_link.as_deref(),
        job_url: item.job_url.as_deref(),
        company_name: item.company_name.as_deref(),
    }
}

impl Engine {
    /// Evaluates a claimed scan's next batch of prospects.
    pub(crate) async fn advance_scan(&self, item: &WorkItem) -> Result<Next, StoreError> {
        let Some(scan) = self.store.begin_scan_run(item, self.now(), self.lease_until()).await? else {
            return Ok(Next::Ended); // lease lost: someone else has it
        };
        if scan.status != JobStatus::Running {
            self.store.finish_work(item).await?;
            return Ok(Next::Ended);
        }
        let Ok(spec) = specification_from_snapshot(&scan.group_id, &scan.specification_snapshot) else {
            return self
                .fail_scan(item, &scan, "INVALID_SPECIFICATION", "The scan's specification could not be read.")
                .await;
        };
        let terms = SpecTerms::new(&spec);
        let pending = self.store.system().pending_scan_prospects(&scan.id, SCAN_BATCH).await?;
        if pending.is_empty() {
            self.store.end_signal_scan(item, &scan, JobStatus::Completed, None, self.now()).await?;
            tracing::info!(scan = %scan.id, evaluated = scan.evaluated_count, signals = scan.signal_count, "signal scan completed");
            return Ok(Next::Ended);
        }
        let account = match self.store.system().linkedin_account(&scan.linkedin_account_id).await? {
            Some(account) if account.status.can_act() => account,
            Some(_) => {
                return self
                    .fail_scan(
                        item,
                        &scan,
                        "ACCOUNT_DISCONNECTED",
                        "The LinkedIn account running this scan is disconnected.",
                    )
                    .await;
            }
            None => {
                return self
                    .fail_scan(item, &scan, "ACCOUNT_MISSING", "The LinkedIn account running this scan was removed.")
                    .await;
            }
        };
        let provider = match self.registry.provider(&account) {
            Ok(p) => p,
            Err(e) => return self.fail_scan(item, &scan, e.reason_code(), &e.to_string()).await,
        };
        let mut outcomes: Vec<(String, ProspectOutcome)> = Vec::with_capacity(pending.len());
        let mut stop: Option<LinkedInError> = None;
        for prospect in pending {
            let identifier = prospect.member_id.as_deref().unwrap_or(&prospect.provider_id);
            match provider.recent_activity(identifier).await {
                Ok(activity_items) => {
                    let now = self.now();
                    let scored = activity_items
                        .iter()
                        .filter(|a| terms.wants(a.source) && a.occurred_at <= now)
                        .map(|a| scored_item(&terms, &activity(a), now))
                        .collect();
                    outcomes.push((prospect.id, ProspectOutcome::Evaluated(scored)));
                }
                Err(LinkedInError::NotReachable(_) | LinkedInError::NotFound(_) | LinkedInError::InvalidInput(_)) => {
                    outcomes.push((prospect.id, ProspectOutcome::Skipped));
                }
                Err(e) => {
                    stop = Some(e);
                    break;
                }
            }
        }
        // Keep what this batch read before any failure.
        if !outcomes.is_empty()
            && !self.store.record_scan_batch(item, &scan, &outcomes, self.now(), self.lease_until()).await?
        {
            return Ok(Next::Ended); // cancelled or taken over; the batch was rolled back
        }
        match stop {
            None => Ok(Next::Continue),
            Some(e) if e.is_retryable() => Ok(Next::Retry(e)),
            Some(e) => self.fail_scan(item, &scan, e.reason_code(), &e.to_string()).await,
        }
    }

    async fn fail_scan(
        &self,
        item: &WorkItem,
        scan: &SignalScan,
        code: &str,
        message: &str,
    ) -> Result<Next, StoreError> {
        tracing::warn!(scan = %scan.id, code, reason = message, "signal scan failed");
        self.store.end_signal_scan(item, scan, JobStatus::Failed, Some((code, message)), self.now()).await?;
        Ok(Next::Ended)
    }
}
