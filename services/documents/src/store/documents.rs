use std::collections::HashMap;

use sqlx::{AnyConnection, Row, any::AnyRow};
use tracing::instrument;
use uuid::Uuid;

use super::{contains_pattern, number, placeholders, uuid, versions::version_from_row};
use crate::{
    domain::{Description, Document, DocumentFilter, ListCursor, Tags, Title},
    error::Error,
};

/// Documents with their current version (if any), never deleted ones.
const SELECT: &str = "SELECT d.id, d.org_id, d.title, d.description, d.created_by, d.created_at, \
    d.updated_at, d.current_version, v.document_id AS v_document_id, v.number AS v_number, \
    v.file_name AS v_file_name, v.media_type AS v_media_type, v.size AS v_size, \
    v.sha256 AS v_sha256, v.blob_key AS v_blob_key, v.source AS v_source, \
    v.created_by AS v_created_by, v.created_at AS v_created_at, v.note AS v_note, \
    v.label AS v_label, v.restored_from AS v_restored_from \
    FROM documents d \
    LEFT JOIN versions v ON v.document_id = d.id AND v.number = d.current_version \
    WHERE d.org_id = ? AND d.deleted_at IS NULL";

fn document_from_row(row: &AnyRow) -> Result<Document, Error> {
    let current = match row.try_get::<Option<String>, _>("v_document_id")? {
        Some(_) => Some(version_from_row(row, "v_")?),
        None => None,
    };
    Ok(Document {
        id: uuid(row, "id")?,
        org_id: uuid(row, "org_id")?,
        title: Title::from_stored(row.try_get("title")?),
        description: Description::from_stored(row.try_get("description")?),
        tags: Tags::default(),
        created_by: uuid(row, "created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        current_version: number(row.try_get("current_version")?)?,
        current,
    })
}

#[instrument(skip_all)]
pub(crate) async fn insert_document(conn: &mut AnyConnection, doc: &Document) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO documents (id, org_id, title, description, created_by, created_at, \
         updated_at, current_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(doc.id.to_string())
    .bind(doc.org_id.to_string())
    .bind(doc.title.as_str())
    .bind(doc.description.as_str())
    .bind(doc.created_by.to_string())
    .bind(doc.created_at)
    .bind(doc.updated_at)
    .bind(i64::from(doc.current_version))
    .execute(&mut *conn)
    .await?;
    replace_tags(conn, doc.id, &doc.tags).await
}

#[instrument(skip_all)]
pub(crate) async fn replace_tags(
    conn: &mut AnyConnection,
    id: Uuid,
    tags: &Tags,
) -> Result<(), Error> {
    sqlx::query("DELETE FROM document_tags WHERE document_id = ?")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    for tag in tags.iter() {
        sqlx::query("INSERT INTO document_tags (document_id, tag) VALUES (?, ?)")
            .bind(id.to_string())
            .bind(tag.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Takes the document's write lock for this transaction (MySQL row lock,
/// SQLite write lock) by bumping its revision. False when it does not exist
/// in `org_id` or is deleted.
#[instrument(skip_all)]
pub(crate) async fn lock_document(
    conn: &mut AnyConnection,
    org_id: Uuid,
    id: Uuid,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE documents SET revision = revision + 1 \
         WHERE id = ? AND org_id = ? AND deleted_at IS NULL",
    )
    .bind(id.to_string())
    .bind(org_id.to_string())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn attach_tags(conn: &mut AnyConnection, docs: &mut [Document]) -> Result<(), Error> {
    if docs.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT document_id, tag FROM document_tags WHERE document_id IN ({}) ORDER BY tag",
        placeholders(docs.len())
    );
    let mut query = sqlx::query(&sql);
    for doc in docs.iter() {
        query = query.bind(doc.id.to_string());
    }
    let mut tags: HashMap<Uuid, Vec<String>> = HashMap::new();
    for row in query.fetch_all(conn).await? {
        tags.entry(uuid(&row, "document_id")?)
            .or_default()
            .push(row.try_get("tag")?);
    }
    for doc in docs {
        doc.tags = Tags::from_stored(tags.remove(&doc.id).unwrap_or_default());
    }
    Ok(())
}

/// Whether a live document of the organisation comes from or goes to
/// OneDrive (a OneDrive version, or shared); `None` when there is no such
/// document.
#[instrument(skip_all)]
pub(crate) async fn onedrive_linked(
    conn: &mut AnyConnection,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<bool>, Error> {
    let row = sqlx::query(
        "SELECT d.onedrive_shared_at AS shared, \
         (SELECT COUNT(*) FROM versions v WHERE v.document_id = d.id AND v.source = ?) AS mirrored \
         FROM documents d WHERE d.org_id = ? AND d.id = ? AND d.deleted_at IS NULL",
    )
    .bind(crate::domain::VersionSource::OneDrive.as_str())
    .bind(org_id.to_string())
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(
            r.try_get::<Option<i64>, _>("shared")?.is_some()
                || r.try_get::<i64, _>("mirrored")? > 0,
        )
    })
    .transpose()
}

/// Marks a live document as shared with OneDrive (once); false when there
/// is no such document.
#[instrument(skip_all)]
pub(crate) async fn share_with_onedrive(
    conn: &mut AnyConnection,
    org_id: Uuid,
    id: Uuid,
    now: i64,
) -> Result<bool, Error> {
    let found =
        sqlx::query("SELECT id FROM documents WHERE org_id = ? AND id = ? AND deleted_at IS NULL")
            .bind(org_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    if found.is_none() {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE documents SET onedrive_shared_at = ? WHERE id = ? AND onedrive_shared_at IS NULL",
    )
    .bind(now)
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(true)
}

#[instrument(skip_all)]
pub(crate) async fn get_document(
    conn: &mut AnyConnection,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<Document>, Error> {
    let row = sqlx::query(&format!("{SELECT} AND d.id = ?"))
        .bind(org_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut docs = [document_from_row(&row)?];
    attach_tags(conn, &mut docs).await?;
    let [doc] = docs;
    Ok(Some(doc))
}

#[instrument(skip_all)]
pub(crate) async fn update_document(conn: &mut AnyConnection, doc: &Document) -> Result<(), Error> {
    sqlx::query(
        "UPDATE documents SET title = ?, description = ?, updated_at = ? \
         WHERE id = ? AND org_id = ?",
    )
    .bind(doc.title.as_str())
    .bind(doc.description.as_str())
    .bind(doc.updated_at)
    .bind(doc.id.to_string())
    .bind(doc.org_id.to_string())
    .execute(&mut *conn)
    .await?;
    replace_tags(conn, doc.id, &doc.tags).await
}

#[instrument(skip_all)]
pub(crate) async fn set_current_version(
    conn: &mut AnyConnection,
    id: Uuid,
    number: u32,
    now: i64,
) -> Result<(), Error> {
    sqlx::query("UPDATE documents SET current_version = ?, updated_at = ? WHERE id = ?")
        .bind(i64::from(number))
        .bind(now)
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

#[instrument(skip_all)]
pub(crate) async fn touch(conn: &mut AnyConnection, id: Uuid, now: i64) -> Result<(), Error> {
    sqlx::query("UPDATE documents SET updated_at = ? WHERE id = ?")
        .bind(now)
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

#[instrument(skip_all)]
pub(crate) async fn soft_delete(conn: &mut AnyConnection, id: Uuid, now: i64) -> Result<(), Error> {
    sqlx::query("UPDATE documents SET deleted_at = ?, updated_at = ? WHERE id = ?")
        .bind(now)
        .bind(now)
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// A value bound to a query built piece by piece.
enum Bind {
    Text(String),
    Int(i64),
}

/// One page, newest change first, after `cursor`.
#[instrument(skip_all)]
pub(crate) async fn list_documents(
    conn: &mut AnyConnection,
    org_id: Uuid,
    filter: &DocumentFilter,
    cursor: Option<ListCursor>,
    limit: u32,
) -> Result<Vec<Document>, Error> {
    let mut sql = SELECT.to_owned();
    let mut binds = vec![Bind::Text(org_id.to_string())];
    if let Some(text) = &filter.text {
        let pattern = contains_pattern(text);
        sql.push_str(
            " AND (LOWER(d.title) LIKE ? ESCAPE '!' OR LOWER(d.description) LIKE ? ESCAPE '!' \
             OR EXISTS (SELECT 1 FROM versions fv WHERE fv.document_id = d.id \
             AND LOWER(fv.file_name) LIKE ? ESCAPE '!'))",
        );
        binds.extend([
            Bind::Text(pattern.clone()),
            Bind::Text(pattern.clone()),
            Bind::Text(pattern),
        ]);
    }
    if let Some(tag) = &filter.tag {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM document_tags t WHERE t.document_id = d.id AND t.tag = ?)",
        );
        binds.push(Bind::Text(tag.as_str().to_owned()));
    }
    if let Some(status) = filter.task_status {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM tasks k WHERE k.document_id = d.id AND k.status = ?)",
        );
        binds.push(Bind::Text(status.as_str().to_owned()));
    }
    if let Some(cursor) = cursor {
        sql.push_str(" AND (d.updated_at < ? OR (d.updated_at = ? AND d.id < ?))");
        binds.extend([
            Bind::Int(cursor.updated_at),
            Bind::Int(cursor.updated_at),
            Bind::Text(cursor.id.to_string()),
        ]);
    }
    sql.push_str(" ORDER BY d.updated_at DESC, d.id DESC LIMIT ?");
    binds.push(Bind::Int(i64::from(limit)));

    let mut query = sqlx::query(&sql);
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text),
            Bind::Int(int) => query.bind(int),
        };
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let mut docs = rows
        .iter()
        .map(document_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    attach_tags(conn, &mut docs).await?;
    Ok(docs)
}
