//! Reading each organisation's event log and recording what it causes.
//! The position moves in the same transaction that records the work, so an
//! event is either wholly handled or read again after a restart.

use std::sync::Arc;

use folio_platform::clock::now_millis;
use folio_proto::documents::v1::{self as docs, EventKind, TaskStatus};
use serde_json::json;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Engine, People, millis};
use crate::{
    domain::{
        EventType, Kind, LogEvent, TaskPeople, TaskSeen, delivery_id, events::addressees,
        mail::Notice,
    },
    error::Error,
    store::{
        deliveries::{self, Delivery, State},
        log, webhooks,
    },
};

const PAGE: u32 = 100;

/// A task as documents has it now.
struct TaskNow {
    seen: TaskSeen,
    people: TaskPeople,
    status: &'static str,
    title: String,
    document_id: String,
}

fn status_name(status: i32) -> &'static str {
    match TaskStatus::try_from(status) {
        Ok(TaskStatus::Open) => "open",
        Ok(TaskStatus::InProgress) => "in_progress",
        Ok(TaskStatus::Done) => "done",
        Ok(TaskStatus::Unspecified) | Err(_) => "unknown",
    }
}

impl Engine {
    /// Reads every organisation's log each poll interval until `stop`.
    pub(crate) async fn run_reader(self: Arc<Self>, stop: CancellationToken) {
        loop {
            if let Err(error) = self.read_all().await {
                tracing::warn!(%error, "reading the event logs failed; trying again");
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.timing.poll_interval) => {}
            }
        }
    }

    /// One pass over every organisation's log; how many events it handled.
    pub(crate) async fn read_all(&self) -> Result<u64, Error> {
        let mut handled = 0;
        for people in self.people(None).await? {
            match self.read_organisation(&people).await {
                Ok(n) => handled += n,
                // One organisation's trouble does not hold the others up.
                Err(error) => {
                    tracing::warn!(%error, org = %people.org_id, "reading an event log failed");
                }
            }
        }
        Ok(handled)
    }

    async fn read_organisation(&self, people: &People) -> Result<u64, Error> {
        let org = people.org_id;
        let mut handled = 0;
        loop {
            let mut after = {
                let mut conn = self.db.reader().acquire().await?;
                log::position(&mut conn, org).await?
            };
            let page = self
                .documents
                .list_events(self.on_behalf_of(
                    org,
                    docs::ListEventsRequest {
                        after,
                        limit: PAGE,
                        newest_first: false,
                        ..Default::default()
                    },
                ))
                .await
                .map_err(|e| Error::upstream("documents", &e))?;
            if page.events.is_empty() {
                return Ok(handled);
            }
            let full = page.events.len() == PAGE as usize;
            for event in page.events {
                let sequence = event.sequence;
                if !self.handle(people, after, event).await? {
                    // Another instance handled it first.
                    return Ok(handled);
                }
                after = sequence;
                handled += 1;
                metrics::counter!("folio_notifications_events_handled_total").increment(1);
            }
            if !full {
                return Ok(handled);
            }
        }
    }

    async fn task_now(&self, org: Uuid, task: Uuid) -> Result<Option<TaskNow>, Error> {
        let answer = self
            .documents
            .get_task(self.on_behalf_of(
                org,
                docs::GetTaskRequest {
                    id: task.to_string(),
                },
            ))
            .await;
        match answer {
            Ok(task) => {
                let assignee = task.assignee_id.parse().ok();
                Ok(Some(TaskNow {
                    seen: TaskSeen {
                        assignee,
                        done: task.status == i32::from(TaskStatus::Done),
                    },
                    people: TaskPeople {
                        assignee,
                        created_by: task.created_by.parse().ok(),
                    },
                    status: status_name(task.status),
                    title: task.title,
                    document_id: task.document_id,
                }))
            }
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(Error::upstream("documents", &error)),
        }
    }

    /// Records what one event causes and moves the position from `from` to
    /// it, in one transaction. False when the position had moved meanwhile.
    async fn document_title(&self, org: Uuid, id: &str) -> Result<String, Error> {
        match self
            .documents
            .get_document(self.on_behalf_of(org, docs::GetDocumentRequest { id: id.to_owned() }))
            .await
        {
            Ok(d) => Ok(d.title),
            Err(error) if error.is_not_found() => Ok(String::new()),
            Err(error) => Err(Error::upstream("documents", &error)),
        }
    }

    async fn handle(&self, people: &People, from: u64, event: docs::Event) -> Result<bool, Error> {
        let org = people.org_id;
        let kind = EventKind::try_from(event.kind).unwrap_or(EventKind::Unspecified);
        let event = LogEvent {
            sequence: event.sequence,
            kind,
            org_id: org,
            document_id: event.document_id,
            version: event.version,
            task_id: event.task_id.parse().ok(),
            actor_id: event.actor_id,
            at: event.at,
            connection_id: event.connection_id,
            reason: event.reason,
        };
        let now = now_millis();
        let too_old = OffsetDateTime::parse(&event.at, &Rfc3339)
            .map(|at| {
                let age = now - i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
                age > millis(self.timing.max_event_age)
            })
            .unwrap_or(false);
        let task_change = matches!(kind, EventKind::TaskCreated | EventKind::TaskUpdated);
        // Whom these kinds tell depends on the task as it is now.
        let tells_people = matches!(
            kind,
            EventKind::TaskStale
                | EventKind::TaskApproved
                | EventKind::TaskRejected
                | EventKind::RequestFulfilled
        );
        // Asked before the transaction: no connection is held across a call.
        let task_now = match (event.task_id, task_change || tells_people) {
            (Some(task), true) => self.task_now(org, task).await?,
            _ => None,
        };
        let someone_else_assigned = task_now
            .as_ref()
            .and_then(|t| t.seen.assignee)
            .is_some_and(|a| a.to_string() != event.actor_id);
        let document_title = match &task_now {
            Some(task) if !self.mailer.is_off() && (tells_people || someone_else_assigned) => {
                self.document_title(org, &task.document_id).await?
            }
            Some(_) | None => String::new(),
        };

        let mut tx = self.db.pool.begin().await?;
        if !log::advance(&mut tx, org, from, event.sequence, now).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let before = match event.task_id {
            Some(task) => log::task_seen(&mut tx, task).await?,
            None => None,
        };
        let seen_now = task_now.as_ref().filter(|_| task_change).map(|t| t.seen);
        let types = if too_old {
            Vec::new()
        } else {
            event.types(before, seen_now)
        };
        if let Some(task) = event.task_id
            && (task_change || kind == EventKind::TaskDeleted)
        {
            log::remember_task(&mut tx, org, task, seen_now).await?;
        }
        if let Some(task) = &task_now {
            for (kind, id) in addressees(&types, task.people, &event.actor_id) {
                // Only this organisation's enabled people are ever told.
                let Some(person) = people.member(id) else {
                    continue;
                };
                let notice = notice(kind, &event, task, &document_title, people);
                let cause = format!("event/{org}/{}/{}", event.sequence, kind.as_str());
                let link = self.document_link(&task.document_id);
                self.tell(&mut tx, people, person, &notice, &link, &cause)
                    .await?;
            }
        }
        if let Some(notice) = admin_notice(&types, &event) {
            let cause = format!("event/{org}/{}/onedrive", event.sequence);
            self.tell_admins(
                &mut tx,
                people,
                &notice,
                &self.portal_link("onedrive"),
                &cause,
            )
            .await?;
        }
        if !types.is_empty() {
            let hooks = webhooks::list(&mut tx, org).await?;
            let data = event.data(
                task_now
                    .as_ref()
                    .filter(|_| task_change)
                    .map(|t| (&t.seen, t.status)),
            );
            for event_type in types {
                let payload = json!({
                    "type": event_type.as_str(),
                    "timestamp": event.at,
                    "data": data,
                })
                .to_string();
                for hook in hooks.iter().filter(|h| h.wants(event_type)) {
                    deliveries::insert(
                        &mut tx,
                        &new_delivery(hook.id, &event, event_type, &payload, now),
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// What admins are told of an event, if anything.
fn admin_notice(types: &[EventType], event: &LogEvent) -> Option<Notice> {
    if types.contains(&EventType::OneDriveSyncFailed) {
        Some(Notice::SyncFailed {
            reason: event.reason.chars().take(300).collect(),
        })
    } else if types.contains(&EventType::OneDriveSyncRecovered) {
        Some(Notice::SyncRecovered)
    } else {
        None
    }
}

/// What `kind` tells of `event` about `task`.
fn notice(kind: Kind, event: &LogEvent, task: &TaskNow, document: &str, people: &People) -> Notice {
    let task_title = task.title.chars().take(120).collect::<String>();
    let document = document.chars().take(120).collect::<String>();
    let by = event
        .actor_id
        .parse()
        .ok()
        .and_then(|id| people.member(id))
        .map_or_else(|| "Someone".to_owned(), |u| u.display_name.clone());
    match kind {
        Kind::Stale => Notice::Stale {
            task: task_title,
            document,
            version: event.version,
        },
        Kind::Approval => Notice::Decided {
            task: task_title,
            document,
            version: event.version,
            approved: event.kind == EventKind::TaskApproved,
            by,
        },
        Kind::Request => Notice::Fulfilled {
            task: task_title,
            document,
            version: event.version,
            by,
        },
        // `addressees` answers only the four kinds above; admins' kinds and
        // reminders never come from a task's event.
        Kind::Assignment | Kind::Reminder | Kind::OneDrive | Kind::Webhook => Notice::Assigned {
            task: task_title,
            document,
        },
    }
}

fn new_delivery(
    webhook: Uuid,
    event: &LogEvent,
    event_type: EventType,
    payload: &str,
    now: i64,
) -> Delivery {
    Delivery {
        id: delivery_id(webhook, event.org_id, event.sequence, event_type),
        webhook_id: webhook,
        org_id: event.org_id,
        sequence: event.sequence,
        event_type: event_type.as_str().to_owned(),
        payload: payload.to_owned(),
        state: State::Pending,
        attempts: 0,
        next_attempt_at: Some(now),
        window_started_at: now,
        last_attempt_at: None,
        last_status: 0,
        last_duration_ms: 0,
        last_error: String::new(),
        created_at: now,
    }
}
