//! Webhook deliveries: one row per event and endpoint, its attempts folded in.

use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{outbox::Outbox, uuid};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Pending,
    Delivered,
    Failed,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    fn parse(raw: &str) -> Result<Self, Error> {
        match raw {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            _ => Err(Error::Corrupt("a delivery state")),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub id: String,
    pub webhook_id: Uuid,
    pub org_id: Uuid,
    pub sequence: u64,
    pub event_type: String,
    pub payload: String,
    pub state: State,
    pub attempts: u32,
    pub next_attempt_at: Option<i64>,
    pub window_started_at: i64,
    pub last_attempt_at: Option<i64>,
    pub last_status: u16,
    pub last_duration_ms: u32,
    pub last_error: String,
    pub created_at: i64,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub at: i64,
    /// 0 when there was no answer.
    pub status: u16,
    pub duration_ms: u32,
    pub error: String,
}

const COLUMNS: &str = "id, webhook_id, org_id, sequence, event_type, payload, state, attempts, \
    next_attempt_at, window_started_at, last_attempt_at, last_status, last_duration_ms, \
    last_error, created_at";

fn from_row(row: &AnyRow) -> Result<Delivery, Error> {
    let number = |column: &str| -> Result<i64, Error> { Ok(row.try_get::<i64, _>(column)?) };
    Ok(Delivery {
        id: row.try_get("id")?,
        webhook_id: uuid(row, "webhook_id")?,
        org_id: uuid(row, "org_id")?,
        sequence: u64::try_from(number("sequence")?).map_err(|_| Error::Corrupt("a sequence"))?,
        event_type: row.try_get("event_type")?,
        payload: row.try_get("payload")?,
        state: State::parse(&row.try_get::<String, _>("state")?)?,
        attempts: u32::try_from(number("attempts")?).unwrap_or(u32::MAX),
        next_attempt_at: row.try_get("next_attempt_at")?,
        window_started_at: number("window_started_at")?,
        last_attempt_at: row.try_get("last_attempt_at")?,
        last_status: u16::try_from(number("last_status")?).unwrap_or(0),
        last_duration_ms: u32::try_from(number("last_duration_ms")?).unwrap_or(u32::MAX),
        last_error: row.try_get("last_error")?,
        created_at: number("created_at")?,
    })
}

pub(crate) async fn insert(conn: &mut AnyConnection, d: &Delivery) -> Result<(), Error> {
    sqlx::query(&format!(
        "INSERT INTO deliveries ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&d.id)
    .bind(d.webhook_id.to_string())
    .bind(d.org_id.to_string())
    .bind(i64::try_from(d.sequence).map_err(|_| Error::Corrupt("a sequence"))?)
    .bind(&d.event_type)
    .bind(&d.payload)
    .bind(d.state.as_str())
    .bind(i64::from(d.attempts))
    .bind(d.next_attempt_at)
    .bind(d.window_started_at)
    .bind(d.last_attempt_at)
    .bind(i64::from(d.last_status))
    .bind(i64::from(d.last_duration_ms))
    .bind(&d.last_error)
    .bind(d.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

const OUTBOX: Outbox = Outbox {
    table: "deliveries",
    tiebreak: "sequence",
};

/// Ids of pending deliveries due by `now` and not claimed by a live worker.
pub(crate) async fn due(
    conn: &mut AnyConnection,
    now: i64,
    limit: u32,
) -> Result<Vec<String>, Error> {
    OUTBOX.due(conn, now, limit).await
}

/// Takes a due delivery for one worker until `until`; None when another has it.
pub(crate) async fn claim(
    conn: &mut AnyConnection,
    id: &str,
    now: i64,
    until: i64,
) -> Result<Option<Delivery>, Error> {
    if !OUTBOX.lease(&mut *conn, id, now, until).await? {
        return Ok(None);
    }
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM deliveries WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Stores an attempt and what follows: delivered, failed, or pending again
/// at `next`. Releases the claim.
pub(crate) async fn record_attempt(
    conn: &mut AnyConnection,
    id: &str,
    attempt: &Attempt,
    state: State,
    next: Option<i64>,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE deliveries SET attempts = attempts + 1, last_attempt_at = ?, last_status = ?, \
         last_duration_ms = ?, last_error = ?, state = ?, next_attempt_at = ?, lease_until = NULL \
         WHERE id = ?",
    )
    .bind(attempt.at)
    .bind(i64::from(attempt.status))
    .bind(i64::from(attempt.duration_ms))
    .bind(attempt.error.chars().take(500).collect::<String>())
    .bind(state.as_str())
    .bind(next)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives up every pending delivery of a disabled endpoint.
pub(crate) async fn fail_pending(conn: &mut AnyConnection, webhook: Uuid) -> Result<(), Error> {
    sqlx::query(
        "UPDATE deliveries SET state = 'failed', next_attempt_at = NULL \
         WHERE webhook_id = ? AND state = 'pending'",
    )
    .bind(webhook.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// The endpoint's deliveries, newest first.
pub(crate) async fn list(
    conn: &mut AnyConnection,
    webhook: Uuid,
    limit: u32,
) -> Result<Vec<Delivery>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM deliveries WHERE webhook_id = ? \
         ORDER BY created_at DESC, sequence DESC, id LIMIT ?"
    ))
    .bind(webhook.to_string())
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Makes a delivery of `webhook` due now with a fresh retry window.
pub(crate) async fn redeliver(
    conn: &mut AnyConnection,
    webhook: Uuid,
    id: &str,
    now: i64,
) -> Result<Option<Delivery>, Error> {
    let changed = sqlx::query(
        "UPDATE deliveries SET state = 'pending', next_attempt_at = ?, window_started_at = ?, \
         lease_until = NULL WHERE id = ? AND webhook_id = ?",
    )
    .bind(now)
    .bind(now)
    .bind(id)
    .bind(webhook.to_string())
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() == 0 {
        return Ok(None);
    }
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM deliveries WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}
