//! Files the mirror could not take, and why (docs/adr/0031).

use sqlx::{AnyConnection, Row};
use tracing::instrument;
use uuid::Uuid;

use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub item_id: String,
    pub name: String,
    pub reason: String,
    pub version_key: Option<String>,
    pub skipped_at: i64,
}

/// Records (or refreshes) why an item is not mirrored.
#[instrument(skip_all)]
pub(crate) async fn record(
    conn: &mut AnyConnection,
    org_id: Uuid,
    drive_id: &str,
    item: &Skipped,
) -> Result<(), Error> {
    let name: String = item.name.chars().take(1000).collect();
    let reason: String = item.reason.chars().take(500).collect();
    let updated = sqlx::query(
        "UPDATE skipped_items SET name = ?, reason = ?, version_key = ?, skipped_at = ? \
         WHERE org_id = ? AND drive_id = ? AND item_id = ?",
    )
    .bind(&name)
    .bind(&reason)
    .bind(item.version_key.as_deref())
    .bind(item.skipped_at)
    .bind(org_id.to_string())
    .bind(drive_id)
    .bind(&item.item_id)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        let inserted = sqlx::query(
            "INSERT INTO skipped_items (org_id, drive_id, item_id, name, reason, version_key, \
             skipped_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(org_id.to_string())
        .bind(drive_id)
        .bind(&item.item_id)
        .bind(&name)
        .bind(&reason)
        .bind(item.version_key.as_deref())
        .bind(item.skipped_at)
        .execute(&mut *conn)
        .await;
        match inserted {
            Ok(_) => {}
            // Recorded meanwhile by a rerun: the newer reason wins next time.
            Err(e) if super::is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[instrument(skip_all)]
pub(crate) async fn get(
    conn: &mut AnyConnection,
    org_id: Uuid,
    drive_id: &str,
    item_id: &str,
) -> Result<Option<Skipped>, Error> {
    let row = sqlx::query(
        "SELECT item_id, name, reason, version_key, skipped_at FROM skipped_items \
         WHERE org_id = ? AND drive_id = ? AND item_id = ?",
    )
    .bind(org_id.to_string())
    .bind(drive_id)
    .bind(item_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| from_row(&r)).transpose()
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Skipped, Error> {
    Ok(Skipped {
        item_id: r.try_get("item_id")?,
        name: r.try_get("name")?,
        reason: r.try_get("reason")?,
        version_key: r.try_get("version_key")?,
        skipped_at: r.try_get("skipped_at")?,
    })
}

#[instrument(skip_all)]
pub(crate) async fn clear(
    conn: &mut AnyConnection,
    org_id: Uuid,
    drive_id: &str,
    item_id: &str,
) -> Result<(), Error> {
    sqlx::query("DELETE FROM skipped_items WHERE org_id = ? AND drive_id = ? AND item_id = ?")
        .bind(org_id.to_string())
        .bind(drive_id)
        .bind(item_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The most recently skipped items, newest first, and how many there are.
#[instrument(skip_all)]
pub(crate) async fn recent(
    conn: &mut AnyConnection,
    org_id: Uuid,
    drive_id: &str,
    limit: u32,
) -> Result<(Vec<Skipped>, u64), Error> {
    let rows = sqlx::query(
        "SELECT item_id, name, reason, version_key, skipped_at FROM skipped_items \
         WHERE org_id = ? AND drive_id = ? ORDER BY skipped_at DESC, item_id LIMIT ?",
    )
    .bind(org_id.to_string())
    .bind(drive_id)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    let total =
        sqlx::query("SELECT COUNT(*) AS n FROM skipped_items WHERE org_id = ? AND drive_id = ?")
            .bind(org_id.to_string())
            .bind(drive_id)
            .fetch_one(conn)
            .await?
            .try_get::<i64, _>("n")?;
    let items = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    Ok((items, u64::try_from(total).unwrap_or(0)))
}
