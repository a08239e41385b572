//! SIGINT and SIGTERM for `serve`: the first starts the bounded shutdown, a
//! second one ends the process at once.

use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Exit status when a second signal ends the process before the shutdown finished.
pub const INTERRUPTED_EXIT: i32 = 1;

/// The shutdown signals, with their handlers installed.
pub struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers: from now on SIGINT and SIGTERM no longer kill the process.
    pub fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The name of the next signal received.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }

    /// Watches for signals in the background. On the first, publishes the
    /// shutdown deadline (`grace` from now) on the returned channel and cancels
    /// `also`; on a second, exits with [`INTERRUPTED_EXIT`] without waiting.
    pub fn watch(mut self, grace: Duration, also: CancellationToken) -> watch::Receiver<Option<Instant>> {
        let (deadline, watched) = watch::channel(None);
        tokio::spawn(async move {
            let first = self.next().await;
            tracing::info!(
                signal = first,
                deadline_ms = grace.as_millis() as u64,
                "shutting down: no new connections; requests under way may finish until the deadline \
                 (a second signal exits at once)"
            );
            deadline.send_replace(Some(Instant::now() + grace));
            also.cancel();
            let second = self.next().await;
            tracing::warn!(signal = second, "second signal: exiting now, without waiting for requests under way");
            std::process::exit(INTERRUPTED_EXIT);
        });
        watched
    }
}
