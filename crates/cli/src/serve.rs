//! `sonarly serve`: the HTTP API plus background housekeeping, with graceful
//! shutdown on SIGINT/SIGTERM.

use crate::open_store;
use clap::Args;
use sonarly_api::AppState;
use sonarly_domain::clock::{Clock, SharedClock, SystemClock};
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SONARLY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Do not create the "Demo" account group and key on an empty database.
    #[arg(long)]
    no_demo: bool,
    /// How long a worker holds a queue row before another instance may take
    /// it over (after a crash), in milliseconds.
    #[arg(long, env = "SONARLY_LEASE_MS", default_value_t = 60_000)]
    lease_ms: i64,
    /// Base URL of an OpenAI-compatible chat-completions API (e.g. https://api.openai.com/v1);
    /// when set, writing styles with `useStrictTemplate: false` are written by that model.
    #[arg(long, env = "SONARLY_OPENAI_BASE_URL")]
    openai_base_url: Option<String>,
    /// The model to ask (required with --openai-base-url).
    #[arg(long, env = "SONARLY_OPENAI_MODEL")]
    openai_model: Option<String>,
}

/// The composer from `SONARLY_OPENAI_*`: the model when configured, else the built-in one.
/// The API key is read from `SONARLY_OPENAI_API_KEY` only (never a flag, so it stays out of `ps`).
fn composer(args: &ServeArgs) -> anyhow::Result<sonarly_app::composer::SharedComposer> {
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

/// Expired idempotency records are purged this often.
const PURGE_EVERY: Duration = Duration::from_secs(600);

pub async fn run(database: &str, args: ServeArgs) -> anyhow::Result<()> {
    // Signal handlers are installed before the port opens, so a SIGTERM that
    // arrives right after start-up still shuts down gracefully.
    let shutdown = shutdown_signal()?;
    let store = open_store(database).await?;
    let clock: SharedClock = Arc::new(SystemClock);
    if !args.no_demo {
        announce_demo(&store, clock.as_ref()).await?;
    }
    let composer = composer(&args)?;
    let state = AppState::new(store.clone(), clock.clone())
        .await
        .map_err(|e| anyhow::anyhow!("cannot initialise: {e}"))?
        .with_composer(composer);
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, backend = ?store.backend(), "sonarly is listening");
    eprintln!("Sonarly API on http://{local}  (docs: http://{local}/docs)");

    let purge = tokio::spawn(purge_loop(store.clone(), clock.clone()));
    // Each instance leases queue rows under its own name, so several can share one database.
    let owner = format!("{}-{}", std::process::id(), ulid::Ulid::new());
    let config = sonarly_engine::EngineConfig { lease_ms: args.lease_ms.max(1_000), ..Default::default() };
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

async fn announce_demo(store: &sonarly_store::Store, clock: &dyn Clock) -> anyhow::Result<()> {
    let created = sonarly_app::keys::ensure_demo(store, clock).await.map_err(|e| anyhow::anyhow!("{}", e.message))?;
    if let Some((group, key)) = created {
        println!("Created the \"Demo\" account group ({}).", group.id);
        println!("Demo API key (all scopes; shown once, store it now):");
        println!("{}", key.plaintext());
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
