use folio_platform::{actor::Actor, clock::now_millis};
use uuid::Uuid;

use super::{
    Library,
    tasks::{lock_task_scope, task_event},
};
use crate::{
    domain::{Comment, CommentBody, EventKind},
    error::Error,
    store::{comments, events, tasks},
};

impl Library {
    /// A task's thread; anyone who sees the task reads it.
    pub(crate) async fn comments(
        &self,
        actor: &Actor,
        task_id: Uuid,
    ) -> Result<Vec<Comment>, Error> {
        self.task(actor, task_id).await?;
        let mut conn = self.db.reader().acquire().await?;
        comments::list_comments(&mut conn, actor.org_id, task_id).await
    }

    /// Anyone who sees the task may comment, viewers included.
    pub(crate) async fn add_comment(
        &self,
        actor: &Actor,
        task_id: Uuid,
        body: CommentBody,
    ) -> Result<Comment, Error> {
        let task = self.task(actor, task_id).await?;
        let mut tx = self.change(actor.org_id).await?;
        if !lock_task_scope(&mut tx, actor.org_id, &task).await? {
            return Err(Error::NotFound("task"));
        }
        let task = tasks::get_task(&mut tx, actor.org_id, task_id)
            .await?
            .ok_or(Error::NotFound("task"))?;
        let now = now_millis();
        let comment = Comment::new(&task, actor.user_id, body, now);
        comments::insert_comment(&mut tx, &comment).await?;
        events::insert_event(
            &mut tx,
            &task_event(EventKind::TaskCommented, &task, actor.user_id, now),
        )
        .await?;
        tx.commit().await?;
        Ok(comment)
    }

    pub(crate) async fn edit_comment(
        &self,
        actor: &Actor,
        task_id: Uuid,
        id: Uuid,
        body: CommentBody,
    ) -> Result<Comment, Error> {
        let task = self.task(actor, task_id).await?;
        let mut tx = self.change(actor.org_id).await?;
        if !lock_task_scope(&mut tx, actor.org_id, &task).await? {
            return Err(Error::NotFound("task"));
        }
        let mut comment = comments::get_comment(&mut tx, actor.org_id, task_id, id)
            .await?
            .ok_or(Error::NotFound("comment"))?;
        comment.edit(actor.user_id, body, now_millis())?;
        comments::update_comment(&mut tx, &comment).await?;
        tx.commit().await?;
        Ok(comment)
    }
}
