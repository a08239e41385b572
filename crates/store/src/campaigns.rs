//! Campaigns: drafts, content slots, selected leads, workflow instances, and
//! the campaign executor's bookkeeping (a generic per-account action slot on
//! the same ledger and spacing state the outbound scheduler uses, so caps and
//! spacing hold across responses and every campaign of an account).
//!
//! Every live workflow instance owns one `campaign_step` work row. Each step's
//! result is recorded in the transaction that releases (or finishes) that row,
//! guarded by its lease, so a step is either fully recorded or not at all.

use crate::ledger::forget_in;
use crate::queue::{WorkItem, enqueue_in, finish_guarded_in, finish_in, release_in};
use crate::sends::{Settle, begin_finish};
use crate::{Store, StoreError, StoreResult};
use sonarly_domain::Timestamp;
use sonarly_domain::campaign::{
    Campaign, ContentSlot, SlotChannel, StarterTemplate, WorkflowInstance, instance_state, status, stop_reason,
};
use sonarly_domain::events::EventType;
use sonarly_domain::page::PageRequest;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

pub const CAMPAIGN_WORK: &str = "campaign_step";

/// Ids bound per `IN (…)` list.
const CHUNK: usize = 500;

fn campaign_from_row(row: &AnyRow) -> Result<Campaign, sqlx::Error> {
    let template: String = row.try_get("starter_template_id")?;
    Ok(Campaign {
        id: row.try_get("id")?,
        group_id: row.try_get("group_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        starter_template: StarterTemplate::parse(&template)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown starter template {template}").into()))?,
        workflow_version: row.try_get::<i64, _>("workflow_version")? as u32,
        audience_id: row.try_get("audience_id")?,
        status: row.try_get("status")?,
        include_conversation_history: row.try_get::<i64, _>("include_conversation_history")? != 0,
        auto_cancel_on_message_received: row.try_get::<i64, _>("auto_cancel_on_message_received")? != 0,
        outreach_language: row.try_get("outreach_language")?,
        linkedin_account_id: row.try_get("linkedin_account_id")?,
        selected_lead_count: row.try_get("selected_lead_count")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
        started_at: row.try_get::<Option<i64>, _>("started_at")?.map(Timestamp::from_millis),
        stopped_at: row.try_get::<Option<i64>, _>("stopped_at")?.map(Timestamp::from_millis),
    })
}

fn slot_from_row(row: &AnyRow) -> Result<ContentSlot, sqlx::Error> {
    let channel: String = row.try_get("channel")?;
    Ok(ContentSlot {
        id: row.try_get("id")?,
        group_id: row.try_get("group_id")?,
        campaign_id: row.try_get("campaign_id")?,
        position: row.try_get::<i64, _>("position")? as u32,
        channel: SlotChannel::parse(&channel)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown slot channel {channel}").into()))?,
        channel_position: row.try_get::<i64, _>("channel_position")? as u32,
        label: row.try_get("label")?,
        template_id: row.try_get("template_id")?,
    })
}

fn instance_from_row(row: &AnyRow) -> Result<WorkflowInstance, sqlx::Error> {
    Ok(WorkflowInstance {
        id: row.try_get("id")?,
        group_id: row.try_get("group_id")?,
        campaign_id: row.try_get("campaign_id")?,
        prospect_id: row.try_get("prospect_id")?,
        linkedin_account_id: row.try_get("linkedin_account_id")?,
        step_index: row.try_get::<i64, _>("step_index")?.max(0) as usize,
        state: row.try_get("state")?,
        stop_reason: row.try_get("stop_reason")?,
        latest_step: row.try_get("latest_step")?,
        pending_approval: row.try_get::<i64, _>("pending_approval")? != 0,
        pending_subject: row.try_get("pending_subject")?,
        pending_body: row.try_get("pending_body")?,
        approved: row.try_get::<i64, _>("approved")? != 0,
        step_started_at: Timestamp::from_millis(row.try_get("step_started_at")?),
        next_run_at: Timestamp::from_millis(row.try_get("next_run_at")?),
        started_at: Timestamp::from_millis(row.try_get("started_at")?),
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

fn is_foreign_key_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(sqlx::Error::Database(db)) if db.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
}

/// `$from, $from+1, …` for `n` bound values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The outcome of relinking a content slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotUpdate {
    Updated(ContentSlot),
    /// No such slot in this campaign.
    SlotNotFound,
    /// The campaign is not a draft (its status).
    NotEditable(String),
    /// The writing style is not (or no longer) in the group.
    TemplateMissing,
}

/// The outcome of starting a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    /// Started; this many instances were created.
    Started(u64),
    /// The campaign is not a draft (its status).
    NotDraft(String),
}

/// The outcome of stopping a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    /// Stopped; this many live instances were stopped.
    Stopped(u64),
    /// The campaign is not active (its status).
    NotActive(String),
}

/// The outcome of approving or discarding pending content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalOutcome {
    Done(WorkflowInstance),
    NothingPending(WorkflowInstance),
    NotFound,
}

/// How a performed (or skipped) step moves an instance on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    pub instance_id: String,
    pub campaign_id: String,
    /// The step to run next, and when; `None` completes the workflow.
    pub next: Option<(usize, Timestamp)>,
    /// Reported as `latestStep`, when a step was performed or skipped.
    pub latest_step: Option<String>,
}

impl Store {
    // --- drafts --------------------------------------------------------------

    /// Inserts a draft with its content slots and selected leads, atomically.
    /// A writing style deleted concurrently surfaces as `Ok(false)`.
    pub async fn insert_campaign(
        &self,
        campaign: &Campaign,
        slots: &[ContentSlot],
        lead_ids: &[String],
    ) -> StoreResult<bool> {
        match self.try_insert_campaign(campaign, slots, lead_ids).await {
            Err(e) if is_foreign_key_violation(&e) => Ok(false),
            other => other.map(|()| true),
        }
    }

    async fn try_insert_campaign(&self, c: &Campaign, slots: &[ContentSlot], lead_ids: &[String]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO campaigns (id, group_id, name, description, starter_template_id, workflow_version, \
             audience_id, status, include_conversation_history, auto_cancel_on_message_received, outreach_language, \
             linkedin_account_id, selected_lead_count, created_at, updated_at, started_at, stopped_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(&c.id)
        .bind(&c.group_id)
        .bind(&c.name)
        .bind(&c.description)
        .bind(c.starter_template.id())
        .bind(i64::from(c.workflow_version))
        .bind(&c.audience_id)
        .bind(&c.status)
        .bind(i64::from(c.include_conversation_history))
        .bind(i64::from(c.auto_cancel_on_message_received))
        .bind(&c.outreach_language)
        .bind(&c.linkedin_account_id)
        .bind(c.selected_lead_count)
        .bind(c.created_at.as_millis())
        .bind(c.updated_at.as_millis())
        .bind(c.started_at.map(Timestamp::as_millis))
        .bind(c.stopped_at.map(Timestamp::as_millis))
        .execute(&mut *tx)
        .await?;
        for s in slots {
            sqlx::query(
                "INSERT INTO campaign_content_slots (id, group_id, campaign_id, position, channel, channel_position, \
                 label, template_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&s.id)
            .bind(&c.group_id)
            .bind(&c.id)
            .bind(i64::from(s.position))
            .bind(s.channel.as_str())
            .bind(i64::from(s.channel_position))
            .bind(&s.label)
            .bind(&s.template_id)
            .execute(&mut *tx)
            .await?;
        }
        for (position, lead) in lead_ids.iter().enumerate() {
            sqlx::query("INSERT INTO campaign_leads (campaign_id, prospect_id, position) VALUES ($1, $2, $3)")
                .bind(&c.id)
                .bind(lead)
                .bind(position as i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_campaign(&self, group_id: &str, id: &str) -> StoreResult<Option<Campaign>> {
        let row = sqlx::query("SELECT * FROM campaigns WHERE group_id = $1 AND id = $2")
            .bind(group_id)
            .bind(id)
            .fetch_optional(&self.writer)
            .await?;
        Ok(row.as_ref().map(campaign_from_row).transpose()?)
    }

    /// One page of a group's campaigns, newest first, optionally of one status.
    pub async fn list_campaigns(
        &self,
        group_id: &str,
        status_filter: Option<&str>,
        page: &PageRequest,
    ) -> StoreResult<Vec<Campaign>> {
        let (at, id) = match &page.after {
            Some(p) => (p.created_at.as_millis(), p.id.clone()),
            None => (i64::MAX, "\u{10FFFF}".to_owned()),
        };
        let rows = sqlx::query(
            "SELECT * FROM campaigns WHERE group_id = $1 AND ($5 = '' OR status = $5) \
             AND (created_at < $2 OR (created_at = $2 AND id < $3)) ORDER BY created_at DESC, id DESC LIMIT $4",
        )
        .bind(group_id)
        .bind(at)
        .bind(id)
        .bind(page.fetch_limit())
        .bind(status_filter.unwrap_or(""))
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.iter().map(campaign_from_row).collect::<Result<_, _>>()?)
    }

    /// A campaign's content slots in workflow order.
    pub async fn content_slots(&self, group_id: &str, campaign_id: &str) -> StoreResult<Vec<ContentSlot>> {
        let rows = sqlx::query(
            "SELECT * FROM campaign_content_slots WHERE group_id = $1 AND campaign_id = $2 ORDER BY position",
        )
        .bind(group_id)
        .bind(campaign_id)
        .fetch_all(&self.writer)
        .await?;
        Ok(rows.iter().map(slot_from_row).collect::<Result<_, _>>()?)
    }

    /// Links a writing style to a slot of a draft campaign; the campaign's
    /// status and the style's existence are checked in the same transaction.
    pub async fn set_slot_template(
        &self,
        group_id: &str,
        campaign_id: &str,
        slot_id: &str,
        template_id: &str,
        now: Timestamp,
    ) -> StoreResult<SlotUpdate> {
        match self.try_set_slot_template(group_id, campaign_id, slot_id, template_id, now).await {
            Err(e) if is_foreign_key_violation(&e) => Ok(SlotUpdate::TemplateMissing),
            other => other,
        }
    }

    async fn try_set_slot_template(
        &self,
        group_id: &str,
        campaign_id: &str,
        slot_id: &str,
        template_id: &str,
        now: Timestamp,
    ) -> StoreResult<SlotUpdate> {
        let mut tx = self.writer.begin().await?;
        // Serializes with start: the draft check and the link commit together.
        let touched = sqlx::query("UPDATE campaigns SET updated_at = $3 WHERE group_id = $1 AND id = $2")
            .bind(group_id)
            .bind(campaign_id)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
        if touched.rows_affected() == 0 {
            return Ok(SlotUpdate::SlotNotFound);
        }
        let state: String = sqlx::query_scalar("SELECT status FROM campaigns WHERE group_id = $1 AND id = $2")
            .bind(group_id)
            .bind(campaign_id)
            .fetch_one(&mut *tx)
            .await?;
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM campaign_content_slots WHERE group_id = $1 AND campaign_id = $2 AND id = $3",
        )
        .bind(group_id)
        .bind(campaign_id)
        .bind(slot_id)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_none() {
            return Ok(SlotUpdate::SlotNotFound);
        }
        if state != status::DRAFT {
            return Ok(SlotUpdate::NotEditable(state));
        }
        let style: Option<i64> = sqlx::query_scalar("SELECT 1 FROM writing_styles WHERE group_id = $1 AND id = $2")
            .bind(group_id)
            .bind(template_id)
            .fetch_optional(&mut *tx)
            .await?;
        if style.is_none() {
            return Ok(SlotUpdate::TemplateMissing);
        }
        sqlx::query(
            "UPDATE campaign_content_slots SET template_id = $4 WHERE group_id = $1 AND campaign_id = $2 AND id = $3",
        )
        .bind(group_id)
        .bind(campaign_id)
        .bind(slot_id)
        .bind(template_id)
        .execute(&mut *tx)
        .await?;
        let row =
            sqlx::query("SELECT * FROM campaign_content_slots WHERE id = $1").bind(slot_id).fetch_one(&mut *tx).await?;
        let slot = slot_from_row(&row)?;
        tx.commit().await?;
        Ok(SlotUpdate::Updated(slot))
    }

    /// The oldest writing style of the group with one of `content_types`, for a default link.
    pub async fn first_writing_style_of(&self, group_id: &str, content_types: &[&str]) -> StoreResult<Option<String>> {
        if content_types.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT id FROM writing_styles WHERE group_id = $1 AND content_type IN ({}) \
             ORDER BY created_at, id LIMIT 1",
            placeholders(2, content_types.len())
        );
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(group_id);
        for t in content_types {
            q = q.bind(*t);
        }
        Ok(q.fetch_optional(&self.writer).await?)
    }

    // --- leads -----------------------------------------------------------------

    /// Every prospect id of an audience, in the order they were added.
    pub async fn audience_prospect_ids(&self, audience_id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT prospect_id FROM audience_prospects WHERE audience_id = $1 ORDER BY added_at, prospect_id",
        )
        .bind(audience_id)
        .fetch_all(&self.reader)
        .await?)
    }

    /// Which of `ids` are prospects of the audience.
    pub async fn audience_members_among(&self, audience_id: &str, ids: &[String]) -> StoreResult<Vec<String>> {
        let mut found = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT prospect_id FROM audience_prospects WHERE audience_id = $1 AND prospect_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(audience_id);
            for id in chunk {
                q = q.bind(id);
            }
            found.extend(q.fetch_all(&self.reader).await?);
        }
        Ok(found)
    }

    /// A campaign's selected lead ids, in selection order.
    pub async fn campaign_lead_ids(&self, campaign_id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT prospect_id FROM campaign_leads WHERE campaign_id = $1 ORDER BY position")
            .bind(campaign_id)
            .fetch_all(&self.writer)
            .await?)
    }

    /// Which of `ids` are selected leads of the campaign.
    pub async fn campaign_leads_among(&self, campaign_id: &str, ids: &[String]) -> StoreResult<Vec<String>> {
        let mut found = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT prospect_id FROM campaign_leads WHERE campaign_id = $1 AND prospect_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(campaign_id);
            for id in chunk {
                q = q.bind(id);
            }
            found.extend(q.fetch_all(&self.writer).await?);
        }
        Ok(found)
    }

    /// Which of `ids` have a live workflow instance in an active campaign of the group.
    pub async fn leads_in_active_workflows(&self, group_id: &str, ids: &[String]) -> StoreResult<Vec<String>> {
        let mut found = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT DISTINCT i.prospect_id FROM campaign_instances i JOIN campaigns c ON c.id = i.campaign_id \
                 WHERE i.group_id = $1 AND i.state = $2 AND c.status = $3 AND i.prospect_id IN ({})",
                placeholders(4, chunk.len())
            );
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
                .bind(group_id)
                .bind(instance_state::ACTIVE)
                .bind(status::ACTIVE);
            for id in chunk {
                q = q.bind(id);
            }
            found.extend(q.fetch_all(&self.writer).await?);
        }
        Ok(found)
    }

    // --- start and stop -------------------------------------------------------

    /// Starts a draft: records the account, creates the instances and their
    /// work rows, all in one transaction; refused unless the campaign is a draft.
    pub async fn start_campaign(
        &self,
        group_id: &str,
        campaign_id: &str,
        account_id: &str,
        instances: &[WorkflowInstance],
        now: Timestamp,
    ) -> StoreResult<StartOutcome> {
        let mut tx = self.writer.begin().await?;
        let moved = sqlx::query(
            "UPDATE campaigns SET status = $3, linkedin_account_id = $4, started_at = $5, updated_at = $5 \
             WHERE group_id = $1 AND id = $2 AND status = $6",
        )
        .bind(group_id)
        .bind(campaign_id)
        .bind(status::ACTIVE)
        .bind(account_id)
        .bind(now.as_millis())
        .bind(status::DRAFT)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            let current: Option<String> =
                sqlx::query_scalar("SELECT status FROM campaigns WHERE group_id = $1 AND id = $2")
                    .bind(group_id)
                    .bind(campaign_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Ok(StartOutcome::NotDraft(current.unwrap_or_default()));
        }
        for i in instances {
            insert_instance_in(&mut tx, i).await?;
            let work_id = sonarly_domain::id::new_hex_id(now);
            enqueue_in(&mut tx, &work_id, CAMPAIGN_WORK, &i.id, group_id, i.next_run_at, now).await?;
        }
        crate::events::append_campaign_event_in(&mut tx, campaign_id, EventType::CampaignStarted, now).await?;
        tx.commit().await?;
        Ok(StartOutcome::Started(instances.len() as u64))
    }

    /// Stops an active campaign and every live instance (with
    /// `CAMPAIGN_STOPPED`), removing their queued steps, in one transaction.
    pub async fn stop_campaign(&self, group_id: &str, campaign_id: &str, now: Timestamp) -> StoreResult<StopOutcome> {
        let mut tx = self.writer.begin().await?;
        let moved = sqlx::query(
            "UPDATE campaigns SET status = $3, stopped_at = $4, updated_at = $4 \
             WHERE group_id = $1 AND id = $2 AND status = $5",
        )
        .bind(group_id)
        .bind(campaign_id)
        .bind(status::STOPPED)
        .bind(now.as_millis())
        .bind(status::ACTIVE)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            let current: Option<String> =
                sqlx::query_scalar("SELECT status FROM campaigns WHERE group_id = $1 AND id = $2")
                    .bind(group_id)
                    .bind(campaign_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Ok(StopOutcome::NotActive(current.unwrap_or_default()));
        }
        sqlx::query(
            "DELETE FROM work_items WHERE kind = $1 AND ref_id IN \
             (SELECT id FROM campaign_instances WHERE campaign_id = $2 AND state = $3)",
        )
        .bind(CAMPAIGN_WORK)
        .bind(campaign_id)
        .bind(instance_state::ACTIVE)
        .execute(&mut *tx)
        .await?;
        let stopped = sqlx::query(
            "UPDATE campaign_instances SET state = $2, stop_reason = $3, pending_approval = 0, pending_subject = NULL, \
             pending_body = NULL, updated_at = $4 WHERE campaign_id = $1 AND state = $5",
        )
        .bind(campaign_id)
        .bind(instance_state::STOPPED)
        .bind(stop_reason::CAMPAIGN_STOPPED)
        .bind(now.as_millis())
        .bind(instance_state::ACTIVE)
        .execute(&mut *tx)
        .await?;
        crate::events::append_campaign_event_in(&mut tx, campaign_id, EventType::CampaignStopped, now).await?;
        tx.commit().await?;
        Ok(StopOutcome::Stopped(stopped.rows_affected()))
    }

    // --- instances ---------------------------------------------------------------

    /// The instances of `ids` in a campaign.
    pub async fn instances_for_leads(&self, campaign_id: &str, ids: &[String]) -> StoreResult<Vec<WorkflowInstance>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT * FROM campaign_instances WHERE campaign_id = $1 AND prospect_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(campaign_id);
            for id in chunk {
                q = q.bind(id);
            }
            let rows = q.fetch_all(&self.writer).await?;
            out.extend(rows.iter().map(instance_from_row).collect::<Result<Vec<_>, _>>()?);
        }
        Ok(out)
    }

    /// Every instance of a campaign (tests, summaries).
    pub async fn campaign_instances(&self, campaign_id: &str) -> StoreResult<Vec<WorkflowInstance>> {
        let rows = sqlx::query("SELECT * FROM campaign_instances WHERE campaign_id = $1 ORDER BY created_at, id")
            .bind(campaign_id)
            .fetch_all(&self.writer)
            .await?;
        Ok(rows.iter().map(instance_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn get_instance(
        &self,
        group_id: &str,
        campaign_id: &str,
        instance_id: &str,
    ) -> StoreResult<Option<WorkflowInstance>> {
        let row = sqlx::query("SELECT * FROM campaign_instances WHERE group_id = $1 AND campaign_id = $2 AND id = $3")
            .bind(group_id)
            .bind(campaign_id)
            .bind(instance_id)
            .fetch_optional(&self.writer)
            .await?;
        Ok(row.as_ref().map(instance_from_row).transpose()?)
    }

    /// Clears the approval gate of an instance and queues its step at once
    /// (the approved content is sent as composed).
    pub async fn approve_instance(
        &self,
        group_id: &str,
        campaign_id: &str,
        instance_id: &str,
        now: Timestamp,
    ) -> StoreResult<ApprovalOutcome> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE campaign_instances SET pending_approval = 0, approved = 1, next_run_at = $4, updated_at = $4 \
             WHERE group_id = $1 AND campaign_id = $2 AND id = $3 AND state = $5 AND pending_approval = 1",
        )
        .bind(group_id)
        .bind(campaign_id)
        .bind(instance_id)
        .bind(now.as_millis())
        .bind(instance_state::ACTIVE)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            let work_id = sonarly_domain::id::new_hex_id(now);
            enqueue_in(&mut tx, &work_id, CAMPAIGN_WORK, instance_id, group_id, now, now).await?;
        }
        let outcome = approval_outcome(&mut tx, group_id, campaign_id, instance_id, done.rows_affected() == 1).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Discards pending content: the instance stops with `CONTENT_DISCARDED`
    /// (nothing was sent) and the campaign completes if it was the last live one.
    pub async fn discard_instance(
        &self,
        group_id: &str,
        campaign_id: &str,
        instance_id: &str,
        now: Timestamp,
    ) -> StoreResult<ApprovalOutcome> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE campaign_instances SET pending_approval = 0, pending_subject = NULL, pending_body = NULL, \
             state = $5, stop_reason = $6, updated_at = $4 \
             WHERE group_id = $1 AND campaign_id = $2 AND id = $3 AND state = $7 AND pending_approval = 1",
        )
        .bind(group_id)
        .bind(campaign_id)
        .bind(instance_id)
        .bind(now.as_millis())
        .bind(instance_state::STOPPED)
        .bind(stop_reason::CONTENT_DISCARDED)
        .bind(instance_state::ACTIVE)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            sqlx::query("DELETE FROM work_items WHERE kind = $1 AND ref_id = $2")
                .bind(CAMPAIGN_WORK)
                .bind(instance_id)
                .execute(&mut *tx)
                .await?;
            complete_campaign_if_done_in(&mut tx, campaign_id, now).await?;
        }
        let outcome = approval_outcome(&mut tx, group_id, campaign_id, instance_id, done.rows_affected() == 1).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    // --- the executor ---------------------------------------------------------

    /// An instance by id (the engine's lookup from a work row).
    pub async fn find_instance(&self, instance_id: &str) -> StoreResult<Option<WorkflowInstance>> {
        let row = sqlx::query("SELECT * FROM campaign_instances WHERE id = $1")
            .bind(instance_id)
            .fetch_optional(&self.writer)
            .await?;
        Ok(row.as_ref().map(instance_from_row).transpose()?)
    }

    /// Gives a step back to the queue at `until` after a LinkedIn limit (nothing
    /// was performed): its reserved action is un-counted so caps stay honest.
    /// With `settle`, fenced by the attempt LinkedIn refused (it ends `ready`).
    pub async fn requeue_step(
        &self,
        item: &WorkItem,
        token: &str,
        until: Timestamp,
        reason: &str,
        settle: Option<&Settle<'_>>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let Some(mut tx) = begin_finish(self, settle, now).await? else { return Ok(false) };
        if !release_in(&mut tx, item, settle.is_some(), until, Some(reason)).await? && settle.is_none() {
            return Ok(false);
        }
        forget_in(&mut tx, token).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records a performed (or skipped) step: moves the instance to its next
    /// step (releasing the work row to run then) or completes it (finishing
    /// the row, and the campaign when it was its last live instance): under
    /// the lease, or fenced by the attempt that performed it (`settle`, which
    /// also attributes what the provider produced).
    pub async fn record_step(
        &self,
        item: &WorkItem,
        record: &StepRecord,
        settle: Option<&Settle<'_>>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let Some(mut tx) = begin_finish(self, settle, now).await? else { return Ok(false) };
        let fenced = settle.is_some();
        match record.next {
            Some((index, at)) => {
                if !release_in(&mut tx, item, fenced, at, None).await? && !fenced {
                    return Ok(false);
                }
                sqlx::query(
                    "UPDATE campaign_instances SET step_index = $2, latest_step = COALESCE($3, latest_step), \
                     step_started_at = $4, next_run_at = $4, pending_approval = 0, pending_subject = NULL, \
                     pending_body = NULL, approved = 0, updated_at = $5 WHERE id = $1 AND state = $6",
                )
                .bind(&record.instance_id)
                .bind(index as i64)
                .bind(&record.latest_step)
                .bind(at.as_millis())
                .bind(now.as_millis())
                .bind(instance_state::ACTIVE)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                if !finish_guarded_in(&mut tx, item, fenced).await? && !fenced {
                    return Ok(false);
                }
                sqlx::query(
                    "UPDATE campaign_instances SET state = $2, latest_step = COALESCE($3, latest_step), \
                     pending_approval = 0, pending_subject = NULL, pending_body = NULL, approved = 0, updated_at = $4 \
                     WHERE id = $1 AND state = $5",
                )
                .bind(&record.instance_id)
                .bind(instance_state::COMPLETED)
                .bind(&record.latest_step)
                .bind(now.as_millis())
                .bind(instance_state::ACTIVE)
                .execute(&mut *tx)
                .await?;
                complete_campaign_if_done_in(&mut tx, &record.campaign_id, now).await?;
            }
        }
        if let Some(step) = record.latest_step.as_deref() {
            let id = &record.instance_id;
            crate::events::append_lead_event_in(&mut tx, id, EventType::CampaignLeadStepCompleted, Some(step), now)
                .await?;
            let invitation = match step {
                "send_invitation" => Some(EventType::InvitationSent),
                "invitation_accepted" => Some(EventType::InvitationAccepted),
                _ => None,
            };
            if let Some(event_type) = invitation {
                crate::events::append_lead_event_in(&mut tx, id, event_type, Some(step), now).await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Waits again for the same step (acceptance polling): the row runs again at `at`.
    pub async fn wait_step(
        &self,
        item: &WorkItem,
        instance_id: &str,
        at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        if !release_in(&mut tx, item, false, at, None).await? {
            return Ok(false);
        }
        sqlx::query("UPDATE campaign_instances SET next_run_at = $2, updated_at = $3 WHERE id = $1")
            .bind(instance_id)
            .bind(at.as_millis())
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Ends an instance (`stopped` or `not_eligible`, with a reason), finishing
    /// its row and completing the campaign if it was its last live instance;
    /// with `settle`, fenced by the attempt it gives up.
    pub async fn end_instance(
        &self,
        item: &WorkItem,
        instance: &WorkflowInstance,
        state: &str,
        reason: &str,
        settle: Option<&Settle<'_>>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let Some(mut tx) = begin_finish(self, settle, now).await? else { return Ok(false) };
        if !finish_guarded_in(&mut tx, item, settle.is_some()).await? && settle.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE campaign_instances SET state = $2, stop_reason = $3, pending_approval = 0, pending_subject = NULL, \
             pending_body = NULL, updated_at = $4 WHERE id = $1 AND state = $5",
        )
        .bind(&instance.id)
        .bind(state)
        .bind(reason)
        .bind(now.as_millis())
        .bind(instance_state::ACTIVE)
        .execute(&mut *tx)
        .await?;
        let event_type = if reason == stop_reason::REPLY_RECEIVED {
            EventType::CampaignLeadReplied
        } else {
            EventType::CampaignLeadStopped
        };
        crate::events::append_lead_event_in(&mut tx, &instance.id, event_type, None, now).await?;
        complete_campaign_if_done_in(&mut tx, &instance.campaign_id, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Holds an instance for approval with its composed content; its work row
    /// is finished (approve queues a new one).
    pub async fn hold_for_approval(
        &self,
        item: &WorkItem,
        instance_id: &str,
        subject: Option<&str>,
        body: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        if !finish_in(&mut tx, item).await? {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE campaign_instances SET pending_approval = 1, pending_subject = $2, pending_body = $3, approved = 0, \
             updated_at = $4 WHERE id = $1 AND state = $5",
        )
        .bind(instance_id)
        .bind(subject)
        .bind(body)
        .bind(now.as_millis())
        .bind(instance_state::ACTIVE)
        .execute(&mut *tx)
        .await?;
        crate::events::append_lead_event_in(&mut tx, instance_id, EventType::CampaignApprovalRequired, None, now)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// True when someone in `provider_ids` wrote to the group (any account) at or after `since`.
    pub async fn reply_received_since(
        &self,
        group_id: &str,
        provider_ids: &[&str],
        since: Timestamp,
    ) -> StoreResult<bool> {
        if provider_ids.is_empty() {
            return Ok(false);
        }
        let sql = format!(
            "SELECT 1 FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE c.group_id = $1 AND c.participant_provider_id IN ({}) AND m.is_sender = 0 AND m.sent_at >= $2 \
             LIMIT 1",
            placeholders(3, provider_ids.len())
        );
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(group_id).bind(since.as_millis());
        for p in provider_ids {
            q = q.bind(*p);
        }
        Ok(q.fetch_optional(&self.writer).await?.is_some())
    }

    /// The conversation history with someone (oldest first, at most `limit`
    /// most recent messages): `(is_sender, text)`.
    pub async fn conversation_history(
        &self,
        group_id: &str,
        provider_ids: &[&str],
        limit: i64,
    ) -> StoreResult<Vec<(bool, String)>> {
        if provider_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT m.is_sender, m.body FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE c.group_id = $1 AND c.participant_provider_id IN ({}) ORDER BY m.sent_at DESC, m.id DESC LIMIT $2",
            placeholders(3, provider_ids.len())
        );
        let mut q = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql)).bind(group_id).bind(limit);
        for p in provider_ids {
            q = q.bind(*p);
        }
        let mut rows: Vec<(bool, String)> =
            q.fetch_all(&self.writer).await?.into_iter().map(|(s, b)| (s != 0, b)).collect();
        rows.reverse();
        Ok(rows)
    }
}

async fn insert_instance_in(tx: &mut Transaction<'static, Any>, i: &WorkflowInstance) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO campaign_instances (id, group_id, campaign_id, prospect_id, linkedin_account_id, step_index, state, \
         stop_reason, latest_step, pending_approval, pending_subject, pending_body, approved, step_started_at, \
         next_run_at, started_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(&i.id)
    .bind(&i.group_id)
    .bind(&i.campaign_id)
    .bind(&i.prospect_id)
    .bind(&i.linkedin_account_id)
    .bind(i.step_index as i64)
    .bind(&i.state)
    .bind(&i.stop_reason)
    .bind(&i.latest_step)
    .bind(i64::from(i.pending_approval))
    .bind(&i.pending_subject)
    .bind(&i.pending_body)
    .bind(i64::from(i.approved))
    .bind(i.step_started_at.as_millis())
    .bind(i.next_run_at.as_millis())
    .bind(i.started_at.as_millis())
    .bind(i.created_at.as_millis())
    .bind(i.updated_at.as_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks an active campaign `completed` once none of its instances is live.
async fn complete_campaign_if_done_in(
    tx: &mut Transaction<'static, Any>,
    campaign_id: &str,
    now: Timestamp,
) -> StoreResult<()> {
    let completed = sqlx::query(
        "UPDATE campaigns SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4 AND NOT EXISTS \
         (SELECT 1 FROM campaign_instances WHERE campaign_id = $1 AND state = $5)",
    )
    .bind(campaign_id)
    .bind(status::COMPLETED)
    .bind(now.as_millis())
    .bind(status::ACTIVE)
    .bind(instance_state::ACTIVE)
    .execute(&mut **tx)
    .await?;
    if completed.rows_affected() == 1 {
        crate::events::append_campaign_event_in(tx, campaign_id, EventType::CampaignCompleted, now).await?;
    }
    Ok(())
}

async fn approval_outcome(
    tx: &mut Transaction<'static, Any>,
    group_id: &str,
    campaign_id: &str,
    instance_id: &str,
    done: bool,
) -> StoreResult<ApprovalOutcome> {
    let row = sqlx::query("SELECT * FROM campaign_instances WHERE group_id = $1 AND campaign_id = $2 AND id = $3")
        .bind(group_id)
        .bind(campaign_id)
        .bind(instance_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row.as_ref().map(instance_from_row).transpose()? {
        None => ApprovalOutcome::NotFound,
        Some(i) if done => ApprovalOutcome::Done(i),
        Some(i) => ApprovalOutcome::NothingPending(i),
    })
}
