//! Connections, and the lease that serialises all Graph work on one of them.

use sqlx::{AnyConnection, Row, any::AnyRow};
use tracing::instrument;
use uuid::Uuid;

use super::{count, is_unique_violation, uuid};
use crate::{
    domain::{Connection, ConnectionSpec},
    error::Error,
};

const COLUMNS: &str = "id, org_id, actor_id, tenant_id, app_id, drive_id, folder_id, \
    client_state, subscription_id, subscription_expires_at, renew_requested, delta_link, resync, \
    sync_due_at, followups, failures, paused_until, last_sync_at, last_error, created_at, \
    client_secret_set_at, last_lag_ms";

fn from_row(row: &AnyRow) -> Result<Connection, Error> {
    Ok(Connection {
        id: uuid(row, "id")?,
        org_id: uuid(row, "org_id")?,
        actor_id: uuid(row, "actor_id")?,
        tenant_id: row.try_get("tenant_id")?,
        app_id: row.try_get("app_id")?,
        drive_id: row.try_get("drive_id")?,
        folder_id: row.try_get("folder_id")?,
        client_state: row.try_get("client_state")?,
        subscription_id: row.try_get("subscription_id")?,
        subscription_expires_at: row.try_get("subscription_expires_at")?,
        renew_requested: row.try_get::<i64, _>("renew_requested")? != 0,
        delta_link: row.try_get("delta_link")?,
        resync: row.try_get::<i64, _>("resync")? != 0,
        sync_due_at: row.try_get("sync_due_at")?,
        followups: count(row.try_get("followups")?)?,
        failures: count(row.try_get("failures")?)?,
        paused_until: row.try_get("paused_until")?,
        last_sync_at: row.try_get("last_sync_at")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        client_secret_set_at: row.try_get("client_secret_set_at")?,
        last_lag_ms: row.try_get("last_lag_ms")?,
    })
}

/// Inserts a connection that is leased to its creator until `lease_until`.
#[instrument(skip_all)]
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    id: Uuid,
    org_id: Uuid,
    actor_id: Uuid,
    spec: &ConnectionSpec,
    folder_id: &str,
    client_state: &str,
    lease: (&str, i64),
    now: i64,
) -> Result<(), Error> {
    let done = sqlx::query(
        "INSERT INTO connections (id, org_id, actor_id, tenant_id, app_id, drive_id, \
         folder_id, client_state, lease_token, lease_until, created_at, updated_at, \
         client_secret_set_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(org_id.to_string())
    .bind(actor_id.to_string())
    .bind(spec.tenant_id.as_str())
    .bind(spec.app_id.as_str())
    .bind(spec.drive_id.as_str())
    .bind(folder_id)
    .bind(client_state)
    .bind(lease.0)
    .bind(lease.1)
    .bind(now)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await;
    match done {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(Error::AlreadyConnected),
        Err(e) => Err(e.into()),
    }
}

/// Whether another organisation's connection holds the drive.
#[instrument(skip_all)]
pub(crate) async fn drive_held_elsewhere(
    conn: &mut AnyConnection,
    drive_id: &str,
    org_id: Uuid,
) -> Result<bool, Error> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM connections WHERE drive_id = ? AND org_id <> ?")
            .bind(drive_id)
            .bind(org_id.to_string())
            .fetch_one(conn)
            .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// A new client secret was stored: note when, and try again at once.
#[instrument(skip_all)]
pub(crate) async fn client_secret_replaced(
    conn: &mut AnyConnection,
    id: Uuid,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE connections SET client_secret_set_at = ?, last_error = NULL, failures = 0, \
         updated_at = ? WHERE id = ?",
    )
    .bind(now)
    .bind(now)
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

#[instrument(skip_all)]
pub(crate) async fn by_org(
    conn: &mut AnyConnection,
    org_id: Uuid,
) -> Result<Option<Connection>, Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM connections WHERE org_id = ?"
    ))
    .bind(org_id.to_string())
    .fetch_optional(conn)
    .await?
    .map(|r| from_row(&r))
    .transpose()
}

#[instrument(skip_all)]
pub(crate) async fn by_id(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Connection>, Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM connections WHERE id = ?"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// The connection a subscription belongs to, with its client state.
#[instrument(skip_all)]
pub(crate) async fn by_subscription(
    conn: &mut AnyConnection,
    subscription_id: &str,
) -> Result<Option<(Uuid, String)>, Error> {
    let row = sqlx::query("SELECT id, client_state FROM connections WHERE subscription_id = ?")
        .bind(subscription_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((uuid(&r, "id")?, r.try_get("client_state")?)))
        .transpose()
}

#[instrument(skip_all)]
pub(crate) async fn delete(conn: &mut AnyConnection, id: Uuid) -> Result<(), Error> {
    sqlx::query("DELETE FROM connections WHERE id = ?")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Asks for a delta as soon as `at`, unless one is already due earlier.
#[instrument(skip_all)]
pub(crate) async fn request_sync(conn: &mut AnyConnection, id: Uuid, at: i64) -> Result<(), Error> {
    sqlx::query(
        "UPDATE connections SET sync_due_at = CASE WHEN sync_due_at IS NULL OR sync_due_at > ? \
         THEN ? ELSE sync_due_at END, followups = ? WHERE id = ?",
    )
    .bind(at)
    .bind(at)
    .bind(0_i64)
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Asks the reconciler to renew (or recreate) the subscription now.
#[instrument(skip_all)]
pub(crate) async fn request_renew(conn: &mut AnyConnection, id: Uuid) -> Result<(), Error> {
    sqlx::query("UPDATE connections SET renew_requested = 1 WHERE id = ?")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// The subscription is gone (Graph said so): recreate it and catch up.
#[instrument(skip_all)]
pub(crate) async fn forget_subscription(conn: &mut AnyConnection, id: Uuid) -> Result<(), Error> {
    sqlx::query("UPDATE connections SET subscription_id = NULL, subscription_expires_at = NULL WHERE id = ?")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Connections with a delta due that nobody holds and Graph does not pause.
#[instrument(skip_all)]
pub(crate) async fn due(
    conn: &mut AnyConnection,
    now: i64,
    limit: u32,
) -> Result<Vec<Uuid>, Error> {
    let rows = sqlx::query(
        "SELECT id FROM connections WHERE sync_due_at IS NOT NULL AND sync_due_at <= ? \
         AND (lease_until IS NULL OR lease_until < ?) \
         AND (paused_until IS NULL OR paused_until <= ?) ORDER BY sync_due_at LIMIT ?",
    )
    .bind(now)
    .bind(now)
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| uuid(r, "id")).collect()
}

/// Connections whose subscription must be created, renewed, or looked up
/// again because it was last seen alive before `check_before`.
#[instrument(skip_all)]
pub(crate) async fn needing_subscription(
    conn: &mut AnyConnection,
    now: i64,
    renew_horizon: i64,
    check_before: i64,
) -> Result<Vec<Uuid>, Error> {
    let rows = sqlx::query(
        "SELECT id FROM connections WHERE (subscription_id IS NULL OR subscription_expires_at < ? \
         OR renew_requested = 1 OR subscription_checked_at IS NULL \
         OR subscription_checked_at < ?) AND (lease_until IS NULL OR lease_until < ?) \
         AND (paused_until IS NULL OR paused_until <= ?)",
    )
    .bind(renew_horizon)
    .bind(check_before)
    .bind(now)
    .bind(now)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| uuid(r, "id")).collect()
}

/// Takes the connection's lease if nobody holds it. For a sync claim
/// (`sync = true`) the due delta must still be due, and its due time moves to
/// the lease's end: if this worker dies the delta becomes due again then.
#[instrument(skip_all)]
pub(crate) async fn claim(
    conn: &mut AnyConnection,
    id: Uuid,
    token: &str,
    lease_until: i64,
    now: i64,
    sync: bool,
) -> Result<bool, Error> {
    let done = if sync {
        sqlx::query(
            "UPDATE connections SET lease_token = ?, lease_until = ?, sync_due_at = ? \
             WHERE id = ? AND (lease_until IS NULL OR lease_until < ?) \
             AND sync_due_at IS NOT NULL AND sync_due_at <= ? \
             AND (paused_until IS NULL OR paused_until <= ?)",
        )
        .bind(token)
        .bind(lease_until)
        .bind(lease_until)
        .bind(id.to_string())
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(conn)
        .await?
    } else {
        sqlx::query(
            "UPDATE connections SET lease_token = ?, lease_until = ? \
             WHERE id = ? AND (lease_until IS NULL OR lease_until < ?)",
        )
        .bind(token)
        .bind(lease_until)
        .bind(id.to_string())
        .bind(now)
        .execute(conn)
        .await?
    };
    Ok(done.rows_affected() == 1)
}

/// Extends a lease we hold; false when it was lost.
#[instrument(skip_all)]
pub(crate) async fn heartbeat(
    conn: &mut AnyConnection,
    id: Uuid,
    token: &str,
    lease_until: i64,
) -> Result<bool, Error> {
    let done =
        sqlx::query("UPDATE connections SET lease_until = ? WHERE id = ? AND lease_token = ?")
            .bind(lease_until)
            .bind(id.to_string())
            .bind(token)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

#[instrument(skip_all)]
pub(crate) async fn release(conn: &mut AnyConnection, id: Uuid, token: &str) -> Result<(), Error> {
    sqlx::query(
        "UPDATE connections SET lease_token = NULL, lease_until = NULL WHERE id = ? AND lease_token = ?",
    )
    .bind(id.to_string())
    .bind(token)
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores a new or renewed subscription (under our lease).
#[instrument(skip_all)]
pub(crate) async fn set_subscription(
    conn: &mut AnyConnection,
    id: Uuid,
    subscription_id: &str,
    expires_at: i64,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE connections SET subscription_id = ?, subscription_expires_at = ?, \
         renew_requested = 0, subscription_checked_at = ?, updated_at = ? WHERE id = ?",
    )
    .bind(subscription_id)
    .bind(expires_at)
    .bind(now)
    .bind(now)
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// The subscription was seen alive in Graph just now.
#[instrument(skip_all)]
pub(crate) async fn subscription_seen(
    conn: &mut AnyConnection,
    id: Uuid,
    now: i64,
) -> Result<(), Error> {
    sqlx::query("UPDATE connections SET subscription_checked_at = ? WHERE id = ?")
        .bind(now)
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

#[instrument(skip_all)]
pub(crate) async fn set_error(
    conn: &mut AnyConnection,
    id: Uuid,
    error: Option<&str>,
) -> Result<(), Error> {
    sqlx::query("UPDATE connections SET last_error = ? WHERE id = ?")
        .bind(error)
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// How a sync ended, to be written with the lease's release.
#[derive(Debug, Clone)]
pub(crate) struct SyncEnd<'a> {
    /// The due time the claim wrote; a different value means someone asked again.
    pub claimed_due: i64,
    pub next_due: i64,
    /// `Some` on success: the new delta link.
    pub delta_link: Option<&'a str>,
    pub followups: u32,
    pub error: Option<&'a str>,
    /// Counts towards the back-off (not for throttling).
    pub failed: bool,
    pub now: i64,
}

#[instrument(skip_all)]
pub(crate) async fn end_sync(
    conn: &mut AnyConnection,
    id: Uuid,
    token: &str,
    end: &SyncEnd<'_>,
) -> Result<bool, Error> {
    let done = if let Some(link) = end.delta_link {
        sqlx::query(
            "UPDATE connections SET delta_link = ?, resync = 0, last_sync_at = ?, last_error = ?, \
             failures = 0, followups = ?, \
             sync_due_at = CASE WHEN sync_due_at = ? THEN ? ELSE sync_due_at END, \
             lease_token = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_token = ?",
        )
        .bind(link)
        .bind(end.now)
        .bind(end.error)
        .bind(i64::from(end.followups))
        .bind(end.claimed_due)
        .bind(end.next_due)
        .bind(end.now)
        .bind(id.to_string())
        .bind(token)
        .execute(conn)
        .await?
    } else {
        sqlx::query(
            "UPDATE connections SET last_error = ?, failures = failures + ?, \
             sync_due_at = CASE WHEN sync_due_at = ? THEN ? ELSE sync_due_at END, \
             lease_token = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_token = ?",
        )
        .bind(end.error)
        .bind(i64::from(end.failed))
        .bind(end.claimed_due)
        .bind(end.next_due)
        .bind(end.now)
        .bind(id.to_string())
        .bind(token)
        .execute(conn)
        .await?
    };
    Ok(done.rows_affected() == 1)
}

/// The lag of a sync that applied notifications (docs/adr/0043).
#[instrument(skip_all)]
pub(crate) async fn record_lag(
    conn: &mut AnyConnection,
    id: Uuid,
    lag_ms: i64,
) -> Result<(), Error> {
    sqlx::query("UPDATE connections SET last_lag_ms = ? WHERE id = ?")
        .bind(lag_ms)
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Graph throttles per tenant: pause every connection of it.
#[instrument(skip_all)]
pub(crate) async fn pause_tenant(
    conn: &mut AnyConnection,
    tenant_id: &str,
    until: i64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE connections SET paused_until = ? WHERE tenant_id = ? \
         AND (paused_until IS NULL OR paused_until < ?)",
    )
    .bind(until)
    .bind(tenant_id)
    .bind(until)
    .execute(conn)
    .await?;
    Ok(())
}
