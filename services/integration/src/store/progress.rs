//! How far a connection's delta paging got, so a restart resumes from the
//! page reached instead of page 0, and what the paging has counted.

use sqlx::{AnyConnection, Row};
use tracing::instrument;
use uuid::Uuid;

use crate::error::Error;

/// A paging in progress (or the counts of the last one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// The next page to fetch; `None` when the paging ended.
    pub page_link: Option<String>,
    pub full: bool,
    pub round: String,
    pub seen: u64,
    pub mirrored: u64,
    pub skipped: u64,
}

fn count(row: &sqlx::any::AnyRow, column: &str) -> Result<u64, Error> {
    u64::try_from(row.try_get::<i64, _>(column)?).map_err(|_| Error::Corrupt("stored count"))
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[instrument(skip_all)]
pub(crate) async fn get(
    conn: &mut AnyConnection,
    connection_id: Uuid,
) -> Result<Option<Progress>, Error> {
    let row = sqlx::query(
        "SELECT page_link, full_round, round_id, items_seen, items_mirrored, items_skipped \
         FROM sync_progress WHERE connection_id = ?",
    )
    .bind(connection_id.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(Progress {
            page_link: r.try_get("page_link")?,
            full: r.try_get::<i64, _>("full_round")? != 0,
            round: r.try_get("round_id")?,
            seen: count(&r, "items_seen")?,
            mirrored: count(&r, "items_mirrored")?,
            skipped: count(&r, "items_skipped")?,
        })
    })
    .transpose()
}

/// Stores the progress; only while `lease_token` still holds the connection.
#[instrument(skip_all)]
pub(crate) async fn save(
    conn: &mut AnyConnection,
    connection_id: Uuid,
    lease_token: &str,
    progress: &Progress,
    now: i64,
) -> Result<bool, Error> {
    let held = sqlx::query("SELECT 1 AS held FROM connections WHERE id = ? AND lease_token = ?")
        .bind(connection_id.to_string())
        .bind(lease_token)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if !held {
        return Ok(false);
    }
    let updated = sqlx::query(
        "UPDATE sync_progress SET page_link = ?, full_round = ?, round_id = ?, items_seen = ?, \
         items_mirrored = ?, items_skipped = ?, updated_at = ? WHERE connection_id = ?",
    )
    .bind(progress.page_link.as_deref())
    .bind(i64::from(progress.full))
    .bind(progress.round.as_str())
    .bind(signed(progress.seen))
    .bind(signed(progress.mirrored))
    .bind(signed(progress.skipped))
    .bind(now)
    .bind(connection_id.to_string())
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO sync_progress (connection_id, page_link, full_round, round_id, items_seen, \
             items_mirrored, items_skipped, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(connection_id.to_string())
        .bind(progress.page_link.as_deref())
        .bind(i64::from(progress.full))
        .bind(progress.round.as_str())
        .bind(signed(progress.seen))
        .bind(signed(progress.mirrored))
        .bind(signed(progress.skipped))
        .bind(now)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

#[instrument(skip_all)]
pub(crate) async fn delete_for(conn: &mut AnyConnection, connection_id: Uuid) -> Result<(), Error> {
    sqlx::query("DELETE FROM sync_progress WHERE connection_id = ?")
        .bind(connection_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
