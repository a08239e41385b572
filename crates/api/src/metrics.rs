//! `GET /metrics` in the Prometheus text format, served on its own listener
//! (`sonarly serve --metrics-listen`), never on the API's.
//!
//! The recorder is process-wide: [`install`] puts it in place once and every
//! later call returns the same handle. Counters and histograms are recorded
//! where their events happen ([`sonarly_app::metrics`]); the gauges read from
//! the database (queues, seat states, pools) are sampled on each scrape.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sonarly_domain::clock::SharedClock;
use sonarly_store::Store;
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Duration;

/// Histogram buckets in seconds: from a fast request (5 ms) to a slow provider step (a minute).
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder for the whole process (once) and returns its handle.
/// When another recorder was installed first, metrics are still rendered but stay empty.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let mut builder = PrometheusBuilder::new();
            for name in sonarly_app::metrics::HISTOGRAMS {
                builder = builder
                    .set_buckets_for_metric(Matcher::Full(name.to_owned()), &BUCKETS)
                    .expect("the buckets are not empty");
            }
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed: /metrics stays empty");
            }
            sonarly_app::metrics::describe();
            handle
        })
        .clone()
}

/// Histogram samples are folded in at least this often, scraped or not.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the recorder and serves [`router`] on `listener` until the task is dropped
/// or the listener fails (logged).
pub async fn serve(listener: tokio::net::TcpListener, store: Store, clock: SharedClock) {
    let handle = install();
    let router = router(handle.clone(), store, clock);
    let upkeep = async {
        let mut tick = tokio::time::interval(UPKEEP_EVERY);
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    };
    tokio::select! {
        served = axum::serve(listener, router) => {
            if let Err(e) = served {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        }
        () = upkeep => {}
    }
}

/// What the metrics route needs.
#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    store: Store,
    clock: SharedClock,
    /// Held while the database gauges are read: concurrent scrapes never stack
    /// queries on the pool the API uses; they serve the values as last read.
    sampling: Arc<tokio::sync::Mutex<()>>,
}

/// The metrics listener's router: `GET /metrics` and nothing else (404).
pub fn router(handle: PrometheusHandle, store: Store, clock: SharedClock) -> Router {
    let sampling = Arc::new(tokio::sync::Mutex::new(()));
    Router::new().route("/metrics", get(metrics)).with_state(Scrape { handle, store, clock, sampling })
}

/// Samples the database gauges, then renders every family. A database that
/// does not answer leaves its gauges at their last value (logged); the rest
/// is still served.
async fn metrics(State(scrape): State<Scrape>) -> Response {
    if let Ok(_sampling) = scrape.sampling.try_lock()
        && let Err(e) = sonarly_app::metrics::sample(&scrape.store, scrape.clock.now()).await
    {
        tracing::warn!(error = %e, "metrics: the database gauges could not be read");
    }
    scrape.handle.run_upkeep();
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], scrape.handle.render())
        .into_response()
}
