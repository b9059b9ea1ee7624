//! The notification inbox: what the webhook stored before answering 202.

use sqlx::{AnyConnection, Row};
use tracing::instrument;
use uuid::Uuid;

use crate::error::Error;

/// The kinds that announce changes in OneDrive (a change, or changes Graph
/// could not deliver): what the sync lag is measured from (docs/adr/0043).
/// A lifecycle event such as `reauthorizationRequired` asks for no delta
/// and makes no one wait for a change.
const CHANGES: &str = "kind IN ('change', 'lifecycle:missed')";

#[instrument(skip_all)]
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    connection_id: Uuid,
    subscription_id: &str,
    kind: &str,
    resource: &str,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO inbox (connection_id, subscription_id, kind, resource, received_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(connection_id.to_string())
    .bind(subscription_id)
    .bind(kind)
    .bind(resource)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether a notification like this one (connection, subscription, kind)
/// is already waiting for a sync that has not started: a replay then adds
/// nothing, as that sync's delta will cover it.
#[instrument(skip_all)]
pub(crate) async fn unclaimed_exists(
    conn: &mut AnyConnection,
    connection_id: Uuid,
    subscription_id: &str,
    kind: &str,
) -> Result<bool, Error> {
    let row = sqlx::query(
        "SELECT id FROM inbox WHERE connection_id = ? AND subscription_id = ? AND kind = ? \
         AND processed_at IS NULL AND claimed_at IS NULL LIMIT 1",
    )
    .bind(connection_id.to_string())
    .bind(subscription_id)
    .bind(kind)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// The newest unprocessed notification of a connection; it and everything
/// before it are claimed by the sync about to ask for a delta, so later
/// notifications are stored (and ask for another sync) again.
#[instrument(skip_all)]
pub(crate) async fn newest_pending(
    conn: &mut AnyConnection,
    connection_id: Uuid,
) -> Result<Option<i64>, Error> {
    let row = sqlx::query(
        "SELECT MAX(id) AS newest FROM inbox WHERE connection_id = ? AND processed_at IS NULL",
    )
    .bind(connection_id.to_string())
    .fetch_one(&mut *conn)
    .await?;
    let newest = row.try_get::<Option<i64>, _>("newest")?;
    if let Some(newest) = newest {
        sqlx::query(
            "UPDATE inbox SET claimed_at = ? WHERE connection_id = ? AND id <= ? \
             AND processed_at IS NULL AND claimed_at IS NULL",
        )
        .bind(folio_platform::clock::now_millis())
        .bind(connection_id.to_string())
        .bind(newest)
        .execute(conn)
        .await?;
    }
    Ok(newest)
}

/// When a sync last claimed notifications of the connection (epoch ms).
#[instrument(skip_all)]
pub(crate) async fn last_claimed(
    conn: &mut AnyConnection,
    connection_id: Uuid,
) -> Result<Option<i64>, Error> {
    let row = sqlx::query("SELECT MAX(claimed_at) AS claimed FROM inbox WHERE connection_id = ?")
        .bind(connection_id.to_string())
        .fetch_one(conn)
        .await?;
    Ok(row.try_get::<Option<i64>, _>("claimed")?)
}

/// Deletes notifications processed before `before` (epoch ms); how many.
#[instrument(skip_all)]
pub(crate) async fn purge_processed(conn: &mut AnyConnection, before: i64) -> Result<u64, Error> {
    let done = sqlx::query("DELETE FROM inbox WHERE processed_at IS NOT NULL AND processed_at < ?")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Every row of the inbox, processed or not (the `folio_integration_inbox_rows` gauge).
#[instrument(skip_all)]
pub(crate) async fn size(conn: &mut AnyConnection) -> Result<u64, Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM inbox")
        .fetch_one(conn)
        .await?;
    u64::try_from(row.try_get::<i64, _>("n")?).map_err(|_| Error::Corrupt("count"))
}

/// Marks notifications up to `newest` as handled by a completed delta.
#[instrument(skip_all)]
pub(crate) async fn mark_processed(
    conn: &mut AnyConnection,
    connection_id: Uuid,
    newest: i64,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE inbox SET processed_at = ? WHERE connection_id = ? AND id <= ? AND processed_at IS NULL",
    )
    .bind(now)
    .bind(connection_id.to_string())
    .bind(newest)
    .execute(conn)
    .await?;
    Ok(())
}

#[instrument(skip_all)]
pub(crate) async fn delete_for(conn: &mut AnyConnection, connection_id: Uuid) -> Result<(), Error> {
    sqlx::query("DELETE FROM inbox WHERE connection_id = ?")
        .bind(connection_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Unprocessed notifications over every connection, and when the oldest
/// announcing a change arrived (epoch ms): the queue depth and how far
/// mirroring lags behind.
#[instrument(skip_all)]
pub(crate) async fn backlog(conn: &mut AnyConnection) -> Result<(u64, Option<i64>), Error> {
    let row = sqlx::query(&format!(
        "SELECT COUNT(*) AS n, MIN(CASE WHEN {CHANGES} THEN received_at END) AS oldest \
         FROM inbox WHERE processed_at IS NULL"
    ))
    .fetch_one(conn)
    .await?;
    let n = u64::try_from(row.try_get::<i64, _>("n")?).map_err(|_| Error::Corrupt("count"))?;
    Ok((n, row.try_get::<Option<i64>, _>("oldest")?))
}

/// When the oldest notification of the connection still waiting for a
/// delta arrived (epoch ms): the current lag runs from it (docs/adr/0043).
#[instrument(skip_all)]
pub(crate) async fn oldest_waiting(
    conn: &mut AnyConnection,
    connection_id: Uuid,
) -> Result<Option<i64>, Error> {
    let row = sqlx::query(&format!(
        "SELECT MIN(received_at) AS oldest FROM inbox \
         WHERE connection_id = ? AND processed_at IS NULL AND {CHANGES}"
    ))
    .bind(connection_id.to_string())
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<Option<i64>, _>("oldest")?)
}

/// When the oldest unprocessed notification of a change up to `newest`
/// arrived (epoch ms).
#[instrument(skip_all)]
pub(crate) async fn oldest_pending(
    conn: &mut AnyConnection,
    connection_id: Uuid,
    newest: i64,
) -> Result<Option<i64>, Error> {
    let row = sqlx::query(&format!(
        "SELECT MIN(received_at) AS oldest FROM inbox \
         WHERE connection_id = ? AND id <= ? AND processed_at IS NULL AND {CHANGES}"
    ))
    .bind(connection_id.to_string())
    .bind(newest)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<Option<i64>, _>("oldest")?)
}
