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
pub(crate) async fn get_policy(
    conn: &mut AnyConnection,
    org_id: Uuid,
) -> Result<RetentionPolicy, Error> {
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
pub(crate) async fn set_policy(
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
pub(crate) async fn organisations_with_retention(
    conn: &mut AnyConnection,
) -> Result<Vec<Uuid>, Error> {
    let rows = sqlx::query(
        "SELECT org_id FROM retention_policies WHERE keep_last IS NOT NULL OR keep_days IS NOT NULL",
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| uuid(r, "org_id")).collect()
}

/// Live documents of `org_id` with more than one version.
#[instrument(skip_all)]
pub(crate) async fn documents_with_history(
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
pub(crate) type Facts = (Vec<(VersionFacts, String)>, BTreeSet<u32>);

/// What retention weighs for one document.
#[instrument(skip_all)]
pub(crate) async fn facts(conn: &mut AnyConnection, document_id: Uuid) -> Result<Facts, Error> {
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
pub(crate) async fn delete_version(
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
pub(crate) async fn queue_blob(
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
pub(crate) async fn unqueue_blob(conn: &mut AnyConnection, blob_key: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM blob_deletions WHERE blob_key = ?")
        .bind(blob_key)
        .execute(conn)
        .await?;
    Ok(())
}

/// What a new version may do with the blob under its content address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlobUse {
    /// Use it (it was taken off the deletion queue, if it was on it).
    Reuse,
    /// Retention is deleting it: store the content under a key of its own.
    KeepApart,
    /// Retention deleted it: write it again, then ask again with `rewritten`.
    Rewrite,
}

/// Before a new version uses `blob_key`, under a lock on its queue row held
/// until the caller's transaction ends, so a claim waits for the version to
/// commit and then sees it (SQLite: the caller already holds the write
/// lock). A deletion's tombstone stays until an upload that wrote the blob
/// again clears it, so an upload that found the blob before a deletion
/// learns of it here however late it comes.
#[instrument(skip_all)]
pub(crate) async fn reuse_blob(
    conn: &mut AnyConnection,
    blob_key: &str,
    rewritten: bool,
) -> Result<BlobUse, Error> {
    let lock = if conn.backend_name() == "MySQL" {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = sqlx::query(&format!(
        "SELECT claimed_at, deleted_at FROM blob_deletions WHERE blob_key = ?{lock}"
    ))
    .bind(blob_key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(BlobUse::Reuse);
    };
    let claimed = row.try_get::<Option<i64>, _>("claimed_at")?.is_some();
    let deleted = row.try_get::<Option<i64>, _>("deleted_at")?.is_some();
    let decision = match (claimed, deleted) {
        (_, true) if rewritten => BlobUse::Reuse,
        (_, true) => BlobUse::Rewrite,
        (true, false) => BlobUse::KeepApart,
        (false, false) => BlobUse::Reuse,
    };
    if decision == BlobUse::Reuse {
        unqueue_blob(conn, blob_key).await?;
    }
    Ok(decision)
}

/// Claims a queued blob for deletion if no version references it, in one
/// statement (it locks the queue row, then reads the versions). From the
/// claim on, uploads of the same content keep their own copy, so the blob
/// may be deleted without holding a connection. A claim left by a pass that
/// stopped is simply claimed again.
#[instrument(skip_all)]
pub(crate) async fn claim_blob(
    conn: &mut AnyConnection,
    blob_key: &str,
    now: i64,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE blob_deletions SET claimed_at = ? WHERE blob_key = ? AND deleted_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM versions WHERE blob_key = ?)",
    )
    .bind(now)
    .bind(blob_key)
    .bind(blob_key)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends a deletion: the blob is gone; its row stays as a tombstone (see
/// [`reuse_blob`]). A key no version references or claims leaves the queue.
#[instrument(skip_all)]
pub(crate) async fn forget_blob(
    conn: &mut AnyConnection,
    blob_key: &str,
    deleted_at: Option<i64>,
) -> Result<(), Error> {
    match deleted_at {
        Some(at) => {
            sqlx::query("UPDATE blob_deletions SET deleted_at = ? WHERE blob_key = ?")
                .bind(at)
                .bind(blob_key)
                .execute(conn)
                .await?;
        }
        None => {
            sqlx::query("DELETE FROM blob_deletions WHERE blob_key = ? AND claimed_at IS NULL")
                .bind(blob_key)
                .execute(conn)
                .await?;
        }
    }
    Ok(())
}

#[instrument(skip_all)]
pub(crate) async fn queued_blobs(
    conn: &mut AnyConnection,
    limit: u32,
) -> Result<Vec<String>, Error> {
    let rows = sqlx::query(
        "SELECT blob_key FROM blob_deletions WHERE deleted_at IS NULL \
             ORDER BY queued_at, blob_key LIMIT ?",
    )
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("blob_key")?)).collect()
}
