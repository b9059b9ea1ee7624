use sqlx::{AnyConnection, Row, any::AnyRow};
use tracing::instrument;
use uuid::Uuid;

use super::{contains_pattern, number, uuid, versions::version_from_row};
use crate::{
    domain::{Description, Document, DocumentFilter, ListCursor, Tags, Title},
    error::Error,
};

/// Documents with their current version (if any) and their tags, never
/// deleted ones, in one query. `$tags` aggregates a document's tags into
/// one newline-separated text (tags are single lines), as each backend
/// spells it.
macro_rules! select_documents {
    ($tags:literal) => {
        concat!(
            "SELECT d.id, d.org_id, d.title, d.description, d.created_by, d.created_at, \
             d.updated_at, d.current_version, v.document_id AS v_document_id, v.number AS v_number, \
             v.file_name AS v_file_name, v.media_type AS v_media_type, v.size AS v_size, \
             v.sha256 AS v_sha256, v.blob_key AS v_blob_key, v.source AS v_source, \
             v.created_by AS v_created_by, v.created_at AS v_created_at, v.note AS v_note, \
             v.label AS v_label, v.restored_from AS v_restored_from, \
             (SELECT ",
            $tags,
            " FROM document_tags t WHERE t.document_id = d.id) AS tags \
             FROM documents d \
             LEFT JOIN versions v ON v.document_id = d.id AND v.number = d.current_version \
             WHERE d.org_id = ? AND d.deleted_at IS NULL"
        )
    };
}

/// The documents query for the connection's backend.
fn select(conn: &AnyConnection) -> &'static str {
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        select_documents!("group_concat(t.tag, char(10))")
    } else {
        select_documents!("GROUP_CONCAT(t.tag SEPARATOR '\\n')")
    }
}

/// The tags [`select_documents`] aggregated, sorted. MySQL types a long
/// `GROUP_CONCAT` as a text blob, so bytes are accepted as well as text.
fn aggregated_tags(row: &AnyRow) -> Result<Vec<String>, Error> {
    let joined = match row.try_get::<Option<String>, _>("tags") {
        Ok(text) => text,
        Err(_) => row
            .try_get::<Option<Vec<u8>>, _>("tags")?
            .map(|bytes| String::from_utf8(bytes).map_err(|_| Error::Corrupt("stored tags")))
            .transpose()?,
    };
    let mut tags: Vec<String> = joined
        .iter()
        .flat_map(|joined| joined.split('\n'))
        .map(str::to_owned)
        .collect();
    tags.sort_unstable();
    Ok(tags)
}

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
        tags: Tags::from_stored(aggregated_tags(row)?),
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
    let sql = format!("{} AND d.id = ?", select(conn));
    let row = sqlx::query(&sql)
        .bind(org_id.to_string())
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(document_from_row).transpose()
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
    let mut sql = select(conn).to_owned();
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
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(document_from_row).collect()
}
