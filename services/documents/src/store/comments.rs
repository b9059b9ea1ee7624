use sqlx::{AnyConnection, Row, any::AnyRow};
use tracing::instrument;
use uuid::Uuid;

use super::uuid;
use crate::{
    domain::{Comment, CommentBody},
    error::Error,
};

fn comment_from_row(row: &AnyRow) -> Result<Comment, Error> {
    Ok(Comment {
        id: uuid(row, "id")?,
        task_id: uuid(row, "task_id")?,
        org_id: uuid(row, "org_id")?,
        author_id: uuid(row, "author_id")?,
        body: CommentBody::from_stored(row.try_get("body")?),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[instrument(skip_all)]
pub(crate) async fn insert_comment(
    conn: &mut AnyConnection,
    comment: &Comment,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO task_comments (id, task_id, org_id, author_id, body, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(comment.id.to_string())
    .bind(comment.task_id.to_string())
    .bind(comment.org_id.to_string())
    .bind(comment.author_id.to_string())
    .bind(comment.body.as_str())
    .bind(comment.created_at)
    .bind(comment.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

#[instrument(skip_all)]
pub(crate) async fn update_comment(
    conn: &mut AnyConnection,
    comment: &Comment,
) -> Result<(), Error> {
    sqlx::query("UPDATE task_comments SET body = ?, updated_at = ? WHERE id = ? AND org_id = ?")
        .bind(comment.body.as_str())
        .bind(comment.updated_at)
        .bind(comment.id.to_string())
        .bind(comment.org_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

#[instrument(skip_all)]
pub(crate) async fn get_comment(
    conn: &mut AnyConnection,
    org_id: Uuid,
    task_id: Uuid,
    id: Uuid,
) -> Result<Option<Comment>, Error> {
    let row = sqlx::query(
        "SELECT id, task_id, org_id, author_id, body, created_at, updated_at FROM task_comments \
         WHERE org_id = ? AND task_id = ? AND id = ?",
    )
    .bind(org_id.to_string())
    .bind(task_id.to_string())
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(comment_from_row).transpose()
}

#[instrument(skip_all)]
pub(crate) async fn list_comments(
    conn: &mut AnyConnection,
    org_id: Uuid,
    task_id: Uuid,
) -> Result<Vec<Comment>, Error> {
    let rows = sqlx::query(
        "SELECT id, task_id, org_id, author_id, body, created_at, updated_at FROM task_comments \
         WHERE org_id = ? AND task_id = ? ORDER BY created_at, id",
    )
    .bind(org_id.to_string())
    .bind(task_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(comment_from_row).collect()
}
