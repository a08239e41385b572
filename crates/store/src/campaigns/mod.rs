//! Campaigns: drafts, content slots, selected leads, start and stop. The
//! workflow instances (`instances`) and the campaign executor's bookkeeping
//! (`executor`) live beside this file; caps and spacing are the action
//! ledger's (`ledger`), shared with scheduled responses.
//!
//! Every live workflow instance owns one `campaign_step` work row. Each step's
//! result is recorded in the transaction that releases (or finishes) that row,
//! guarded by its lease, so a step is either fully recorded or not at all.

mod executor;
mod instances;
mod leads;

pub use leads::{CampaignLead, FunnelCounts, FunnelGroup, FunnelSteps};

use crate::ledger::forget_in;
use crate::page::{Keyset, ListQuery};
use crate::queue::{WorkItem, enqueue_in, finish_guarded_in, finish_in, release_in, withdraw_in};
use crate::sends::{Settle, begin_finish};
use crate::sql::{one_of, opt_one_of, placeholders};
use crate::{Store, StoreError, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::campaign::{
    Campaign, CampaignStatus, ContentSlot, InstanceState, SlotChannel, StarterTemplate, StopReason, WorkflowInstance,
};
use sonarly_domain::events::EventType;
use sonarly_domain::page::PageRequest;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

pub const CAMPAIGN_WORK: &str = "campaign_step";

/// Ids bound per `IN (…)` list.
const CHUNK: usize = 500;

/// Which of `ids` stand as `prospect_id` in `table` beside `owner_column = owner`
/// (an audience's prospects, a campaign's leads), read `CHUNK` ids at a time.
/// Which of `ids` are rows of `table` under `owner`, where the owner (an
/// audience or a campaign, in `owner_table`) belongs to `group`: another
/// group's owner matches nothing.
async fn prospects_among<'c>(
    pool: impl sqlx::Executor<'c, Database = Any> + Copy,
    group: &GroupId,
    (table, owner_column, owner_table): (&'static str, &'static str, &'static str),
    owner: &str,
    ids: &[String],
) -> StoreResult<Vec<String>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT prospect_id FROM {table} WHERE {owner_column} = $1 \
             AND EXISTS (SELECT 1 FROM {owner_table} o WHERE o.id = $1 AND o.group_id = $2) \
             AND prospect_id IN ({})",
            placeholders(3, chunk.len())
        );
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(owner).bind(group.as_str());
        for id in chunk {
            q = q.bind(id);
        }
        found.extend(q.fetch_all(pool).await?);
    }
    Ok(found)
}

fn campaign_from_row(row: &AnyRow) -> Result<Campaign, sqlx::Error> {
    let template: String = row.try_get("starter_template_id")?;
    Ok(Campaign {
        id: row.try_get("id")?,
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        starter_template: StarterTemplate::parse(&template)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown starter template {template}").into()))?,
        workflow_version: row.try_get::<i64, _>("workflow_version")? as u32,
        audience_id: row.try_get("audience_id")?,
        status: one_of(row, "status", CampaignStatus::parse)?,
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
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
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
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        campaign_id: row.try_get("campaign_id")?,
        prospect_id: row.try_get("prospect_id")?,
        linkedin_account_id: row.try_get("linkedin_account_id")?,
        step_index: row.try_get::<i64, _>("step_index")?.max(0) as usize,
        state: one_of(row, "state", InstanceState::parse)?,
        stop_reason: opt_one_of(row, "stop_reason", StopReason::parse)?,
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

/// The outcome of relinking a content slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotUpdate {
    Updated(ContentSlot),
    /// No such slot in this campaign.
    SlotNotFound,
    /// The campaign is not a draft (its status).
    NotEditable(CampaignStatus),
    /// The writing style is not (or no longer) in the group.
    TemplateMissing,
}

/// The outcome of starting a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    /// Started; this many instances were created.
    Started(u64),
    /// The campaign is not a draft (its status; `None` when it is gone).
    NotDraft(Option<CampaignStatus>),
}

/// The outcome of stopping a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    /// Stopped; this many live instances were stopped.
    Stopped(u64),
    /// The campaign is not active (its status; `None` when it is gone).
    NotActive(Option<CampaignStatus>),
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
        .bind(c.group_id.as_str())
        .bind(&c.name)
        .bind(&c.description)
        .bind(c.starter_template.id())
        .bind(i64::from(c.workflow_version))
        .bind(&c.audience_id)
        .bind(c.status.as_str())
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
            .bind(c.group_id.as_str())
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

    pub async fn get_campaign(&self, group_id: &GroupId, id: &str) -> StoreResult<Option<Campaign>> {
        let row = sqlx::query("SELECT * FROM campaigns WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(campaign_from_row).transpose()?)
    }

    /// One page of a group's campaigns, newest first, optionally of one status.
    pub async fn list_campaigns(
        &self,
        group_id: &GroupId,
        status_filter: Option<CampaignStatus>,
        page: &PageRequest,
    ) -> StoreResult<Vec<Campaign>> {
        let rows = ListQuery::new("SELECT * FROM campaigns WHERE group_id = $1")
            .bind(group_id)
            .and_eq("status", status_filter.map(|s| s.as_str()))
            .page(&Keyset::page(page))
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.iter().map(campaign_from_row).collect::<Result<_, _>>()?)
    }

    /// A campaign's content slots in workflow order.
    pub async fn content_slots(&self, group_id: &GroupId, campaign_id: &str) -> StoreResult<Vec<ContentSlot>> {
        let rows = sqlx::query(
            "SELECT * FROM campaign_content_slots WHERE group_id = $1 AND campaign_id = $2 ORDER BY position",
        )
        .bind(group_id.as_str())
        .bind(campaign_id)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.iter().map(slot_from_row).collect::<Result<_, _>>()?)
    }

    /// Links a writing style to a slot of a draft campaign; the campaign's
    /// status and the style's existence are checked in the same transaction.
    pub async fn set_slot_template(
        &self,
        group_id: &GroupId,
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
        group_id: &GroupId,
        campaign_id: &str,
        slot_id: &str,
        template_id: &str,
        now: Timestamp,
    ) -> StoreResult<SlotUpdate> {
        let mut tx = self.writer.begin().await?;
        // Serializes with start: the draft check and the link commit together.
        let touched = sqlx::query("UPDATE campaigns SET updated_at = $3 WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(campaign_id)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
        if touched.rows_affected() == 0 {
            return Ok(SlotUpdate::SlotNotFound);
        }
        let state = campaign_status_in(&mut tx, group_id, campaign_id).await?;
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM campaign_content_slots WHERE group_id = $1 AND campaign_id = $2 AND id = $3",
        )
        .bind(group_id.as_str())
        .bind(campaign_id)
        .bind(slot_id)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_none() {
            return Ok(SlotUpdate::SlotNotFound);
        }
        let Some(state) = state else { return Ok(SlotUpdate::SlotNotFound) };
        if state != CampaignStatus::Draft {
            return Ok(SlotUpdate::NotEditable(state));
        }
        let style: Option<i64> = sqlx::query_scalar("SELECT 1 FROM writing_styles WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(template_id)
            .fetch_optional(&mut *tx)
            .await?;
        if style.is_none() {
            return Ok(SlotUpdate::TemplateMissing);
        }
        sqlx::query(
            "UPDATE campaign_content_slots SET template_id = $4 WHERE group_id = $1 AND campaign_id = $2 AND id = $3",
        )
        .bind(group_id.as_str())
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
    pub async fn first_writing_style_of(
        &self,
        group_id: &GroupId,
        content_types: &[&str],
    ) -> StoreResult<Option<String>> {
        if content_types.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT id FROM writing_styles WHERE group_id = $1 AND content_type IN ({}) \
             ORDER BY created_at, id LIMIT 1",
            placeholders(2, content_types.len())
        );
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(group_id.as_str());
        for t in content_types {
            q = q.bind(*t);
        }
        Ok(q.fetch_optional(&self.reader).await?)
    }

    // --- leads -----------------------------------------------------------------

    /// Every prospect id of an audience, in the order they were added.
    pub async fn audience_prospect_ids(&self, group_id: &GroupId, audience_id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT ap.prospect_id FROM audience_prospects ap JOIN audiences a ON a.id = ap.audience_id \
             WHERE ap.audience_id = $1 AND a.group_id = $2 ORDER BY ap.added_at, ap.prospect_id",
        )
        .bind(audience_id)
        .bind(group_id.as_str())
        .fetch_all(&self.reader)
        .await?)
    }

    /// Which of `ids` are prospects of the audience.
    pub async fn audience_members_among(
        &self,
        group_id: &GroupId,
        audience_id: &str,
        ids: &[String],
    ) -> StoreResult<Vec<String>> {
        let owner = ("audience_prospects", "audience_id", "audiences");
        prospects_among(&self.reader, group_id, owner, audience_id, ids).await
    }

    /// A campaign's selected lead ids, in selection order.
    pub async fn campaign_lead_ids(&self, group_id: &GroupId, campaign_id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT l.prospect_id FROM campaign_leads l JOIN campaigns c ON c.id = l.campaign_id \
             WHERE l.campaign_id = $1 AND c.group_id = $2 ORDER BY l.position",
        )
        .bind(campaign_id)
        .bind(group_id.as_str())
        .fetch_all(&self.reader)
        .await?)
    }

    /// Which of `ids` are selected leads of the campaign.
    pub async fn campaign_leads_among(
        &self,
        group_id: &GroupId,
        campaign_id: &str,
        ids: &[String],
    ) -> StoreResult<Vec<String>> {
        prospects_among(&self.reader, group_id, ("campaign_leads", "campaign_id", "campaigns"), campaign_id, ids).await
    }

    /// Which of `ids` have a live workflow instance in an active campaign of the group.
    pub async fn leads_in_active_workflows(&self, group_id: &GroupId, ids: &[String]) -> StoreResult<Vec<String>> {
        let mut found = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT DISTINCT i.prospect_id FROM campaign_instances i JOIN campaigns c ON c.id = i.campaign_id \
                 WHERE i.group_id = $1 AND i.state = $2 AND c.status = $3 AND i.prospect_id IN ({})",
                placeholders(4, chunk.len())
            );
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
                .bind(group_id.as_str())
                .bind(InstanceState::Active.as_str())
                .bind(CampaignStatus::Active.as_str());
            for id in chunk {
                q = q.bind(id);
            }
            found.extend(q.fetch_all(&self.reader).await?);
        }
        Ok(found)
    }

    // --- start and stop -------------------------------------------------------

    /// Starts a draft: records the account, creates the instances and their
    /// work rows, all in one transaction; refused unless the campaign is a draft.
    pub async fn start_campaign(
        &self,
        group_id: &GroupId,
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
        .bind(group_id.as_str())
        .bind(campaign_id)
        .bind(CampaignStatus::Active.as_str())
        .bind(account_id)
        .bind(now.as_millis())
        .bind(CampaignStatus::Draft.as_str())
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            return Ok(StartOutcome::NotDraft(campaign_status_in(&mut tx, group_id, campaign_id).await?));
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
    pub async fn stop_campaign(
        &self,
        group_id: &GroupId,
        campaign_id: &str,
        now: Timestamp,
    ) -> StoreResult<StopOutcome> {
        let mut tx = self.writer.begin().await?;
        // The queued steps first, as workers lock them before the instance and
        // the campaign (see `queue::withdraw_in`); rolled back if not active.
        sqlx::query(
            "DELETE FROM work_items WHERE kind = $1 AND ref_id IN \
             (SELECT id FROM campaign_instances WHERE group_id = $2 AND campaign_id = $3 AND state = $4)",
        )
        .bind(CAMPAIGN_WORK)
        .bind(group_id.as_str())
        .bind(campaign_id)
        .bind(InstanceState::Active.as_str())
        .execute(&mut *tx)
        .await?;
        let moved = sqlx::query(
            "UPDATE campaigns SET status = $3, stopped_at = $4, updated_at = $4 \
             WHERE group_id = $1 AND id = $2 AND status = $5",
        )
        .bind(group_id.as_str())
        .bind(campaign_id)
        .bind(CampaignStatus::Stopped.as_str())
        .bind(now.as_millis())
        .bind(CampaignStatus::Active.as_str())
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            return Ok(StopOutcome::NotActive(campaign_status_in(&mut tx, group_id, campaign_id).await?));
        }
        let stopped = sqlx::query(
            "UPDATE campaign_instances SET state = $2, stop_reason = $3, pending_approval = 0, pending_subject = NULL, \
             pending_body = NULL, updated_at = $4 WHERE campaign_id = $1 AND state = $5",
        )
        .bind(campaign_id)
        .bind(InstanceState::Stopped.as_str())
        .bind(StopReason::CampaignStopped.as_str())
        .bind(now.as_millis())
        .bind(InstanceState::Active.as_str())
        .execute(&mut *tx)
        .await?;
        crate::events::append_campaign_event_in(&mut tx, campaign_id, EventType::CampaignStopped, now).await?;
        tx.commit().await?;
        Ok(StopOutcome::Stopped(stopped.rows_affected()))
    }
}

pub(super) async fn insert_instance_in(tx: &mut Transaction<'static, Any>, i: &WorkflowInstance) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO campaign_instances (id, group_id, campaign_id, prospect_id, linkedin_account_id, step_index, state, \
         stop_reason, latest_step, pending_approval, pending_subject, pending_body, approved, step_started_at, \
         next_run_at, started_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(&i.id)
    .bind(i.group_id.as_str())
    .bind(&i.campaign_id)
    .bind(&i.prospect_id)
    .bind(&i.linkedin_account_id)
    .bind(i.step_index as i64)
    .bind(i.state.as_str())
    .bind(i.stop_reason.map(StopReason::as_str))
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

/// A campaign's status inside a transaction; `None` when it is gone.
async fn campaign_status_in(
    tx: &mut Transaction<'static, Any>,
    group_id: &GroupId,
    campaign_id: &str,
) -> StoreResult<Option<CampaignStatus>> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM campaigns WHERE group_id = $1 AND id = $2")
        .bind(group_id.as_str())
        .bind(campaign_id)
        .fetch_optional(&mut **tx)
        .await?;
    let parsed = status.as_deref().map(CampaignStatus::parse).transpose();
    Ok(parsed.map_err(|e| sqlx::Error::Decode(format!("column status: {e}").into()))?)
}

/// Marks an active campaign `completed` once none of its instances is live.
pub(super) async fn complete_campaign_if_done_in(
    tx: &mut Transaction<'static, Any>,
    campaign_id: &str,
    now: Timestamp,
) -> StoreResult<()> {
    let completed = sqlx::query(
        "UPDATE campaigns SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4 AND NOT EXISTS \
         (SELECT 1 FROM campaign_instances WHERE campaign_id = $1 AND state = $5)",
    )
    .bind(campaign_id)
    .bind(CampaignStatus::Completed.as_str())
    .bind(now.as_millis())
    .bind(CampaignStatus::Active.as_str())
    .bind(InstanceState::Active.as_str())
    .execute(&mut **tx)
    .await?;
    if completed.rows_affected() == 1 {
        crate::events::append_campaign_event_in(tx, campaign_id, EventType::CampaignCompleted, now).await?;
    }
    Ok(())
}
