//! Server-side sessions and sign-in rate limits: in Redis when configured (any
//! replica serves any request), in process otherwise.
//!
//! The cookie carries a random 256-bit token; the store keys sessions by the
//! token's SHA-256, so a leaked store does not leak usable tokens.

mod limiter;
mod memory;
mod recent;
mod redis;
mod redis_login;

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use folio_proto::users::v1 as pb;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use limiter::Limiter;
pub use memory::MemoryStore;
pub use recent::{RECENT_FOR, Recent};
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
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in Sha256::digest(bytes) {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
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

/// The sessions, wherever they are kept, and the users they belong to as
/// the users service last described them (kept for [`RECENT_FOR`], so that
/// `GET /api/v1/session` need not ask on every request; ending a user's
/// sessions or changing their role here forgets them at once).
#[derive(Debug, Clone)]
pub struct SessionStore {
    kept: Kept,
    users: Arc<Recent<Uuid, pb::User>>,
}

#[derive(Debug, Clone)]
enum Kept {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl SessionStore {
    pub fn memory(store: MemoryStore) -> Self {
        Self {
            kept: Kept::Memory(store),
            users: Arc::default(),
        }
    }

    pub fn redis(store: RedisStore) -> Self {
        Self {
            kept: Kept::Redis(store),
            users: Arc::default(),
        }
    }

    /// The user `user_id` as the users service answered within [`RECENT_FOR`].
    pub fn recent_user(&self, user_id: Uuid) -> Option<pb::User> {
        self.users.get(&user_id)
    }

    /// What to hand to [`SessionStore::remember_user`], taken before asking users.
    pub fn users_generation(&self) -> u64 {
        self.users.generation()
    }

    /// Keeps `user` as users answered, unless a user was forgotten since
    /// `generation` (the answer may predate the change).
    pub fn remember_user(&self, user_id: Uuid, user: pb::User, generation: u64) {
        self.users.put(user_id, user, generation);
    }

    /// Stores a new session and answers its token.
    pub async fn create(&self, session: &Session) -> Result<String, StoreError> {
        let token = random_token();
        match &self.kept {
            Kept::Memory(store) => store.insert(&token_key(&token), session.clone()),
            Kept::Redis(store) => store.insert(&token_key(&token), session).await?,
        }
        Ok(token)
    }

    /// The live session behind `token`, its idle clock restarted.
    pub async fn get(&self, token: &str) -> Result<Option<Session>, StoreError> {
        let key = token_key(token);
        match &self.kept {
            Kept::Memory(store) => Ok(store.get(&key)),
            Kept::Redis(store) => store.get(&key).await,
        }
    }

    pub async fn delete(&self, token: &str) -> Result<(), StoreError> {
        let key = token_key(token);
        match &self.kept {
            Kept::Memory(store) => {
                store.remove(&key);
                Ok(())
            }
            Kept::Redis(store) => store.remove(&key).await,
        }
    }

    /// Keeps `value` for `ttl` seconds under `token`, to be taken once
    /// (a sign-in with a provider waiting for its answer).
    pub async fn stash(&self, token: &str, value: &str, ttl: u64) -> Result<(), StoreError> {
        let key = token_key(token);
        match &self.kept {
            Kept::Memory(store) => {
                store.stash(&key, value, ttl);
                Ok(())
            }
            Kept::Redis(store) => store.stash(&key, value, ttl).await,
        }
    }

    /// What was stashed under `token`, once.
    pub async fn take(&self, token: &str) -> Result<Option<String>, StoreError> {
        let key = token_key(token);
        match &self.kept {
            Kept::Memory(store) => Ok(store.take(&key)),
            Kept::Redis(store) => store.take(&key).await,
        }
    }

    /// Ends every session of `user_id` except the one behind `keep`.
    pub async fn end_user(&self, user_id: Uuid, keep: Option<&str>) -> Result<(), StoreError> {
        let keep = keep.map(token_key);
        self.users.forget(&user_id);
        match &self.kept {
            Kept::Memory(store) => {
                store.end_user(user_id, keep.as_deref());
                Ok(())
            }
            Kept::Redis(store) => store.end_user(user_id, keep.as_deref()).await,
        }
    }

    /// Applies a role change to the user's live sessions at once.
    pub async fn set_role(&self, user_id: Uuid, role: &str) -> Result<(), StoreError> {
        self.users.forget(&user_id);
        match &self.kept {
            Kept::Memory(store) => {
                store.set_role(user_id, role);
                Ok(())
            }
            Kept::Redis(store) => store.set_role(user_id, role).await,
        }
    }

    /// Reports the number of live sessions where the store can count them
    /// cheaply (in process; Redis keeps its own statistics), and the Redis
    /// connection pool's state.
    pub fn report(&self) {
        match &self.kept {
            Kept::Memory(store) => {
                let count = u32::try_from(store.len()).unwrap_or(u32::MAX);
                metrics::gauge!("folio_sessions", "service" => "bff").set(f64::from(count));
            }
            Kept::Redis(store) => {
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
        match &self.kept {
            Kept::Memory(_) => Ok(()),
            Kept::Redis(store) => store.ping().await,
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
