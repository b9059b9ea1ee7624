use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use deadpool_redis::{Pool, redis};

use super::{RedisStore, StoreError};

/// Fixed-window counters for sign-in attempts, keyed by account, address or
/// (account, address) pair. An attempt is counted before it is checked, in
/// one atomic step, so parallel attempts cannot all slip under a limit.
#[derive(Debug, Clone)]
pub enum Limiter {
    Memory {
        window: Duration,
        counts: Arc<Mutex<HashMap<String, (u32, Instant)>>>,
    },
    Redis {
        window: Duration,
        pool: Pool,
        prefix: String,
    },
}

fn unreachable(error: impl std::fmt::Display) -> StoreError {
    StoreError(error.to_string())
}

/// One counted attempt: how many there were in this window, this one
/// included, and how long the window still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub count: u32,
    pub seconds_left: u64,
}

impl Count {
    /// Seconds to wait when this attempt went over `max`.
    pub fn over(self, max: u32) -> Option<u64> {
        (self.count > max).then_some(self.seconds_left.max(1))
    }
}

impl Limiter {
    pub fn memory(window: Duration) -> Self {
        Self::Memory {
            window,
            counts: Arc::default(),
        }
    }

    pub fn redis(store: &RedisStore, window: Duration) -> Self {
        Self::Redis {
            window,
            pool: store.pool().clone(),
            prefix: format!("{}limit:", store.prefix()),
        }
    }

    /// Counts one attempt against `key` and answers the count so far.
    pub async fn count(&self, key: &str) -> Result<Count, StoreError> {
        match self {
            Self::Memory { window, counts } => {
                let mut counts = counts
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                counts.retain(|_, (_, start)| start.elapsed() < *window);
                let entry = counts.entry(key.to_owned()).or_insert((0, Instant::now()));
                entry.0 = entry.0.saturating_add(1);
                Ok(Count {
                    count: entry.0,
                    seconds_left: window.saturating_sub(entry.1.elapsed()).as_secs(),
                })
            }
            Self::Redis {
                window,
                pool,
                prefix,
            } => {
                let mut conn = pool.get().await.map_err(unreachable)?;
                let key = format!("{prefix}{key}");
                let secs = i64::try_from(window.as_secs().max(1)).unwrap_or(i64::MAX);
                // One transaction: the increment, the window's start, its end.
                let (count, ttl): (u32, i64) = redis::pipe()
                    .atomic()
                    .incr(&key, 1)
                    .cmd("EXPIRE")
                    .arg(&key)
                    .arg(secs)
                    .arg("NX")
                    .ignore()
                    .ttl(&key)
                    .query_async(&mut conn)
                    .await
                    .map_err(unreachable)?;
                Ok(Count {
                    count,
                    seconds_left: ttl.max(0).unsigned_abs(),
                })
            }
        }
    }

    pub async fn reset(&self, key: &str) -> Result<(), StoreError> {
        match self {
            Self::Memory { counts, .. } => {
                counts
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(key);
                Ok(())
            }
            Self::Redis { pool, prefix, .. } => {
                let mut conn = pool.get().await.map_err(unreachable)?;
                redis::cmd("DEL")
                    .arg(format!("{prefix}{key}"))
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(unreachable)
            }
        }
    }
}
