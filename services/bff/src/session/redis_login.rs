//! The Redis AUTH token, kept fresh: a rotated token reaches new connections
//! and logs open ones in again, without a restart (ElastiCache's `ROTATE`
//! keeps the old token valid until the new one is `SET`).

use std::{pin::Pin, sync::Arc, time::Duration};

use folio_platform::secrets::{Secret, SecretSource};
use futures::Stream;
use redis::{
    RedisResult,
    auth::{BasicAuth, StreamingCredentialsProvider},
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The AUTH token belongs to Redis's `default` user.
const USER: &str = "default";

/// The token every Redis connection logs in with.
#[derive(Clone)]
pub struct RedisLogin {
    current: Arc<watch::Sender<Secret>>,
}

impl std::fmt::Debug for RedisLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLogin").finish_non_exhaustive()
    }
}

impl RedisLogin {
    pub fn new(token: Secret) -> Self {
        Self {
            current: Arc::new(watch::Sender::new(token)),
        }
    }

    /// Fetches the token from `source` every `period` (never when zero)
    /// until `stop`; a changed token is used from then on. A failed fetch
    /// keeps the last token.
    pub async fn keep_fresh(self, source: SecretSource, period: Duration, stop: CancellationToken) {
        if period.is_zero() {
            return;
        }
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(period) => {}
            }
            match source.fetch().await {
                Ok(token) => {
                    let changed = self.current.send_if_modified(|current| {
                        let changed = *current != token;
                        *current = token;
                        changed
                    });
                    if changed {
                        tracing::info!("the Redis AUTH token changed: connections log in again");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot fetch the Redis AUTH token; keeping the last one");
                }
            }
        }
    }
}

impl StreamingCredentialsProvider for RedisLogin {
    /// The current token at once, then each change.
    fn subscribe(&self) -> Pin<Box<dyn Stream<Item = RedisResult<BasicAuth>> + Send + 'static>> {
        let tokens = self.current.subscribe();
        Box::pin(futures::stream::unfold(
            (tokens, true),
            |(mut tokens, first)| async move {
                if !first && tokens.changed().await.is_err() {
                    return None;
                }
                let token = tokens.borrow_and_update().expose().to_owned();
                Some((Ok(BasicAuth::new(USER.to_owned(), token)), (tokens, false)))
            },
        ))
    }
}
