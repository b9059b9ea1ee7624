//! Sends that found the OneDrive file changed (412 on If-Match), kept until
//! a later send of the document succeeds or a person dismisses them
//! (docs/adr/0043).

use sqlx::{AnyConnection, Row, any::AnyRow};
use tracing::instrument;
use uuid::Uuid;

use super::uuid;
use crate::error::Error;

/// An open conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub id: Uuid,
    pub document_id: Uuid,
    pub name: String,
    pub sent_version: u32,
    /// `None` while OneDrive's change has not come in, or when it changed
    /// no content (then `incoming_at` is set).
    pub incoming_version: Option<u32>,
    pub incoming_at: Option<i64>,
    pub sent_by: Uuid,
    pub sent_at: i64,
}

/// What a refused send leaves behind.
#[derive(Debug)]
pub(crate) struct Refused<'a> {
    pub org_id: Uuid,
    pub connection_id: Uuid,
    pub document_id: Uuid,
    pub item_id: &'a str,
    pub name: &'a str,
    pub sent_version: u32,
    pub sent_by: Uuid,
}

/// Why a conflict closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closed {
    /// A later send of the document succeeded.
    Resent,
    /// A person dealt with it without sending.
    Dismissed,
}

impl Closed {
    fn as_str(self) -> &'static str {
        match self {
            Self::Resent => "resent",
            Self::Dismissed => "dismissed",
        }
    }
}

const COLUMNS: &str = "id, document_id, name, sent_version, incoming_version, incoming_at, \
    sent_by, sent_at";

fn version(value: Option<i64>) -> Result<Option<u32>, Error> {
    value
        .map(|v| u32::try_from(v).map_err(|_| Error::Corrupt("stored version")))
        .transpose()
}

fn from_row(row: &AnyRow) -> Result<Conflict, Error> {
    Ok(Conflict {
        id: uuid(row, "id")?,
        document_id: uuid(row, "document_id")?,
        name: row.try_get("name")?,
        sent_version: version(Some(row.try_get("sent_version")?))?.unwrap_or_default(),
        incoming_version: version(row.try_get("incoming_version")?)?,
        incoming_at: row.try_get("incoming_at")?,
        sent_by: uuid(row, "sent_by")?,
        sent_at: row.try_get("sent_at")?,
    })
}

#[instrument(skip_all)]
pub(crate) async fn open(
    conn: &mut AnyConnection,
    refused: &Refused<'_>,
    now: i64,
) -> Result<Uuid, Error> {
    let id = Uuid::now_v7();
    let name: String = refused.name.chars().take(1000).collect();
    sqlx::query(
        "INSERT INTO conflicts (id, org_id, connection_id, document_id, item_id, name, \
         sent_version, sent_by, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(refused.org_id.to_string())
    .bind(refused.connection_id.to_string())
    .bind(refused.document_id.to_string())
    .bind(refused.item_id)
    .bind(name)
    .bind(i64::from(refused.sent_version))
    .bind(refused.sent_by.to_string())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

/// OneDrive's change to the document came in as `version` (`None`: it
/// changed no content): noted on its open conflicts still waiting for it.
#[instrument(skip_all)]
pub(crate) async fn came_in(
    conn: &mut AnyConnection,
    org_id: Uuid,
    document_id: Uuid,
    version: Option<u32>,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE conflicts SET incoming_version = ?, incoming_at = ? WHERE org_id = ? \
         AND document_id = ? AND closed_at IS NULL AND incoming_at IS NULL",
    )
    .bind(version.map(i64::from))
    .bind(now)
    .bind(org_id.to_string())
    .bind(document_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Closes every open conflict of a document (a send of it succeeded).
#[instrument(skip_all)]
pub(crate) async fn close_for_document(
    conn: &mut AnyConnection,
    org_id: Uuid,
    document_id: Uuid,
    by: Uuid,
    now: i64,
) -> Result<u64, Error> {
    let done = sqlx::query(
        "UPDATE conflicts SET closed_at = ?, closed_by = ?, close_reason = ? \
         WHERE org_id = ? AND document_id = ? AND closed_at IS NULL",
    )
    .bind(now)
    .bind(by.to_string())
    .bind(Closed::Resent.as_str())
    .bind(org_id.to_string())
    .bind(document_id.to_string())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Closes one conflict of the organisation; `false` when it has none with
/// that id. One already closed stays as it closed.
#[instrument(skip_all)]
pub(crate) async fn dismiss(
    conn: &mut AnyConnection,
    org_id: Uuid,
    id: Uuid,
    by: Uuid,
    now: i64,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE conflicts SET closed_at = ?, closed_by = ?, close_reason = ? \
         WHERE id = ? AND org_id = ? AND closed_at IS NULL",
    )
    .bind(now)
    .bind(by.to_string())
    .bind(Closed::Dismissed.as_str())
    .bind(id.to_string())
    .bind(org_id.to_string())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(true);
    }
    let known = sqlx::query("SELECT id FROM conflicts WHERE id = ? AND org_id = ?")
        .bind(id.to_string())
        .bind(org_id.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(known.is_some())
}

/// Open conflicts of the organisation (of one document when given), newest
/// first, at most `limit`, and how many are open in all.
#[instrument(skip_all)]
pub(crate) async fn list_open(
    conn: &mut AnyConnection,
    org_id: Uuid,
    document_id: Option<Uuid>,
    limit: u32,
) -> Result<(Vec<Conflict>, u64), Error> {
    let filter = if document_id.is_some() {
        " AND document_id = ?"
    } else {
        ""
    };
    let document = document_id.map(|d| d.to_string());
    let sql = format!(
        "SELECT {COLUMNS} FROM conflicts WHERE org_id = ? AND closed_at IS NULL{filter} \
         ORDER BY sent_at DESC, id DESC LIMIT ?"
    );
    let mut rows = sqlx::query(&sql).bind(org_id.to_string());
    if let Some(document) = &document {
        rows = rows.bind(document.as_str());
    }
    let rows = rows.bind(i64::from(limit)).fetch_all(&mut *conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    Ok((items, count_open(conn, org_id, document_id).await?))
}

/// How many conflicts of the organisation (of one document when given) are open.
#[instrument(skip_all)]
pub(crate) async fn count_open(
    conn: &mut AnyConnection,
    org_id: Uuid,
    document_id: Option<Uuid>,
) -> Result<u64, Error> {
    let filter = if document_id.is_some() {
        " AND document_id = ?"
    } else {
        ""
    };
    let sql = format!(
        "SELECT COUNT(*) AS n FROM conflicts WHERE org_id = ? AND closed_at IS NULL{filter}"
    );
    let mut total = sqlx::query(&sql).bind(org_id.to_string());
    if let Some(document) = document_id {
        total = total.bind(document.to_string());
    }
    let total = total.fetch_one(conn).await?.try_get::<i64, _>("n")?;
    Ok(u64::try_from(total).unwrap_or(0))
}

/// Open conflicts over every organisation (the `folio_integration_conflicts_open` gauge).
#[instrument(skip_all)]
pub(crate) async fn open_total(conn: &mut AnyConnection) -> Result<u64, Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM conflicts WHERE closed_at IS NULL")
        .fetch_one(conn)
        .await?;
    u64::try_from(row.try_get::<i64, _>("n")?).map_err(|_| Error::Corrupt("count"))
}

/// A disconnected connection's conflicts go with it.
#[instrument(skip_all)]
pub(crate) async fn delete_for(conn: &mut AnyConnection, connection_id: Uuid) -> Result<(), Error> {
    sqlx::query("DELETE FROM conflicts WHERE connection_id = ?")
        .bind(connection_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
