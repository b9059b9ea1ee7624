//! What we know of a drive's items: folders, and files with the document
//! they are mirrored as. Keyed by organisation and drive (not connection),
//! so reconnecting the same folder maps to the same documents.

use sqlx::{AnyConnection, Row, any::AnyRow};
use tracing::instrument;
use uuid::Uuid;

use super::is_unique_violation;
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ItemRow {
    pub item_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub is_folder: bool,
    pub document_id: Option<Uuid>,
    pub ctag: Option<String>,
    /// The eTag Folio last saw (from a delta or our own upload's answer).
    pub etag: Option<String>,
    /// The content hash Graph gave (`quickXorHash:…`, `sha256:…`, `sha1:…`).
    pub content_hash: Option<String>,
    pub deleted: bool,
}

/// What to store about an item.
#[derive(Debug, Clone)]
pub(crate) struct ItemFacts<'a> {
    pub item_id: &'a str,
    pub parent_id: Option<&'a str>,
    pub name: &'a str,
    pub is_folder: bool,
    pub document_id: Option<Uuid>,
    pub ctag: Option<&'a str>,
    pub etag: Option<&'a str>,
    pub content_hash: Option<&'a str>,
    /// The full enumeration that listed the item, if one did.
    pub round: Option<&'a str>,
}

fn from_row(row: &AnyRow) -> Result<ItemRow, Error> {
    Ok(ItemRow {
        item_id: row.try_get("item_id")?,
        parent_id: row.try_get("parent_id")?,
        name: row.try_get("name")?,
        is_folder: row.try_get::<i64, _>("is_folder")? != 0,
        document_id: row
            .try_get::<Option<String>, _>("document_id")?
            .map(|s| s.parse().map_err(|_| Error::Corrupt("stored id")))
            .transpose()?,
        ctag: row.try_get("ctag")?,
        etag: row.try_get("etag")?,
        content_hash: row.try_get("content_hash")?,
        deleted: row.try_get::<i64, _>("deleted")? != 0,
    })
}

const COLUMNS: &str =
    "item_id, parent_id, name, is_folder, document_id, ctag, etag, content_hash, deleted";

#[instrument(skip_all)]
pub(crate) async fn get(
    conn: &mut AnyConnection,
    org_id: Uuid,
    drive_id: &str,
    item_id: &str,
) -> Result<Option<ItemRow>, Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM items WHERE org_id = ? AND drive_id = ? AND item_id = ?"
    ))
    .bind(org_id.to_string())
    .bind(drive_id)
    .bind(item_id)
    .fetch_optional(conn)
    .await?
    .map(|r| from_row(&r))
    .transpose()
}

/// The live file a document is mirrored from, if any.
#[instrument(skip_all)]
pub(crate) async fn by_document(
    conn: &mut AnyConnection,
    org_id: Uuid,
    drive_id: &str,
    document_id: Uuid,
) -> Result<Option<ItemRow>, Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM items WHERE org_id = ? AND drive_id = ? AND document_id = ? \
         AND deleted = 0"
    ))
    .bind(org_id.to_string())
    .bind(drive_id)
    .bind(document_id.to_string())
    .fetch_optional(conn)
    .await?
    .map(|r| from_row(&r))
    .transpose()
}

#[instrument(skip_all)]
pub(crate) async fn count_mirrored(
    conn: &mut AnyConnection,
    org_id: Uuid,
    drive_id: &str,
) -> Result<u64, Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM items WHERE org_id = ? AND drive_id = ? AND is_folder = 0 \
         AND deleted = 0 AND document_id IS NOT NULL",
    )
    .bind(org_id.to_string())
    .bind(drive_id)
    .fetch_one(conn)
    .await?;
    u64::try_from(row.try_get::<i64, _>("n")?).map_err(|_| Error::Corrupt("count"))
}

/// Records an item as live with these facts (insert or update).
#[instrument(skip_all)]
pub(crate) async fn put(
    conn: &mut AnyConnection,
    org_id: Uuid,
    drive_id: &str,
    facts: &ItemFacts<'_>,
    now: i64,
) -> Result<(), Error> {
    for _ in 0..2 {
        let updated = sqlx::query(
            "UPDATE items SET parent_id = ?, name = ?, is_folder = ?, document_id = ?, ctag = ?, \
             etag = ?, content_hash = ?, listed_round = COALESCE(?, listed_round), deleted = 0, \
             updated_at = ? WHERE org_id = ? AND drive_id = ? AND item_id = ?",
        )
        .bind(facts.parent_id)
        .bind(facts.name)
        .bind(i64::from(facts.is_folder))
        .bind(facts.document_id.map(|d| d.to_string()))
        .bind(facts.ctag)
        .bind(facts.etag)
        .bind(facts.content_hash)
        .bind(facts.round)
        .bind(now)
        .bind(org_id.to_string())
        .bind(drive_id)
        .bind(facts.item_id)
        .execute(&mut *conn)
        .await?;
        if updated.rows_affected() == 1 {
            return Ok(());
        }
        let inserted = sqlx::query(
            "INSERT INTO items (org_id, drive_id, item_id, parent_id, name, is_folder, document_id, \
             ctag, etag, content_hash, listed_round, deleted, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
        )
        .bind(org_id.to_string())
        .bind(drive_id)
        .bind(facts.item_id)
        .bind(facts.parent_id)
        .bind(facts.name)
        .bind(i64::from(facts.is_folder))
        .bind(facts.document_id.map(|d| d.to_string()))
        .bind(facts.ctag)
        .bind(facts.etag)
        .bind(facts.content_hash)
        .bind(facts.round)
        .bind(now)
        .execute(&mut *conn)
        .await;
        match inserted {
            Ok(_) => return Ok(()),
            // Someone inserted it meanwhile: update it instead.
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Corrupt("item row keeps changing"))
}

/// Marks an item deleted in OneDrive; the row stays (the document id is history).
#[instrument(skip_all)]
pub(crate) async fn mark_deleted(
    conn: &mut AnyConnection,
    org_id: Uuid,
    drive_id: &str,
    item_id: &str,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE items SET deleted = 1, updated_at = ? WHERE org_id = ? AND drive_id = ? AND item_id = ?",
    )
    .bind(now)
    .bind(org_id.to_string())
    .bind(drive_id)
    .bind(item_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Notes that a full enumeration (`round`) listed these items.
#[instrument(skip_all)]
pub(crate) async fn mark_listed(
    conn: &mut AnyConnection,
    org_id: Uuid,
    drive_id: &str,
    item_ids: &[&str],
    round: &str,
) -> Result<(), Error> {
    for chunk in item_ids.chunks(100) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "UPDATE items SET listed_round = ? WHERE org_id = ? AND drive_id = ? \
             AND item_id IN ({marks})"
        );
        let mut query = sqlx::query(&sql)
            .bind(round)
            .bind(org_id.to_string())
            .bind(drive_id);
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Live mirrored files the full enumeration `round` did not list, a batch at a time.
#[instrument(skip_all)]
pub(crate) async fn unlisted(
    conn: &mut AnyConnection,
    org_id: Uuid,
    drive_id: &str,
    round: &str,
    limit: u32,
) -> Result<Vec<ItemRow>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM items WHERE org_id = ? AND drive_id = ? AND is_folder = 0 \
         AND deleted = 0 AND document_id IS NOT NULL \
         AND (listed_round IS NULL OR listed_round <> ?) ORDER BY item_id LIMIT ?"
    ))
    .bind(org_id.to_string())
    .bind(drive_id)
    .bind(round)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Live items whose parent is one of `parents`.
#[instrument(skip_all)]
pub(crate) async fn children_of(
    conn: &mut AnyConnection,
    org_id: Uuid,
    drive_id: &str,
    parents: &[String],
) -> Result<Vec<ItemRow>, Error> {
    let mut out = Vec::new();
    for chunk in parents.chunks(100) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT {COLUMNS} FROM items WHERE org_id = ? AND drive_id = ? AND deleted = 0 \
             AND parent_id IN ({marks})"
        );
        let mut query = sqlx::query(&sql).bind(org_id.to_string()).bind(drive_id);
        for id in chunk {
            query = query.bind(id.as_str());
        }
        for row in query.fetch_all(&mut *conn).await? {
            out.push(from_row(&row)?);
        }
    }
    Ok(out)
}
