use folio_platform::{actor::Actor, clock::now_millis};
use uuid::Uuid;

use super::{Library, require_writer};
use crate::{
    domain::{Description, DueDate, Event, EventKind, Task, TaskChanges, TaskStatus},
    error::Error,
    store::{
        documents, events,
        tasks::{self, TaskScope},
    },
};

#[derive(Debug, Clone)]
pub struct NewTask {
    pub document_id: Uuid,
    pub title: String,
    pub description: Description,
    pub assignee_id: Option<Uuid>,
    pub due_date: Option<DueDate>,
}

fn task_event(kind: EventKind, task: &Task, actor: &Actor, at: i64) -> Event {
    Event {
        task_id: Some(task.id),
        ..Event::new(kind, task.org_id, task.document_id, actor.user_id, at)
    }
}

impl Library {
    async fn check_assignee(&self, actor: &Actor, assignee: Option<Uuid>) -> Result<(), Error> {
        match assignee {
            Some(id) if !self.directory.is_active_member(actor, id).await? => Err(Error::invalid(
                "assignee_id",
                "is not an active user of this organisation",
            )),
            Some(_) | None => Ok(()),
        }
    }

    pub async fn create_task(&self, actor: &Actor, new: NewTask) -> Result<Task, Error> {
        require_writer(actor)?;
        self.check_assignee(actor, new.assignee_id).await?;
        let now = now_millis();
        let task = Task {
            id: Uuid::now_v7(),
            document_id: new.document_id,
            org_id: actor.org_id,
            title: new.title,
            description: new.description,
            status: TaskStatus::Open,
            assignee_id: new.assignee_id,
            due_date: new.due_date,
            created_by: actor.user_id,
            created_at: now,
            updated_at: now,
            completed_at: None,
        };
        let mut tx = self.db.pool.begin().await?;
        if !documents::lock_document(&mut tx, actor.org_id, task.document_id).await? {
            return Err(Error::NotFound("document"));
        }
        tasks::insert_task(&mut tx, &task).await?;
        documents::touch(&mut tx, task.document_id, now).await?;
        events::insert_event(
            &mut tx,
            &task_event(EventKind::TaskCreated, &task, actor, now),
        )
        .await?;
        tx.commit().await?;
        Ok(task)
    }

    pub async fn task(&self, actor: &Actor, id: Uuid) -> Result<Task, Error> {
        let mut conn = self.db.reader().acquire().await?;
        tasks::get_task(&mut conn, actor.org_id, id)
            .await?
            .ok_or(Error::NotFound("task"))
    }

    pub async fn update_task(
        &self,
        actor: &Actor,
        id: Uuid,
        changes: TaskChanges,
    ) -> Result<Task, Error> {
        require_writer(actor)?;
        let task = self.task(actor, id).await?;
        if let Some(assignee) = changes.assignee_id {
            self.check_assignee(actor, assignee).await?;
        }
        let mut tx = self.db.pool.begin().await?;
        if !documents::lock_document(&mut tx, actor.org_id, task.document_id).await? {
            return Err(Error::NotFound("task"));
        }
        // Re-read under the lock: another update may have landed meanwhile.
        let mut task = tasks::get_task(&mut tx, actor.org_id, id)
            .await?
            .ok_or(Error::NotFound("task"))?;
        let now = now_millis();
        changes.apply(&mut task, now);
        tasks::update_task(&mut tx, &task).await?;
        documents::touch(&mut tx, task.document_id, now).await?;
        events::insert_event(
            &mut tx,
            &task_event(EventKind::TaskUpdated, &task, actor, now),
        )
        .await?;
        tx.commit().await?;
        Ok(task)
    }

    pub async fn delete_task(&self, actor: &Actor, id: Uuid) -> Result<(), Error> {
        require_writer(actor)?;
        let task = self.task(actor, id).await?;
        let mut tx = self.db.pool.begin().await?;
        if !documents::lock_document(&mut tx, actor.org_id, task.document_id).await? {
            return Err(Error::NotFound("task"));
        }
        let now = now_millis();
        tasks::delete_task(&mut tx, &task).await?;
        documents::touch(&mut tx, task.document_id, now).await?;
        events::insert_event(
            &mut tx,
            &task_event(EventKind::TaskDeleted, &task, actor, now),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A document's tasks (the document must be visible) or a user's, across documents.
    pub async fn tasks(
        &self,
        actor: &Actor,
        scope: TaskScope,
        status: Option<TaskStatus>,
    ) -> Result<Vec<Task>, Error> {
        let mut conn = self.db.reader().acquire().await?;
        if let TaskScope::Document(id) = scope {
            documents::get_document(&mut conn, actor.org_id, id)
                .await?
                .ok_or(Error::NotFound("document"))?;
        }
        tasks::list_tasks(&mut conn, actor.org_id, scope, status).await
    }
}
