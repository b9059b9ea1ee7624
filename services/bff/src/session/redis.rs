use std::{path::Path, sync::Arc, time::Duration};

use deadpool_redis::{Manager, Pool, Runtime, Timeouts};
use folio_platform::secrets::Secret;
use redis::{AsyncCommands, AsyncConnectionConfig, IntoConnectionInfo};
use uuid::Uuid;

use super::{Lifetimes, Recent, RedisLogin, Session, StoreError, now_secs};

/// Restarts a session's idle clock only while the session still exists,
/// changing nothing but `last_seen` and the TTL: a concurrent logout,
/// password change, reset or disable (which delete the key) stays done, and
/// a concurrent role change is kept. KEYS[1] session; ARGV last_seen, TTL.
const REFRESH: &str = r"
local json = redis.call('GET', KEYS[1])
if not json then return 0 end
local session = cjson.decode(json)
session['last_seen'] = tonumber(ARGV[1])
redis.call('SET', KEYS[1], cjson.encode(session), 'EX', ARGV[2])
return 1
";

/// Changes a live session's role in place, keeping its TTL; a session that
/// has gone is not brought back. KEYS[1] session; ARGV[1] role.
const SET_ROLE: &str = r"
local json = redis.call('GET', KEYS[1])
if not json then return 0 end
local session = cjson.decode(json)
session['role'] = ARGV[1]
redis.call('SET', KEYS[1], cjson.encode(session), 'KEEPTTL')
return 1
";

fn unreachable(error: impl std::fmt::Display) -> StoreError {
    StoreError(error.to_string())
}

/// Runs one of the scripts above on one key (`EVAL`: Redis caches it by
/// its digest, and the script is a few hundred bytes).
async fn eval(
    conn: &mut deadpool_redis::Connection,
    source: &str,
    key: &str,
    args: &[&str],
) -> Result<i64, StoreError> {
    let mut command = redis::cmd("EVAL");
    command.arg(source).arg(1).arg(key);
    for arg in args {
        command.arg(*arg);
    }
    command.query_async(conn).await.map_err(unreachable)
}

/// A pool that gives up quickly, so a Redis outage becomes a prompt 503.
/// With `login`, connections log in with its (refreshed) token rather than
/// the URL's password. A `rediss://` URL is TLS, verified against the public
/// roots or, when `ca_file` is given, against that CA only.
pub fn connect_redis(
    url: &Secret,
    login: Option<&RedisLogin>,
    ca_file: Option<&Path>,
) -> Result<Pool, StoreError> {
    // The client's errors never name the URL, which may carry a password.
    let url = url.expose();
    let target = match ca_file {
        None => url.into_connection_info(),
        Some(path) => {
            let root_cert = std::fs::read(path).map_err(|e| {
                StoreError(format!("cannot read the CA file {}: {e}", path.display()))
            })?;
            let certificates = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root_cert),
            };
            redis::Client::build_with_tls(url, certificates)
                .map(|client| client.get_connection_info().clone())
        }
    }
    .map_err(unreachable)?;
    let manager = match login {
        Some(login) => Manager::new_with_config(
            target,
            AsyncConnectionConfig::new().set_credentials_provider(login.clone()),
        ),
        None => Manager::new(target),
    }
    .map_err(unreachable)?;
    let quick = Some(Duration::from_secs(2));
    Pool::builder(manager)
        .runtime(Runtime::Tokio1)
        .timeouts(Timeouts {
            wait: quick,
            create: quick,
            recycle: quick,
        })
        .build()
        .map_err(unreachable)
}

/// Sessions in Redis: `<prefix>session:<token hash>` holds the session as
/// JSON with a TTL; `<prefix>user-sessions:<user id>` indexes a user's sessions.
/// A session Redis returned is used again for [`super::RECENT_FOR`] without
/// asking (docs/adr/0075); what this replica ends or changes it forgets at once.
#[derive(Clone)]
pub struct RedisStore {
    pool: Pool,
    prefix: String,
    lifetimes: Lifetimes,
    recent: Arc<Recent<String, Session>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    pub fn new(pool: Pool, prefix: String, lifetimes: Lifetimes) -> Self {
        Self {
            pool,
            prefix,
            lifetimes,
            recent: Arc::default(),
        }
    }

    fn session_key(&self, key: &str) -> String {
        format!("{}session:{key}", self.prefix)
    }

    fn user_key(&self, user_id: Uuid) -> String {
        format!("{}user-sessions:{user_id}", self.prefix)
    }

    async fn conn(&self) -> Result<deadpool_redis::Connection, StoreError> {
        self.pool.get().await.map_err(unreachable)
    }

    async fn save(
        &self,
        conn: &mut deadpool_redis::Connection,
        key: &str,
        session: &Session,
        ttl: u64,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(session).map_err(unreachable)?;
        let user_key = self.user_key(session.user_id);
        let absolute = self.lifetimes.absolute.as_secs().max(1);
        redis::pipe()
            .atomic()
            .set_ex(self.session_key(key), json, ttl.max(1))
            .sadd(&user_key, key)
            .expire(&user_key, i64::try_from(absolute).unwrap_or(i64::MAX))
            .query_async::<()>(conn)
            .await
            .map_err(unreachable)
    }

    fn pending_key(&self, key: &str) -> String {
        format!("{}pending:{key}", self.prefix)
    }

    /// Keeps `value` under `key` for `ttl` seconds, to be taken once.
    pub(super) async fn stash(&self, key: &str, value: &str, ttl: u64) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.set_ex::<_, _, ()>(self.pending_key(key), value, ttl.max(1))
            .await
            .map_err(unreachable)
    }

    /// Takes what is stashed under `key`: `GETDEL`, so two requests with
    /// the same key cannot both get it.
    pub(super) async fn take(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn().await?;
        redis::cmd("GETDEL")
            .arg(self.pending_key(key))
            .query_async(&mut conn)
            .await
            .map_err(unreachable)
    }

    pub(super) async fn insert(&self, key: &str, session: &Session) -> Result<(), StoreError> {
        let ttl = self.lifetimes.remaining(session, now_secs()).unwrap_or(1);
        let mut conn = self.conn().await?;
        self.save(&mut conn, key, session, ttl).await
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<Session>, StoreError> {
        if let Some(session) = self.recent.get(key)
            && self.lifetimes.remaining(&session, now_secs()).is_some()
        {
            return Ok(Some(session));
        }
        let generation = self.recent.generation();
        let session = self.fetch(key).await?;
        if let Some(session) = &session {
            self.recent.put(key.to_owned(), session.clone(), generation);
        }
        Ok(session)
    }

    /// The session from Redis, its idle clock restarted there.
    async fn fetch(&self, key: &str) -> Result<Option<Session>, StoreError> {
        let mut conn = self.conn().await?;
        let json: Option<String> = conn.get(self.session_key(key)).await.map_err(unreachable)?;
        let Some(mut session) = json.and_then(|j| serde_json::from_str::<Session>(&j).ok()) else {
            return Ok(None);
        };
        let now = now_secs();
        if self.lifetimes.remaining(&session, now).is_none() {
            self.remove(key).await?;
            return Ok(None);
        }
        // Restart the idle clock, at most once a second per session, and
        // only if the session was not ended meanwhile.
        if session.last_seen < now {
            session.last_seen = now;
            let ttl = self.lifetimes.remaining(&session, now).unwrap_or(1);
            let (now, ttl) = (now.to_string(), ttl.max(1).to_string());
            let refreshed = eval(&mut conn, REFRESH, &self.session_key(key), &[&now, &ttl]).await?;
            if refreshed == 0 {
                return Ok(None);
            }
        }
        Ok(Some(session))
    }

    pub(super) async fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.recent.forget(key);
        let mut conn = self.conn().await?;
        conn.del::<_, ()>(self.session_key(key))
            .await
            .map_err(unreachable)
    }

    async fn user_sessions(
        &self,
        conn: &mut deadpool_redis::Connection,
        user_id: Uuid,
    ) -> Result<Vec<String>, StoreError> {
        conn.smembers(self.user_key(user_id))
            .await
            .map_err(unreachable)
    }

    pub(super) async fn end_user(
        &self,
        user_id: Uuid,
        keep: Option<&str>,
    ) -> Result<(), StoreError> {
        self.recent.forget_where(|s| s.user_id == user_id);
        let mut conn = self.conn().await?;
        for key in self.user_sessions(&mut conn, user_id).await? {
            if Some(key.as_str()) != keep {
                redis::pipe()
                    .del(self.session_key(&key))
                    .srem(self.user_key(user_id), &key)
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(unreachable)?;
            }
        }
        Ok(())
    }

    pub(super) async fn set_role(&self, user_id: Uuid, role: &str) -> Result<(), StoreError> {
        self.recent.forget_where(|s| s.user_id == user_id);
        let mut conn = self.conn().await?;
        for key in self.user_sessions(&mut conn, user_id).await? {
            eval(&mut conn, SET_ROLE, &self.session_key(&key), &[role]).await?;
        }
        Ok(())
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
            .map_err(unreachable)
    }

    pub(super) fn pool(&self) -> &Pool {
        &self.pool
    }

    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }
}
