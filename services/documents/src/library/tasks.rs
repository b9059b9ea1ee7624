use folio_platform::{actor::Actor, clock::now_millis};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::{Library, require_writer};
use crate::{
    domain::{
        Comment, CommentBody, Decision, Description, DueDate, Event, EventKind, GroupBounds, Task,
        TaskChanges, TaskCursor, TaskGroup, TaskKind, TaskStatus, VersionEffect, version_arrived,
    },
    error::Error,
    store::{
        comments, documents, events,
        tasks::{self, TaskScope},
    },
};

#[derive(Debug, Clone)]
pub(crate) struct NewTask {
    /// None only for a request for a document that does not exist yet.
    pub document_id: Option<Uuid>,
    pub kind: TaskKind,
    pub title: String,
    pub description: Description,
    pub assignee_id: Option<Uuid>,
    pub due_date: Option<DueDate>,
}

pub(crate) fn task_event(kind: EventKind, task: &Task, actor_id: Uuid, at: i64) -> Event {
    Event {
        task_id: Some(task.id),
        document_id: task.document_id,
        version: (task.version > 0).then_some(task.version),
        ..Event::new(kind, task.org_id, Uuid::nil(), actor_id, at)
    }
}

/// Takes the lock that serialises changes to `task`: its document's, or its
/// own while it names no document. False when either is gone.
pub(crate) async fn lock_task_scope(
    conn: &mut AnyConnection,
    org_id: Uuid,
    task: &Task,
) -> Result<bool, Error> {
    match task.document_id {
        Some(document_id) => documents::lock_document(conn, org_id, document_id).await,
        None => tasks::lock_task(conn, org_id, task.id).await,
    }
}

/// Applies a new version `number` (after `previous`) of `document_id` to its open tasks inside
/// the transaction that adds it: approvals are re-pinned, current work
/// becomes stale, each with its event. `except` is a request being fulfilled
/// by this very version.
pub(crate) async fn apply_new_version(
    conn: &mut AnyConnection,
    actor: &Actor,
    document_id: Uuid,
    previous: u32,
    number: u32,
    except: Option<Uuid>,
    now: i64,
) -> Result<(), Error> {
    let mut open = tasks::open_tasks_of_document(conn, actor.org_id, document_id).await?;
    open.retain(|t| Some(t.id) != except);
    for (i, effect) in version_arrived(&mut open, previous, number, now) {
        let task = &open[i];
        let (kind, from) = match effect {
            VersionEffect::Stale { from, .. } => (EventKind::TaskStale, from),
            VersionEffect::Repinned { from, .. } => {
                tasks::update_task(conn, task).await?;
                (EventKind::TaskPinned, from)
            }
        };
        let event = Event {
            version: Some(number),
            from_version: Some(from),
            ..task_event(kind, task, actor.user_id, now)
        };
        events::insert_event(conn, &event).await?;
    }
    Ok(())
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

    pub(crate) async fn create_task(&self, actor: &Actor, new: NewTask) -> Result<Task, Error> {
        require_writer(actor)?;
        if new.kind != TaskKind::Todo && new.assignee_id.is_none() {
            return Err(Error::invalid(
                "assignee_id",
                "is required: approvals and requests ask a named person",
            ));
        }
        if new.document_id.is_none() && new.kind != TaskKind::Request {
            return Err(Error::invalid(
                "document_id",
                "is required except for a request for a new document",
            ));
        }
        self.check_assignee(actor, new.assignee_id).await?;
        let now = now_millis();
        let mut task = Task {
            id: Uuid::now_v7(),
            document_id: new.document_id,
            org_id: actor.org_id,
            kind: new.kind,
            version: 0,
            title: new.title,
            description: new.description,
            status: TaskStatus::Open,
            assignee_id: new.assignee_id,
            due_date: new.due_date,
            created_by: actor.user_id,
            created_at: now,
            updated_at: now,
            completed_at: None,
            decision: None,
            decided_by: None,
            decided_at: None,
            current_version: 0,
            latest: None,
        };
        let mut tx = self.change(actor.org_id).await?;
        if let Some(document_id) = task.document_id {
            if !documents::lock_document(&mut tx, actor.org_id, document_id).await? {
                return Err(Error::NotFound("document"));
            }
            // Pinned to the version current under the lock.
            let document = documents::get_document(&mut tx, actor.org_id, document_id)
                .await?
                .ok_or(Error::NotFound("document"))?;
            if task.kind == TaskKind::Approval && document.current_version == 0 {
                return Err(Error::state("the document has no version to approve"));
            }
            task.version = document.current_version;
            task.current_version = document.current_version;
            task.latest = document.current;
        }
        tasks::insert_task(&mut tx, &task).await?;
        events::insert_event(
            &mut tx,
            &task_event(EventKind::TaskCreated, &task, actor.user_id, now),
        )
        .await?;
        if let Some(document_id) = task.document_id {
            documents::touch(&mut tx, document_id, now).await?;
            // Pinned for the first time: no version before.
            events::insert_event(
                &mut tx,
                &task_event(EventKind::TaskPinned, &task, actor.user_id, now),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(task)
    }

    pub(crate) async fn task(&self, actor: &Actor, id: Uuid) -> Result<Task, Error> {
        let mut conn = self.db.reader().acquire().await?;
        tasks::get_task(&mut conn, actor.org_id, id)
            .await?
            .ok_or(Error::NotFound("task"))
    }

    async fn change_task(
        &self,
        actor: &Actor,
        id: Uuid,
        change: impl FnOnce(&mut Task, i64) -> Result<Vec<Event>, Error>,
    ) -> Result<Task, Error> {
        self.change_task_with_comment(actor, id, None, change).await
    }

    /// Runs `change` on the task re-read under its lock, then stores it with
    /// the events `change` answers and `comment` (a decision's or review's
    /// reason) in the thread, in one transaction.
    async fn change_task_with_comment(
        &self,
        actor: &Actor,
        id: Uuid,
        comment: Option<CommentBody>,
        change: impl FnOnce(&mut Task, i64) -> Result<Vec<Event>, Error>,
    ) -> Result<Task, Error> {
        let task = self.task(actor, id).await?;
        let mut tx = self.change(actor.org_id).await?;
        if !lock_task_scope(&mut tx, actor.org_id, &task).await? {
            return Err(Error::NotFound("task"));
        }
        // Re-read under the lock: another change may have landed meanwhile.
        let mut task = tasks::get_task(&mut tx, actor.org_id, id)
            .await?
            .ok_or(Error::NotFound("task"))?;
        let now = now_millis();
        let changes = change(&mut task, now)?;
        tasks::update_task(&mut tx, &task).await?;
        if let Some(document_id) = task.document_id {
            documents::touch(&mut tx, document_id, now).await?;
        }
        for event in &changes {
            events::insert_event(&mut tx, event).await?;
        }
        if let Some(body) = comment {
            let comment = Comment::new(&task, actor.user_id, body, now);
            comments::insert_comment(&mut tx, &comment).await?;
            events::insert_event(
                &mut tx,
                &task_event(EventKind::TaskCommented, &task, actor.user_id, now),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(task)
    }

    pub(crate) async fn update_task(
        &self,
        actor: &Actor,
        id: Uuid,
        changes: TaskChanges,
    ) -> Result<Task, Error> {
        require_writer(actor)?;
        if let Some(assignee) = changes.assignee_id {
            self.check_assignee(actor, assignee).await?;
        }
        let user = actor.user_id;
        self.change_task(actor, id, |task, now| {
            if changes.status.is_some() && task.kind != TaskKind::Todo {
                return Err(Error::state(match task.kind {
                    TaskKind::Approval => "an approval's status follows its decision",
                    TaskKind::Request | TaskKind::Todo => {
                        "a request's status follows its fulfilment and review"
                    }
                }));
            }
            changes.apply(task, now);
            Ok(vec![task_event(EventKind::TaskUpdated, task, user, now)])
        })
        .await
    }

    pub(crate) async fn carry_forward(&self, actor: &Actor, id: Uuid) -> Result<Task, Error> {
        let (user, writer) = (actor.user_id, actor.role.can_write());
        self.change_task(actor, id, |task, now| {
            if !task.may_resolve(user, writer) {
                return Err(Error::NotYours("only the assignee or an editor"));
            }
            let from = task.carry_forward(now)?;
            Ok(vec![Event {
                from_version: Some(from),
                ..task_event(EventKind::TaskCarriedForward, task, user, now)
            }])
        })
        .await
    }

    pub(crate) async fn close_task(&self, actor: &Actor, id: Uuid) -> Result<Task, Error> {
        let (user, writer) = (actor.user_id, actor.role.can_write());
        self.change_task(actor, id, |task, now| {
            if !task.may_resolve(user, writer) {
                return Err(Error::NotYours("only the assignee or an editor"));
            }
            task.close(now)?;
            Ok(vec![task_event(EventKind::TaskClosed, task, user, now)])
        })
        .await
    }

    pub(crate) async fn decide(
        &self,
        actor: &Actor,
        id: Uuid,
        decision: Decision,
        comment: &str,
    ) -> Result<Task, Error> {
        let body = CommentBody::optional(comment)?;
        let (user, writer) = (actor.user_id, actor.role.can_write());
        self.change_task_with_comment(actor, id, body, move |task, now| {
            task.decide(user, writer, decision, comment, now)?;
            let kind = match decision {
                Decision::Approved => EventKind::TaskApproved,
                Decision::Rejected => EventKind::TaskRejected,
            };
            Ok(vec![task_event(kind, task, user, now)])
        })
        .await
    }

    pub(crate) async fn review_request(
        &self,
        actor: &Actor,
        id: Uuid,
        accept: bool,
        reason: &str,
    ) -> Result<Task, Error> {
        require_writer(actor)?;
        let body = CommentBody::optional(reason)?;
        let user = actor.user_id;
        self.change_task_with_comment(actor, id, body, move |task, now| {
            task.review(accept, reason, now)?;
            let kind = if accept {
                EventKind::RequestAccepted
            } else {
                EventKind::RequestRejected
            };
            Ok(vec![task_event(kind, task, user, now)])
        })
        .await
    }

    pub(crate) async fn delete_task(&self, actor: &Actor, id: Uuid) -> Result<(), Error> {
        require_writer(actor)?;
        let task = self.task(actor, id).await?;
        let mut tx = self.change(actor.org_id).await?;
        if !lock_task_scope(&mut tx, actor.org_id, &task).await? {
            return Err(Error::NotFound("task"));
        }
        let now = now_millis();
        tasks::delete_task(&mut tx, &task).await?;
        if let Some(document_id) = task.document_id {
            documents::touch(&mut tx, document_id, now).await?;
        }
        events::insert_event(
            &mut tx,
            &task_event(EventKind::TaskDeleted, &task, actor.user_id, now),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A document's tasks (the document must be visible) or a user's, across documents.
    pub(crate) async fn tasks(
        &self,
        actor: &Actor,
        scope: TaskScope,
        status: Option<TaskStatus>,
        kind: Option<TaskKind>,
    ) -> Result<Vec<Task>, Error> {
        let mut conn = self.db.reader().acquire().await?;
        if let TaskScope::Document(id) = scope {
            documents::get_document(&mut conn, actor.org_id, id)
                .await?
                .ok_or(Error::NotFound("document"))?;
        }
        tasks::list_tasks(&mut conn, actor.org_id, scope, status, kind).await
    }

    /// One page of the caller's own tasks, grouped ("what do I do now").
    /// Any role sees their own. The bounds are today's, so a page is always
    /// grouped as of now; the cursor carries the group it stopped in.
    pub(crate) async fn my_tasks(
        &self,
        actor: &Actor,
        filter: MyTasksFilter,
        after: Option<TaskCursor>,
        limit: u32,
    ) -> Result<MyTasksPage, Error> {
        let bounds = GroupBounds::at(now_millis());
        let mut conn = self.db.reader().acquire().await?;
        // One row more than asked says whether another page follows.
        let mut rows = tasks::my_tasks_page(
            &mut conn,
            actor.org_id,
            actor.user_id,
            bounds,
            filter.group,
            filter.status,
            filter.kind,
            after,
            limit + 1,
        )
        .await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more {
            rows.last().map(|(group, task)| TaskCursor {
                group: *group,
                due_date: task.due_date,
                id: task.id,
            })
        } else {
            None
        };
        Ok(MyTasksPage { tasks: rows, next })
    }
}

/// What My tasks is narrowed to.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MyTasksFilter {
    pub group: Option<TaskGroup>,
    pub status: Option<TaskStatus>,
    pub kind: Option<TaskKind>,
}

pub(crate) struct MyTasksPage {
    pub tasks: Vec<(TaskGroup, Task)>,
    /// Where the next page starts; none on the last.
    pub next: Option<TaskCursor>,
}
