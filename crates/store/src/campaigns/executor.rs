//! The campaign executor's bookkeeping: each step's result recorded in the
//! transaction that releases (or finishes) the lead's work row, guarded by
//! its lease or fenced by the attempt that performed the step.

use super::*;
use sonarly_domain::GroupId;

impl Store {
    /// An instance by id (the engine's lookup from a work row).
    pub(crate) async fn find_instance(&self, instance_id: &str) -> StoreResult<Option<WorkflowInstance>> {
        let row = sqlx::query("SELECT * FROM campaign_instances WHERE id = $1")
            .bind(instance_id)
            .fetch_optional(&self.reader)
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
                .bind(InstanceState::Active.as_str())
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
                .bind(InstanceState::Completed.as_str())
                .bind(&record.latest_step)
                .bind(now.as_millis())
                .bind(InstanceState::Active.as_str())
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
        state: InstanceState,
        reason: StopReason,
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
        .bind(state.as_str())
        .bind(reason.as_str())
        .bind(now.as_millis())
        .bind(InstanceState::Active.as_str())
        .execute(&mut *tx)
        .await?;
        let event_type = if reason == StopReason::ReplyReceived {
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
        .bind(InstanceState::Active.as_str())
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
        group_id: &GroupId,
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
        let mut q =
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(group_id.as_str()).bind(since.as_millis());
        for p in provider_ids {
            q = q.bind(*p);
        }
        Ok(q.fetch_optional(&self.reader).await?.is_some())
    }

    /// The conversation history with someone (oldest first, at most `limit`
    /// most recent messages): `(is_sender, text)`.
    pub async fn conversation_history(
        &self,
        group_id: &GroupId,
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
        let mut q = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql)).bind(group_id.as_str()).bind(limit);
        for p in provider_ids {
            q = q.bind(*p);
        }
        let mut rows: Vec<(bool, String)> =
            q.fetch_all(&self.reader).await?.into_iter().map(|(s, b)| (s != 0, b)).collect();
        rows.reverse();
        Ok(rows)
    }
}
