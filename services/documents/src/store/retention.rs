use std::collections::BTreeSet;

use sqlx::{AnyConnection, Row};
use tracing::instrument;
use uuid::Uuid;

use super::{number, uuid};
use crate::{
    domain::{RetentionPolicy, VersionFacts},
    error::Error,
};

fn optional_number(value: Option<i64>) -> Result<Option<u32>, Error> {
    value.map(number).transpose()
}

#[instrument(skip_all)]
pub async fn get_policy(conn: &mut AnyConnection, org_id: Uuid) -> Result<RetentionPolicy, Error> {
    let row = sqlx::query("SELECT keep_last, keep_days FROM retention_policies WHERE org_id = ?")
        .bind(org_id.to_string())
        .fetch_optional(conn)
        .await?;
    match row {
        None => Ok(RetentionPolicy::default()),
        Some(row) => Ok(RetentionPolicy {
            keep_last: optional_number(row.try_get("keep_last")?)?,
            keep_days: optional_number(row.try_get("keep_days")?)?,
        }),
    }
}

#[instrument(skip_all)]
pub async fn set_policy(
    conn: &mut AnyConnection,
    org_id: Uuid,
    policy: RetentionPolicy,
    by: Uuid,
    now: i64,
) -> Result<(), Error> {
    sqlx::query("DELETE FROM retention_policies WHERE org_id = ?")
        .bind(org_id.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO retention_policies (org_id, keep_last, keep_days, updated_by, updated_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(org_id.to_string())
    .bind(policy.keep_last.map(i64::from))
    .bind(policy.keep_days.map(i64::from))
    .bind(by.to_string())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Organisations whose policy can remove something.
#[instrument(skip_all)]
pub async fn organisations_with_retention(conn: &mut AnyConnection) -> Result<Vec<Uuid>, Error> {
    let rows = sqlx::query(
        "SELECT org_id FROM retention_policies WHERE keep_last IS NOT NULL OR keep_days IS NOT NULL",
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| uuid(r, "org_id")).collect()
}

/// Live documents of `org_id` with more than one version.
#[instrument(skip_all)]
pub async fn documents_with_history(
    conn: &mut AnyConnection,
    org_id: Uuid,
) -> Result<Vec<Uuid>, Error> {
    let rows = sqlx::query(
        "SELECT d.id FROM documents d WHERE d.org_id = ? AND d.deleted_at IS NULL \
         AND (SELECT COUNT(*) FROM versions v WHERE v.document_id = d.id) > 1 ORDER BY d.id",
    )
    .bind(org_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| uuid(r, "id")).collect()
}

/// A document's versions (with their blob keys) and the versions its open
/// tasks are pinned to.
pub type Facts = (Vec<(VersionFacts, String)>, BTreeSet<u32>);

/// What retention weighs for one document.
#[instrument(skip_all)]
pub async fn facts(conn: &mut AnyConnection, document_id: Uuid) -> Result<Facts, Error> {
    let rows = sqlx::query(
        "SELECT number, created_at, label, blob_key FROM versions WHERE document_id = ? \
         ORDER BY number",
    )
    .bind(document_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let versions = rows
        .iter()
        .map(|r| {
            Ok((
                VersionFacts {
                    number: number(r.try_get("number")?)?,
                    created_at: r.try_get("created_at")?,
                    labelled: r.try_get::<Option<String>, _>("label")?.is_some(),
                },
                r.try_get::<String, _>("blob_key")?,
            ))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let pinned = sqlx::query(
        "SELECT DISTINCT version FROM tasks WHERE document_id = ? AND status <> 'done'",
    )
    .bind(document_id.to_string())
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| number(r.try_get("version")?))
    .collect::<Result<BTreeSet<_>, Error>>()?;
    Ok((versions, pinned))
}

#[instrument(skip_all)]
pub async fn delete_version(
    conn: &mut AnyConnection,
    document_id: Uuid,
    number: u32,
) -> Result<(), Error> {
    sqlx::query("DELETE FROM versions WHERE document_id = ? AND number = ?")
        .bind(document_id.to_string())
        .bind(i64::from(number))
        .execute(conn)
        .await?;
    Ok(())
}

/// Queues `blob_key` for deletion (once; a repeat is a no-op).
#[instrument(skip_all)]
pub async fn queue_blob(
    conn: &mut AnyConnection,
    org_id: Uuid,
    blob_key: &str,
    now: i64,
) -> Result<(), Error> {
    let queued = sqlx::query("SELECT 1 AS one FROM blob_deletions WHERE blob_key = ?")
        .bind(blob_key)
        .fetch_optional(&mut *conn)
        .await?;
    if queued.is_none() {
        sqlx::query("INSERT INTO blob_deletions (blob_key, org_id, queued_at) VALUES (?, ?, ?)")
            .bind(blob_key)
            .bind(org_id.to_string())
            .bind(now)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Takes `blob_key` off the queue: a version references it again, or it is gone.
#[instrument(skip_all)]
pub async fn unqueue_blob(conn: &mut AnyConnection, blob_key: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM blob_deletions WHERE blob_key = ?")
        .bind(blob_key)
        .execute(conn)
        .await?;
    Ok(())
}

#[instrument(skip_all)]
pub async fn queued_blobs(conn: &mut AnyConnection, limit: u32) -> Result<Vec<String>, Error> {
    let rows =
        sqlx::query("SELECT blob_key FROM blob_deletions ORDER BY queued_at, blob_key LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await?;
    rows.iter().map(|r| Ok(r.try_get("blob_key")?)).collect()
}

/// Whether any version (of any document, deleted ones included) still uses the blob.
#[instrument(skip_all)]
pub async fn blob_in_use(conn: &mut AnyConnection, blob_key: &str) -> Result<bool, Error> {
    let row = sqlx::query("SELECT 1 AS one FROM versions WHERE blob_key = ? LIMIT 1")
        .bind(blob_key)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}
