//! Webhook endpoints, deliveries and attempts.
//!
//! A delivery (one event to one endpoint) is driven by a `webhook_delivery`
//! work item. Each try is recorded before the request goes out
//! ([`Store::begin_webhook_attempt`], under the item's lease, which also
//! counts it) and finished after ([`Store::finish_webhook_attempt`], fenced
//! by the attempt still being in flight). A worker that dies mid-request
//! leaves its attempt in flight; whoever claims the item next marks it failed
//! as interrupted before trying again, so every attempt is counted once, made
//! by one worker, and an event is never marked delivered without a 2xx.
//!
//! The delivery row, not the work item, holds the next attempt time: a work
//! item released late (a crash between the two writes) is simply put back.

use crate::events::{append_in, event_from_row, fan_out_in, insert_in};
use crate::page::{Keyset, ListQuery};
use crate::queue::{WorkItem, finish_in, hold_lease_in};
use crate::{Store, StoreResult};
use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::events::{Event, EventType, Value, endpoint_disabled_data};
use sonarly_domain::id::new_prefixed_ulid;
use sonarly_domain::webhooks::{
    AttemptOutcome, AttemptStatus, DISABLE_AFTER_MS, DeliveryStatus, DisabledReason, WebhookAttempt, WebhookEndpoint,
    event_types_from_storage, event_types_to_storage, retry_delay_ms,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// The error recorded on an attempt whose worker stopped before it finished.
pub const INTERRUPTED: &str = "interrupted: the server stopped during this attempt; its outcome is unknown";

/// Changes to an endpoint; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointChanges {
    pub url: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    /// `Some(None)`: every type.
    pub event_types: Option<Option<Vec<EventType>>>,
    pub enabled: Option<bool>,
}

/// What claiming a delivery for an attempt found.
#[derive(Debug)]
pub enum AttemptStart {
    /// Go: the attempt is recorded and counted.
    Ready { attempt_id: String, attempt: i64, event: Event, endpoint: Box<WebhookEndpoint> },
    /// Not due before this time: put the item back until then.
    NotDue(Timestamp),
    /// Nothing to do any more (delivered, given up, endpoint gone or disabled); the item is finished.
    Done,
    /// Another worker holds the item.
    LeaseLost,
}

/// What finishing an attempt decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptEnd {
    /// Delivered; the item is finished.
    Delivered,
    /// Failed; try again at this time (release the item until then).
    RetryAt(Timestamp),
    /// Failed for good (schedule exhausted, or the endpoint was disabled now); the item is finished.
    GaveUp { endpoint_disabled: bool },
    /// Another worker already closed this attempt as interrupted; nothing was written.
    Stale,
}

fn millis(row: &AnyRow, name: &str) -> Result<Option<Timestamp>, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(name)?.map(Timestamp::from_millis))
}

fn endpoint_from_row(row: &AnyRow) -> Result<WebhookEndpoint, sqlx::Error> {
    let types: Option<String> = row.try_get("event_types")?;
    Ok(WebhookEndpoint {
        id: row.try_get("id")?,
        group_id: GroupId::new(row.try_get::<String, _>("group_id")?),
        url: row.try_get("url")?,
        description: row.try_get("description")?,
        event_types: event_types_from_storage(types.as_deref()),
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        disabled_reason: crate::sql::opt_one_of(row, "disabled_reason", DisabledReason::parse)?,
        secret: row.try_get("secret")?,
        previous_secret: row.try_get("previous_secret")?,
        previous_secret_expires_at: millis(row, "previous_secret_expires_at")?,
        failing_since: millis(row, "failing_since")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

fn attempt_from_row(row: &AnyRow) -> Result<WebhookAttempt, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(WebhookAttempt {
        id: row.try_get("id")?,
        endpoint_id: row.try_get("endpoint_id")?,
        delivery_id: row.try_get("delivery_id")?,
        event_id: row.try_get("event_id")?,
        attempt: row.try_get("attempt")?,
        status: AttemptStatus::parse(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown attempt status `{status}`").into()))?,
        response_status: row.try_get("response_status")?,
        response_body: row.try_get("response_body")?,
        error: row.try_get("error")?,
        latency_ms: row.try_get("latency_ms")?,
        started_at: Timestamp::from_millis(row.try_get("started_at")?),
        finished_at: millis(row, "finished_at")?,
    })
}

async fn endpoint_in(
    tx: &mut Transaction<'static, Any>,
    group_id: &GroupId,
    id: &str,
) -> StoreResult<Option<WebhookEndpoint>> {
    let row = sqlx::query("SELECT * FROM webhook_endpoints WHERE group_id = $1 AND id = $2")
        .bind(group_id.as_str())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.as_ref().map(endpoint_from_row).transpose()?)
}

/// Closes every still-pending delivery of an endpoint as failed (it was disabled).
async fn fail_pending_deliveries_in(
    tx: &mut Transaction<'static, Any>,
    endpoint_id: &str,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $2, next_attempt_at = NULL, updated_at = $3 \
         WHERE endpoint_id = $1 AND status = $4",
    )
    .bind(endpoint_id)
    .bind(DeliveryStatus::Failed.as_str())
    .bind(now.as_millis())
    .bind(DeliveryStatus::Pending.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    pub async fn insert_webhook_endpoint(&self, e: &WebhookEndpoint) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, group_id, url, description, event_types, enabled, disabled_reason, \
             secret, previous_secret, previous_secret_expires_at, failing_since, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, NULL, NULL, NULL, $8, $8)",
        )
        .bind(&e.id)
        .bind(e.group_id.as_str())
        .bind(&e.url)
        .bind(&e.description)
        .bind(event_types_to_storage(e.event_types.as_deref()))
        .bind(i64::from(e.enabled))
        .bind(&e.secret)
        .bind(e.created_at.as_millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn get_webhook_endpoint(&self, group_id: &GroupId, id: &str) -> StoreResult<Option<WebhookEndpoint>> {
        let row = sqlx::query("SELECT * FROM webhook_endpoints WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(endpoint_from_row).transpose()?)
    }

    /// Up to `limit` endpoints of the group, newest first, after `(createdAt, id)` when given.
    pub async fn list_webhook_endpoints(
        &self,
        group_id: &GroupId,
        after: Option<(Timestamp, String)>,
        limit: i64,
    ) -> StoreResult<Vec<WebhookEndpoint>> {
        let rows = ListQuery::new("SELECT * FROM webhook_endpoints WHERE group_id = $1")
            .bind(group_id)
            .page(&Keyset::newest_first(after, limit))
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.iter().map(endpoint_from_row).collect::<Result<_, _>>()?)
    }

    /// Applies `changes`; re-enabling clears the failure streak, disabling
    /// closes pending deliveries. `None` when the endpoint does not exist.
    pub async fn update_webhook_endpoint(
        &self,
        group_id: &GroupId,
        id: &str,
        changes: &EndpointChanges,
        now: Timestamp,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        let mut tx = self.writer.begin().await?;
        let Some(mut e) = endpoint_in(&mut tx, group_id, id).await? else { return Ok(None) };
        if let Some(url) = &changes.url {
            e.url = url.clone();
        }
        if let Some(description) = &changes.description {
            e.description = description.clone();
        }
        if let Some(types) = &changes.event_types {
            e.event_types = types.clone();
        }
        match changes.enabled {
            Some(true) if !e.enabled => {
                e.enabled = true;
                e.disabled_reason = None;
                e.failing_since = None;
            }
            Some(false) if e.enabled => {
                e.enabled = false;
                fail_pending_deliveries_in(&mut tx, id, now).await?;
            }
            _ => {}
        }
        e.updated_at = now;
        sqlx::query(
            "UPDATE webhook_endpoints SET url = $3, description = $4, event_types = $5, enabled = $6, \
             disabled_reason = $7, failing_since = $8, updated_at = $9 WHERE group_id = $1 AND id = $2",
        )
        .bind(group_id.as_str())
        .bind(id)
        .bind(&e.url)
        .bind(&e.description)
        .bind(event_types_to_storage(e.event_types.as_deref()))
        .bind(i64::from(e.enabled))
        .bind(e.disabled_reason.map(DisabledReason::as_str))
        .bind(e.failing_since.map(Timestamp::as_millis))
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(e))
    }

    /// Deletes an endpoint with its deliveries, attempts and queued work; false when absent.
    pub async fn delete_webhook_endpoint(&self, group_id: &GroupId, id: &str) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "DELETE FROM work_items WHERE kind = $1 AND ref_id IN \
             (SELECT id FROM webhook_deliveries WHERE group_id = $2 AND endpoint_id = $3)",
        )
        .bind(crate::events::WEBHOOK_DELIVERY_WORK)
        .bind(group_id.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE group_id = $1 AND id = $2")
            .bind(group_id.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Makes `new_secret` the signing secret; the current one keeps signing
    /// until `overlap_until`. `None` when the endpoint does not exist.
    pub async fn rotate_webhook_secret(
        &self,
        group_id: &GroupId,
        id: &str,
        new_secret: &str,
        overlap_until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = $4, secret = $3, \
             updated_at = $5 WHERE group_id = $1 AND id = $2",
        )
        .bind(group_id.as_str())
        .bind(id)
        .bind(new_secret)
        .bind(overlap_until.as_millis())
        .bind(now.as_millis())
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let mut tx = self.writer.begin().await?;
        let endpoint = endpoint_in(&mut tx, group_id, id).await?;
        tx.commit().await?;
        Ok(endpoint)
    }

    /// Logs a `webhook.test` event and queues it to `endpoint_id` alone.
    /// `None` when the endpoint is missing or disabled.
    pub async fn queue_webhook_test(
        &self,
        group_id: &GroupId,
        endpoint_id: &str,
        data: &Value,
        now: Timestamp,
    ) -> StoreResult<Option<Event>> {
        let mut tx = self.writer.begin().await?;
        let event = insert_in(&mut tx, group_id, EventType::WebhookTest, data, now).await?;
        if fan_out_in(&mut tx, &event, Some(endpoint_id), true, now).await?.is_empty() {
            tx.rollback().await?;
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(event))
    }

    /// Queues a new delivery of a stored event to one enabled endpoint;
    /// returns the delivery id, `None` when the endpoint is missing or disabled.
    pub async fn redeliver_event(
        &self,
        group_id: &GroupId,
        endpoint_id: &str,
        event: &Event,
        now: Timestamp,
    ) -> StoreResult<Option<String>> {
        if event.group_id != *group_id {
            return Ok(None);
        }
        let mut tx = self.writer.begin().await?;
        let deliveries = fan_out_in(&mut tx, event, Some(endpoint_id), true, now).await?;
        tx.commit().await?;
        Ok(deliveries.into_iter().next())
    }

    /// Up to `limit` attempts to an endpoint, newest first, after `(startedAt, id)` when given.
    pub async fn list_webhook_attempts(
        &self,
        group_id: &GroupId,
        endpoint_id: &str,
        after: Option<(Timestamp, String)>,
        limit: i64,
    ) -> StoreResult<Vec<WebhookAttempt>> {
        let rows = ListQuery::new("SELECT * FROM webhook_attempts WHERE group_id = $1 AND endpoint_id = $2")
            .bind(group_id)
            .bind(endpoint_id)
            .page(&Keyset::newest_first(after, limit).by("started_at", "id"))
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.iter().map(attempt_from_row).collect::<Result<_, _>>()?)
    }

    /// The endpoint a delivery goes to (to pace deliveries per endpoint before recording an attempt).
    pub async fn webhook_delivery_endpoint(&self, delivery_id: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT endpoint_id FROM webhook_deliveries WHERE id = $1")
            .bind(delivery_id)
            .fetch_optional(&self.reader)
            .await?)
    }

    /// The status of each delivery of an event (tests and diagnostics): (endpoint id, status, attempts).
    pub async fn event_deliveries(&self, event_id: &str) -> StoreResult<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT endpoint_id, status, attempts FROM webhook_deliveries WHERE event_id = $1 ORDER BY created_at, id",
        )
        .bind(event_id)
        .fetch_all(&self.reader)
        .await?)
    }

    /// Records the next attempt of the claimed delivery `item` (see the module doc).
    pub async fn begin_webhook_attempt(
        &self,
        item: &WorkItem,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<AttemptStart> {
        let mut tx = self.writer.begin().await?;
        if !hold_lease_in(&mut tx, item, lease_until).await? {
            return Ok(AttemptStart::LeaseLost);
        }
        let delivery: Option<(String, String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT endpoint_id, event_id, status, attempts, next_attempt_at FROM webhook_deliveries WHERE id = $1",
        )
        .bind(&item.ref_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((endpoint_id, event_id, status, attempts, next_at)) = delivery else {
            finish_in(&mut tx, item).await?;
            tx.commit().await?;
            return Ok(AttemptStart::Done);
        };
        // An attempt left in flight by a worker that died is closed first, as a failure.
        sqlx::query(
            "UPDATE webhook_attempts SET status = $2, error = $3, finished_at = $4 WHERE delivery_id = $1 AND status = $5",
        )
        .bind(&item.ref_id)
        .bind(AttemptStatus::Failed.as_str())
        .bind(INTERRUPTED)
        .bind(now.as_millis())
        .bind(AttemptStatus::InFlight.as_str())
        .execute(&mut *tx)
        .await?;
        let endpoint = endpoint_in(&mut tx, &item.group_id, &endpoint_id).await?;
        let event_row =
            sqlx::query("SELECT * FROM events WHERE id = $1").bind(&event_id).fetch_optional(&mut *tx).await?;
        let next_attempt = attempts + 1;
        let (Some(endpoint), Some(event_row)) = (endpoint, event_row) else {
            finish_in(&mut tx, item).await?;
            tx.commit().await?;
            return Ok(AttemptStart::Done);
        };
        let gone = status != DeliveryStatus::Pending.as_str() || !endpoint.enabled;
        if gone || retry_delay_ms(next_attempt, 0.0).is_none() {
            sqlx::query("UPDATE webhook_deliveries SET status = $2, next_attempt_at = NULL, updated_at = $3 WHERE id = $1 AND status = $4")
                .bind(&item.ref_id)
                .bind(DeliveryStatus::Failed.as_str())
                .bind(now.as_millis())
                .bind(DeliveryStatus::Pending.as_str())
                .execute(&mut *tx)
                .await?;
            finish_in(&mut tx, item).await?;
            tx.commit().await?;
            return Ok(AttemptStart::Done);
        }
        if let Some(at) = next_at.filter(|at| *at > now.as_millis()) {
            tx.commit().await?;
            return Ok(AttemptStart::NotDue(Timestamp::from_millis(at)));
        }
        let attempt_id = new_prefixed_ulid("wa", now);
        sqlx::query(
            "INSERT INTO webhook_attempts (id, group_id, endpoint_id, delivery_id, event_id, attempt, owner, status, \
             started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&attempt_id)
        .bind(item.group_id.as_str())
        .bind(&endpoint_id)
        .bind(&item.ref_id)
        .bind(&event_id)
        .bind(next_attempt)
        .bind(&item.lease_owner)
        .bind(AttemptStatus::InFlight.as_str())
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET attempts = $2, next_attempt_at = NULL, updated_at = $3 WHERE id = $1",
        )
        .bind(&item.ref_id)
        .bind(next_attempt)
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await?;
        let event = event_from_row(&event_row)?;
        tx.commit().await?;
        Ok(AttemptStart::Ready { attempt_id, attempt: next_attempt, event, endpoint: Box::new(endpoint) })
    }

    /// Records how attempt `attempt` of the delivery `item` ended and decides
    /// what follows; `jitter` in [-1, 1] spreads the next retry. An endpoint
    /// failing for [`DISABLE_AFTER_MS`] is disabled and a
    /// `webhook_endpoint.disabled` event is logged, in the same transaction.
    pub async fn finish_webhook_attempt(
        &self,
        item: &WorkItem,
        attempt_id: &str,
        attempt: i64,
        outcome: &AttemptOutcome,
        jitter: f64,
        now: Timestamp,
    ) -> StoreResult<AttemptEnd> {
        let mut tx = self.writer.begin().await?;
        let status = if outcome.succeeded { AttemptStatus::Succeeded } else { AttemptStatus::Failed };
        let closed = sqlx::query(
            "UPDATE webhook_attempts SET status = $2, response_status = $3, response_body = $4, error = $5, \
             latency_ms = $6, finished_at = $7 WHERE id = $1 AND status = $8",
        )
        .bind(attempt_id)
        .bind(status.as_str())
        .bind(outcome.response_status)
        .bind(&outcome.response_body)
        .bind(&outcome.error)
        .bind(outcome.latency_ms)
        .bind(now.as_millis())
        .bind(AttemptStatus::InFlight.as_str())
        .execute(&mut *tx)
        .await?;
        if closed.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(AttemptEnd::Stale);
        }
        let endpoint_id: String = sqlx::query_scalar("SELECT endpoint_id FROM webhook_deliveries WHERE id = $1")
            .bind(&item.ref_id)
            .fetch_one(&mut *tx)
            .await?;
        if outcome.succeeded {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $2, next_attempt_at = NULL, updated_at = $3 WHERE id = $1",
            )
            .bind(&item.ref_id)
            .bind(DeliveryStatus::Succeeded.as_str())
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1")
                .bind(&endpoint_id)
                .execute(&mut *tx)
                .await?;
            finish_in(&mut tx, item).await?;
            tx.commit().await?;
            return Ok(AttemptEnd::Delivered);
        }
        sqlx::query("UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1")
            .bind(&endpoint_id)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
        let endpoint = endpoint_in(&mut tx, &item.group_id, &endpoint_id).await?;
        let disable = endpoint.as_ref().filter(|e| {
            e.enabled && e.failing_since.is_some_and(|since| now.as_millis() - since.as_millis() >= DISABLE_AFTER_MS)
        });
        if let Some(e) = disable {
            sqlx::query(
                "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = $3, updated_at = $2 WHERE id = $1",
            )
            .bind(&e.id)
            .bind(now.as_millis())
            .bind(DisabledReason::Failing.as_str())
            .execute(&mut *tx)
            .await?;
            fail_pending_deliveries_in(&mut tx, &e.id, now).await?;
            let data = endpoint_disabled_data(&e.group_id, &e.id, &e.url, e.failing_since.unwrap_or(now));
            append_in(&mut tx, &e.group_id, EventType::WebhookEndpointDisabled, &data, now).await?;
            finish_in(&mut tx, item).await?;
            tx.commit().await?;
            tracing::warn!(endpoint = %e.id, "webhook endpoint failing for 5 days: disabled");
            return Ok(AttemptEnd::GaveUp { endpoint_disabled: true });
        }
        match retry_delay_ms(attempt + 1, jitter) {
            Some(delay) => {
                let at = now.plus_millis(delay);
                sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = $2, updated_at = $3 WHERE id = $1")
                    .bind(&item.ref_id)
                    .bind(at.as_millis())
                    .bind(now.as_millis())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(AttemptEnd::RetryAt(at))
            }
            None => {
                sqlx::query("UPDATE webhook_deliveries SET status = $2, updated_at = $3 WHERE id = $1")
                    .bind(&item.ref_id)
                    .bind(DeliveryStatus::Failed.as_str())
                    .bind(now.as_millis())
                    .execute(&mut *tx)
                    .await?;
                finish_in(&mut tx, item).await?;
                tx.commit().await?;
                Ok(AttemptEnd::GaveUp { endpoint_disabled: false })
            }
        }
    }
}
