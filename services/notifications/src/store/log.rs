//! Where each organisation's event log was left, and what was last seen of tasks.

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::optional_uuid;
use crate::{domain::TaskSeen, error::Error};

/// The last handled sequence of the organisation (0: none yet).
pub(crate) async fn position(conn: &mut AnyConnection, org: Uuid) -> Result<u64, Error> {
    let row = sqlx::query("SELECT after_sequence FROM positions WHERE org_id = ?")
        .bind(org.to_string())
        .fetch_optional(conn)
        .await?;
    let after = match row {
        Some(row) => row.try_get::<i64, _>("after_sequence")?,
        None => 0,
    };
    u64::try_from(after).map_err(|_| Error::Corrupt("a position"))
}

/// Moves the position from `from` to `to`; false when another worker moved
/// it first (then the caller's transaction must be rolled back).
pub(crate) async fn advance(
    conn: &mut AnyConnection,
    org: Uuid,
    from: u64,
    to: u64,
    now: i64,
) -> Result<bool, Error> {
    let (from, to) = (
        i64::try_from(from).map_err(|_| Error::Corrupt("a position"))?,
        i64::try_from(to).map_err(|_| Error::Corrupt("a position"))?,
    );
    if from == 0 {
        let inserted = sqlx::query(
            "INSERT INTO positions (org_id, after_sequence, updated_at) \
             SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM positions WHERE org_id = ?)",
        )
        .bind(org.to_string())
        .bind(to)
        .bind(now)
        .bind(org.to_string())
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(true);
        }
    }
    let moved = sqlx::query(
        "UPDATE positions SET after_sequence = ?, updated_at = ? \
         WHERE org_id = ? AND after_sequence = ?",
    )
    .bind(to)
    .bind(now)
    .bind(org.to_string())
    .bind(from)
    .execute(conn)
    .await?;
    Ok(moved.rows_affected() == 1)
}

pub(crate) async fn task_seen(
    conn: &mut AnyConnection,
    task: Uuid,
) -> Result<Option<TaskSeen>, Error> {
    let row = sqlx::query("SELECT assignee_id, done FROM task_states WHERE task_id = ?")
        .bind(task.to_string())
        .fetch_optional(conn)
        .await?;
    row.map(|row| {
        Ok(TaskSeen {
            assignee: optional_uuid(&row, "assignee_id")?,
            done: row.try_get::<i64, _>("done")? != 0,
        })
    })
    .transpose()
}

pub(crate) async fn remember_task(
    conn: &mut AnyConnection,
    org: Uuid,
    task: Uuid,
    seen: Option<TaskSeen>,
) -> Result<(), Error> {
    sqlx::query("DELETE FROM task_states WHERE task_id = ?")
        .bind(task.to_string())
        .execute(&mut *conn)
        .await?;
    if let Some(seen) = seen {
        sqlx::query(
            "INSERT INTO task_states (task_id, org_id, assignee_id, done) VALUES (?, ?, ?, ?)",
        )
        .bind(task.to_string())
        .bind(org.to_string())
        .bind(seen.assignee.map(|a| a.to_string()))
        .bind(i64::from(seen.done))
        .execute(conn)
        .await?;
    }
    Ok(())
}
