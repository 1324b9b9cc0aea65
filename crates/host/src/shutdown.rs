//! Shutdown signals: the first SIGINT or SIGTERM starts a graceful shutdown; a second one
//! ends the process at once (as a second Ctrl-C does in most servers), for when the grace
//! period is more than the person at the terminal wants to wait.

/// Exit status after a forced exit: 128 + SIGINT, as a shell reports an interrupted job.
const FORCED_EXIT: i32 = 130;

/// SIGINT and SIGTERM, listened for from creation on: made before the ready line, so that a
/// signal sent as soon as the server says it is ready is never missed (the default action
/// would kill the process without a clean shutdown).
#[derive(Debug)]
pub(crate) struct ShutdownSignal {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl ShutdownSignal {
    /// Starts listening.
    pub(crate) fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signals = signal(SignalKind::terminate())
                .and_then(|t| Ok((t, signal(SignalKind::interrupt())?)))
                .map_err(|e| tracing::warn!(error = %e, "Cannot listen for signals."))
                .ok();
            Self { signals }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Waits for the first signal, then keeps listening in the background: a second one
    /// exits the process immediately.
    pub(crate) async fn recv_then_force_on_second(mut self) {
        self.recv().await;
        tokio::spawn(async move {
            self.recv().await;
            eprintln!("forcebus: second signal; exiting without waiting for open requests");
            std::process::exit(FORCED_EXIT);
        });
    }

    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        match &mut self.signals {
            Some((term, int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            None => std::future::pending::<()>().await,
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
