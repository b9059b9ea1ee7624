use sqlx::{AnyConnection, Row, any::AnyRow};
use tracing::instrument;
use uuid::Uuid;

use crate::{
    domain::{ApiToken, TokenScope},
    error::Error,
};

const COLUMNS: &str = "t.id, t.org_id, t.user_id, t.name, t.scope, t.secret_hash, t.created_at, \
                       t.expires_at, t.last_used_at";

fn token_from_row(row: &AnyRow) -> Result<ApiToken, Error> {
    let uuid = |name: &str| -> Result<Uuid, Error> {
        row.try_get::<String, _>(name)?
            .parse()
            .map_err(|_| Error::Corrupt("token id"))
    };
    Ok(ApiToken {
        id: uuid("id")?,
        org_id: uuid("org_id")?,
        user_id: uuid("user_id")?,
        name: row.try_get("name")?,
        scope: TokenScope::from_stored(&row.try_get::<String, _>("scope")?)?,
        secret_hash: row.try_get("secret_hash")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

#[instrument(skip_all)]
pub(crate) async fn insert_token(
    conn: &mut AnyConnection,
    token: &ApiToken,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_tokens (id, org_id, user_id, name, scope, secret_hash, created_at, \
         expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(token.id.to_string())
    .bind(token.org_id.to_string())
    .bind(token.user_id.to_string())
    .bind(&token.name)
    .bind(token.scope.as_str())
    .bind(&token.secret_hash)
    .bind(token.created_at)
    .bind(token.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The organisation's unrevoked tokens (only `user_id`'s when given), newest
/// first, each with its owner's email.
#[instrument(skip_all)]
pub(crate) async fn list_tokens(
    conn: &mut AnyConnection,
    org_id: Uuid,
    user_id: Option<Uuid>,
) -> Result<Vec<(ApiToken, String)>, Error> {
    let mut sql = format!(
        "SELECT {COLUMNS}, u.email FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.org_id = ? AND t.revoked_at IS NULL"
    );
    if user_id.is_some() {
        sql.push_str(" AND t.user_id = ?");
    }
    sql.push_str(" ORDER BY t.created_at DESC, t.id");
    let mut query = sqlx::query(&sql).bind(org_id.to_string());
    if let Some(user_id) = user_id {
        query = query.bind(user_id.to_string());
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter()
        .map(|row| Ok((token_from_row(row)?, row.try_get("email")?)))
        .collect()
}

/// Revokes a token of `org_id` (and of `user_id` when given); answers
/// whether there was such an unrevoked token.
#[instrument(skip_all)]
pub(crate) async fn revoke_token(
    conn: &mut AnyConnection,
    org_id: Uuid,
    user_id: Option<Uuid>,
    id: Uuid,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut sql = "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND org_id = ? \
                   AND revoked_at IS NULL"
        .to_owned();
    if user_id.is_some() {
        sql.push_str(" AND user_id = ?");
    }
    let mut query = sqlx::query(&sql)
        .bind(now)
        .bind(id.to_string())
        .bind(org_id.to_string());
    if let Some(user_id) = user_id {
        query = query.bind(user_id.to_string());
    }
    Ok(query.execute(conn).await?.rows_affected() > 0)
}

/// The unrevoked token with this digest.
#[instrument(skip_all)]
pub(crate) async fn find_token(
    conn: &mut AnyConnection,
    secret_hash: &str,
) -> Result<Option<ApiToken>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_tokens t WHERE t.secret_hash = ? AND t.revoked_at IS NULL"
    ))
    .bind(secret_hash)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(token_from_row).transpose()
}

/// Records a use, at most once per `every` milliseconds, so a busy script
/// does not write a row on every request.
#[instrument(skip_all)]
pub(crate) async fn touch_token(
    conn: &mut AnyConnection,
    id: Uuid,
    now: i64,
    every: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = ? WHERE id = ? \
         AND (last_used_at IS NULL OR last_used_at <= ?)",
    )
    .bind(now)
    .bind(id.to_string())
    .bind(now - every)
    .execute(conn)
    .await?;
    Ok(())
}
