//! The webhook delivery worker: claims `webhook_delivery` rows of the lease
//! queue and POSTs each event, signed per the Standard Webhooks
//! specification, to its endpoint.
//!
//! Each attempt is recorded before the request (under the lease) and closed
//! after it, fenced by the attempt still being in flight, so a crash at any
//! point neither loses nor double-counts an attempt, and an event is marked
//! delivered only after a 2xx (see `sonarly_store`, `webhooks.rs`). Failures
//! are retried on the schedule of `sonarly_domain::webhooks` with jitter; an
//! endpoint failing for 5 days is disabled.
//!
//! Deliveries run in their own task ([`Engine::spawn_webhooks`]), many at
//! once and at most [`WebhookConfig::per_endpoint`] per endpoint, each bounded
//! by the HTTP timeouts, so a slow or hostile receiver can hold up neither the
//! other endpoints nor the rest of the engine. All timestamps (signatures,
//! attempts, retries) come from the injected clock.

pub mod http;

use crate::Engine;
use reqwest::Client;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use sonarly_domain::Timestamp;
use sonarly_domain::events::Event;
use sonarly_domain::webhooks::{AttemptOutcome, UrlPolicy, WebhookEndpoint, signature_header, truncate_body};
use sonarly_store::{AttemptEnd, AttemptStart, StoreError, WEBHOOK_DELIVERY_WORK, WorkItem};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long the running dispatcher puts back a delivery to an endpoint that
/// already has its share in flight.
const BUSY_DELAY_MS: i64 = 1_000;

/// Knobs of webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Which destinations may be reached (`--webhooks-allow-http`, `--webhooks-allow-private`).
    pub policy: UrlPolicy,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest a whole attempt (connect, send, answer) may take.
    pub total_timeout: Duration,
    /// Deliveries in flight at once, per instance.
    pub concurrency: usize,
    /// Deliveries in flight to one endpoint at once, per instance.
    pub per_endpoint: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            policy: UrlPolicy::default(),
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(15),
            concurrency: 32,
            per_endpoint: 4,
        }
    }
}

/// Deliveries in flight per endpoint, shared by a dispatcher's tasks, and
/// how long a delivery to a busy endpoint is put back for.
#[derive(Clone, Default)]
struct InFlight {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    busy_delay_ms: i64,
}

impl InFlight {
    fn try_take(&self, endpoint: &str, cap: usize) -> bool {
        let mut map = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(endpoint.to_owned()).or_default();
        if *n >= cap {
            return false;
        }
        *n += 1;
        true
    }

    fn give_back(&self, endpoint: &str) {
        let mut map = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(endpoint) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(endpoint);
            }
        }
    }
}

impl Engine {
    fn webhook_config(&self) -> WebhookConfig {
        self.config.webhooks
    }

    fn webhook_client(&self) -> Result<Client, String> {
        let c = self.webhook_config();
        http::client(c.policy, c.connect_timeout, c.total_timeout)
    }

    /// Claims up to `limit` due deliveries and runs them concurrently to
    /// completion; returns how many were claimed.
    pub async fn deliver_due_webhooks(&self, limit: usize) -> usize {
        let client = match self.webhook_client() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhook deliveries cannot start");
                return 0;
            }
        };
        // A batch is awaited whole before the next claim, so a busy endpoint's
        // deliveries can be put back due at once without spinning.
        let in_flight = InFlight::default();
        let items = self.claim_webhooks(limit).await;
        let claimed = items.len();
        let mut tasks = JoinSet::new();
        for item in items {
            let (engine, client, in_flight) = (self.clone(), client.clone(), in_flight.clone());
            tasks.spawn(async move { engine.run_delivery(&client, &in_flight, item).await });
        }
        while tasks.join_next().await.is_some() {}
        claimed
    }

    /// Delivers until nothing is due (for tests, with a manual clock).
    pub async fn run_webhooks_until_idle(&self) {
        for _ in 0..100_000 {
            if self.deliver_due_webhooks(self.webhook_config().concurrency).await == 0 {
                return;
            }
        }
    }

    /// Runs deliveries until `cancel` fires, keeping up to
    /// [`WebhookConfig::concurrency`] in flight.
    pub fn spawn_webhooks(&self, cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let client = match engine.webhook_client() {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "webhook deliveries are off");
                    return;
                }
            };
            let in_flight = InFlight { busy_delay_ms: BUSY_DELAY_MS, ..InFlight::default() };
            let mut tasks = JoinSet::new();
            let capacity = engine.webhook_config().concurrency.max(1);
            loop {
                while tasks.try_join_next().is_some() {}
                let free = capacity.saturating_sub(tasks.len());
                let items = if free > 0 { engine.claim_webhooks(free).await } else { Vec::new() };
                let claimed = !items.is_empty();
                for item in items {
                    let (engine, client, in_flight) = (engine.clone(), client.clone(), in_flight.clone());
                    tasks.spawn(async move { engine.run_delivery(&client, &in_flight, item).await });
                }
                if claimed && tasks.len() < capacity {
                    continue;
                }
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                    _ = tokio::time::sleep(engine.config.poll_interval) => {}
                }
            }
            // In-flight attempts stop with the process; whoever claims them next closes them as interrupted.
            tasks.abort_all();
            tracing::info!(owner = %engine.owner, "webhook deliveries stopped");
        })
    }

    async fn claim_webhooks(&self, limit: usize) -> Vec<WorkItem> {
        self.claim(WEBHOOK_DELIVERY_WORK, limit as i64, self.lease_until()).await
    }

    async fn run_delivery(&self, client: &Client, in_flight: &InFlight, item: WorkItem) {
        if let Err(e) = self.deliver(client, in_flight, &item).await {
            tracing::warn!(delivery = %item.ref_id, error = %e, "webhook delivery failed on storage; will retry");
            let at = self.now().plus_millis(crate::backoff_ms(item.attempts));
            if let Err(e) = self.store.release_work(&item, at, Some("STORAGE"), false).await {
                tracing::warn!(error = %e, "could not release a webhook delivery");
            }
        }
    }

    async fn deliver(&self, client: &Client, in_flight: &InFlight, item: &WorkItem) -> Result<(), StoreError> {
        let now = self.now();
        // Ask which endpoint before recording an attempt: a busy endpoint's delivery waits its turn.
        if let Some(endpoint) = self.store.webhook_delivery_endpoint(&item.ref_id).await? {
            if !in_flight.try_take(&endpoint, self.webhook_config().per_endpoint.max(1)) {
                self.store
                    .release_work(item, now.plus_millis(in_flight.busy_delay_ms), Some("ENDPOINT_BUSY"), true)
                    .await?;
                return Ok(());
            }
            let result = self.attempt(client, item, now).await;
            in_flight.give_back(&endpoint);
            return result;
        }
        self.attempt(client, item, now).await
    }

    async fn attempt(&self, client: &Client, item: &WorkItem, now: Timestamp) -> Result<(), StoreError> {
        let (attempt_id, attempt, event, endpoint) =
            match self.store.begin_webhook_attempt(item, now, self.lease_until()).await? {
                AttemptStart::Ready { attempt_id, attempt, event, endpoint } => (attempt_id, attempt, event, endpoint),
                AttemptStart::NotDue(at) => {
                    self.store.release_work(item, at, None, true).await?;
                    return Ok(());
                }
                AttemptStart::Done | AttemptStart::LeaseLost => return Ok(()),
            };
        let outcome = self.post(client, &event, &endpoint).await;
        let jitter = rand::random::<f64>() * 2.0 - 1.0;
        let end = self.store.finish_webhook_attempt(item, &attempt_id, attempt, &outcome, jitter, self.now()).await?;
        let label = match end {
            AttemptEnd::Delivered => Some("delivered"),
            AttemptEnd::RetryAt(_) => Some("retrying"),
            AttemptEnd::GaveUp { .. } => Some("gave_up"),
            AttemptEnd::Stale => None,
        };
        if let Some(label) = label {
            sonarly_app::metrics::webhook_delivery(label, outcome.latency_ms);
        }
        match end {
            AttemptEnd::RetryAt(at) => {
                tracing::info!(endpoint = %endpoint.id, event = %event.id, attempt, retry_at = %at,
                    error = outcome.error.as_deref().unwrap_or(""), status = outcome.response_status, "webhook attempt failed");
                self.store.release_work(item, at, outcome.error.as_deref().or(Some("HTTP_STATUS")), true).await?;
            }
            AttemptEnd::GaveUp { endpoint_disabled } => {
                tracing::warn!(endpoint = %endpoint.id, event = %event.id, attempt, endpoint_disabled, "webhook delivery given up");
            }
            AttemptEnd::Delivered | AttemptEnd::Stale => {}
        }
        Ok(())
    }

    /// One signed POST; never fails, the outcome says what happened.
    async fn post(&self, client: &Client, event: &Event, endpoint: &WebhookEndpoint) -> AttemptOutcome {
        let started = Instant::now();
        let failed = |error: String, started: Instant| AttemptOutcome {
            succeeded: false,
            response_status: None,
            response_body: None,
            error: Some(error),
            latency_ms: elapsed_ms(started),
        };
        let config = self.webhook_config();
        let url = match http::preflight(config.policy, &endpoint.url) {
            Ok(url) => url,
            Err(why) => return failed(why, started),
        };
        let body = event.webhook_body();
        let now = self.now();
        let timestamp = now.as_millis().div_euclid(1000);
        let signature = signature_header(&endpoint.signing_secrets(now), &event.id, timestamp, &body);
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in [
            ("webhook-id", event.id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ] {
            match HeaderValue::from_str(&value) {
                Ok(v) => {
                    headers.insert(name, v);
                }
                Err(_) => return failed(format!("cannot build the {name} header"), started),
            }
        }
        let request = client.post(url).headers(headers).body(body).send();
        // The client's own timeout bounds the attempt; this is a second fence around body reading too.
        let guard = config.total_timeout + Duration::from_secs(1);
        let response = match tokio::time::timeout(guard, request).await {
            Err(_) => return failed(format!("timed out after {} ms", guard.as_millis()), started),
            Ok(Err(e)) => return failed(describe_request_error(&e), started),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        let kept: Vec<u8> = tokio::time::timeout(guard, read_capped(response)).await.unwrap_or_default();
        let succeeded = status.is_success();
        AttemptOutcome {
            succeeded,
            response_status: Some(i64::from(status.as_u16())),
            response_body: Some(truncate_body(&kept)),
            error: (!succeeded).then(|| {
                if status.is_redirection() {
                    format!("answered {status}; redirects to another host or with another method are not followed")
                } else {
                    format!("answered {status}")
                }
            }),
            latency_ms: elapsed_ms(started),
        }
    }
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

fn describe_request_error(e: &reqwest::Error) -> String {
    let text = http::describe(e);
    if e.is_timeout() { format!("timed out: {text}") } else { text }
}

/// Reads at most [`http::MAX_RESPONSE_BYTES`] of the answer.
async fn read_capped(mut response: reqwest::Response) -> Vec<u8> {
    let mut kept = Vec::new();
    while kept.len() < http::MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk[..chunk.len().min(http::MAX_RESPONSE_BYTES - kept.len())]),
            Ok(None) | Err(_) => break,
        }
    }
    kept
}
