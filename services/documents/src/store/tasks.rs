use sqlx::{AnyConnection, Row, any::AnyRow};
use tracing::instrument;
use uuid::Uuid;

use super::{number, opt_uuid, uuid, versions::version_from_row};
use crate::{
    domain::{
        Decision, Description, DueDate, GroupBounds, Task, TaskCursor, TaskGroup, TaskKind,
        TaskStatus,
    },
    error::Error,
};

const COLUMNS: &str = "k.id, k.document_id, k.org_id, k.kind, k.version, k.title, \
    k.description, k.status, k.assignee_id, k.due_date, k.created_by, k.created_at, k.updated_at, \
    k.completed_at, k.decision, k.decided_by, k.decided_at, \
    COALESCE(d.current_version, 0) AS current_version, v.document_id AS v_document_id, \
    v.number AS v_number, v.file_name AS v_file_name, v.media_type AS v_media_type, \
    v.size AS v_size, v.sha256 AS v_sha256, v.blob_key AS v_blob_key, v.source AS v_source, \
    v.created_by AS v_created_by, v.created_at AS v_created_at, v.note AS v_note, \
    v.label AS v_label, v.restored_from AS v_restored_from";

/// Tasks of live documents (a deleted document's tasks disappear with it) and
/// requests that name no document yet, with the document's current version.
const FROM: &str = "FROM tasks k LEFT JOIN documents d ON d.id = k.document_id \
    LEFT JOIN versions v ON v.document_id = d.id AND v.number = d.current_version";
const LIVE: &str = "(k.document_id IS NULL OR d.deleted_at IS NULL)";

fn task_from_row(row: &AnyRow) -> Result<Task, Error> {
    let latest = match row.try_get::<Option<String>, _>("v_document_id")? {
        Some(_) => Some(version_from_row(row, "v_")?),
        None => None,
    };
    Ok(Task {
        id: uuid(row, "id")?,
        document_id: opt_uuid(row, "document_id")?,
        org_id: uuid(row, "org_id")?,
        kind: TaskKind::from_stored(&row.try_get::<String, _>("kind")?)?,
        version: number(row.try_get("version")?)?,
        title: row.try_get("title")?,
        description: Description::from_stored(row.try_get("description")?),
        status: TaskStatus::from_stored(&row.try_get::<String, _>("status")?)?,
        assignee_id: opt_uuid(row, "assignee_id")?,
        due_date: row
            .try_get::<Option<String>, _>("due_date")?
            .map(|d| DueDate::parse(&d).map_err(|_| Error::Corrupt("due date")))
            .transpose()?,
        created_by: uuid(row, "created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        completed_at: row.try_get("completed_at")?,
        decision: row
            .try_get::<Option<String>, _>("decision")?
            .map(|d| Decision::from_stored(&d))
            .transpose()?,
        decided_by: opt_uuid(row, "decided_by")?,
        decided_at: row.try_get("decided_at")?,
        current_version: number(row.try_get("current_version")?)?,
        latest,
    })
}

#[instrument(skip_all)]
pub(crate) async fn insert_task(conn: &mut AnyConnection, task: &Task) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO tasks (id, document_id, org_id, kind, version, title, description, status, \
         assignee_id, due_date, created_by, created_at, updated_at, completed_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(task.id.to_string())
    .bind(task.document_id.map(|d| d.to_string()))
    .bind(task.org_id.to_string())
    .bind(task.kind.as_str())
    .bind(i64::from(task.version))
    .bind(&task.title)
    .bind(task.description.as_str())
    .bind(task.status.as_str())
    .bind(task.assignee_id.map(|a| a.to_string()))
    .bind(task.due_date.map(DueDate::to_text))
    .bind(task.created_by.to_string())
    .bind(task.created_at)
    .bind(task.updated_at)
    .bind(task.completed_at)
    .execute(conn)
    .await?;
    Ok(())
}

#[instrument(skip_all)]
pub(crate) async fn get_task(
    conn: &mut AnyConnection,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<Task>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} {FROM} WHERE k.org_id = ? AND k.id = ? AND {LIVE}"
    ))
    .bind(org_id.to_string())
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(task_from_row).transpose()
}

#[instrument(skip_all)]
pub(crate) async fn update_task(conn: &mut AnyConnection, task: &Task) -> Result<(), Error> {
    sqlx::query(
        "UPDATE tasks SET document_id = ?, version = ?, title = ?, description = ?, status = ?, \
         assignee_id = ?, due_date = ?, updated_at = ?, completed_at = ?, decision = ?, \
         decided_by = ?, decided_at = ? WHERE id = ? AND org_id = ?",
    )
    .bind(task.document_id.map(|d| d.to_string()))
    .bind(i64::from(task.version))
    .bind(&task.title)
    .bind(task.description.as_str())
    .bind(task.status.as_str())
    .bind(task.assignee_id.map(|a| a.to_string()))
    .bind(task.due_date.map(DueDate::to_text))
    .bind(task.updated_at)
    .bind(task.completed_at)
    .bind(task.decision.map(Decision::as_str))
    .bind(task.decided_by.map(|d| d.to_string()))
    .bind(task.decided_at)
    .bind(task.id.to_string())
    .bind(task.org_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

#[instrument(skip_all)]
pub(crate) async fn delete_task(conn: &mut AnyConnection, task: &Task) -> Result<(), Error> {
    sqlx::query("DELETE FROM task_comments WHERE task_id = ? AND org_id = ?")
        .bind(task.id.to_string())
        .bind(task.org_id.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM tasks WHERE id = ? AND org_id = ?")
        .bind(task.id.to_string())
        .bind(task.org_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Which tasks to list.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TaskScope {
    Document(Uuid),
    Assignee(Uuid),
}

#[instrument(skip_all)]
pub(crate) async fn list_tasks(
    conn: &mut AnyConnection,
    org_id: Uuid,
    scope: TaskScope,
    status: Option<TaskStatus>,
    kind: Option<TaskKind>,
) -> Result<Vec<Task>, Error> {
    let (column, id) = match scope {
        TaskScope::Document(id) => ("k.document_id", id),
        TaskScope::Assignee(id) => ("k.assignee_id", id),
    };
    let status_clause = if status.is_some() {
        " AND k.status = ?"
    } else {
        ""
    };
    let kind_clause = if kind.is_some() {
        " AND k.kind = ?"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE k.org_id = ? AND {column} = ? AND {LIVE}{status_clause}{kind_clause} \
         ORDER BY k.due_date IS NULL, k.due_date, k.created_at, k.id"
    );
    let mut query = sqlx::query(&sql)
        .bind(org_id.to_string())
        .bind(id.to_string());
    if let Some(status) = status {
        query = query.bind(status.as_str());
    }
    if let Some(kind) = kind {
        query = query.bind(kind.as_str());
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(task_from_row).collect()
}

/// Open (not done) tasks of one document, for applying a new version to them.
#[instrument(skip_all)]
pub(crate) async fn open_tasks_of_document(
    conn: &mut AnyConnection,
    org_id: Uuid,
    document_id: Uuid,
) -> Result<Vec<Task>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} {FROM} WHERE k.org_id = ? AND k.document_id = ? AND k.status <> 'done' \
         ORDER BY k.created_at, k.id"
    ))
    .bind(org_id.to_string())
    .bind(document_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(task_from_row).collect()
}

/// Serialises changes to a task that names no document (whose document
/// lock cannot be taken). False when it does not exist in `org_id`.
#[instrument(skip_all)]
pub(crate) async fn lock_task(
    conn: &mut AnyConnection,
    org_id: Uuid,
    id: Uuid,
) -> Result<bool, Error> {
    let done = sqlx::query("UPDATE tasks SET revision = revision + 1 WHERE id = ? AND org_id = ?")
        .bind(id.to_string())
        .bind(org_id.to_string())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// One page of My tasks for `assignee`: the group is computed in the query
/// (mirroring `GroupBounds::group_of`) so it can order, filter and page by
/// it in one round trip. Returns the rows with their group, at most `limit`.
#[allow(clippy::too_many_arguments)]
#[instrument(skip_all)]
pub(crate) async fn my_tasks_page(
    conn: &mut AnyConnection,
    org_id: Uuid,
    assignee: Uuid,
    bounds: GroupBounds,
    group: Option<TaskGroup>,
    status: Option<TaskStatus>,
    kind: Option<TaskKind>,
    after: Option<TaskCursor>,
    limit: u32,
) -> Result<Vec<(TaskGroup, Task)>, Error> {
    let mut inner = format!(
        "SELECT {COLUMNS}, CASE \
           WHEN k.status = 'done' THEN 6 \
           WHEN k.due_date IS NOT NULL AND k.due_date < ? THEN 0 \
           WHEN k.due_date IS NOT NULL AND k.due_date <= ? THEN 1 \
           WHEN k.kind <> 'approval' AND k.version < COALESCE(d.current_version, 0) THEN 2 \
           WHEN k.kind = 'approval' AND k.decision IS NULL THEN 3 \
           WHEN k.kind = 'request' AND k.status = 'open' THEN 4 \
           ELSE 5 END AS grp \
         {FROM} WHERE k.org_id = ? AND k.assignee_id = ? AND {LIVE}"
    );
    if status.is_some() {
        inner.push_str(" AND k.status = ?");
    }
    if kind.is_some() {
        inner.push_str(" AND k.kind = ?");
    }
    let mut outer = format!("SELECT * FROM ({inner}) mine WHERE 1 = 1");
    if group.is_some() {
        outer.push_str(" AND grp = ?");
    }
    // Keyset: after the cursor in (group, undated last, due date, id) order.
    match after.map(|c| c.due_date) {
        Some(Some(_)) => outer.push_str(
            " AND (grp > ? OR (grp = ? AND (due_date IS NULL OR due_date > ? \
             OR (due_date = ? AND id > ?))))",
        ),
        Some(None) => {
            outer.push_str(" AND (grp > ? OR (grp = ? AND due_date IS NULL AND id > ?))");
        }
        None => {}
    }
    outer.push_str(" ORDER BY grp, due_date IS NULL, due_date, id LIMIT ?");
    let mut query = sqlx::query(&outer)
        .bind(bounds.today.to_text())
        .bind(bounds.soon_until.to_text())
        .bind(org_id.to_string())
        .bind(assignee.to_string());
    if let Some(status) = status {
        query = query.bind(status.as_str());
    }
    if let Some(kind) = kind {
        query = query.bind(kind.as_str());
    }
    if let Some(group) = group {
        query = query.bind(i64::from(group.rank()));
    }
    if let Some(cursor) = after {
        let rank = i64::from(cursor.group.rank());
        query = query.bind(rank).bind(rank);
        if let Some(due) = cursor.due_date {
            query = query.bind(due.to_text()).bind(due.to_text());
        }
        query = query.bind(cursor.id.to_string());
    }
    let rows = query.bind(i64::from(limit)).fetch_all(conn).await?;
    rows.iter()
        .map(|row| {
            let rank: i64 = row.try_get("grp")?;
            let group = u8::try_from(rank)
                .ok()
                .and_then(TaskGroup::from_rank)
                .ok_or(Error::Corrupt("task group"))?;
            Ok((group, task_from_row(row)?))
        })
        .collect()
}
