use sqlx::{AnyConnection, Row, any::AnyRow};
use tracing::instrument;
use uuid::Uuid;

use super::{number, uuid};
use crate::{
    domain::{DocumentVersion, FileName, Label, MediaType, Note, VersionSource},
    error::Error,
};

const COLUMNS: &str = "document_id, number, file_name, media_type, size, sha256, blob_key, \
    source, created_by, created_at, note, label, restored_from";

/// Reads a version from columns named with `prefix` (`""` or `"v_"` in joins).
pub(crate) fn version_from_row(row: &AnyRow, prefix: &str) -> Result<DocumentVersion, Error> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(DocumentVersion {
        document_id: uuid(row, &col("document_id"))?,
        number: number(row.try_get(col("number").as_str())?)?,
        file_name: FileName::from_stored(row.try_get(col("file_name").as_str())?),
        media_type: MediaType::parse(&row.try_get::<String, _>(col("media_type").as_str())?)
            .map_err(|_| Error::Corrupt("media type"))?,
        size: u64::try_from(row.try_get::<i64, _>(col("size").as_str())?)
            .map_err(|_| Error::Corrupt("size"))?,
        sha256: row.try_get(col("sha256").as_str())?,
        blob_key: row.try_get(col("blob_key").as_str())?,
        source: VersionSource::from_stored(&row.try_get::<String, _>(col("source").as_str())?)?,
        created_by: uuid(row, &col("created_by"))?,
        created_at: row.try_get(col("created_at").as_str())?,
        note: Note::from_stored(row.try_get(col("note").as_str())?),
        label: row
            .try_get::<Option<String>, _>(col("label").as_str())?
            .map(|l| Label::parse(&l).map_err(|_| Error::Corrupt("label")))
            .transpose()?,
        restored_from: row
            .try_get::<Option<i64>, _>(col("restored_from").as_str())?
            .map(number)
            .transpose()?,
    })
}

#[instrument(skip_all)]
pub(crate) async fn insert_version(
    conn: &mut AnyConnection,
    version: &DocumentVersion,
) -> Result<(), Error> {
    let size = i64::try_from(version.size).map_err(|_| Error::Corrupt("size"))?;
    sqlx::query(&format!(
        "INSERT INTO versions ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(version.document_id.to_string())
    .bind(i64::from(version.number))
    .bind(version.file_name.as_str())
    .bind(version.media_type.as_str())
    .bind(size)
    .bind(&version.sha256)
    .bind(&version.blob_key)
    .bind(version.source.as_str())
    .bind(version.created_by.to_string())
    .bind(version.created_at)
    .bind(version.note.as_str())
    .bind(version.label.as_ref().map(Label::as_str))
    .bind(version.restored_from.map(i64::from))
    .execute(conn)
    .await?;
    Ok(())
}

/// Versions of a document the caller has already found in their organisation.
#[instrument(skip_all)]
pub(crate) async fn list_versions(
    conn: &mut AnyConnection,
    document_id: Uuid,
) -> Result<Vec<DocumentVersion>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM versions WHERE document_id = ? ORDER BY number"
    ))
    .bind(document_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| version_from_row(r, "")).collect()
}

#[instrument(skip_all)]
pub(crate) async fn get_version(
    conn: &mut AnyConnection,
    document_id: Uuid,
    number: u32,
) -> Result<Option<DocumentVersion>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM versions WHERE document_id = ? AND number = ?"
    ))
    .bind(document_id.to_string())
    .bind(i64::from(number))
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(|r| version_from_row(r, "")).transpose()
}

#[instrument(skip_all)]
pub(crate) async fn set_label(
    conn: &mut AnyConnection,
    version: &DocumentVersion,
) -> Result<(), Error> {
    sqlx::query("UPDATE versions SET label = ? WHERE document_id = ? AND number = ?")
        .bind(version.label.as_ref().map(Label::as_str))
        .bind(version.document_id.to_string())
        .bind(i64::from(version.number))
        .execute(conn)
        .await?;
    Ok(())
}
