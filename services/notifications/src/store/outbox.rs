//! The two outboxes (webhook deliveries, mails) are worked the same way:
//! pending rows due by a time, each taken by one worker under a lease.

use sqlx::{AnyConnection, Row};

use crate::error::Error;

/// An outbox table: its name and the column that orders rows due together.
#[derive(Clone, Copy)]
pub(super) struct Outbox {
    pub table: &'static str,
    pub tiebreak: &'static str,
}

impl Outbox {
    /// Ids of pending rows due by `now` and not leased by a live worker.
    pub(super) async fn due(
        self,
        conn: &mut AnyConnection,
        now: i64,
        limit: u32,
    ) -> Result<Vec<String>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT id FROM {} WHERE state = 'pending' AND next_attempt_at <= ? \
             AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at, {} LIMIT ?",
            self.table, self.tiebreak
        ))
        .bind(now)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("id")?))
            .collect()
    }

    /// Leases a pending row to this worker until `until`; false when another
    /// worker holds it or it is no longer pending.
    pub(super) async fn lease(
        self,
        conn: &mut AnyConnection,
        id: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, Error> {
        let leased = sqlx::query(&format!(
            "UPDATE {} SET lease_until = ? WHERE id = ? AND state = 'pending' \
             AND (lease_until IS NULL OR lease_until < ?)",
            self.table
        ))
        .bind(until)
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
        Ok(leased.rows_affected() > 0)
    }
}
