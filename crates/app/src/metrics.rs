//! Operational metrics: the names, their labels, and one function per event,
//! so each place an event passes through records it in one line
//! (docs/operations.md lists every family).
//!
//! Recording goes through the `metrics` facade: without an installed recorder
//! (the CLI's one-shot commands, most tests) every call is a no-op. `sonarly
//! serve --metrics-listen` installs the Prometheus recorder (`sonarly_api::metrics`).
//!
//! Labels carry only bounded, non-personal values: route templates, methods,
//! statuses, kinds, outcomes, reason codes, and seat ids (opaque ids).
//! Never a person's name, an email, a message text, a group's data, or a raw
//! path (ids in paths would explode the number of series).
//!
//! The gauges that describe the database (queues, seat states, pools) are
//! read when the metrics are scraped ([`sample`]), not kept up to date by
//! every write.

use sonarly_domain::Timestamp;
use sonarly_domain::linkedin_account::{AccountStatus, SeatState};
use sonarly_store::Store;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

/// HTTP requests answered, by `route` (template), `method` and `status`.
pub const HTTP_REQUESTS: &str = "sonarly_http_requests_total";
/// HTTP request latency in seconds, by `route` and `method`.
pub const HTTP_DURATION: &str = "sonarly_http_request_duration_seconds";
/// Requests refused by a rate limit, by `limit` (`api_key`, `auth_failures`).
pub const RATE_LIMIT_REFUSALS: &str = "sonarly_rate_limit_refusals_total";
/// Queue rows, due or not, by work `kind`.
pub const QUEUE_DEPTH: &str = "sonarly_queue_depth";
/// Queue rows whose time has come, by work `kind`.
pub const QUEUE_DUE: &str = "sonarly_queue_due";
/// Seconds the oldest due row of a work `kind` has waited (0 when none is due).
pub const QUEUE_OLDEST_DUE_AGE: &str = "sonarly_queue_oldest_due_age_seconds";
/// Duration of one engine worker step (claim and run its rows), by `worker`.
pub const ENGINE_STEP_DURATION: &str = "sonarly_engine_step_duration_seconds";
/// Outbound action attempts (messages, invitations, InMails, engagements), by `kind` and `outcome`.
pub const OUTBOUND_ACTIONS: &str = "sonarly_outbound_actions_total";
/// Calls made to a LinkedIn provider, by `provider`, `kind` and `outcome`.
pub const PROVIDER_CALLS: &str = "sonarly_provider_calls_total";
/// Budget charged in a seat's action ledger, by `seat` (id) and `kind`.
pub const SEAT_BUDGET_USED: &str = "sonarly_seat_budget_used_total";
/// 1 for each seat's current health `state`, 0 for the others, by `seat` (id) and `state`.
pub const SEAT_STATE: &str = "sonarly_seat_state";
/// Prospects imported by prospecting jobs, by `list_type`.
pub const PROSPECTS_IMPORTED: &str = "sonarly_prospecting_imported_total";
/// Credits charged for prospecting imports, by `list_type`.
pub const CREDITS_CHARGED: &str = "sonarly_prospecting_credits_charged_total";
/// Webhook delivery attempts, by `outcome` (`delivered`, `retrying`, `gave_up`).
pub const WEBHOOK_DELIVERIES: &str = "sonarly_webhook_deliveries_total";
/// Webhook delivery attempt latency in seconds, by `outcome`.
pub const WEBHOOK_DURATION: &str = "sonarly_webhook_delivery_duration_seconds";
/// Database connections by `pool` and `state` (`in_use`, `idle`).
pub const DB_POOL_CONNECTIONS: &str = "sonarly_db_pool_connections";
/// The most connections a `pool` opens.
pub const DB_POOL_MAX: &str = "sonarly_db_pool_max_connections";
/// Queries that waited for a pooled connection past the acquire timeout.
pub const DB_POOL_TIMEOUTS: &str = "sonarly_db_pool_timeouts_total";

/// The histograms, for the recorder's buckets.
pub const HISTOGRAMS: [&str; 3] = [HTTP_DURATION, ENGINE_STEP_DURATION, WEBHOOK_DURATION];

/// Every family: name, label names and help text, in the order docs/operations.md lists them.
pub const FAMILIES: [(&str, &[&str], &str); 18] = [
    (HTTP_REQUESTS, &["route", "method", "status"], "HTTP requests answered, by route template, method and status."),
    (HTTP_DURATION, &["route", "method"], "HTTP request latency in seconds, by route template and method."),
    (RATE_LIMIT_REFUSALS, &["limit"], "Requests refused by a rate limit (api_key, auth_failures)."),
    (QUEUE_DEPTH, &["kind"], "Queued work rows, due or not, by work kind."),
    (QUEUE_DUE, &["kind"], "Queued work rows whose time has come, by work kind."),
    (QUEUE_OLDEST_DUE_AGE, &["kind"], "Seconds the oldest due row of a work kind has waited (0: none due)."),
    (ENGINE_STEP_DURATION, &["worker"], "Duration in seconds of an engine worker step that claimed work."),
    (OUTBOUND_ACTIONS, &["kind", "outcome"], "Outbound action attempts, by action kind and outcome."),
    (PROVIDER_CALLS, &["provider", "kind", "outcome"], "LinkedIn provider calls, by provider, call kind and outcome."),
    (SEAT_BUDGET_USED, &["seat", "kind"], "Budget charged in a seat's action ledger, by seat id and kind."),
    (SEAT_STATE, &["seat", "state"], "1 for a seat's current health state, 0 for the others."),
    (PROSPECTS_IMPORTED, &["list_type"], "Prospects imported by prospecting jobs."),
    (CREDITS_CHARGED, &["list_type"], "Credits charged for prospecting imports."),
    (WEBHOOK_DELIVERIES, &["outcome"], "Webhook delivery attempts, by outcome (delivered, retrying, gave_up)."),
    (WEBHOOK_DURATION, &["outcome"], "Webhook delivery attempt latency in seconds, by outcome."),
    (DB_POOL_CONNECTIONS, &["pool", "state"], "Database connections by pool and state (in_use, idle)."),
    (DB_POOL_MAX, &["pool"], "The most connections a database pool opens."),
    (DB_POOL_TIMEOUTS, &[], "Queries that found no free pooled connection within the acquire timeout."),
];

/// Gives every family its help text (call once, after installing a recorder).
pub fn describe() {
    for (name, _, help) in FAMILIES {
        metrics::describe_counter!(name, help);
    }
}

/// One HTTP request answered; `route` is the matched template (or a fixed word), never the path.
/// A method outside the usual ones counts as `other` (a client could invent any number).
pub fn http_request(route: &str, method: &str, status: u16, elapsed: Duration) {
    let method = match method {
        "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
        _ => "other",
    };
    let (route, method) = (route.to_owned(), method.to_owned());
    metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route, "method" => method).record(elapsed.as_secs_f64());
}

/// A request refused by the rate limit named `limit`.
pub fn rate_limited(limit: &'static str) {
    metrics::counter!(RATE_LIMIT_REFUSALS, "limit" => limit).increment(1);
}

/// One step of an engine worker took `elapsed`.
pub fn engine_step(worker: &'static str, elapsed: Duration) {
    metrics::histogram!(ENGINE_STEP_DURATION, "worker" => worker).record(elapsed.as_secs_f64());
}

/// One attempt of an outbound action of `kind` ended with `outcome`.
pub fn outbound_action(kind: &'static str, outcome: &'static str) {
    metrics::counter!(OUTBOUND_ACTIONS, "kind" => kind, "outcome" => outcome).increment(1);
}

/// One provider call of `kind` ended with `outcome` (`ok` or the failure's reason code).
pub fn provider_call(provider: &'static str, kind: &'static str, outcome: &'static str) {
    metrics::counter!(PROVIDER_CALLS, "provider" => provider, "kind" => kind, "outcome" => outcome).increment(1);
}

/// One unit of `seat`'s budget for `kind` charged in its ledger.
pub fn budget_used(seat: &str, kind: &str) {
    metrics::counter!(SEAT_BUDGET_USED, "seat" => seat.to_owned(), "kind" => kind.to_owned()).increment(1);
}

/// An import page added `prospects` and charged `credits`.
pub fn prospects_imported(list_type: &'static str, prospects: i64, credits: i64) {
    let (prospects, credits) = (u64::try_from(prospects).unwrap_or(0), u64::try_from(credits).unwrap_or(0));
    metrics::counter!(PROSPECTS_IMPORTED, "list_type" => list_type).increment(prospects);
    metrics::counter!(CREDITS_CHARGED, "list_type" => list_type).increment(credits);
}

/// One webhook delivery attempt ended with `outcome` after `latency_ms`.
pub fn webhook_delivery(outcome: &'static str, latency_ms: i64) {
    metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(1);
    let seconds = latency_ms.max(0) as f64 / 1000.0;
    metrics::histogram!(WEBHOOK_DURATION, "outcome" => outcome).record(seconds);
}

/// The work kinds and seats sampled so far: a kind whose queue emptied, or a seat
/// that was removed, is set to 0 instead of keeping its last value.
static SAMPLED: Mutex<Sampled> = Mutex::new(Sampled { kinds: BTreeSet::new(), seats: BTreeSet::new() });

struct Sampled {
    kinds: BTreeSet<String>,
    seats: BTreeSet<String>,
}

/// The work kinds of the queue, shown (at 0) before any row of theirs was seen.
const WORK_KINDS: [&str; 8] = [
    sonarly_store::PROSPECTING_WORK,
    sonarly_store::OUTBOUND_WORK,
    sonarly_store::CAMPAIGN_WORK,
    sonarly_store::SIGNAL_SCAN_WORK,
    sonarly_store::INBOX_SYNC_WORK,
    sonarly_store::SEAT_HEALTH_WORK,
    sonarly_store::WITHDRAWAL_WORK,
    sonarly_store::WEBHOOK_DELIVERY_WORK,
];

/// Sets the gauges read from the database (queues, seat states, pools) as of
/// `now`: called on each scrape. Fails only when the database does.
pub async fn sample(store: &Store, now: Timestamp) -> Result<(), sonarly_store::StoreError> {
    let queues = store.queue_stats(now).await?;
    let seats = store.system().seat_states(now).await?;
    let mut sampled = SAMPLED.lock().unwrap_or_else(|p| p.into_inner());
    sampled.kinds.extend(WORK_KINDS.iter().map(|k| (*k).to_owned()));
    let mut empty: BTreeSet<String> = sampled.kinds.clone();
    for queue in queues {
        empty.remove(&queue.kind);
        sampled.kinds.insert(queue.kind.clone());
        let age_ms = queue.oldest_due_at.map_or(0, |at| (now.as_millis() - at.as_millis()).max(0));
        metrics::gauge!(QUEUE_DEPTH, "kind" => queue.kind.clone()).set(queue.queued as f64);
        metrics::gauge!(QUEUE_DUE, "kind" => queue.kind.clone()).set(queue.due as f64);
        metrics::gauge!(QUEUE_OLDEST_DUE_AGE, "kind" => queue.kind).set(age_ms as f64 / 1000.0);
    }
    for kind in empty {
        for name in [QUEUE_DEPTH, QUEUE_DUE, QUEUE_OLDEST_DUE_AGE] {
            metrics::gauge!(name, "kind" => kind.clone()).set(0.0);
        }
    }
    let mut gone: BTreeSet<String> = sampled.seats.clone();
    for (seat, status, limited) in seats {
        gone.remove(&seat);
        sampled.seats.insert(seat.clone());
        let state = match AccountStatus::parse(&status).ok() {
            Some(AccountStatus::Connected) if limited => SeatState::Limited,
            Some(AccountStatus::Connected) => SeatState::Connected,
            Some(AccountStatus::NeedsAction) => SeatState::NeedsAction,
            Some(AccountStatus::Recovering) => SeatState::Recovering,
            Some(AccountStatus::Disconnected) | None => SeatState::Disconnected,
        };
        for each in SeatState::ALL {
            let value = if each == state { 1.0 } else { 0.0 };
            metrics::gauge!(SEAT_STATE, "seat" => seat.clone(), "state" => each.as_str()).set(value);
        }
    }
    for seat in gone {
        for each in SeatState::ALL {
            metrics::gauge!(SEAT_STATE, "seat" => seat.clone(), "state" => each.as_str()).set(0.0);
        }
    }
    drop(sampled);
    for pool in store.pool_stats() {
        metrics::gauge!(DB_POOL_CONNECTIONS, "pool" => pool.pool, "state" => "in_use").set(f64::from(pool.in_use));
        metrics::gauge!(DB_POOL_CONNECTIONS, "pool" => pool.pool, "state" => "idle").set(f64::from(pool.idle));
        metrics::gauge!(DB_POOL_MAX, "pool" => pool.pool).set(f64::from(pool.max));
    }
    metrics::counter!(DB_POOL_TIMEOUTS).absolute(store.pool_timeouts());
    Ok(())
}
