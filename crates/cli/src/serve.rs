//! `sonarly serve`: the HTTP API plus background housekeeping, with graceful
//! shutdown on SIGINT/SIGTERM.

use crate::errors::{Origin, hinted};
use crate::{Database, open_store, output};
use anyhow::Context;
use clap::{ArgMatches, Args};
use sonarly_api::AppState;
use sonarly_domain::clock::{Clock, SharedClock, SystemClock};
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT (0.0.0.0:8080 accepts other machines; port 0 picks a free port).
    #[arg(long, value_name = "ADDR", env = "SONARLY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Do not create the "Demo" account group and key on an empty database.
    #[arg(long)]
    no_demo: bool,
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

/// Binds the listening socket, explaining the usual failures.
async fn bind(listen: &str, matches: &ArgMatches) -> anyhow::Result<tokio::net::TcpListener> {
    let name = Origin::of(matches, "listen").name("--listen", "SONARLY_LISTEN");
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

/// Expired idempotency records are purged this often.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Starts in an order that never leaves a half-made first run behind: first
/// what can be checked without side effects (settings), then the port, then
/// the database; the Demo group and key are created last, right before
/// serving, so a start that fails never consumes the one-time Demo key.
pub async fn run(db: &Database, args: ServeArgs, matches: &ArgMatches) -> anyhow::Result<()> {
    // Signal handlers are installed before the port opens, so a SIGTERM that
    // arrives right after start-up still shuts down gracefully.
    let shutdown = shutdown_signal()?;
    let composer = composer(&args, matches)?;
    let listener = bind(&args.listen, matches).await?;
    let store = open_store(db).await?;
    let clock: SharedClock = Arc::new(SystemClock);
    let state = match AppState::new(store.clone(), clock.clone()).await {
        Ok(state) => state.with_composer(composer),
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

    let purge = tokio::spawn(purge_loop(store.clone(), clock.clone()));
    // Each instance leases queue rows under its own name, so several can share one database.
    let owner = format!("{}-{}", std::process::id(), ulid::Ulid::new());
    let config =
        sonarly_engine::EngineConfig { lease_ms: args.lease_ms, settle_ms: args.settle_ms, ..Default::default() };
    config.validate().map_err(|e| anyhow::anyhow!("engine settings: {e}"))?;
    let engine = sonarly_engine::Engine::new(store.clone(), state.registry.clone(), clock.clone(), owner)
        .with_config(config)
        .with_composer(state.composer.clone());
    let stop_engine = tokio_util::sync::CancellationToken::new();
    let workers = engine.spawn(stop_engine.clone());
    axum::serve(listener, sonarly_api::router(state)).with_graceful_shutdown(shutdown).await?;
    stop_engine.cancel();
    let _ = workers.await;
    purge.abort();
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

async fn purge_loop(store: sonarly_store::Store, clock: SharedClock) {
    let mut tick = tokio::time::interval(PURGE_EVERY);
    loop {
        tick.tick().await;
        match store.idempotency_purge(clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired idempotency records removed"),
            Err(e) => tracing::warn!(error = %e, "idempotency purge failed"),
        }
    }
}

/// Resolves on SIGINT or SIGTERM; the handlers are registered when this is called.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
}
