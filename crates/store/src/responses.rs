//! Scheduled responses and the outbound scheduler's bookkeeping: per-account
//! action ledger (daily and weekly caps) and send slots (spacing).

use crate::idempotency::{CREATE_ATTEMPTS, Keyed, keyed_in};
use crate::ledger::{SlotClaim, SlotRequest, forget_in, reserve_slot_in};
use crate::page::{Keyset, ListQuery};
use crate::queue::{WorkItem, enqueue_in, finish_guarded_in, hold_lease_in, release_in, withdraw_in};
use crate::sends::{Settle, begin_finish};
use crate::sql::{one_of, opt_one_of};
use crate::{Store, StoreError, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::events::EventType;
use sonarly_domain::linkedin_account::DeferredReason;
use sonarly_domain::page::PageRequest;
use sonarly_domain::responses::{ResponseChannel, ResponseStatus, ScheduledResponse};
use sqlx::Row;
use sqlx::any::AnyRow;

pub const OUTBOUND_WORK: &str = "outbound";

pub(crate) fn response_from_row(row: &AnyRow) -> Result<ScheduledResponse, sqlx::Error> {
    Ok(ScheduledResponse {
        id: row.try_get("id")?,
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        prospect_id: row.try_get("prospect_id")?,
        linkedin_account_id: row.try_get("linkedin_account_id")?,
        channel: one_of(row, "channel", ResponseChannel::parse)?,
        body: row.try_get("body")?,
        subject: row.try_get("subject")?,
        conversation_id: row.try_get("conversation_id")?,
        recipient_provider_id: row.try_get("recipient_provider_id")?,
        provider_chat_id: row.try_get("provider_chat_id")?,
        status: one_of(row, "status", ResponseStatus::parse)?,
        scheduled_at: Timestamp::from_millis(row.try_get("scheduled_at")?),
        deferred: row.try_get::<i64, _>("deferred")? != 0,
        deferred_reason: opt_one_of(row, "deferred_reason", DeferredReason::parse)?,
        sent_at: row.try_get::<Option<i64>, _>("sent_at")?.map(Timestamp::from_millis),
        message_id: row.try_get("message_id")?,
        failure_code: row.try_get("failure_code")?,
        failure_message: row.try_get("failure_message")?,
        idempotency_key: row.try_get("idempotency_key")?,
        request_hash: row.try_get("request_hash")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

/// The parts of a conversation a response needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationTarget {
    pub id: String,
    pub linkedin_account_id: String,
    pub provider_chat_id: String,
    pub participant_provider_id: Option<String>,
    pub is_inmail: bool,
}

fn target_from_row(row: &AnyRow) -> Result<ConversationTarget, sqlx::Error> {
    Ok(ConversationTarget {
        id: row.try_get("id")?,
        linkedin_account_id: row.try_get("linkedin_account_id")?,
        provider_chat_id: row.try_get("provider_chat_id")?,
        participant_provider_id: row.try_get("participant_provider_id")?,
        is_inmail: row.try_get::<i64, _>("is_inmail")? != 0,
    })
}

/// What queuing a response did.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseCreation {
    Created(ScheduledResponse),
    /// A response with this Idempotency-Key exists (within 24 h).
    Existing(ScheduledResponse),
}

/// What a sent response records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseSent<'a> {
    pub sent_at: Timestamp,
    pub provider_chat_id: Option<&'a str>,
    pub conversation_id: Option<&'a str>,
    /// Our message id (the inbox row).
    pub message_id: Option<&'a str>,
}

impl Store {
    /// Queues a response and its work row atomically (idempotent by key).
    pub async fn create_response(
        &self,
        r: &ScheduledResponse,
        work_id: &str,
        now: Timestamp,
    ) -> StoreResult<ResponseCreation> {
        for _ in 0..CREATE_ATTEMPTS {
            let mut tx = self.writer.begin().await?;
            if let Some(key) = &r.idempotency_key
                && let Some(existing) =
                    keyed_in(&mut tx, Keyed::Responses, &r.group_id, key, now, response_from_row, |r| r.created_at)
                        .await?
            {
                return Ok(ResponseCreation::Existing(existing));
            }
            let inserted = sqlx::query(
                "INSERT INTO scheduled_responses (id, group_id, prospect_id, linkedin_account_id, channel, body, subject, \
                 conversation_id, recipient_provider_id, provider_chat_id, status, scheduled_at, deferred, sent_at, \
                 message_id, failure_code, failure_message, idempotency_key, request_hash, created_at, updated_at, \
                 deferred_reason) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, NULL, NULL, NULL, $14, $15, $16, $16, $17)",
            )
            .bind(&r.id)
            .bind(r.group_id.as_str())
            .bind(&r.prospect_id)
            .bind(&r.linkedin_account_id)
            .bind(r.channel.as_str())
            .bind(&r.body)
            .bind(&r.subject)
            .bind(&r.conversation_id)
            .bind(&r.recipient_provider_id)
            .bind(&r.provider_chat_id)
            .bind(r.status.as_str())
            .bind(r.scheduled_at.as_millis())
            .bind(i64::from(r.deferred))
            .bind(&r.idempotency_key)
            .bind(&r.request_hash)
            .bind(r.created_at.as_millis())
            .bind(r.deferred_reason.map(DeferredReason::as_str))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from);
            match inserted {
                Ok(_) => {
                    enqueue_in(&mut tx, work_id, OUTBOUND_WORK, &r.id, &r.group_id, r.scheduled_at, now).await?;
                    tx.commit().await?;
                    return Ok(ResponseCreation::Created(r.clone()));
                }
                Err(StoreError::UniqueViolation(_)) if r.idempotency_key.is_some() => {
                    tx.rollback().await?;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err(Keyed::Responses.contended())
    }

    /// A conversation of the group by our id.
    pub async fn conversation_target(
        &self,
        group_id: &GroupId,
        conversation_id: &str,
    ) -> StoreResult<Option<ConversationTarget>> {
        let row = sqlx::query(
            "SELECT id, linkedin_account_id, provider_chat_id, participant_provider_id, is_inmail FROM conversations \
             WHERE group_id = $1 AND id = $2",
        )
        .bind(group_id.as_str())
        .bind(conversation_id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.as_ref().map(target_from_row).transpose()?)
    }

    /// The most recent conversation of the group with a member (any account).
    pub async fn conversation_with(
        &self,
        group_id: &GroupId,
        participant_provider_id: &str,
    ) -> StoreResult<Option<ConversationTarget>> {
        let row = sqlx::query(
            "SELECT id, linkedin_account_id, provider_chat_id, participant_provider_id, is_inmail FROM conversations \
             WHERE group_id = $1 AND participant_provider_id = $2 ORDER BY last_message_at DESC, id DESC LIMIT 1",
        )
        .bind(group_id.as_str())
        .bind(participant_provider_id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.as_ref().map(target_from_row).transpose()?)
    }

    pub async fn response_by_key(&self, group_id: &GroupId, key: &str) -> StoreResult<Option<ScheduledResponse>> {
        let row = sqlx::query("SELECT * FROM scheduled_responses WHERE group_id = $1 AND idempotency_key = $2")
            .bind(group_id.as_str())
            .bind(key)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(response_from_row).transpose()?)
    }

    pub async fn get_response(&self, group_id: &GroupId, id: &str) -> StoreResult<Option<ScheduledResponse>> {
        let row = sqlx::query("SELECT * FROM scheduled_responses WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(response_from_row).transpose()?)
    }

    /// One page of a group's responses, newest first, optionally of one status.
    pub async fn list_responses(
        &self,
        group_id: &GroupId,
        status_filter: Option<ResponseStatus>,
        page: &PageRequest,
    ) -> StoreResult<Vec<ScheduledResponse>> {
        let rows = ListQuery::new("SELECT * FROM scheduled_responses WHERE group_id = $1")
            .bind(group_id)
            .and_eq("status", status_filter.map(|s| s.as_str()))
            .page(&Keyset::page(page))
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.iter().map(response_from_row).collect::<Result<_, _>>()?)
    }

    /// Cancels a queued response; `Some((false, r))` when it is past queued.
    pub async fn cancel_response(
        &self,
        group_id: &GroupId,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(bool, ScheduledResponse)>> {
        let mut tx = self.writer.begin().await?;
        let owned: Option<String> =
            sqlx::query_scalar("SELECT id FROM scheduled_responses WHERE group_id = $1 AND id = $2")
                .bind(group_id.as_str())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if owned.is_none() {
            return Ok(None);
        }
        // The work item first (see `withdraw_in`); it comes back with the
        // rollback when the response is already past queued.
        withdraw_in(&mut tx, OUTBOUND_WORK, id).await?;
        let done = sqlx::query(
            "UPDATE scheduled_responses SET status = $3, updated_at = $4 WHERE group_id = $1 AND id = $2 AND status = $5",
        )
        .bind(group_id.as_str())
        .bind(id)
        .bind(ResponseStatus::Cancelled.as_str())
        .bind(now.as_millis())
        .bind(ResponseStatus::Queued.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            crate::events::append_response_event_in(&mut tx, id, EventType::ResponseCancelled, now).await?;
        }
        let row = sqlx::query("SELECT * FROM scheduled_responses WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if done.rows_affected() == 1 {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(row.as_ref().map(response_from_row).transpose()?.map(|r| (done.rows_affected() == 1, r)))
    }

    /// Reserves the account's next send slot for a response: when the account
    /// is free (`next_slot_at <= now`) it moves the slot to `next_slot_at`,
    /// records the action (once per response, so a retry after a crash is not
    /// counted twice) and marks the response `sending`, all in one transaction
    /// under the lease. Concurrent instances serialize on the slot row.
    pub async fn claim_send_slot(
        &self,
        item: &WorkItem,
        response: &ScheduledResponse,
        kind: &str,
        now: Timestamp,
        next_slot_at: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<SlotClaim> {
        let mut tx = self.writer.begin().await?;
        if !hold_lease_in(&mut tx, item, lease_until).await? {
            return Ok(SlotClaim::Lost);
        }
        let slot =
            SlotRequest { account_id: &response.linkedin_account_id, kind, token: &response.id, now, next_slot_at };
        if let Some(busy) = reserve_slot_in(&mut tx, &slot).await? {
            tx.rollback().await?;
            return Ok(SlotClaim::Busy(busy));
        }
        let marked = sqlx::query(
            "UPDATE scheduled_responses SET status = $2, updated_at = $3 WHERE id = $1 AND status IN ($4, $5)",
        )
        .bind(&response.id)
        .bind(ResponseStatus::Sending.as_str())
        .bind(now.as_millis())
        .bind(ResponseStatus::Queued.as_str())
        .bind(ResponseStatus::Sending.as_str())
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(SlotClaim::Lost);
        }
        tx.commit().await?;
        Ok(SlotClaim::Granted)
    }

    /// Moves a response later (the safety rule `why` held it back) and releases
    /// its row; the claim is not counted: deferring is no attempt.
    pub async fn defer_response(
        &self,
        item: &WorkItem,
        response_id: &str,
        until: Timestamp,
        why: DeferredReason,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        // The work row keeps the queue's own words, like a campaign step's.
        let queue_reason = if why == DeferredReason::Spacing { "SPACING" } else { "SAFETY_RULE" };
        if !release_in(&mut tx, item, false, until, Some(queue_reason)).await? {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE scheduled_responses SET scheduled_at = $2, deferred = 1, deferred_reason = $5, updated_at = $3 \
             WHERE id = $1 AND status = $4",
        )
        .bind(response_id)
        .bind(until.as_millis())
        .bind(now.as_millis())
        .bind(ResponseStatus::Queued.as_str())
        .bind(why.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Puts a `sending` response back to `queued` at `until` (a LinkedIn limit
    /// answered, `reason` its code; nothing was sent; `why` what holds it back
    /// now) and releases its row. With `settle`, fenced by the attempt that
    /// was refused (it ends `ready`).
    #[allow(clippy::too_many_arguments)]
    pub async fn requeue_response(
        &self,
        item: &WorkItem,
        response_id: &str,
        until: Timestamp,
        reason: &str,
        why: DeferredReason,
        settle: Option<&Settle<'_>>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let Some(mut tx) = begin_finish(self, settle, now).await? else { return Ok(false) };
        if !release_in(&mut tx, item, settle.is_some(), until, Some(reason)).await? && settle.is_none() {
            return Ok(false);
        }
        // The reserved action did not happen: un-count it so caps stay honest.
        forget_in(&mut tx, response_id).await?;
        sqlx::query(
            "UPDATE scheduled_responses SET status = $4, scheduled_at = $2, deferred = 1, deferred_reason = $6, \
             updated_at = $3 WHERE id = $1 AND status IN ($4, $5)",
        )
        .bind(response_id)
        .bind(until.as_millis())
        .bind(now.as_millis())
        .bind(ResponseStatus::Queued.as_str())
        .bind(ResponseStatus::Sending.as_str())
        .bind(why.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records a successful send and finishes the row: fenced by the attempt
    /// that delivered it (`settle`, which also attributes the provider's
    /// message), or under the lease when there is no attempt to speak for.
    /// A provider message another send holds fails with a unique violation.
    pub async fn mark_response_sent(
        &self,
        item: &WorkItem,
        response_id: &str,
        sent: &ResponseSent<'_>,
        settle: Option<&Settle<'_>>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let Some(mut tx) = begin_finish(self, settle, now).await? else { return Ok(false) };
        if !finish_guarded_in(&mut tx, item, settle.is_some()).await? && settle.is_none() {
            return Ok(false);
        }
        let updated = sqlx::query(
            "UPDATE scheduled_responses SET status = $2, sent_at = $3, provider_chat_id = COALESCE($4, provider_chat_id), \
             conversation_id = COALESCE($5, conversation_id), message_id = $6, updated_at = $7 \
             WHERE id = $1 AND status IN ($8, $9)",
        )
        .bind(response_id)
        .bind(ResponseStatus::Sent.as_str())
        .bind(sent.sent_at.as_millis())
        .bind(sent.provider_chat_id)
        .bind(sent.conversation_id)
        .bind(sent.message_id)
        .bind(now.as_millis())
        .bind(ResponseStatus::Queued.as_str())
        .bind(ResponseStatus::Sending.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 1 {
            crate::events::append_response_event_in(&mut tx, response_id, EventType::ResponseSent, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Fails a response with a recorded reason and finishes its row; with
    /// `settle`, fenced by the attempt it gives up (which ends `failed`).
    pub async fn fail_response(
        &self,
        item: &WorkItem,
        response_id: &str,
        code: &str,
        message: &str,
        settle: Option<&Settle<'_>>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let Some(mut tx) = begin_finish(self, settle, now).await? else { return Ok(false) };
        if !finish_guarded_in(&mut tx, item, settle.is_some()).await? && settle.is_none() {
            return Ok(false);
        }
        let updated = sqlx::query(
            "UPDATE scheduled_responses SET status = $2, failure_code = $3, failure_message = $4, updated_at = $5 \
             WHERE id = $1 AND status IN ($6, $7)",
        )
        .bind(response_id)
        .bind(ResponseStatus::Failed.as_str())
        .bind(code)
        .bind(message)
        .bind(now.as_millis())
        .bind(ResponseStatus::Queued.as_str())
        .bind(ResponseStatus::Sending.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 1 {
            crate::events::append_response_event_in(&mut tx, response_id, EventType::ResponseFailed, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Counts responses by status (tests, benchmarks).
    pub async fn count_responses(&self, group_id: &GroupId, status: ResponseStatus) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM scheduled_responses WHERE group_id = $1 AND status = $2")
            .bind(group_id.as_str())
            .bind(status.as_str())
            .fetch_one(&self.reader)
            .await?)
    }
}
