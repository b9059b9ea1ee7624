use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use deadpool_redis::{Pool, redis};

use super::{RedisStore, StoreError};

/// Fixed-window counters for sign-in attempts, keyed by account or address.
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

    /// Seconds to wait when `key` already reached `max` in this window.
    pub async fn blocked(&self, key: &str, max: u32) -> Result<Option<u64>, StoreError> {
        match self {
            Self::Memory { window, counts } => {
                let counts = counts
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                Ok(counts.get(key).and_then(|(count, start)| {
                    let left = window.saturating_sub(start.elapsed());
                    (*count >= max && !left.is_zero()).then(|| left.as_secs().max(1))
                }))
            }
            Self::Redis { pool, prefix, .. } => {
                let mut conn = pool.get().await.map_err(unreachable)?;
                let key = format!("{prefix}{key}");
                let (count, ttl): (Option<u32>, i64) = redis::pipe()
                    .get(&key)
                    .ttl(&key)
                    .query_async(&mut conn)
                    .await
                    .map_err(unreachable)?;
                Ok((count.unwrap_or(0) >= max && ttl > 0).then(|| ttl.unsigned_abs()))
            }
        }
    }

    /// Counts one attempt against `key`.
    pub async fn hit(&self, key: &str) -> Result<(), StoreError> {
        match self {
            Self::Memory { window, counts } => {
                let mut counts = counts
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                counts.retain(|_, (_, start)| start.elapsed() < *window);
                let entry = counts.entry(key.to_owned()).or_insert((0, Instant::now()));
                entry.0 = entry.0.saturating_add(1);
                Ok(())
            }
            Self::Redis {
                window,
                pool,
                prefix,
            } => {
                let mut conn = pool.get().await.map_err(unreachable)?;
                let key = format!("{prefix}{key}");
                let secs = i64::try_from(window.as_secs().max(1)).unwrap_or(i64::MAX);
                redis::pipe()
                    .atomic()
                    .incr(&key, 1)
                    .cmd("EXPIRE")
                    .arg(&key)
                    .arg(secs)
                    .arg("NX")
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(unreachable)
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
