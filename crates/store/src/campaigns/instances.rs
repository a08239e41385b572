//! Workflow instances as the API sees them: listed, looked up by lead,
//! approved or discarded.

use super::*;
use sonarly_domain::GroupId;

impl Store {
    /// The instances of `ids` in a campaign.
    pub async fn instances_for_leads(
        &self,
        group_id: &GroupId,
        campaign_id: &str,
        ids: &[String],
    ) -> StoreResult<Vec<WorkflowInstance>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT * FROM campaign_instances WHERE campaign_id = $1 AND group_id = $2 AND prospect_id IN ({})",
                placeholders(3, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(campaign_id).bind(group_id.as_str());
            for id in chunk {
                q = q.bind(id);
            }
            let rows = q.fetch_all(&self.reader).await?;
            out.extend(rows.iter().map(instance_from_row).collect::<Result<Vec<_>, _>>()?);
        }
        Ok(out)
    }

    /// Every instance of a campaign (tests, summaries).
    pub async fn campaign_instances(&self, campaign_id: &str) -> StoreResult<Vec<WorkflowInstance>> {
        let rows = sqlx::query("SELECT * FROM campaign_instances WHERE campaign_id = $1 ORDER BY created_at, id")
            .bind(campaign_id)
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.iter().map(instance_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn get_instance(
        &self,
        group_id: &GroupId,
        campaign_id: &str,
        instance_id: &str,
    ) -> StoreResult<Option<WorkflowInstance>> {
        let row = sqlx::query("SELECT * FROM campaign_instances WHERE group_id = $1 AND campaign_id = $2 AND id = $3")
            .bind(group_id.as_str())
            .bind(campaign_id)
            .bind(instance_id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(instance_from_row).transpose()?)
    }

    /// Clears the approval gate of an instance and queues its step at once
    /// (the approved content is sent as composed).
    pub async fn approve_instance(
        &self,
        group_id: &GroupId,
        campaign_id: &str,
        instance_id: &str,
        now: Timestamp,
    ) -> StoreResult<ApprovalOutcome> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE campaign_instances SET pending_approval = 0, approved = 1, next_run_at = $4, updated_at = $4 \
             WHERE group_id = $1 AND campaign_id = $2 AND id = $3 AND state = $5 AND pending_approval = 1",
        )
        .bind(group_id.as_str())
        .bind(campaign_id)
        .bind(instance_id)
        .bind(now.as_millis())
        .bind(InstanceState::Active.as_str())
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
        group_id: &GroupId,
        campaign_id: &str,
        instance_id: &str,
        now: Timestamp,
    ) -> StoreResult<ApprovalOutcome> {
        let mut tx = self.writer.begin().await?;
        // The queued step first (see `queue::withdraw_in`); it comes back with
        // the rollback when nothing waits for approval.
        withdraw_in(&mut tx, CAMPAIGN_WORK, instance_id).await?;
        let done = sqlx::query(
            "UPDATE campaign_instances SET pending_approval = 0, pending_subject = NULL, pending_body = NULL, \
             state = $5, stop_reason = $6, updated_at = $4 \
             WHERE group_id = $1 AND campaign_id = $2 AND id = $3 AND state = $7 AND pending_approval = 1",
        )
        .bind(group_id.as_str())
        .bind(campaign_id)
        .bind(instance_id)
        .bind(now.as_millis())
        .bind(InstanceState::Stopped.as_str())
        .bind(StopReason::ContentDiscarded.as_str())
        .bind(InstanceState::Active.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            complete_campaign_if_done_in(&mut tx, campaign_id, now).await?;
        } else {
            tx.rollback().await?;
            tx = self.writer.begin().await?;
        }
        let outcome = approval_outcome(&mut tx, group_id, campaign_id, instance_id, done.rows_affected() == 1).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

async fn approval_outcome(
    tx: &mut Transaction<'static, Any>,
    group_id: &GroupId,
    campaign_id: &str,
    instance_id: &str,
    done: bool,
) -> StoreResult<ApprovalOutcome> {
    let row = sqlx::query("SELECT * FROM campaign_instances WHERE group_id = $1 AND campaign_id = $2 AND id = $3")
        .bind(group_id.as_str())
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
