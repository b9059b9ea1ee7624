use sqlx::{AnyConnection, Row, any::AnyRow};
use tracing::instrument;
use uuid::Uuid;

use super::{opt_uuid, uuid};
use crate::{
    domain::{Description, DueDate, Task, TaskStatus},
    error::Error,
};

const COLUMNS: &str = "k.id, k.document_id, k.org_id, k.title, k.description, k.status, \
    k.assignee_id, k.due_date, k.created_by, k.created_at, k.updated_at, k.completed_at";

/// Tasks of live documents only: a deleted document's tasks disappear with it.
const FROM: &str = "FROM tasks k JOIN documents d ON d.id = k.document_id AND d.deleted_at IS NULL";

fn task_from_row(row: &AnyRow) -> Result<Task, Error> {
    Ok(Task {
        id: uuid(row, "id")?,
        document_id: uuid(row, "document_id")?,
        org_id: uuid(row, "org_id")?,
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
    })
}

#[instrument(skip_all)]
pub async fn insert_task(conn: &mut AnyConnection, task: &Task) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO tasks (id, document_id, org_id, title, description, status, assignee_id, \
         due_date, created_by, created_at, updated_at, completed_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(task.id.to_string())
    .bind(task.document_id.to_string())
    .bind(task.org_id.to_string())
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
pub async fn get_task(
    conn: &mut AnyConnection,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<Task>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} {FROM} WHERE k.org_id = ? AND k.id = ?"
    ))
    .bind(org_id.to_string())
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(task_from_row).transpose()
}

#[instrument(skip_all)]
pub async fn update_task(conn: &mut AnyConnection, task: &Task) -> Result<(), Error> {
    sqlx::query(
        "UPDATE tasks SET title = ?, description = ?, status = ?, assignee_id = ?, due_date = ?, \
         updated_at = ?, completed_at = ? WHERE id = ? AND org_id = ?",
    )
    .bind(&task.title)
    .bind(task.description.as_str())
    .bind(task.status.as_str())
    .bind(task.assignee_id.map(|a| a.to_string()))
    .bind(task.due_date.map(DueDate::to_text))
    .bind(task.updated_at)
    .bind(task.completed_at)
    .bind(task.id.to_string())
    .bind(task.org_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

#[instrument(skip_all)]
pub async fn delete_task(conn: &mut AnyConnection, task: &Task) -> Result<(), Error> {
    sqlx::query("DELETE FROM tasks WHERE id = ? AND org_id = ?")
        .bind(task.id.to_string())
        .bind(task.org_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Which tasks to list.
#[derive(Debug, Clone, Copy)]
pub enum TaskScope {
    Document(Uuid),
    Assignee(Uuid),
}

#[instrument(skip_all)]
pub async fn list_tasks(
    conn: &mut AnyConnection,
    org_id: Uuid,
    scope: TaskScope,
    status: Option<TaskStatus>,
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
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE k.org_id = ? AND {column} = ?{status_clause} \
         ORDER BY k.due_date IS NULL, k.due_date, k.created_at, k.id"
    );
    let mut query = sqlx::query(&sql)
        .bind(org_id.to_string())
        .bind(id.to_string());
    if let Some(status) = status {
        query = query.bind(status.as_str());
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(task_from_row).collect()
}
