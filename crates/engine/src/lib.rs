//! Background work. Each worker claims rows of the durable queue with a
//! lease, does one bounded step (one page of an import, one outbound action),
//! and records the result in the same transaction that releases or finishes
//! the row. A crash at any point leaves either the previous committed state
//! or the next one; an expired lease hands the row to another instance.
//!
//! Provider actions (a response, a campaign step) go through one fenced-send
//! mechanism (`send`): the attempt is recorded before the call, the call is
//! bounded by a budget shorter than the lease, and an attempt whose outcome
//! is unknown is reconciled by attribution once it settles.
//!
//! `Engine::run_until_idle` drives every worker to quiescence, which is how
//! tests run days of simulated work deterministically with a manual clock.

mod campaign;
mod inbox;
mod outbound;
mod prospecting;
mod safety;
mod seat_health;
mod send;
mod signals;
mod webhooks;
mod withdrawals;
mod worker;

pub use webhooks::WebhookConfig;

use sonarly_app::linkedin::ProviderRegistry;
use sonarly_domain::Timestamp;
use sonarly_domain::clock::SharedClock;
use sonarly_store::Store;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long an attempt whose outcome is unknown waits before it is
/// reconciled, unless configured: long enough for a message LinkedIn accepted
/// to show in the conversation through Unipile (usually seconds).
pub const DEFAULT_SETTLE_MS: i64 = 5 * 60_000;
/// The longest a provider call may run, unless configured or the lease is
/// shorter: the Unipile client's own request timeout.
pub const DEFAULT_CALL_TIMEOUT_MS: i64 = 30_000;

/// Knobs of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How long a claim holds a row before another instance may take it.
    pub lease_ms: i64,
    /// Idle wait between polls of the queue.
    pub poll_interval: Duration,
    /// How often each connected account's inbox is polled (webhooks fill the gaps in between).
    pub inbox_sync_interval: Duration,
    /// How long after a provider call ended (or its deadline passed) without a
    /// known outcome the engine waits before reconciling it.
    pub settle_ms: i64,
    /// The longest a provider write may run before its outcome counts as
    /// unknown; `None`: [`DEFAULT_CALL_TIMEOUT_MS`]. Always cut to half the
    /// lease, so a call ends well before its lease could expire.
    pub call_timeout_ms: Option<i64>,
    /// Webhook delivery: address policy, timeouts, concurrency.
    pub webhooks: WebhookConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            lease_ms: 60_000,
            poll_interval: Duration::from_millis(500),
            inbox_sync_interval: Duration::from_secs(30),
            settle_ms: DEFAULT_SETTLE_MS,
            call_timeout_ms: None,
            webhooks: WebhookConfig::default(),
        }
    }
}

impl EngineConfig {
    /// Checks the knobs against each other; the message names the failing one.
    pub fn validate(&self) -> Result<(), String> {
        if self.lease_ms < 1_000 {
            return Err(format!("lease_ms must be at least 1000 (got {})", self.lease_ms));
        }
        if self.settle_ms < 0 {
            return Err(format!("settle_ms must not be negative (got {})", self.settle_ms));
        }
        if let Some(timeout) = self.call_timeout_ms
            && (timeout <= 0 || timeout >= self.lease_ms)
        {
            return Err(format!(
                "call_timeout_ms ({timeout}) must be positive and shorter than lease_ms ({})",
                self.lease_ms
            ));
        }
        Ok(())
    }

    /// How long a provider write may run: the call timeout, cut to half the
    /// lease (the lease is also renewed while the call runs).
    pub fn call_budget_ms(&self) -> i64 {
        self.call_timeout_ms.unwrap_or(DEFAULT_CALL_TIMEOUT_MS).min(self.lease_ms / 2).max(1)
    }
}

/// The workers of one server instance.
#[derive(Clone)]
pub struct Engine {
    pub(crate) store: Store,
    pub(crate) registry: ProviderRegistry,
    pub(crate) clock: SharedClock,
    /// This instance's lease owner name.
    pub(crate) owner: String,
    pub(crate) config: EngineConfig,
    /// Each connected account's own member id, learned once (the sender of what we send).
    pub(crate) own_ids: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
    /// Writes campaign content at send time (the built-in composer unless configured).
    pub(crate) composer: sonarly_app::composer::SharedComposer,
    /// Campaign steps waiting for each seat's send slot, queued one spacing apart (see
    /// [`safety::SlotQueue`]).
    pub(crate) slot_queue: std::sync::Arc<safety::SlotQueue>,
}

impl Engine {
    pub fn new(store: Store, registry: ProviderRegistry, clock: SharedClock, owner: impl Into<String>) -> Self {
        Self {
            store,
            registry,
            clock,
            owner: owner.into(),
            config: EngineConfig::default(),
            own_ids: Default::default(),
            slot_queue: Default::default(),
            composer: std::sync::Arc::new(sonarly_app::composer::BuiltinComposer),
        }
    }

    /// Composes campaign content with `composer` (the one the API previews with).
    pub fn with_composer(mut self, composer: sonarly_app::composer::SharedComposer) -> Self {
        self.composer = composer;
        self
    }

    pub fn with_config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub(crate) fn lease_until(&self) -> Timestamp {
        self.now().plus_millis(self.config.lease_ms)
    }

    /// One step of every worker; true when any did something.
    pub async fn step(&self) -> bool {
        let mut worked = false;
        for worker in worker::Worker::ALL {
            worked |= self.step_worker(worker).await;
        }
        worked
    }

    /// Steps until no worker has anything due (bounded, for tests).
    pub async fn run_until_idle(&self) {
        for _ in 0..1_000_000 {
            if !self.step().await {
                return;
            }
        }
    }

    /// Runs the workers until `cancel` fires.
    pub fn spawn(self, cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
        // Webhook deliveries run beside the other workers, so a slow receiver never holds them up.
        let webhooks = self.spawn_webhooks(cancel.clone());
        tokio::spawn(async move {
            loop {
                let worked = self.step().await;
                if cancel.is_cancelled() {
                    break;
                }
                if !worked {
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(self.config.poll_interval) => {}
                    }
                }
            }
            let _ = webhooks.await;
            tracing::info!(owner = %self.owner, "engine stopped");
        })
    }
}

/// A delay in `[min, max]` drawn from a seed and the moment: random-looking from one
/// run to the next, yet the same for the same inputs (tests replay exactly).
pub(crate) fn jitter(seed: &str, now: Timestamp, min: i64, max: i64) -> i64 {
    use std::hash::{Hash, Hasher};
    if max <= min {
        return min.max(1);
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (seed, now.as_millis()).hash(&mut h);
    min + (h.finish() % ((max - min + 1) as u64)) as i64
}

/// Exponential backoff after `attempts` failed tries: 5 s, 10 s, 20 s… capped at 10 minutes.
pub(crate) fn backoff_ms(attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 8) - 1;
    (5_000i64 << exp).min(600_000)
}
