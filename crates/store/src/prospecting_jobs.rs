//! Prospecting jobs: creation (with the audience they fill and their queue
//! row, in one transaction), reads, cancellation, and the runner's
//! lease-guarded progress writes.

use crate::events::append_in;
use crate::idempotency::{CREATE_ATTEMPTS, Keyed, keyed_in};
use crate::page::{Keyset, ListQuery};
use crate::prospects::{add_to_audience_in, upsert_prospect_in};
use crate::queue::{WorkItem, enqueue_in, finish_in, hold_lease_in, withdraw_in};
use crate::sql::one_of;
use crate::{Store, StoreError, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::events::{EventType, credits_low_data, crosses_credits_low, prospecting_job_data};
use sonarly_domain::models::Audience;
use sonarly_domain::page::PageRequest;
use sonarly_domain::prospecting::{JobStatus, ListType, Prospect, ProspectingJob, SourceType, StageStatus};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

pub const PROSPECTING_WORK: &str = "prospecting";
fn job_from_row(row: &AnyRow) -> Result<ProspectingJob, sqlx::Error> {
    Ok(ProspectingJob {
        id: row.try_get("id")?,
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        name: row.try_get("name")?,
        source_type: one_of(row, "source_type", SourceType::parse)?,
        source: row.try_get("source")?,
        list_type: one_of(row, "list_type", ListType::parse)?,
        max_results: row.try_get("max_results")?,
        search_emails: row.try_get::<i64, _>("search_emails")? != 0,
        status: one_of(row, "status", JobStatus::parse)?,
        audience_id: row.try_get("audience_id")?,
        linkedin_account_id: row.try_get("linkedin_account_id")?,
        import_status: one_of(row, "import_status", StageStatus::parse)?,
        import_done: row.try_get("import_done")?,
        import_target: row.try_get("import_target")?,
        enrichment_status: one_of(row, "enrichment_status", StageStatus::parse)?,
        enrichment_done: row.try_get("enrichment_done")?,
        provider_cursor: row.try_get("provider_cursor")?,
        pages_fetched: row.try_get("pages_fetched")?,
        credits_charged: row.try_get("credits_charged")?,
        error_code: row.try_get("error_code")?,
        error_message: row.try_get("error_message")?,
        idempotency_key: row.try_get("idempotency_key")?,
        request_hash: row.try_get("request_hash")?,
        cancel_requested: row.try_get::<i64, _>("cancel_requested")? != 0,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

/// What creating a job did.
#[derive(Debug, Clone, PartialEq)]
pub enum JobCreation {
    Created(ProspectingJob),
    /// A job with this Idempotency-Key already exists (within 24 h).
    Existing(ProspectingJob),
}

/// Why an import page stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStop {
    InsufficientCredits,
    QuotaExhausted,
}

/// What one import page did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageOutcome {
    pub added: i64,
    pub stop: Option<ImportStop>,
}

/// The inputs of one import page.
pub struct ImportPage<'a> {
    pub job: &'a ProspectingJob,
    pub prospects: &'a [Prospect],
    pub next_cursor: Option<&'a str>,
    pub period_start: Timestamp,
    pub quota_limit: i64,
    pub now: Timestamp,
    pub lease_until: Timestamp,
}

async fn job_in(
    tx: &mut Transaction<'static, Any>,
    group_id: &GroupId,
    id: &str,
) -> StoreResult<Option<ProspectingJob>> {
    let row = sqlx::query("SELECT * FROM prospecting_jobs WHERE group_id = $1 AND id = $2")
        .bind(group_id.as_str())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.as_ref().map(job_from_row).transpose()?)
}

/// The group's credit balance, inside a transaction (0 for a vanished group).
async fn group_credits_in(tx: &mut Transaction<'static, Any>, group_id: &GroupId) -> StoreResult<i64> {
    let credits: Option<i64> = sqlx::query_scalar("SELECT credits FROM account_groups WHERE id = $1")
        .bind(group_id.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(credits.unwrap_or(0))
}

/// Makes the job's audience visible (no longer being filled).
async fn release_audience_in(
    tx: &mut Transaction<'static, Any>,
    job: &ProspectingJob,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query("UPDATE audiences SET filling_job_id = NULL, updated_at = $3 WHERE id = $1 AND filling_job_id = $2")
        .bind(&job.audience_id)
        .bind(&job.id)
        .bind(now.as_millis())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Creates the job, the audience it fills and its queue row atomically.
    /// With an Idempotency-Key, a job created under the same key in the last
    /// 24 hours is returned instead (concurrent duplicates included).
    pub async fn create_prospecting_job(
        &self,
        job: &ProspectingJob,
        audience: &Audience,
        work_id: &str,
        now: Timestamp,
    ) -> StoreResult<JobCreation> {
        for _ in 0..CREATE_ATTEMPTS {
            let mut tx = self.writer.begin().await?;
            if let Some(key) = &job.idempotency_key
                && let Some(existing) =
                    keyed_in(&mut tx, Keyed::ProspectingJobs, &job.group_id, key, now, job_from_row, |j| j.created_at)
                        .await?
            {
                return Ok(JobCreation::Existing(existing));
            }
            let inserted = self.insert_job_in(&mut tx, job, audience, work_id, now).await;
            match inserted {
                Ok(()) => {
                    tx.commit().await?;
                    return Ok(JobCreation::Created(job.clone()));
                }
                // A concurrent request with the same key won the race: read its job.
                Err(StoreError::UniqueViolation(_)) if job.idempotency_key.is_some() => {
                    tx.rollback().await?;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err(Keyed::ProspectingJobs.contended())
    }

    async fn insert_job_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        job: &ProspectingJob,
        audience: &Audience,
        work_id: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        crate::audiences::insert_audience_in(tx, audience).await?;
        sqlx::query(
            "INSERT INTO prospecting_jobs (id, group_id, name, source_type, source, list_type, max_results, \
             search_emails, status, audience_id, linkedin_account_id, import_status, import_done, import_target, \
             enrichment_status, enrichment_done, provider_cursor, pages_fetched, credits_charged, error_code, \
             error_message, idempotency_key, request_hash, cancel_requested, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $14, 0, NULL, 0, 0, NULL, NULL, \
             $15, $16, 0, $17, $17)",
        )
        .bind(&job.id)
        .bind(job.group_id.as_str())
        .bind(&job.name)
        .bind(job.source_type.as_str())
        .bind(&job.source)
        .bind(job.list_type.as_str())
        .bind(job.max_results)
        .bind(i64::from(job.search_emails))
        .bind(job.status.as_str())
        .bind(&job.audience_id)
        .bind(&job.linkedin_account_id)
        .bind(job.import_status.as_str())
        .bind(job.import_target)
        .bind(job.enrichment_status.as_str())
        .bind(&job.idempotency_key)
        .bind(&job.request_hash)
        .bind(job.created_at.as_millis())
        .execute(&mut **tx)
        .await?;
        enqueue_in(tx, work_id, PROSPECTING_WORK, &job.id, &job.group_id, now, now).await
    }

    pub async fn prospecting_job_by_key(&self, group_id: &GroupId, key: &str) -> StoreResult<Option<ProspectingJob>> {
        let row = sqlx::query("SELECT * FROM prospecting_jobs WHERE group_id = $1 AND idempotency_key = $2")
            .bind(group_id.as_str())
            .bind(key)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(job_from_row).transpose()?)
    }

    pub async fn get_prospecting_job(&self, group_id: &GroupId, id: &str) -> StoreResult<Option<ProspectingJob>> {
        let row = sqlx::query("SELECT * FROM prospecting_jobs WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(job_from_row).transpose()?)
    }

    /// One page of a group's jobs, newest first, optionally of one status.
    pub async fn list_prospecting_jobs(
        &self,
        group_id: &GroupId,
        status_filter: Option<JobStatus>,
        page: &PageRequest,
    ) -> StoreResult<Vec<ProspectingJob>> {
        let rows = ListQuery::new("SELECT * FROM prospecting_jobs WHERE group_id = $1")
            .bind(group_id)
            .and_eq("status", status_filter.map(|s| s.as_str()))
            .page(&Keyset::page(page))
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.iter().map(job_from_row).collect::<Result<_, _>>()?)
    }

    /// Cancels a queued or running job: it stops at its next page, keeps what
    /// was imported and releases its audience. `Ok(None)` when absent;
    /// `Ok(Some(job))` with the job as it is otherwise (check its status).
    pub async fn cancel_prospecting_job(
        &self,
        group_id: &GroupId,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(bool, ProspectingJob)>> {
        let mut tx = self.writer.begin().await?;
        if job_in(&mut tx, group_id, id).await?.is_none() {
            return Ok(None);
        }
        // The work item first (see `withdraw_in`), then the job as it is now.
        withdraw_in(&mut tx, PROSPECTING_WORK, id).await?;
        let Some(job) = job_in(&mut tx, group_id, id).await? else { return Ok(None) };
        if !job.is_active() {
            return Ok(Some((false, job)));
        }
        sqlx::query(
            "UPDATE prospecting_jobs SET status = $2, cancel_requested = 1, \
             import_status = CASE WHEN import_status IN ($4, $5) THEN $2 ELSE import_status END, \
             enrichment_status = CASE WHEN enrichment_status IN ($4, $5) THEN $2 ELSE enrichment_status END, \
             updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(JobStatus::Cancelled.as_str())
        .bind(now.as_millis())
        .bind(StageStatus::Queued.as_str())
        .bind(StageStatus::Running.as_str())
        .execute(&mut *tx)
        .await?;
        release_audience_in(&mut tx, &job, now).await?;
        let job = job_in(&mut tx, group_id, id).await?.unwrap_or(job);
        append_in(&mut tx, group_id, EventType::ProspectingJobCancelled, &prospecting_job_data(&job), now).await?;
        tx.commit().await?;
        Ok(Some((true, job)))
    }

    /// Marks a claimed job running (first claim) and returns it.
    pub async fn begin_job_run(
        &self,
        item: &WorkItem,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<Option<ProspectingJob>> {
        let mut tx = self.writer.begin().await?;
        if !hold_lease_in(&mut tx, item, lease_until).await? {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE prospecting_jobs SET status = $2, \
             import_status = CASE WHEN import_status = $4 THEN $5 ELSE import_status END, updated_at = $3 \
             WHERE id = $1 AND status IN ($6, $2)",
        )
        .bind(&item.ref_id)
        .bind(JobStatus::Running.as_str())
        .bind(now.as_millis())
        .bind(StageStatus::Queued.as_str())
        .bind(StageStatus::Running.as_str())
        .bind(JobStatus::Queued.as_str())
        .execute(&mut *tx)
        .await?;
        let job = job_in(&mut tx, &item.group_id, &item.ref_id).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// Imports one page in one transaction: upserts prospects, attaches them
    /// to the audience, charges credits and quota once per prospect per job,
    /// and saves the provider cursor, all guarded by the lease. Returns
    /// `Ok(None)` when the lease was lost or the job is no longer active (its
    /// page is rolled back).
    pub async fn import_page(&self, item: &WorkItem, page: ImportPage<'_>) -> StoreResult<Option<PageOutcome>> {
        let job = page.job;
        let mut tx = self.writer.begin().await?;
        if !hold_lease_in(&mut tx, item, page.lease_until).await? {
            return Ok(None);
        }
        let credits_before = group_credits_in(&mut tx, &job.group_id).await?;
        let mut added = 0i64;
        let mut stop = None;
        let cost = job.credit_cost_per_prospect();
        let mut position: i64 = job.import_done;
        for prospect in page.prospects {
            let seen: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM job_prospects jp JOIN prospects p ON p.id = jp.prospect_id \
                 WHERE jp.job_id = $1 AND p.group_id = $2 AND p.provider_id = $3",
            )
            .bind(&job.id)
            .bind(job.group_id.as_str())
            .bind(&prospect.provider_id)
            .fetch_optional(&mut *tx)
            .await?;
            if seen.is_some() {
                continue;
            }
            let quota = sqlx::query(
                "INSERT INTO quota_usage (group_id, list_type, period_start, used) VALUES ($1, $2, $3, 1) \
                 ON CONFLICT (group_id, list_type, period_start) DO UPDATE SET used = quota_usage.used + 1 \
                 WHERE quota_usage.used < $4",
            )
            .bind(job.group_id.as_str())
            .bind(job.list_type.as_str())
            .bind(page.period_start.as_millis())
            .bind(page.quota_limit)
            .execute(&mut *tx)
            .await?;
            if quota.rows_affected() == 0 || page.quota_limit <= 0 {
                stop = Some(ImportStop::QuotaExhausted);
                break;
            }
            let charged =
                sqlx::query("UPDATE account_groups SET credits = credits - $2 WHERE id = $1 AND credits >= $2")
                    .bind(job.group_id.as_str())
                    .bind(cost)
                    .execute(&mut *tx)
                    .await?;
            if charged.rows_affected() == 0 {
                sqlx::query(
                    "UPDATE quota_usage SET used = used - 1 WHERE group_id = $1 AND list_type = $2 AND period_start = $3",
                )
                .bind(job.group_id.as_str())
                .bind(job.list_type.as_str())
                .bind(page.period_start.as_millis())
                .execute(&mut *tx)
                .await?;
                stop = Some(ImportStop::InsufficientCredits);
                break;
            }
            let prospect_id = upsert_prospect_in(&mut tx, prospect).await?;
            sqlx::query("INSERT INTO job_prospects (job_id, prospect_id, position, enriched) VALUES ($1, $2, $3, 0)")
                .bind(&job.id)
                .bind(&prospect_id)
                .bind(position)
                .execute(&mut *tx)
                .await?;
            add_to_audience_in(&mut tx, &job.audience_id, &prospect_id, page.now).await?;
            position += 1;
            added += 1;
        }
        let updated = sqlx::query(
            "UPDATE prospecting_jobs SET import_done = import_done + $2, credits_charged = credits_charged + $3, \
             provider_cursor = $4, pages_fetched = pages_fetched + 1, updated_at = $5 \
             WHERE id = $1 AND status = $6",
        )
        .bind(&job.id)
        .bind(added)
        .bind(added * cost)
        .bind(page.next_cursor)
        .bind(page.now.as_millis())
        .bind(JobStatus::Running.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let credits_after = group_credits_in(&mut tx, &job.group_id).await?;
        if crosses_credits_low(credits_before, credits_after) {
            append_in(
                &mut tx,
                &job.group_id,
                EventType::CreditsLow,
                &credits_low_data(&job.group_id, credits_after),
                page.now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Some(PageOutcome { added, stop }))
    }

    /// Ends the import stage; enrichment follows when `searchEmails` is set.
    pub async fn finish_import(
        &self,
        item: &WorkItem,
        job: &ProspectingJob,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        if !hold_lease_in(&mut tx, item, lease_until).await? {
            return Ok(false);
        }
        let enrichment = if job.search_emails { StageStatus::Running } else { StageStatus::Skipped };
        let done = sqlx::query(
            "UPDATE prospecting_jobs SET import_status = $2, enrichment_status = $3, updated_at = $4 \
             WHERE id = $1 AND status = $5",
        )
        .bind(&job.id)
        .bind(StageStatus::Completed.as_str())
        .bind(enrichment.as_str())
        .bind(now.as_millis())
        .bind(JobStatus::Running.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Prospects of the job still waiting for enrichment: (prospect id, provider id).
    pub async fn pending_enrichment(&self, job_id: &str, limit: i64) -> StoreResult<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT jp.prospect_id, p.provider_id FROM job_prospects jp JOIN prospects p ON p.id = jp.prospect_id \
             WHERE jp.job_id = $1 AND jp.enriched = 0 ORDER BY jp.position LIMIT $2",
        )
        .bind(job_id)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?)
    }

    /// Records found emails (or none found) for a batch of the job's prospects.
    pub async fn record_enrichment(
        &self,
        item: &WorkItem,
        job: &ProspectingJob,
        results: &[(String, Option<String>)],
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        if !hold_lease_in(&mut tx, item, lease_until).await? {
            return Ok(false);
        }
        let mut done = 0i64;
        for (prospect_id, email) in results {
            let marked = sqlx::query(
                "UPDATE job_prospects SET enriched = 1 WHERE job_id = $1 AND prospect_id = $2 AND enriched = 0",
            )
            .bind(&job.id)
            .bind(prospect_id)
            .execute(&mut *tx)
            .await?;
            if marked.rows_affected() == 0 {
                continue;
            }
            done += 1;
            if let Some(email) = email {
                sqlx::query("UPDATE prospects SET email = $2, updated_at = $3 WHERE id = $1")
                    .bind(prospect_id)
                    .bind(email)
                    .bind(now.as_millis())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let updated = sqlx::query(
            "UPDATE prospecting_jobs SET enrichment_done = enrichment_done + $2, updated_at = $3 WHERE id = $1 AND status = $4",
        )
        .bind(&job.id)
        .bind(done)
        .bind(now.as_millis())
        .bind(JobStatus::Running.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Ends a job (completed or failed) with its audience released and its
    /// queue row removed, atomically.
    pub async fn end_job(
        &self,
        item: &WorkItem,
        job: &ProspectingJob,
        final_status: JobStatus,
        error: Option<(&str, &str)>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        if !finish_in(&mut tx, item).await? {
            return Ok(false);
        }
        let stage_end = if final_status == JobStatus::Completed { StageStatus::Completed } else { StageStatus::Failed };
        sqlx::query(
            "UPDATE prospecting_jobs SET status = $2, \
             import_status = CASE WHEN import_status IN ($9, $10) THEN $3 ELSE import_status END, \
             enrichment_status = CASE WHEN enrichment_status IN ($9, $10) THEN $3 ELSE enrichment_status END, \
             error_code = $4, error_message = $5, updated_at = $6 WHERE id = $1 AND status IN ($7, $8)",
        )
        .bind(&job.id)
        .bind(final_status.as_str())
        .bind(stage_end.as_str())
        .bind(error.map(|e| e.0))
        .bind(error.map(|e| e.1))
        .bind(now.as_millis())
        .bind(JobStatus::Queued.as_str())
        .bind(JobStatus::Running.as_str())
        .bind(StageStatus::Queued.as_str())
        .bind(StageStatus::Running.as_str())
        .execute(&mut *tx)
        .await?;
        release_audience_in(&mut tx, job, now).await?;
        if let Some(ended) = job_in(&mut tx, &job.group_id, &job.id).await?.filter(|j| j.status == final_status) {
            let event_type = if final_status == JobStatus::Completed {
                EventType::ProspectingJobCompleted
            } else {
                EventType::ProspectingJobFailed
            };
            append_in(&mut tx, &job.group_id, event_type, &prospecting_job_data(&ended), now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
