//! Idempotency keys of uploads and the versions they made (docs/adr/0033).

use sqlx::{AnyConnection, Row};
use tracing::instrument;
use uuid::Uuid;

use super::{number, uuid};
use crate::{
    domain::{DocumentVersion, IdempotencyKey},
    error::Error,
};

/// The version a key made, and the content it was made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyedVersion {
    pub document_id: Uuid,
    pub number: u32,
    pub sha256: String,
}

#[instrument(skip_all)]
pub(crate) async fn get(
    conn: &mut AnyConnection,
    org_id: Uuid,
    key: &IdempotencyKey,
) -> Result<Option<KeyedVersion>, Error> {
    let row = sqlx::query(
        "SELECT document_id, version_number, sha256 FROM upload_keys \
         WHERE org_id = ? AND idempotency_key = ?",
    )
    .bind(org_id.to_string())
    .bind(key.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(KeyedVersion {
            document_id: uuid(&row, "document_id")?,
            number: number(row.try_get("version_number")?)?,
            sha256: row.try_get("sha256")?,
        })
    })
    .transpose()
}

/// Records the key with the version it made, in the version's transaction;
/// `false` when a concurrent call with the same key got there first (the
/// caller rolls back and answers that call's result).
#[instrument(skip_all)]
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    org_id: Uuid,
    key: &IdempotencyKey,
    version: &DocumentVersion,
) -> Result<bool, Error> {
    let inserted = sqlx::query(
        "INSERT INTO upload_keys \
         (org_id, idempotency_key, document_id, version_number, sha256, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(org_id.to_string())
    .bind(key.as_str())
    .bind(version.document_id.to_string())
    .bind(i64::from(version.number))
    .bind(&version.sha256)
    .bind(version.created_at)
    .execute(conn)
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}
