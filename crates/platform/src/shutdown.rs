//! Graceful shutdown: SIGTERM or ctrl-c cancels one token that every listener
//! watches; listeners stop accepting and let in-flight requests finish.

use tokio_util::sync::CancellationToken;

/// Cancels `token` on the first SIGTERM or ctrl-c.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        signal().await;
        tracing::info!("shutdown requested; finishing in-flight requests");
        token.cancel();
    });
}

async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// How long in-flight requests may take to finish once shutdown begins;
/// below Kubernetes' default 30 s termination grace period.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `serve` until it ends or, once `stop` is cancelled, for at most
/// `grace` longer: idle keep-alive connections must not hold a stop forever.
pub async fn within_grace<F: std::future::Future>(
    serve: F,
    stop: &CancellationToken,
    grace: std::time::Duration,
) -> Option<F::Output> {
    tokio::select! {
        out = serve => Some(out),
        () = async {
            stop.cancelled().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("connections still open after the grace period; stopping anyway");
            None
        }
    }
}
