//! New files being sent to OneDrive, until Graph's answer maps them (or a
//! delta or a retried send adopts them when that answer was lost;
//! docs/adr/0034).

use sqlx::{AnyConnection, Row, any::AnyRow};
use tracing::instrument;
use uuid::Uuid;

use super::uuid;
use crate::{
    domain::{PENDING_SEND_TTL_MILLIS, PendingSend},
    error::Error,
};

const COLUMNS: &str = "connection_id, document_id, version_number, parent_id, name, sha256, \
    size, started_at, actor_id";

fn from_row(row: &AnyRow) -> Result<PendingSend, Error> {
    Ok(PendingSend {
        connection_id: uuid(row, "connection_id")?,
        document_id: uuid(row, "document_id")?,
        version: super::count(row.try_get("version_number")?)?,
        parent_id: row.try_get("parent_id")?,
        name: row.try_get("name")?,
        sha256: row.try_get("sha256")?,
        size: u64::try_from(row.try_get::<i64, _>("size")?)
            .map_err(|_| Error::Corrupt("stored size"))?,
        started_at: row.try_get("started_at")?,
        actor_id: uuid(row, "actor_id")?,
    })
}

/// Records a send about to upload, replacing an earlier one of the same
/// document; the connection's expired records go.
#[instrument(skip_all)]
pub(crate) async fn record(conn: &mut AnyConnection, send: &PendingSend) -> Result<(), Error> {
    sqlx::query(
        "DELETE FROM pending_sends WHERE connection_id = ? AND (document_id = ? OR started_at < ?)",
    )
    .bind(send.connection_id.to_string())
    .bind(send.document_id.to_string())
    .bind(send.started_at - PENDING_SEND_TTL_MILLIS)
    .execute(&mut *conn)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO pending_sends ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(send.connection_id.to_string())
    .bind(send.document_id.to_string())
    .bind(i64::from(send.version))
    .bind(&send.parent_id)
    .bind(&send.name)
    .bind(&send.sha256)
    .bind(i64::try_from(send.size).map_err(|_| Error::Corrupt("size"))?)
    .bind(send.started_at)
    .bind(send.actor_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// The pending send of a document, if any (expired or not).
#[instrument(skip_all)]
pub(crate) async fn of_document(
    conn: &mut AnyConnection,
    connection_id: Uuid,
    document_id: Uuid,
) -> Result<Option<PendingSend>, Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM pending_sends WHERE connection_id = ? AND document_id = ?"
    ))
    .bind(connection_id.to_string())
    .bind(document_id.to_string())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Whether the connection has any pending send (most deltas need not look
/// further).
#[instrument(skip_all)]
pub(crate) async fn any(conn: &mut AnyConnection, connection_id: Uuid) -> Result<bool, Error> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM pending_sends WHERE connection_id = ? LIMIT 1")
            .bind(connection_id.to_string())
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

/// Pending sends to this folder under this name, newest first.
#[instrument(skip_all)]
pub(crate) async fn named(
    conn: &mut AnyConnection,
    connection_id: Uuid,
    parent_id: &str,
    name: &str,
) -> Result<Vec<PendingSend>, Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM pending_sends \
         WHERE connection_id = ? AND parent_id = ? AND name = ? ORDER BY started_at DESC"
    ))
    .bind(connection_id.to_string())
    .bind(parent_id)
    .bind(name)
    .fetch_all(conn)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

#[instrument(skip_all)]
pub(crate) async fn clear(
    conn: &mut AnyConnection,
    connection_id: Uuid,
    document_id: Uuid,
) -> Result<(), Error> {
    sqlx::query("DELETE FROM pending_sends WHERE connection_id = ? AND document_id = ?")
        .bind(connection_id.to_string())
        .bind(document_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
