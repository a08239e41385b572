//! The event log: one `events` row per fact, appended inside the transaction
//! of the change it describes ([`append_in`]), and fanned out there to every
//! enabled webhook endpoint of the group that subscribes to its type (a
//! `webhook_deliveries` row plus a `webhook_delivery` work item each). So a
//! change, its event and its deliveries commit or vanish together: a crash
//! can neither lose an event nor deliver one whose change rolled back.
//!
//! Reads page newest first over `(created_at, id)`, or oldest first after a
//! given event for catch-up. Retention deletes old events in batches (their
//! deliveries and attempts go with them).

use crate::page::{Keyset, ListQuery};
use crate::queue::enqueue_in;
use crate::{Store, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::events::{
    Event, EventType, MessageFacts, Value, data_from_storage, data_with_group, json, message_data, new_event_id,
};

use sonarly_domain::id::{new_hex_id, new_prefixed_ulid};
use sonarly_domain::webhooks::{DeliveryStatus, event_types_from_storage};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// Work-item kind of one delivery of one event to one endpoint (`ref_id` = delivery id).
pub const WEBHOOK_DELIVERY_WORK: &str = "webhook_delivery";
/// Events deleted per statement by the retention purge.
const PURGE_BATCH: i64 = 1_000;

/// Which events a list wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventsQuery {
    /// Newest first, after the cursor's `(createdAt, id)` when given.
    Newest { before: Option<(Timestamp, String)> },
    /// Oldest first, strictly after `(createdAt, id)`, and no younger than `settled_before`.
    After { after: (Timestamp, String), settled_before: Timestamp },
}

pub(crate) fn event_from_row(row: &AnyRow) -> Result<Event, sqlx::Error> {
    let type_text: String = row.try_get("event_type")?;
    let event_type = EventType::parse(&type_text)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown event type `{type_text}`").into()))?;
    let data: String = row.try_get("data")?;
    Ok(Event {
        id: row.try_get("id")?,
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        event_type,
        data: data_from_storage(&data),
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

/// Appends an event and fans it out to the group's subscribed endpoints,
/// inside the caller's transaction.
pub(crate) async fn append_in(
    tx: &mut Transaction<'static, Any>,
    group_id: &GroupId,
    event_type: EventType,
    data: &Value,
    now: Timestamp,
) -> StoreResult<Event> {
    let event = insert_in(tx, group_id, event_type, data, now).await?;
    fan_out_in(tx, &event, None, false, now).await?;
    Ok(event)
}

/// Inserts the event row only.
pub(crate) async fn insert_in(
    tx: &mut Transaction<'static, Any>,
    group_id: &GroupId,
    event_type: EventType,
    data: &Value,
    now: Timestamp,
) -> StoreResult<Event> {
    let event =
        Event { id: new_event_id(now), group_id: group_id.to_owned(), event_type, data: data.clone(), created_at: now };
    sqlx::query("INSERT INTO events (id, group_id, event_type, data, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&event.id)
        .bind(event.group_id.as_str())
        .bind(event_type.as_str())
        .bind(data.to_string())
        .bind(now.as_millis())
        .execute(&mut **tx)
        .await?;
    Ok(event)
}

/// Queues a delivery of `event` to each enabled endpoint of its group that
/// subscribes to its type, or only to `only_endpoint` (a test or a redelivery,
/// whatever its subscription). Returns the delivery ids.
pub(crate) async fn fan_out_in(
    tx: &mut Transaction<'static, Any>,
    event: &Event,
    only_endpoint: Option<&str>,
    manual: bool,
    now: Timestamp,
) -> StoreResult<Vec<String>> {
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT id, event_types FROM webhook_endpoints WHERE group_id = $1 AND enabled = 1")
            .bind(event.group_id.as_str())
            .fetch_all(&mut **tx)
            .await?;
    let mut deliveries = Vec::new();
    for (endpoint_id, types) in rows {
        let wanted = match only_endpoint {
            Some(only) => only == endpoint_id,
            None => {
                event.event_type != EventType::WebhookTest
                    && event_types_from_storage(types.as_deref()).is_none_or(|t| t.contains(&event.event_type))
            }
        };
        if !wanted {
            continue;
        }
        let delivery_id = new_prefixed_ulid("wd", now);
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, group_id, endpoint_id, event_id, status, attempts, next_attempt_at, \
             manual, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $6, $6)",
        )
        .bind(&delivery_id)
        .bind(event.group_id.as_str())
        .bind(&endpoint_id)
        .bind(&event.id)
        .bind(DeliveryStatus::Pending.as_str())
        .bind(now.as_millis())
        .bind(i64::from(manual))
        .execute(&mut **tx)
        .await?;
        enqueue_in(tx, &new_hex_id(now), WEBHOOK_DELIVERY_WORK, &delivery_id, &event.group_id, now, now).await?;
        deliveries.push(delivery_id);
    }
    Ok(deliveries)
}

/// Logs `message.received` (inbound) or `message.sent` (the account's own)
/// for a message just stored for the first time. Messages sent before the
/// account was connected are history brought in by the first sync, not
/// news, and log nothing.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn append_message_event_in(
    tx: &mut Transaction<'static, Any>,
    account_id: &str,
    group_id: &GroupId,
    conversation_id: &str,
    message_id: &str,
    chat: &crate::ChatRef,
    message: &crate::NewMessage,
    now: Timestamp,
) -> StoreResult<()> {
    let connected_at: Option<i64> = sqlx::query_scalar("SELECT created_at FROM linkedin_accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(&mut **tx)
        .await?;
    if connected_at.is_none_or(|at| message.sent_at.as_millis() < at) {
        return Ok(());
    }
    let prospect_id: Option<String> = sqlx::query_scalar("SELECT prospect_id FROM messages WHERE id = $1")
        .bind(message_id)
        .fetch_one(&mut **tx)
        .await?;
    let facts = MessageFacts {
        message_id: message_id.to_owned(),
        conversation_id: conversation_id.to_owned(),
        linkedin_account_id: account_id.to_owned(),
        prospect_id,
        provider_message_id: message.provider_message_id.clone(),
        provider_chat_id: chat.provider_chat_id.clone(),
        sender_provider_id: message.sender_provider_id.clone(),
        is_sender: message.is_sender,
        text: message.body.clone(),
        sent_at: message.sent_at,
    };
    let event_type = if message.is_sender { EventType::MessageSent } else { EventType::MessageReceived };
    append_in(tx, group_id, event_type, &message_data(group_id, &facts), now).await?;
    Ok(())
}

/// Logs a `response.*` event for scheduled response `id` as it now stands.
pub(crate) async fn append_response_event_in(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    event_type: EventType,
    now: Timestamp,
) -> StoreResult<()> {
    let row = sqlx::query("SELECT * FROM scheduled_responses WHERE id = $1").bind(id).fetch_optional(&mut **tx).await?;
    if let Some(response) = row.as_ref().map(crate::responses::response_from_row).transpose()? {
        let data = sonarly_domain::events::response_data(&response);
        append_in(tx, &response.group_id, event_type, &data, now).await?;
    }
    Ok(())
}

/// Logs a `campaign.*` event for campaign `id` as it now stands.
pub(crate) async fn append_campaign_event_in(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    event_type: EventType,
    now: Timestamp,
) -> StoreResult<()> {
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT group_id, name, status FROM campaigns WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some((group_id, name, status)) = row {
        let data = data_with_group(&group_id, json!({"campaignId": id, "name": name, "status": status}));
        append_in(tx, &GroupId::new(group_id.clone()), event_type, &data, now).await?;
    }
    Ok(())
}

/// Logs a lead event (`campaign.lead.*`, `campaign.approval.required`,
/// `invitation.*`) for workflow instance `id` as it now stands; `step` is the
/// step just performed, when there is one.
pub(crate) async fn append_lead_event_in(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    event_type: EventType,
    step: Option<&str>,
    now: Timestamp,
) -> StoreResult<()> {
    let row = sqlx::query(
        "SELECT i.group_id, i.campaign_id, i.prospect_id, i.linkedin_account_id, i.step_index, i.state, i.stop_reason, \
         p.provider_id FROM campaign_instances i LEFT JOIN prospects p ON p.id = i.prospect_id WHERE i.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let group_id: String = row.try_get("group_id")?;
    let data = data_with_group(
        &group_id,
        json!({
            "campaignId": row.try_get::<String, _>("campaign_id")?,
            "workflowInstanceId": id,
            "prospectId": row.try_get::<String, _>("prospect_id")?,
            "providerId": row.try_get::<Option<String>, _>("provider_id")?,
            "linkedinAccountId": row.try_get::<String, _>("linkedin_account_id")?,
            "step": step,
            "stepIndex": row.try_get::<i64, _>("step_index")?,
            "state": row.try_get::<String, _>("state")?,
            "stopReason": row.try_get::<Option<String>, _>("stop_reason")?,
        }),
    );
    append_in(tx, &GroupId::new(group_id), event_type, &data, now).await?;
    Ok(())
}

impl Store {
    /// Appends one event in its own transaction (for changes that are not
    /// made inside the store, e.g. a configuration change).
    pub async fn append_event(
        &self,
        group_id: &GroupId,
        event_type: EventType,
        data: &Value,
        now: Timestamp,
    ) -> StoreResult<Event> {
        let mut tx = self.writer.begin().await?;
        let event = append_in(&mut tx, group_id, event_type, data, now).await?;
        tx.commit().await?;
        Ok(event)
    }

    pub async fn get_event(&self, group_id: &GroupId, id: &str) -> StoreResult<Option<Event>> {
        let row = sqlx::query("SELECT * FROM events WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(event_from_row).transpose()?)
    }

    /// Up to `limit` events of the group, of `types` when not empty.
    pub async fn list_events(
        &self,
        group_id: &GroupId,
        types: &[EventType],
        query: &EventsQuery,
        limit: i64,
    ) -> StoreResult<Vec<Event>> {
        let (keyset, settled_before) = match query {
            EventsQuery::Newest { before } => (Keyset::newest_first(before.clone(), limit), None),
            EventsQuery::After { after, settled_before } => {
                (Keyset::oldest_first(Some(after.clone()), limit), Some(*settled_before))
            }
        };
        let mut list = ListQuery::new("SELECT * FROM events WHERE group_id = $1").bind(group_id);
        if let Some(settled_before) = settled_before {
            list = list.and("created_at <=", settled_before);
        }
        let rows =
            list.and_in("event_type", types.iter().map(|t| t.as_str())).page(&keyset).fetch_all(&self.reader).await?;
        Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
    }

    /// Deletes events created before `cutoff` (with their deliveries and
    /// attempts), in batches; returns how many went.
    pub async fn purge_events(&self, cutoff: Timestamp) -> StoreResult<u64> {
        let mut total = 0;
        loop {
            let done = sqlx::query(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
            )
            .bind(cutoff.as_millis())
            .bind(PURGE_BATCH)
            .execute(&self.writer)
            .await?;
            total += done.rows_affected();
            if done.rows_affected() < PURGE_BATCH as u64 {
                return Ok(total);
            }
        }
    }
}
