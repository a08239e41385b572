//! `sonarly serve`: the HTTP API plus background housekeeping, with
//! connection timeouts and a bounded graceful shutdown on SIGINT/SIGTERM
//! (`sonarly_api::server`), and one serving process per SQLite file.

use crate::errors::{Origin, hinted};
use crate::signals::Signals;
use crate::{Database, open_store, output};
use anyhow::Context;
use clap::{ArgMatches, Args};
use sonarly_api::AppState;
use sonarly_domain::clock::{Clock, SharedClock, SystemClock};
use sonarly_store::{LockError, ServeLock};
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT (0.0.0.0:8080 accepts other machines; port 0 picks a free port).
    #[arg(long, value_name = "ADDR", env = "SONARLY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Serve Prometheus metrics at http://ADDR/metrics, on this separate address (HOST:PORT),
    /// never on the API's; off unless set. The metrics carry no group data, but bind it where
    /// only your monitoring reaches (e.g. 127.0.0.1:9464). See docs/operations.md.
    #[arg(long, value_name = "ADDR", env = "SONARLY_METRICS_LISTEN")]
    metrics_listen: Option<String>,
    /// Do not create the "Demo" account group and key on an empty database.
    #[arg(long)]
    no_demo: bool,
    /// Close a connection whose request line and headers have not all arrived within this many
    /// milliseconds (from the connection's start, then from each later request's first byte);
    /// a partly sent head is answered 408.
    #[arg(long, value_name = "MS", env = "SONARLY_HEADER_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_ms: u64,
    /// Close a keep-alive connection that has waited this many milliseconds for its next request.
    #[arg(long, value_name = "MS", env = "SONARLY_IDLE_TIMEOUT_MS", default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_ms: u64,
    /// Answer 408 and close the connection when a request body has not arrived whole within this
    /// many milliseconds of its headers.
    #[arg(long, value_name = "MS", env = "SONARLY_BODY_TIMEOUT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout_ms: u64,
    /// On SIGTERM or SIGINT, give requests under way this many milliseconds to finish; then their
    /// connections are cut and the process exits 0 (a second signal exits at once, with status 1).
    #[arg(long, value_name = "MS", env = "SONARLY_SHUTDOWN_TIMEOUT_MS", default_value_t = 20_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    shutdown_timeout_ms: u64,
    /// How long a worker holds a queue row before another instance may take
    /// it over (after a crash), in milliseconds; at least 1000.
    #[arg(long, value_name = "MS", env = "SONARLY_LEASE_MS", default_value_t = 60_000,
          value_parser = clap::value_parser!(i64).range(1_000..))]
    lease_ms: i64,
    /// How long a send whose outcome is unknown (timeout, reset, 5xx, crash)
    /// waits before it is reconciled with LinkedIn, in milliseconds: long
    /// enough for a delivered message to show. Provider calls are always cut
    /// well before the lease (at most half of it).
    #[arg(long, value_name = "MS", env = "SONARLY_SETTLE_MS", default_value_t = sonarly_engine::DEFAULT_SETTLE_MS,
          value_parser = clap::value_parser!(i64).range(0..))]
    settle_ms: i64,
    /// Base URL of an OpenAI-compatible chat-completions API (e.g. https://api.openai.com/v1);
    /// when set, writing styles with `useStrictTemplate: false` are written by that model.
    #[arg(long, value_name = "URL", env = "SONARLY_OPENAI_BASE_URL")]
    openai_base_url: Option<String>,
    /// The model to ask (required with --openai-base-url).
    #[arg(long, value_name = "NAME", env = "SONARLY_OPENAI_MODEL")]
    openai_model: Option<String>,
    /// Let webhook endpoints be on loopback, private, link-local and unique-local
    /// addresses (self-hosted networks). Cloud metadata addresses stay refused.
    #[arg(long)]
    webhooks_allow_private: bool,
    /// Let webhook endpoints use plain http:// (otherwise HTTPS only).
    #[arg(long)]
    webhooks_allow_http: bool,
    /// How many days events (with their webhook deliveries and attempts) are kept.
    #[arg(long, value_name = "DAYS", env = "SONARLY_EVENTS_RETENTION_DAYS",
          default_value_t = sonarly_domain::events::DEFAULT_RETENTION_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    events_retention_days: u32,
    /// Failed authentications (missing, unknown or revoked API keys) allowed per client address per
    /// minute; past that the address is answered 429 until its budget refills. 0 turns the limit off.
    #[arg(long, value_name = "N", env = "SONARLY_AUTH_FAILURES_PER_MINUTE", default_value_t = 60)]
    auth_failures_per_minute: u32,
    /// Browser origins allowed to call the API cross-origin, comma-separated
    /// (e.g. https://app.example,http://localhost:3000); none by default.
    #[arg(long, value_name = "ORIGINS", env = "SONARLY_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
}

/// The CORS allow-list from `--cors-origins`, if any (a mistake names the setting as given).
fn cors_policy(args: &ServeArgs, matches: &ArgMatches) -> anyhow::Result<Option<sonarly_api::cors::CorsPolicy>> {
    let origins: Vec<&str> = args.cors_origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()).collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let name = Origin::of(matches, "cors_origins").name("--cors-origins", "SONARLY_CORS_ORIGINS");
    sonarly_api::cors::CorsPolicy::new(&origins).map(Some).map_err(|e| anyhow::anyhow!("{name}: {e}"))
}

/// The composer from `--openai-*`: the model when configured, else the built-in one.
/// Every mistake is reported under the name the user gave the setting.
fn composer(args: &ServeArgs, matches: &ArgMatches) -> anyhow::Result<sonarly_app::composer::SharedComposer> {
    let clean = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let base_name = Origin::of(matches, "openai_base_url").name("--openai-base-url", "SONARLY_OPENAI_BASE_URL");
    let model_name = Origin::of(matches, "openai_model").name("--openai-model", "SONARLY_OPENAI_MODEL");
    match (clean(&args.openai_base_url), clean(&args.openai_model)) {
        (None, None) => {}
        (None, Some(_)) => tracing::warn!(
            "{model_name} is set without --openai-base-url (SONARLY_OPENAI_BASE_URL); the built-in composer is used"
        ),
        (Some(_), None) => {
            return Err(hinted(
                format!("{base_name} is set but no model is"),
                "name the model with --openai-model NAME (or SONARLY_OPENAI_MODEL), or drop the base URL",
            ));
        }
        (Some(base), Some(_)) => match url::Url::parse(&base) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            Ok(url) => anyhow::bail!("{base_name} must be an http:// or https:// URL, not {}:", url.scheme()),
            Err(e) => anyhow::bail!("{base_name} is not a URL ({e}): {base}"),
        },
    }
    let api_key = std::env::var("SONARLY_OPENAI_API_KEY").ok();
    let config = sonarly_app::composer::OpenAiConfig::from_settings(
        args.openai_base_url.clone(),
        api_key,
        args.openai_model.clone(),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(config) = &config {
        tracing::info!(base_url = %config.base_url, model = %config.model, "content composer: OpenAI-compatible model");
    }
    sonarly_app::composer::composer_for(config).map_err(|e| anyhow::anyhow!("{e}"))
}

impl ServeArgs {
    fn server_config(&self) -> sonarly_api::server::ServerConfig {
        sonarly_api::server::ServerConfig {
            header_timeout: Duration::from_millis(self.header_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            body_timeout: Duration::from_millis(self.body_timeout_ms),
            shutdown_timeout: Duration::from_millis(self.shutdown_timeout_ms),
        }
    }
}

/// Locks a SQLite file for this process (see [`ServeLock`]); nothing to lock
/// for `sqlite::memory:` or PostgreSQL.
fn lock_database(db: &Database) -> anyhow::Result<Option<ServeLock>> {
    match ServeLock::acquire(&db.url) {
        Ok(lock) => Ok(lock),
        Err(e @ LockError::Held { .. }) => Err(hinted(
            e.to_string(),
            "only one `sonarly serve` may use a SQLite file: stop the other one first (other commands may run \
             beside it), or use PostgreSQL to run several servers on one database",
        )),
        Err(LockError::Url(e)) => Err(anyhow::Error::new(e).context(format!("cannot open {}", db.described()))),
        Err(e) => Err(e.into()),
    }
}

/// Binds the listening socket, explaining the usual failures.
async fn bind(listen: &str, matches: &ArgMatches) -> anyhow::Result<tokio::net::TcpListener> {
    bind_named(listen, Origin::of(matches, "listen").name("--listen", "SONARLY_LISTEN")).await
}

/// Binds `listen`, the value of the setting `name`, explaining the usual failures.
async fn bind_named(listen: &str, name: &str) -> anyhow::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => Ok(listener),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(hinted(
            format!("cannot listen on {listen}: the address is already in use"),
            format!(
                "another process (perhaps another sonarly) listens there; stop it or choose another address with {name}"
            ),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(hinted(
            format!("cannot listen on {listen}: permission denied"),
            format!("ports below 1024 need privileges; choose another with {name}"),
        )),
        Err(e) => Err(hinted(
            format!("cannot listen on {listen}: {e}"),
            format!("{name} takes HOST:PORT, e.g. 127.0.0.1:8080"),
        )),
    }
}

/// Events past their retention are purged this often.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Starts in an order that never leaves a half-made first run behind: first
/// what can be checked without side effects (settings), then the SQLite lock
/// and the port, then the database; the Demo group and key are created last,
/// right before serving, so a start that fails never consumes the one-time
/// Demo key.
pub async fn run(db: &Database, args: ServeArgs, matches: &ArgMatches) -> anyhow::Result<()> {
    // Signal handlers are installed before the port opens, so a SIGTERM that
    // arrives right after start-up still shuts down gracefully.
    let signals = Signals::install()?;
    let composer = composer(&args, matches)?;
    let cors = cors_policy(&args, matches)?;
    let keyring = crate::linkedin::keyring()?;
    // Held until the process ends.
    let _lock = lock_database(db)?;
    let listener = bind(&args.listen, matches).await?;
    let metrics_listener = match args.metrics_listen.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(addr) => {
            let name = Origin::of(matches, "metrics_listen").name("--metrics-listen", "SONARLY_METRICS_LISTEN");
            Some(bind_named(addr, name).await?)
        }
        None => None,
    };
    let store = open_store(db).await?;
    let clock: SharedClock = Arc::new(SystemClock);
    let state = match AppState::new(store.clone(), clock.clone()).await {
        Ok(mut state) => {
            let limits = sonarly_api::ratelimit::RateLimits::for_store(&store, &clock)
                .with_auth_failures_per_minute(args.auth_failures_per_minute);
            state.rate_limits = Arc::new(limits);
            state.registry = state.registry.clone().with_keyring(keyring);
            let state = state.with_composer(composer).with_webhook_policy(webhook_policy(&args));
            match cors {
                Some(policy) => state.with_cors(policy),
                None => state,
            }
        }
        Err(e) => {
            store.close().await;
            return Err(e).context("cannot load the server settings from the database");
        }
    };
    if !args.no_demo
        && let Err(e) = announce_demo(&store, clock.as_ref(), db).await
    {
        store.close().await;
        return Err(e);
    }
    let local = listener.local_addr()?;
    tracing::info!(address = %local, backend = ?store.backend(), "sonarly is listening");
    eprintln!("Sonarly API on http://{local}  (docs: http://{local}/docs)");

    let purge = tokio::spawn(purge_loop(store.clone(), clock.clone(), args.events_retention_days));
    let metrics = metrics_listener.map(|listener| serve_metrics(listener, store.clone(), clock.clone()));
    // Each instance leases queue rows under its own name, so several can share one database.
    let owner = format!("{}-{}", std::process::id(), ulid::Ulid::generate());
    let webhooks = sonarly_engine::WebhookConfig { policy: webhook_policy(&args), ..Default::default() };
    let config = sonarly_engine::EngineConfig {
        lease_ms: args.lease_ms,
        settle_ms: args.settle_ms,
        webhooks,
        ..Default::default()
    };
    config.validate().map_err(|e| anyhow::anyhow!("engine settings: {e}"))?;
    let engine = sonarly_engine::Engine::new(store.clone(), state.registry.clone(), clock.clone(), owner)
        .with_config(config)
        .with_composer(state.composer.clone());
    let stop_engine = tokio_util::sync::CancellationToken::new();
    let mut workers = engine.spawn(stop_engine.clone());
    let server = args.server_config();
    let deadline = signals.watch(server.shutdown_timeout, stop_engine);
    let mut signalled = deadline.clone();
    let shutdown = async move {
        let _ = signalled.wait_for(Option::is_some).await;
    };
    let keys = state.keys.clone();
    sonarly_api::server::serve(listener, sonarly_api::router(state), server, shutdown).await;
    // Key uses noted since the last batch (written once a minute, off the requests) are not lost.
    if let Err(e) = keys.write_uses(&store, sonarly_domain::clock::Clock::now(clock.as_ref())).await {
        tracing::warn!(error = %e.message, "cannot record the last key uses");
    }
    // The workers stopped taking work at the signal; what they still do gets the same deadline.
    let deadline = (*deadline.borrow()).unwrap_or_else(tokio::time::Instant::now);
    if tokio::time::timeout_at(deadline, &mut workers).await.is_err() {
        workers.abort();
        tracing::warn!(
            "background workers were cut at the shutdown deadline; their queue leases let work resume later"
        );
    }
    purge.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    store.close().await;
    tracing::info!("sonarly stopped");
    Ok(())
}

/// On an empty database, creates the Demo group and prints its key once on
/// stdout. Otherwise says on stderr, in one line, how to get a key.
async fn announce_demo(store: &sonarly_store::Store, clock: &dyn Clock, db: &Database) -> anyhow::Result<()> {
    let not_found = "the new Demo group vanished";
    let created = sonarly_app::keys::ensure_demo(store, clock)
        .await
        .map_err(|e| crate::errors::domain(e, not_found))
        .context("cannot create the Demo account group")?;
    if let Some((group, key)) = created {
        output::emit(&format!(
            "Created the \"Demo\" account group ({}).\nDemo API key (all scopes; shown once, store it now):\n{}\n",
            group.id,
            key.plaintext()
        ))?;
        return Ok(());
    }
    let groups = sonarly_app::accounts::list_all_groups(store)
        .await
        .map_err(|e| crate::errors::domain(e, "no account group"))
        .context("cannot list the account groups")?;
    let database = db.flag_for_commands();
    match groups.iter().find(|g| g.name == "Demo") {
        Some(demo) => eprintln!(
            "The \"Demo\" account group exists ({id}; its key was shown on the first start); \
             for a new key run: sonarly keys create --group {id}{database}",
            id = demo.id
        ),
        None => eprintln!(
            "The database already has account groups, so no Demo group was created; for a key run: \
             sonarly keys create --group <id>{database} (ids: sonarly groups list{database})"
        ),
    }
    Ok(())
}

/// Which webhook destinations the operator allows.
fn webhook_policy(args: &ServeArgs) -> sonarly_domain::webhooks::UrlPolicy {
    sonarly_domain::webhooks::UrlPolicy {
        allow_http: args.webhooks_allow_http,
        allow_private: args.webhooks_allow_private,
    }
}

/// Installs the Prometheus recorder and serves `GET /metrics` on `listener`
/// until the process stops (see `sonarly_api::metrics`).
fn serve_metrics(
    listener: tokio::net::TcpListener,
    store: sonarly_store::Store,
    clock: SharedClock,
) -> tokio::task::JoinHandle<()> {
    if let Ok(local) = listener.local_addr() {
        tracing::info!(address = %local, "metrics are served");
        eprintln!("Metrics on http://{local}/metrics");
    }
    tokio::spawn(sonarly_api::metrics::serve(listener, store, clock))
}

async fn purge_loop(store: sonarly_store::Store, clock: SharedClock, events_retention_days: u32) {
    let mut tick = tokio::time::interval(PURGE_EVERY);
    loop {
        tick.tick().await;
        match sonarly_app::events::purge_events(&store, clock.now(), events_retention_days).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "events past their retention removed"),
            Err(e) => tracing::warn!(error = %e, "event purge failed"),
        }
    }
}
