//! API tokens' use cases: a person manages their own tokens, an admin the
//! organisation's; a presented secret resolves to its person as they are
//! now (role, disabled), so a change in Folio applies to the next request.

use folio_platform::{actor::Actor, clock::now_millis, db::Database};
use uuid::Uuid;

use crate::{
    domain::{
        ApiToken, TokenScope, User, check_expiry, looks_like_secret, new_secret, parse_name,
        secret_hash,
    },
    error::Error,
    store,
};

/// Last use is recorded at most this often per token.
const TOUCH_EVERY_MILLIS: i64 = 60_000;

#[derive(Debug, Clone)]
pub(crate) struct ApiTokens {
    db: Database,
}

/// The actor as stored now, enabled; an admin when `admin` is asked for.
async fn require_member(
    conn: &mut sqlx::AnyConnection,
    actor: &Actor,
    admin: bool,
) -> Result<User, Error> {
    match store::get_user(conn, actor.org_id, actor.user_id).await? {
        Some(user) if !user.disabled && (!admin || user.is_enabled_admin()) => Ok(user),
        Some(_) if admin => Err(Error::PermissionDenied("only an admin may do this")),
        _ => Err(Error::PermissionDenied("the acting user is not enabled")),
    }
}

impl ApiTokens {
    pub(crate) fn new(db: Database) -> Self {
        Self { db }
    }

    /// A new token of the actor's and its secret, which is not kept.
    pub(crate) async fn create(
        &self,
        actor: &Actor,
        name: &str,
        expires_at: i64,
        scope: TokenScope,
    ) -> Result<(ApiToken, String), Error> {
        let now = now_millis();
        let name = parse_name(name)?;
        let expires_at = check_expiry(expires_at, now)?;
        let mut conn = self.db.pool.acquire().await?;
        require_member(&mut conn, actor, false).await?;
        let secret = new_secret();
        let token = ApiToken {
            id: Uuid::now_v7(),
            org_id: actor.org_id,
            user_id: actor.user_id,
            name,
            scope,
            secret_hash: secret_hash(&secret),
            created_at: now,
            expires_at,
            last_used_at: None,
        };
        store::insert_token(&mut conn, &token).await?;
        tracing::info!(token = %token.id, user = %token.user_id, "api token created");
        Ok((token, secret))
    }

    /// The actor's tokens, or the organisation's for an admin.
    pub(crate) async fn list(
        &self,
        actor: &Actor,
        organisation: bool,
    ) -> Result<Vec<(ApiToken, String)>, Error> {
        let mut conn = self.db.reader().acquire().await?;
        require_member(&mut conn, actor, organisation).await?;
        let owner = (!organisation).then_some(actor.user_id);
        store::list_tokens(&mut conn, actor.org_id, owner).await
    }

    pub(crate) async fn revoke(
        &self,
        actor: &Actor,
        id: Uuid,
        organisation: bool,
    ) -> Result<(), Error> {
        let mut conn = self.db.pool.acquire().await?;
        require_member(&mut conn, actor, organisation).await?;
        let owner = (!organisation).then_some(actor.user_id);
        if store::revoke_token(&mut conn, actor.org_id, owner, id, now_millis()).await? {
            tracing::info!(token = %id, by = %actor.user_id, "api token revoked");
            Ok(())
        } else {
            Err(Error::NotFound("api token"))
        }
    }

    /// The person and the token behind `secret`. Unknown, revoked and
    /// expired tokens and disabled people are refused alike.
    pub(crate) async fn authenticate(&self, secret: &str) -> Result<(User, ApiToken), Error> {
        if !looks_like_secret(secret) {
            return Err(Error::WrongCredentials);
        }
        let now = now_millis();
        // The primary, not a replica: a revocation must count at once.
        let mut conn = self.db.pool.acquire().await?;
        let token = store::find_token(&mut conn, &secret_hash(secret))
            .await?
            .filter(|t| t.is_live(now))
            .ok_or(Error::WrongCredentials)?;
        let user = store::get_user(&mut conn, token.org_id, token.user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(Error::WrongCredentials)?;
        store::touch_token(&mut conn, token.id, now, TOUCH_EVERY_MILLIS).await?;
        Ok((user, token))
    }
}
