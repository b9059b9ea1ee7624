use sqlx::{AnyConnection, Row};
use tracing::instrument;
use uuid::Uuid;

use super::{number, opt_uuid, uuid};
use crate::{
    domain::{Event, EventKind, IntegrationNote},
    error::Error,
};

/// Records `event`; called inside the transaction of the change it describes.
#[instrument(skip_all)]
pub(crate) async fn insert_event(conn: &mut AnyConnection, event: &Event) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO events (org_id, kind, document_id, version, task_id, from_version, actor_id, \
         at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(event.org_id.to_string())
    .bind(event.kind.as_str())
    .bind(event.document_id.map(|d| d.to_string()))
    .bind(event.version.map(i64::from))
    .bind(event.task_id.map(|t| t.to_string()))
    .bind(event.from_version.map(i64::from))
    .bind(event.actor_id.to_string())
    .bind(event.at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Up to `limit` events of `org_id` strictly after (or, newest first, before) `cursor`.
#[instrument(skip_all)]
pub(crate) async fn list_events(
    conn: &mut AnyConnection,
    org_id: Uuid,
    cursor: u64,
    limit: u32,
    newest_first: bool,
    task_id: Option<Uuid>,
) -> Result<Vec<Event>, Error> {
    let cursor = i64::try_from(cursor).map_err(|_| Error::invalid("after", "is too large"))?;
    let (condition, order) = match (newest_first, cursor) {
        (false, _) => ("sequence > ?", "ASC"),
        (true, 0) => ("sequence > ?", "DESC"),
        (true, _) => ("sequence < ?", "DESC"),
    };
    let sql = format!(
        "SELECT sequence, org_id, kind, document_id, version, task_id, from_version, actor_id, \
         at, connection_id, reason FROM events \
         WHERE org_id = ? AND {condition}{task} ORDER BY sequence {order} LIMIT ?",
        task = if task_id.is_some() {
            " AND task_id = ?"
        } else {
            ""
        },
    );
    let mut query = sqlx::query(&sql).bind(org_id.to_string()).bind(cursor);
    if let Some(task_id) = task_id {
        query = query.bind(task_id.to_string());
    }
    let rows = query.bind(i64::from(limit)).fetch_all(conn).await?;
    rows.iter()
        .map(|row| {
            Ok(Event {
                sequence: u64::try_from(row.try_get::<i64, _>("sequence")?)
                    .map_err(|_| Error::Corrupt("sequence"))?,
                org_id: uuid(row, "org_id")?,
                kind: EventKind::from_stored(&row.try_get::<String, _>("kind")?)?,
                document_id: opt_uuid(row, "document_id")?,
                version: row
                    .try_get::<Option<i64>, _>("version")?
                    .map(number)
                    .transpose()?,
                task_id: opt_uuid(row, "task_id")?,
                from_version: row
                    .try_get::<Option<i64>, _>("from_version")?
                    .map(number)
                    .transpose()?,
                actor_id: uuid(row, "actor_id")?,
                at: row.try_get("at")?,
                integration: opt_uuid(row, "connection_id")?
                    .map(|connection_id| {
                        Ok::<_, Error>(IntegrationNote {
                            connection_id,
                            reason: row
                                .try_get::<Option<String>, _>("reason")?
                                .unwrap_or_default(),
                        })
                    })
                    .transpose()?,
            })
        })
        .collect()
}

/// Records the integration's `event` once per `key` of its organisation:
/// its sequence, and whether this call recorded it.
#[instrument(skip_all)]
pub(crate) async fn insert_integration_event(
    conn: &mut AnyConnection,
    event: &Event,
    key: &str,
) -> Result<(u64, bool), Error> {
    if let Some(sequence) = sequence_of_key(&mut *conn, event.org_id, key).await? {
        return Ok((sequence, false));
    }
    let note = event.integration.as_ref();
    let inserted = sqlx::query(
        "INSERT INTO events (org_id, kind, document_id, version, task_id, from_version, actor_id, \
         at, connection_id, reason, event_key) VALUES (?, ?, NULL, NULL, NULL, NULL, ?, ?, ?, ?, ?)",
    )
    .bind(event.org_id.to_string())
    .bind(event.kind.as_str())
    .bind(event.actor_id.to_string())
    .bind(event.at)
    .bind(note.map(|n| n.connection_id.to_string()))
    .bind(note.map(|n| n.reason.clone()))
    .bind(key)
    .execute(&mut *conn)
    .await;
    let created = match inserted {
        Ok(_) => true,
        // Another instance sent the same key at the same moment.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => false,
        Err(e) => return Err(e.into()),
    };
    let sequence = sequence_of_key(conn, event.org_id, key)
        .await?
        .ok_or(Error::Corrupt("an integration event"))?;
    Ok((sequence, created))
}

async fn sequence_of_key(
    conn: &mut AnyConnection,
    org_id: Uuid,
    key: &str,
) -> Result<Option<u64>, Error> {
    let row = sqlx::query("SELECT sequence FROM events WHERE org_id = ? AND event_key = ?")
        .bind(org_id.to_string())
        .bind(key)
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        u64::try_from(r.try_get::<i64, _>("sequence")?).map_err(|_| Error::Corrupt("sequence"))
    })
    .transpose()
}
