//! Registered endpoints.

use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::uuid;
use crate::{
    domain::{EventType, Secret},
    error::Error,
};

#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    pub id: Uuid,
    pub org_id: Uuid,
    pub url: String,
    pub events: Vec<EventType>,
    pub secret: Secret,
    pub enabled: bool,
    /// "", "admin" or "failing".
    pub disabled_reason: String,
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Webhook {
    pub(crate) fn wants(&self, event: EventType) -> bool {
        self.enabled && self.events.contains(&event)
    }
}

const COLUMNS: &str = "id, org_id, url, events, secret, enabled, disabled_reason, failing_since, \
                       created_at, updated_at";

fn events_text(events: &[EventType]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn from_row(row: &AnyRow) -> Result<Webhook, Error> {
    let events = row
        .try_get::<String, _>("events")?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| EventType::parse(s).ok_or(Error::Corrupt("webhook events")))
        .collect::<Result<_, _>>()?;
    Ok(Webhook {
        id: uuid(row, "id")?,
        org_id: uuid(row, "org_id")?,
        url: row.try_get("url")?,
        events,
        secret: Secret::from_stored(row.try_get("secret")?),
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        disabled_reason: row.try_get("disabled_reason")?,
        failing_since: row.try_get("failing_since")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(crate) async fn insert(conn: &mut AnyConnection, w: &Webhook) -> Result<(), Error> {
    sqlx::query(&format!(
        "INSERT INTO webhooks ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(w.id.to_string())
    .bind(w.org_id.to_string())
    .bind(&w.url)
    .bind(events_text(&w.events))
    .bind(w.secret.as_str())
    .bind(i64::from(w.enabled))
    .bind(&w.disabled_reason)
    .bind(w.failing_since)
    .bind(w.created_at)
    .bind(w.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves url, events, enabled and reason; `failing_since` is the worker's.
pub(crate) async fn update(conn: &mut AnyConnection, w: &Webhook) -> Result<(), Error> {
    sqlx::query(
        "UPDATE webhooks SET url = ?, events = ?, enabled = ?, disabled_reason = ?, \
         failing_since = ?, updated_at = ? WHERE id = ? AND org_id = ?",
    )
    .bind(&w.url)
    .bind(events_text(&w.events))
    .bind(i64::from(w.enabled))
    .bind(&w.disabled_reason)
    .bind(w.failing_since)
    .bind(w.updated_at)
    .bind(w.id.to_string())
    .bind(w.org_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// The endpoint, only within `org`.
pub(crate) async fn get(
    conn: &mut AnyConnection,
    org: Uuid,
    id: Uuid,
) -> Result<Option<Webhook>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE id = ? AND org_id = ?"
    ))
    .bind(id.to_string())
    .bind(org.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn list(conn: &mut AnyConnection, org: Uuid) -> Result<Vec<Webhook>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE org_id = ? ORDER BY created_at, id"
    ))
    .bind(org.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn count(conn: &mut AnyConnection, org: Uuid) -> Result<u64, Error> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM webhooks WHERE org_id = ?")
        .bind(org.to_string())
        .fetch_one(conn)
        .await?
        .try_get("n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Deletes the endpoint and its deliveries; false when it was not there.
/// Deliveries go first: the lock order of a delivery attempt.
pub(crate) async fn delete(conn: &mut AnyConnection, org: Uuid, id: Uuid) -> Result<bool, Error> {
    sqlx::query("DELETE FROM deliveries WHERE webhook_id = ? AND org_id = ?")
        .bind(id.to_string())
        .bind(org.to_string())
        .execute(&mut *conn)
        .await?;
    let gone = sqlx::query("DELETE FROM webhooks WHERE id = ? AND org_id = ?")
        .bind(id.to_string())
        .bind(org.to_string())
        .execute(conn)
        .await?;
    Ok(gone.rows_affected() == 1)
}

/// After an attempt: a success clears the failing mark, a failure starts it.
pub(crate) async fn record_outcome(
    conn: &mut AnyConnection,
    id: Uuid,
    success: bool,
    now: i64,
) -> Result<(), Error> {
    if success {
        sqlx::query("UPDATE webhooks SET failing_since = NULL WHERE id = ?")
            .bind(id.to_string())
            .execute(conn)
            .await?;
    } else {
        sqlx::query("UPDATE webhooks SET failing_since = ? WHERE id = ? AND failing_since IS NULL")
            .bind(now)
            .bind(id.to_string())
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Disables the endpoint if it has failed since before `cutoff`; whether it did.
pub(crate) async fn disable_if_failing_since(
    conn: &mut AnyConnection,
    id: Uuid,
    cutoff: i64,
    now: i64,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE webhooks SET enabled = 0, disabled_reason = 'failing', updated_at = ? \
         WHERE id = ? AND enabled = 1 AND failing_since IS NOT NULL AND failing_since <= ?",
    )
    .bind(now)
    .bind(id.to_string())
    .bind(cutoff)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
