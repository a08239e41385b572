//! Signal scans: creation (checked against the group's specification and
//! audience, with the prospect list and the queue row, in one transaction),
//! reads, cancellation, the runner's lease-guarded batch writes, and the
//! prospect signal reads.

use crate::idempotency::{CREATE_ATTEMPTS, Keyed, keyed_in};
use crate::page::{Keyset, ListQuery};
use crate::queue::{WorkItem, enqueue_in, finish_in, hold_lease_in, withdraw_in};
use crate::sql::placeholders;
use crate::{Store, StoreError, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::page::PageRequest;
use sonarly_domain::prospecting::Prospect;
use sonarly_domain::signals::{JobStatus, SignalItem, SignalScan, specification_snapshot};
use sonarly_domain::template::{SignalSource, SignalSpecification, codec};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

pub const SIGNAL_SCAN_WORK: &str = "signal_scan";
const STATE_PENDING: &str = "pending";
const STATE_EVALUATED: &str = "evaluated";
const STATE_SKIPPED: &str = "skipped";

fn scan_from_row(row: &AnyRow) -> Result<SignalScan, sqlx::Error> {
    Ok(SignalScan {
        id: row.try_get("id")?,
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        specification_id: row.try_get("specification_id")?,
        specification_snapshot: row.try_get("specification_snapshot")?,
        audience_id: row.try_get("audience_id")?,
        linkedin_account_id: row.try_get("linkedin_account_id")?,
        name: row.try_get("name")?,
        status: crate::sql::one_of(row, "status", JobStatus::parse)?,
        narrowed: row.try_get::<i64, _>("narrowed")? != 0,
        total_count: row.try_get("total_count")?,
        processed_count: row.try_get("processed_count")?,
        evaluated_count: row.try_get("evaluated_count")?,
        skipped_count: row.try_get("skipped_count")?,
        matched_count: row.try_get("matched_count")?,
        signal_count: row.try_get("signal_count")?,
        error_code: row.try_get("error_code")?,
        error_message: row.try_get("error_message")?,
        idempotency_key: row.try_get("idempotency_key")?,
        request_hash: row.try_get("request_hash")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

fn item_from_row(row: &AnyRow) -> Result<SignalItem, sqlx::Error> {
    let source: String = row.try_get("source")?;
    let at = |column: &str| -> Result<Option<Timestamp>, sqlx::Error> {
        Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp::from_millis))
    };
    Ok(SignalItem {
        source: SignalSource::parse(&source)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown signal source `{source}`").into()))?,
        item_id: row.try_get("item_id")?,
        score: u8::try_from(row.try_get::<i64, _>("score")?.clamp(0, 100)).unwrap_or(0),
        reasoning: row.try_get("reasoning")?,
        summary: row.try_get("summary")?,
        title: row.try_get("title")?,
        posted_at: at("posted_at")?,
        post_link: row.try_get("post_link")?,
        total_likes: row.try_get("total_likes")?,
        total_comments: row.try_get("total_comments")?,
        reply_summary: row.try_get("reply_summary")?,
        commented_at: at("commented_at")?,
        comment_link: row.try_get("comment_link")?,
        job_url: row.try_get("job_url")?,
        company_name: row.try_get("company_name")?,
    })
}

/// What creating a scan did.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanCreation {
    Created(SignalScan),
    /// A scan with this Idempotency-Key already exists (within 24 h).
    Existing(SignalScan),
    /// No signal specification with this id in the group.
    SpecificationMissing,
    /// No audience with this id in the group.
    AudienceMissing,
    /// The audience is still being filled by a prospecting job.
    AudienceNotReady,
    /// These requested prospects are not in the audience (positions in the request).
    ProspectsNotInAudience(Vec<(usize, String)>),
}

/// What a new scan needs besides its row.
pub struct NewScan<'a> {
    pub scan: &'a SignalScan,
    /// The requested prospects, or `None` for the whole audience.
    pub prospect_ids: Option<&'a [String]>,
    pub work_id: &'a str,
    pub now: Timestamp,
}

/// The outcome of evaluating one prospect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProspectOutcome {
    /// A completed evaluation with its scored items (possibly none).
    Evaluated(Vec<SignalItem>),
    /// The prospect's activity could not be read (unreachable profile).
    Skipped,
}

/// A prospect's most recent completed evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub scan_id: String,
    pub specification_id: String,
    pub evaluated_at: Timestamp,
    pub items: Vec<SignalItem>,
}

/// A message of a prospect's conversations (for the composer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryMessage {
    /// True when the connected account sent it.
    pub is_sender: bool,
    pub text: String,
    pub sent_at: Timestamp,
}

async fn scan_in(tx: &mut Transaction<'static, Any>, group_id: &GroupId, id: &str) -> StoreResult<Option<SignalScan>> {
    let row = sqlx::query("SELECT * FROM signal_scans WHERE group_id = $1 AND id = $2")
        .bind(group_id.as_str())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.as_ref().map(scan_from_row).transpose()?)
}

impl Store {
    /// Creates a scan after checking, in the same transaction, that the
    /// specification and the ready audience exist in the group and that every
    /// requested prospect is in the audience; copies the prospect list and
    /// queues the scan. With an Idempotency-Key, a scan created under the same
    /// key in the last 24 hours is returned instead (concurrent duplicates included).
    pub async fn create_signal_scan(&self, new: NewScan<'_>) -> StoreResult<ScanCreation> {
        let scan = new.scan;
        for _ in 0..CREATE_ATTEMPTS {
            let mut tx = self.writer.begin().await?;
            if let Some(key) = &scan.idempotency_key
                && let Some(existing) =
                    keyed_in(&mut tx, Keyed::SignalScans, &scan.group_id, key, new.now, scan_from_row, |s| s.created_at)
                        .await?
            {
                return Ok(ScanCreation::Existing(existing));
            }
            match self.insert_scan_in(&mut tx, &new).await {
                Ok(ScanCreation::Created(created)) => {
                    tx.commit().await?;
                    return Ok(ScanCreation::Created(created));
                }
                Ok(refused) => return Ok(refused),
                // A concurrent request with the same key won the race: read its scan.
                Err(StoreError::UniqueViolation(_)) if scan.idempotency_key.is_some() => {
                    tx.rollback().await?;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err(Keyed::SignalScans.contended())
    }

    async fn insert_scan_in(&self, tx: &mut Transaction<'static, Any>, new: &NewScan<'_>) -> StoreResult<ScanCreation> {
        let scan = new.scan;
        let spec: Option<(String, Option<String>, String, String)> = sqlx::query_as(
            "SELECT name, description, sources, specifications FROM signal_specifications \
             WHERE group_id = $1 AND id = $2",
        )
        .bind(scan.group_id.as_str())
        .bind(&scan.specification_id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((spec_name, description, sources, specifications)) = spec else {
            return Ok(ScanCreation::SpecificationMissing);
        };
        let audience: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT name, filling_job_id FROM audiences WHERE group_id = $1 AND id = $2")
                .bind(scan.group_id.as_str())
                .bind(&scan.audience_id)
                .fetch_optional(&mut **tx)
                .await?;
        let Some((audience_name, filling)) = audience else {
            return Ok(ScanCreation::AudienceMissing);
        };
        if filling.is_some() {
            return Ok(ScanCreation::AudienceNotReady);
        }
        if let Some(ids) = new.prospect_ids {
            let sql = format!(
                "SELECT prospect_id FROM audience_prospects WHERE audience_id = $1 AND prospect_id IN ({})",
                placeholders(2, ids.len())
            );
            let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(&scan.audience_id);
            for id in ids {
                query = query.bind(id);
            }
            let found = query.fetch_all(&mut **tx).await?;
            let missing: Vec<(usize, String)> =
                ids.iter().enumerate().filter(|(_, id)| !found.contains(id)).map(|(i, id)| (i, id.clone())).collect();
            if !missing.is_empty() {
                return Ok(ScanCreation::ProspectsNotInAudience(missing));
            }
        }
        let decode = |e: String| StoreError::Database(sqlx::Error::Decode(e.into()));
        let snapshot = specification_snapshot(&SignalSpecification {
            id: scan.specification_id.clone(),
            group_id: scan.group_id.clone(),
            name: spec_name.clone(),
            description,
            sources: codec::decode_sources(&sources).map_err(decode)?,
            specifications: codec::decode_json_list(&specifications).map_err(decode)?,
            use_value_proposition: false,
            value_proposition_ids: Vec::new(),
            created_at: scan.created_at,
            updated_at: scan.created_at,
        });
        let name = format!("{spec_name} on {audience_name}");
        sqlx::query(
            "INSERT INTO signal_scans (id, group_id, specification_id, specification_snapshot, audience_id, \
             linkedin_account_id, name, status, narrowed, total_count, idempotency_key, request_hash, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $12, $12)",
        )
        .bind(&scan.id)
        .bind(scan.group_id.as_str())
        .bind(&scan.specification_id)
        .bind(&snapshot)
        .bind(&scan.audience_id)
        .bind(&scan.linkedin_account_id)
        .bind(&name)
        .bind(JobStatus::Queued.as_str())
        .bind(i64::from(new.prospect_ids.is_some()))
        .bind(&scan.idempotency_key)
        .bind(&scan.request_hash)
        .bind(scan.created_at.as_millis())
        .execute(&mut **tx)
        .await?;
        let total = match new.prospect_ids {
            Some(ids) => {
                for (position, id) in ids.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO signal_scan_prospects (scan_id, prospect_id, position, state) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&scan.id)
                    .bind(id)
                    .bind(position as i64)
                    .bind(STATE_PENDING)
                    .execute(&mut **tx)
                    .await?;
                }
                ids.len() as u64
            }
            None => sqlx::query(
                "INSERT INTO signal_scan_prospects (scan_id, prospect_id, position, state) \
                     SELECT $1, prospect_id, added_at, $2 FROM audience_prospects WHERE audience_id = $3",
            )
            .bind(&scan.id)
            .bind(STATE_PENDING)
            .bind(&scan.audience_id)
            .execute(&mut **tx)
            .await?
            .rows_affected(),
        };
        sqlx::query("UPDATE signal_scans SET total_count = $2 WHERE id = $1")
            .bind(&scan.id)
            .bind(total as i64)
            .execute(&mut **tx)
            .await?;
        enqueue_in(tx, new.work_id, SIGNAL_SCAN_WORK, &scan.id, &scan.group_id, new.now, new.now).await?;
        let created =
            scan_in(tx, &scan.group_id, &scan.id).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
        Ok(ScanCreation::Created(created))
    }

    pub async fn signal_scan_by_key(&self, group_id: &GroupId, key: &str) -> StoreResult<Option<SignalScan>> {
        let row = sqlx::query("SELECT * FROM signal_scans WHERE group_id = $1 AND idempotency_key = $2")
            .bind(group_id.as_str())
            .bind(key)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(scan_from_row).transpose()?)
    }

    pub async fn get_signal_scan(&self, group_id: &GroupId, id: &str) -> StoreResult<Option<SignalScan>> {
        let row = sqlx::query("SELECT * FROM signal_scans WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(scan_from_row).transpose()?)
    }

    /// One page of a group's scans, newest first, optionally of one status (`limit + 1` rows).
    pub async fn list_signal_scans(
        &self,
        group_id: &GroupId,
        status_filter: Option<JobStatus>,
        page: &PageRequest,
    ) -> StoreResult<Vec<SignalScan>> {
        let rows = ListQuery::new("SELECT * FROM signal_scans WHERE group_id = $1")
            .bind(group_id)
            .and_eq("status", status_filter.map(|s| s.as_str()))
            .page(&Keyset::page(page))
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.iter().map(scan_from_row).collect::<Result<_, _>>()?)
    }

    /// Cancels a queued or running scan: its queue row goes (a worker holding
    /// it loses the lease and its batch rolls back); evaluations already
    /// completed stay. `Ok(None)` when absent; `Ok(Some((cancelled, scan)))` otherwise.
    pub async fn cancel_signal_scan(
        &self,
        group_id: &GroupId,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(bool, SignalScan)>> {
        let mut tx = self.writer.begin().await?;
        if scan_in(&mut tx, group_id, id).await?.is_none() {
            return Ok(None);
        }
        // The work item first (see `withdraw_in`), then the scan as it is now.
        withdraw_in(&mut tx, SIGNAL_SCAN_WORK, id).await?;
        let Some(scan) = scan_in(&mut tx, group_id, id).await? else { return Ok(None) };
        if !scan.is_active() {
            return Ok(Some((false, scan)));
        }
        sqlx::query("UPDATE signal_scans SET status = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(JobStatus::Cancelled.as_str())
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
        let scan = scan_in(&mut tx, group_id, id).await?.unwrap_or(scan);
        tx.commit().await?;
        Ok(Some((true, scan)))
    }

    /// Marks a claimed scan running (first claim) and returns it; `None` when the lease was lost.
    pub async fn begin_scan_run(
        &self,
        item: &WorkItem,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<Option<SignalScan>> {
        let mut tx = self.writer.begin().await?;
        if !hold_lease_in(&mut tx, item, lease_until).await? {
            return Ok(None);
        }
        sqlx::query("UPDATE signal_scans SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4")
            .bind(&item.ref_id)
            .bind(JobStatus::Running.as_str())
            .bind(now.as_millis())
            .bind(JobStatus::Queued.as_str())
            .execute(&mut *tx)
            .await?;
        let scan = scan_in(&mut tx, &item.group_id, &item.ref_id).await?;
        tx.commit().await?;
        Ok(scan)
    }

    /// The next prospects of a scan still waiting for evaluation, in scan order.
    pub(crate) async fn pending_scan_prospects(&self, scan_id: &str, limit: i64) -> StoreResult<Vec<Prospect>> {
        let rows = sqlx::query(
            "SELECT p.* FROM signal_scan_prospects sp JOIN prospects p ON p.id = sp.prospect_id \
             WHERE sp.scan_id = $1 AND sp.state = $2 ORDER BY sp.position, sp.prospect_id LIMIT $3",
        )
        .bind(scan_id)
        .bind(STATE_PENDING)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.iter().map(crate::prospects::prospect_from_row).collect::<Result<_, _>>()?)
    }

    /// Records a batch of outcomes in one transaction guarded by the lease:
    /// each still-pending prospect gets its evaluation and items (or is marked
    /// skipped) and the scan's counts move. A prospect already done (a batch
    /// committed before a crash) is left alone, so nothing is stored twice.
    /// False when the lease was lost or the scan is no longer running (the
    /// batch is rolled back).
    pub async fn record_scan_batch(
        &self,
        item: &WorkItem,
        scan: &SignalScan,
        outcomes: &[(String, ProspectOutcome)],
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        if !hold_lease_in(&mut tx, item, lease_until).await? {
            return Ok(false);
        }
        let (mut processed, mut evaluated, mut skipped, mut matched, mut signals) = (0i64, 0i64, 0i64, 0i64, 0i64);
        for (prospect_id, outcome) in outcomes {
            let state = match outcome {
                ProspectOutcome::Evaluated(_) => STATE_EVALUATED,
                ProspectOutcome::Skipped => STATE_SKIPPED,
            };
            let marked = sqlx::query(
                "UPDATE signal_scan_prospects SET state = $3 WHERE scan_id = $1 AND prospect_id = $2 AND state = $4",
            )
            .bind(&scan.id)
            .bind(prospect_id)
            .bind(state)
            .bind(STATE_PENDING)
            .execute(&mut *tx)
            .await?;
            if marked.rows_affected() == 0 {
                continue;
            }
            processed += 1;
            let ProspectOutcome::Evaluated(items) = outcome else {
                skipped += 1;
                continue;
            };
            evaluated += 1;
            sqlx::query(
                "INSERT INTO signal_evaluations (scan_id, prospect_id, group_id, specification_id, item_count, \
                 evaluated_at) VALUES ($1, $2, $3, $4, 0, $5)",
            )
            .bind(&scan.id)
            .bind(prospect_id)
            .bind(scan.group_id.as_str())
            .bind(&scan.specification_id)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
            let mut stored = 0i64;
            for signal in items {
                let inserted = sqlx::query(
                    "INSERT INTO signal_items (scan_id, prospect_id, source, item_id, score, reasoning, summary, \
                     title, posted_at, post_link, total_likes, total_comments, reply_summary, commented_at, \
                     comment_link, job_url, company_name) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&scan.id)
                .bind(prospect_id)
                .bind(signal.source.as_str())
                .bind(&signal.item_id)
                .bind(i64::from(signal.score))
                .bind(&signal.reasoning)
                .bind(&signal.summary)
                .bind(&signal.title)
                .bind(signal.posted_at.map(Timestamp::as_millis))
                .bind(&signal.post_link)
                .bind(signal.total_likes)
                .bind(signal.total_comments)
                .bind(&signal.reply_summary)
                .bind(signal.commented_at.map(Timestamp::as_millis))
                .bind(&signal.comment_link)
                .bind(&signal.job_url)
                .bind(&signal.company_name)
                .execute(&mut *tx)
                .await?;
                stored += inserted.rows_affected() as i64;
            }
            sqlx::query("UPDATE signal_evaluations SET item_count = $3 WHERE scan_id = $1 AND prospect_id = $2")
                .bind(&scan.id)
                .bind(prospect_id)
                .bind(stored)
                .execute(&mut *tx)
                .await?;
            signals += stored;
            if stored > 0 {
                matched += 1;
            }
        }
        let updated = sqlx::query(
            "UPDATE signal_scans SET processed_count = processed_count + $2, evaluated_count = evaluated_count + $3, \
             skipped_count = skipped_count + $4, matched_count = matched_count + $5, \
             signal_count = signal_count + $6, updated_at = $7 WHERE id = $1 AND status = $8",
        )
        .bind(&scan.id)
        .bind(processed)
        .bind(evaluated)
        .bind(skipped)
        .bind(matched)
        .bind(signals)
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

    /// Ends a scan (completed or failed) and removes its queue row, atomically;
    /// false when the lease was lost.
    pub async fn end_signal_scan(
        &self,
        item: &WorkItem,
        scan: &SignalScan,
        final_status: JobStatus,
        error: Option<(&str, &str)>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        if !finish_in(&mut tx, item).await? {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE signal_scans SET status = $2, error_code = $3, error_message = $4, updated_at = $5 \
             WHERE id = $1 AND status IN ($6, $7)",
        )
        .bind(&scan.id)
        .bind(final_status.as_str())
        .bind(error.map(|e| e.0))
        .bind(error.map(|e| e.1))
        .bind(now.as_millis())
        .bind(JobStatus::Queued.as_str())
        .bind(JobStatus::Running.as_str())
        .execute(&mut *tx)
        .await?;
        if final_status == JobStatus::Completed
            && let Some(ended) = scan_in(&mut tx, &scan.group_id, &scan.id).await?.filter(|s| s.status == final_status)
        {
            let data = sonarly_domain::events::scan_data(&ended);
            crate::events::append_in(
                &mut tx,
                &scan.group_id,
                sonarly_domain::events::EventType::SignalsScanCompleted,
                &data,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The most recent completed evaluation of a prospect (by any scan of its group), with its items;
    /// between evaluations of the same instant, the later scan's.
    pub async fn latest_signal_evaluation(
        &self,
        group_id: &GroupId,
        prospect_id: &str,
    ) -> StoreResult<Option<Evaluation>> {
        let head: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT e.scan_id, e.specification_id, e.evaluated_at FROM signal_evaluations e \
             JOIN signal_scans s ON s.id = e.scan_id WHERE e.group_id = $1 AND e.prospect_id = $2 \
             ORDER BY e.evaluated_at DESC, s.created_at DESC, e.scan_id DESC LIMIT 1",
        )
        .bind(group_id.as_str())
        .bind(prospect_id)
        .fetch_optional(&self.reader)
        .await?;
        let Some((scan_id, specification_id, evaluated_at)) = head else { return Ok(None) };
        let rows = sqlx::query("SELECT * FROM signal_items WHERE scan_id = $1 AND prospect_id = $2")
            .bind(&scan_id)
            .bind(prospect_id)
            .fetch_all(&self.reader)
            .await?;
        let items = rows.iter().map(item_from_row).collect::<Result<_, _>>()?;
        Ok(Some(Evaluation { scan_id, specification_id, evaluated_at: Timestamp::from_millis(evaluated_at), items }))
    }

    /// Items a scan stored (tests and audits): (prospect id, source, item id).
    pub async fn signal_item_keys(&self, scan_id: &str) -> StoreResult<Vec<(String, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT prospect_id, source, item_id FROM signal_items WHERE scan_id = $1 \
             ORDER BY prospect_id, source, item_id",
        )
        .bind(scan_id)
        .fetch_all(&self.reader)
        .await?)
    }

    /// Completed evaluations of a scan (tests and audits).
    pub async fn count_signal_evaluations(&self, scan_id: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM signal_evaluations WHERE scan_id = $1")
            .bind(scan_id)
            .fetch_one(&self.reader)
            .await?)
    }

    /// The latest messages exchanged with a prospect, newest first (what the composer sees as history).
    pub async fn recent_prospect_messages(
        &self,
        group_id: &GroupId,
        prospect_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<HistoryMessage>> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT m.is_sender, m.body, m.sent_at FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE c.group_id = $1 AND c.prospect_id = $2 ORDER BY m.sent_at DESC, m.id DESC LIMIT $3",
        )
        .bind(group_id.as_str())
        .bind(prospect_id)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(is_sender, text, sent_at)| HistoryMessage {
                is_sender: is_sender != 0,
                text,
                sent_at: Timestamp::from_millis(sent_at),
            })
            .collect())
    }
}
