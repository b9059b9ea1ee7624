//! Where the bff keeps providers' discovery documents and signing keys:
//! in process, or in Redis when sessions are there, so that every replica
//! sees the keys one of them fetched again for an unknown `kid`, and the
//! refetch limit holds for the deployment, not per replica (docs/adr/0074).
//! A cache that fails is a miss: the provider is asked, sign-in goes on.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use jsonwebtoken::jwk::JwkSet;
use redis::AsyncCommands as _;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::oidc::Discovery;

/// Milliseconds since the Unix epoch: replicas compare ages by the clock.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Signing keys and when they were fetched.
#[derive(Debug, Clone)]
pub(crate) struct CachedKeys {
    pub set: Arc<JwkSet>,
    pub fetched_ms: u64,
}

/// `CachedKeys` as Redis holds them.
#[derive(Serialize, Deserialize)]
struct StoredKeys {
    set: JwkSet,
    fetched_ms: u64,
}

#[derive(Clone, Default)]
pub(crate) struct Memory {
    discovery: Arc<Mutex<HashMap<String, (Discovery, u64)>>>,
    keys: Arc<Mutex<HashMap<String, CachedKeys>>>,
}

#[derive(Clone)]
pub(crate) enum ProviderCache {
    Memory(Memory),
    Redis {
        pool: deadpool_redis::Pool,
        prefix: String,
    },
}

impl std::fmt::Debug for ProviderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Memory(_) => "ProviderCache::Memory",
            Self::Redis { .. } => "ProviderCache::Redis",
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl ProviderCache {
    pub(crate) fn memory() -> Self {
        Self::Memory(Memory::default())
    }

    /// In Redis under `prefix` + `oidc:`.
    pub(crate) fn redis(pool: deadpool_redis::Pool, prefix: &str) -> Self {
        Self::Redis {
            pool,
            prefix: format!("{prefix}oidc:"),
        }
    }

    async fn redis_get<T: DeserializeOwned>(pool: &deadpool_redis::Pool, key: &str) -> Option<T> {
        let mut conn = pool
            .get()
            .await
            .map_err(|e| tracing::warn!(error = %e, "provider cache unavailable"))
            .ok()?;
        let json: Option<String> = conn
            .get(key)
            .await
            .map_err(|e| tracing::warn!(error = %e, "provider cache read failed"))
            .ok()?;
        serde_json::from_str(&json?).ok()
    }

    async fn redis_put<T: Serialize>(
        pool: &deadpool_redis::Pool,
        key: &str,
        value: &T,
        ttl: Duration,
    ) {
        let Ok(json) = serde_json::to_string(value) else {
            return;
        };
        let Ok(mut conn) = pool.get().await else {
            return;
        };
        if let Err(e) = conn.pset_ex::<_, _, ()>(key, json, ttl_ms(ttl)).await {
            tracing::warn!(error = %e, "provider cache write failed");
        }
    }

    /// The issuer's discovery document, if fetched less than `ttl` ago.
    pub(crate) async fn discovery(&self, issuer: &str, ttl: Duration) -> Option<Discovery> {
        match self {
            Self::Memory(m) => lock(&m.discovery)
                .get(issuer)
                .filter(|(_, at)| now_ms().saturating_sub(*at) < ttl_ms(ttl))
                .map(|(d, _)| d.clone()),
            Self::Redis { pool, prefix } => {
                Self::redis_get(pool, &format!("{prefix}discovery:{issuer}")).await
            }
        }
    }

    pub(crate) async fn put_discovery(&self, issuer: &str, document: &Discovery, ttl: Duration) {
        match self {
            Self::Memory(m) => {
                lock(&m.discovery).insert(issuer.to_owned(), (document.clone(), now_ms()));
            }
            Self::Redis { pool, prefix } => {
                Self::redis_put(pool, &format!("{prefix}discovery:{issuer}"), document, ttl).await;
            }
        }
    }

    /// The keys last fetched from `jwks_uri` (at most `ttl` ago in Redis,
    /// which expires them; the caller judges their age in process).
    pub(crate) async fn keys(&self, jwks_uri: &str) -> Option<CachedKeys> {
        match self {
            Self::Memory(m) => lock(&m.keys).get(jwks_uri).cloned(),
            Self::Redis { pool, prefix } => {
                Self::redis_get::<StoredKeys>(pool, &format!("{prefix}jwks:{jwks_uri}"))
                    .await
                    .map(|k| CachedKeys {
                        set: Arc::new(k.set),
                        fetched_ms: k.fetched_ms,
                    })
            }
        }
    }

    pub(crate) async fn put_keys(&self, jwks_uri: &str, keys: &CachedKeys, ttl: Duration) {
        match self {
            Self::Memory(m) => {
                lock(&m.keys).insert(jwks_uri.to_owned(), keys.clone());
            }
            Self::Redis { pool, prefix } => {
                let stored = StoredKeys {
                    set: (*keys.set).clone(),
                    fetched_ms: keys.fetched_ms,
                };
                Self::redis_put(pool, &format!("{prefix}jwks:{jwks_uri}"), &stored, ttl).await;
            }
        }
    }

    /// Whether this replica may fetch `jwks_uri` again now for an unknown
    /// key: in Redis one replica per `min_refresh` wins (`SET NX PX`), so
    /// replicas together ask the provider no more often than one would.
    /// In process the keys' age alone decides.
    pub(crate) async fn claim_refresh(&self, jwks_uri: &str, min_refresh: Duration) -> bool {
        match self {
            Self::Memory(_) => true,
            Self::Redis { pool, prefix } => {
                let Ok(mut conn) = pool.get().await else {
                    return true;
                };
                let claimed: Result<Option<String>, _> = redis::cmd("SET")
                    .arg(format!("{prefix}jwks-refresh:{jwks_uri}"))
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms(min_refresh))
                    .query_async(&mut conn)
                    .await;
                // An error is a miss too: the age check still bounds it.
                claimed.map_or(true, |ok| ok.is_some())
            }
        }
    }
}
