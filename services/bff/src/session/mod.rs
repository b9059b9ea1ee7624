//! Server-side sessions and sign-in rate limits: in Redis when configured (any
//! replica serves any request), in process otherwise.
//!
//! The cookie carries a random 256-bit token; the store keys sessions by the
//! token's SHA-256, so a leaked store does not leak usable tokens.

mod limiter;
mod memory;
mod redis;
mod redis_login;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use limiter::Limiter;
pub use memory::MemoryStore;
pub use redis::{RedisStore, connect_redis};
pub use redis_login::RedisLogin;

#[derive(Debug, thiserror::Error)]
#[error("the session store is unreachable: {0}")]
pub struct StoreError(pub String);

/// What the bff remembers about a signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub role: String,
    pub csrf_token: String,
    /// Unix seconds.
    pub created_at: u64,
    pub last_seen: u64,
}

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn token_key(token: &str) -> String {
    hex_digest(token.as_bytes())
}

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Timeouts applied to every session, wherever it is stored.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Lifetimes {
    /// Seconds until `session` expires, or `None` when it already has.
    pub fn remaining(&self, session: &Session, now: u64) -> Option<u64> {
        let idle_end = session.last_seen.saturating_add(self.idle.as_secs());
        let absolute_end = session.created_at.saturating_add(self.absolute.as_secs());
        let end = idle_end.min(absolute_end);
        (end > now).then(|| end - now)
    }
}

#[derive(Debug, Clone)]
pub enum SessionStore {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl SessionStore {
    /// Stores a new session and answers its token.
    pub async fn create(&self, session: &Session) -> Result<String, StoreError> {
        let token = random_token();
        match self {
            Self::Memory(store) => store.insert(&token_key(&token), session.clone()),
            Self::Redis(store) => store.insert(&token_key(&token), session).await?,
        }
        Ok(token)
    }

    /// The live session behind `token`, its idle clock restarted.
    pub async fn get(&self, token: &str) -> Result<Option<Session>, StoreError> {
        let key = token_key(token);
        match self {
            Self::Memory(store) => Ok(store.get(&key)),
            Self::Redis(store) => store.get(&key).await,
        }
    }

    pub async fn delete(&self, token: &str) -> Result<(), StoreError> {
        let key = token_key(token);
        match self {
            Self::Memory(store) => {
                store.remove(&key);
                Ok(())
            }
            Self::Redis(store) => store.remove(&key).await,
        }
    }

    /// Keeps `value` for `ttl` seconds under `token`, to be taken once
    /// (a sign-in with a provider waiting for its answer).
    pub async fn stash(&self, token: &str, value: &str, ttl: u64) -> Result<(), StoreError> {
        let key = token_key(token);
        match self {
            Self::Memory(store) => {
                store.stash(&key, value, ttl);
                Ok(())
            }
            Self::Redis(store) => store.stash(&key, value, ttl).await,
        }
    }

    /// What was stashed under `token`, once.
    pub async fn take(&self, token: &str) -> Result<Option<String>, StoreError> {
        let key = token_key(token);
        match self {
            Self::Memory(store) => Ok(store.take(&key)),
            Self::Redis(store) => store.take(&key).await,
        }
    }

    /// Ends every session of `user_id` except the one behind `keep`.
    pub async fn end_user(&self, user_id: Uuid, keep: Option<&str>) -> Result<(), StoreError> {
        let keep = keep.map(token_key);
        match self {
            Self::Memory(store) => {
                store.end_user(user_id, keep.as_deref());
                Ok(())
            }
            Self::Redis(store) => store.end_user(user_id, keep.as_deref()).await,
        }
    }

    /// Applies a role change to the user's live sessions at once.
    pub async fn set_role(&self, user_id: Uuid, role: &str) -> Result<(), StoreError> {
        match self {
            Self::Memory(store) => {
                store.set_role(user_id, role);
                Ok(())
            }
            Self::Redis(store) => store.set_role(user_id, role).await,
        }
    }

    /// Reports the number of live sessions where the store can count them
    /// cheaply (in process; Redis keeps its own statistics), and the Redis
    /// connection pool's state.
    pub fn report(&self) {
        match self {
            Self::Memory(store) => {
                let count = u32::try_from(store.len()).unwrap_or(u32::MAX);
                metrics::gauge!("folio_sessions", "service" => "bff").set(f64::from(count));
            }
            Self::Redis(store) => {
                let status = store.pool().status();
                let idle = u32::try_from(status.available).unwrap_or(u32::MAX);
                let open = u32::try_from(status.size).unwrap_or(u32::MAX);
                let waiting = u32::try_from(status.waiting).unwrap_or(u32::MAX);
                let gauge = |state: &'static str, n: u32| {
                    metrics::gauge!("redis_pool_connections", "service" => "bff", "state" => state)
                        .set(f64::from(n));
                };
                gauge("idle", idle);
                gauge("in_use", open.saturating_sub(idle));
                metrics::gauge!("redis_pool_waiting", "service" => "bff").set(f64::from(waiting));
            }
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Self::Memory(_) => Ok(()),
            Self::Redis(store) => store.ping().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed_for_storage() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_key(&a).len(), 64);
        assert_ne!(token_key(&a), a);
    }

    #[test]
    fn idle_and_absolute_timeouts_both_apply() {
        let lifetimes = Lifetimes {
            idle: Duration::from_secs(10),
            absolute: Duration::from_secs(100),
        };
        let session = Session {
            user_id: Uuid::nil(),
            org_id: Uuid::nil(),
            role: "viewer".into(),
            csrf_token: String::new(),
            created_at: 1000,
            last_seen: 1095,
        };
        assert_eq!(lifetimes.remaining(&session, 1096), Some(4));
        assert_eq!(lifetimes.remaining(&session, 1100), None);
        let idle = Session {
            last_seen: 1000,
            ..session
        };
        assert_eq!(lifetimes.remaining(&idle, 1011), None);
    }
}
