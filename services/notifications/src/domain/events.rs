//! From the documents event log to the catalogue of webhook event types.
//!
//! The log says what kind of change happened; whether a task update was an
//! assignment or a completion is told by comparing the task with what was
//! last seen of it. A new log kind is one line in [`EventType::from_log`].

use folio_proto::documents::v1::EventKind;
use serde_json::{Value, json};
use uuid::Uuid;

use super::mail::Kind;

/// The event types client systems can subscribe to (openapi/bff.yaml `webhooks:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum EventType {
    DocumentCreated,
    VersionCreated,
    TaskCreated,
    TaskAssigned,
    TaskCompleted,
    TaskStale,
    ApprovalDecided,
    RequestFulfilled,
    OneDriveSyncFailed,
    OneDriveSyncRecovered,
}

impl EventType {
    pub(crate) const ALL: [Self; 10] = [
        Self::DocumentCreated,
        Self::VersionCreated,
        Self::TaskCreated,
        Self::TaskAssigned,
        Self::TaskCompleted,
        Self::TaskStale,
        Self::ApprovalDecided,
        Self::RequestFulfilled,
        Self::OneDriveSyncFailed,
        Self::OneDriveSyncRecovered,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::DocumentCreated => "document.created",
            Self::VersionCreated => "version.created",
            Self::TaskCreated => "task.created",
            Self::TaskAssigned => "task.assigned",
            Self::TaskCompleted => "task.completed",
            Self::TaskStale => "task.stale",
            Self::ApprovalDecided => "approval.decided",
            Self::RequestFulfilled => "request.fulfilled",
            Self::OneDriveSyncFailed => "onedrive.sync_failed",
            Self::OneDriveSyncRecovered => "onedrive.sync_recovered",
        }
    }

    pub(crate) fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw.trim())
    }

    /// The types one log event stands for, by itself (before looking at
    /// the task). Kinds that concern nobody outside map to nothing, and so
    /// do kinds documents adds later until they get their line here.
    #[allow(clippy::wildcard_enum_match_arm)]
    fn from_log(kind: EventKind) -> &'static [Self] {
        match kind {
            EventKind::DocumentCreated => &[Self::DocumentCreated],
            EventKind::VersionAdded => &[Self::VersionCreated],
            EventKind::TaskCreated => &[Self::TaskCreated],
            EventKind::TaskStale => &[Self::TaskStale],
            EventKind::TaskApproved | EventKind::TaskRejected => &[Self::ApprovalDecided],
            EventKind::RequestFulfilled => &[Self::RequestFulfilled],
            EventKind::OnedriveSyncFailed => &[Self::OneDriveSyncFailed],
            EventKind::OnedriveSyncRecovered => &[Self::OneDriveSyncRecovered],
            _ => &[],
        }
    }
}

/// The people of a task whom its events concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TaskPeople {
    pub assignee: Option<Uuid>,
    pub created_by: Option<Uuid>,
}

/// Who is told of these types by email, and under which kind: the assignee
/// of an assignment or of a task gone stale, the one who asked for an
/// approval or made a request. Never the person who did it.
pub(crate) fn addressees(types: &[EventType], task: TaskPeople, actor: &str) -> Vec<(Kind, Uuid)> {
    types
        .iter()
        .filter_map(|t| match t {
            EventType::TaskAssigned => Some((Kind::Assignment, task.assignee?)),
            EventType::TaskStale => Some((Kind::Stale, task.assignee?)),
            EventType::ApprovalDecided => Some((Kind::Approval, task.created_by?)),
            EventType::RequestFulfilled => Some((Kind::Request, task.created_by?)),
            // Admins are told of these (not a task's people).
            EventType::DocumentCreated
            | EventType::VersionCreated
            | EventType::TaskCreated
            | EventType::TaskCompleted
            | EventType::OneDriveSyncFailed
            | EventType::OneDriveSyncRecovered => None,
        })
        .filter(|(_, person)| person.to_string() != actor)
        .collect()
}

/// What was last seen of a task (before this event), or what it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TaskSeen {
    pub assignee: Option<Uuid>,
    pub done: bool,
}

/// One entry of an organisation's event log, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogEvent {
    pub sequence: u64,
    pub kind: EventKind,
    pub org_id: Uuid,
    pub document_id: String,
    pub version: u32,
    pub task_id: Option<Uuid>,
    pub actor_id: String,
    /// RFC 3339, as documents wrote it.
    pub at: String,
    /// OneDrive events: the connection and why its sync fails.
    pub connection_id: String,
    pub reason: String,
}

impl LogEvent {
    /// The catalogue types this event raises, given the task as it was
    /// last seen and as it is now (both `None` when it concerns no task, or
    /// the task is gone).
    pub(crate) fn types(&self, before: Option<TaskSeen>, now: Option<TaskSeen>) -> Vec<EventType> {
        let mut types = EventType::from_log(self.kind).to_vec();
        let is_task_change = matches!(self.kind, EventKind::TaskCreated | EventKind::TaskUpdated);
        if let (true, Some(now)) = (is_task_change, now) {
            let before = before.unwrap_or_default();
            if now.assignee.is_some() && now.assignee != before.assignee {
                types.push(EventType::TaskAssigned);
            }
            if now.done && !before.done {
                types.push(EventType::TaskCompleted);
            }
        }
        types
    }

    /// The `data` of a webhook body: ids only, from this organisation.
    pub(crate) fn data(&self, task: Option<(&TaskSeen, &str)>) -> Value {
        if !self.connection_id.is_empty() {
            // The integration's events concern its connection, no document.
            let mut data = json!({
                "organisation_id": self.org_id.to_string(),
                "sequence": self.sequence,
                "connection_id": self.connection_id,
            });
            if !self.reason.is_empty() {
                data["reason"] = json!(self.reason);
            }
            return data;
        }
        let mut data = json!({
            "organisation_id": self.org_id.to_string(),
            "sequence": self.sequence,
            "document_id": self.document_id,
            "actor_id": self.actor_id,
        });
        if self.version > 0 {
            data["version"] = json!(self.version);
        }
        if let Some(task_id) = self.task_id {
            data["task_id"] = json!(task_id.to_string());
        }
        if self.kind == EventKind::TaskApproved {
            data["decision"] = json!("approved");
        } else if self.kind == EventKind::TaskRejected {
            data["decision"] = json!("rejected");
        }
        if let Some((seen, status)) = task {
            data["assignee_id"] = json!(seen.assignee.map(|a| a.to_string()));
            data["status"] = json!(status);
        }
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind) -> LogEvent {
        LogEvent {
            sequence: 7,
            kind,
            org_id: Uuid::now_v7(),
            document_id: Uuid::now_v7().to_string(),
            version: 0,
            task_id: Some(Uuid::now_v7()),
            actor_id: Uuid::now_v7().to_string(),
            at: "2026-12-01T10:00:00Z".into(),
            connection_id: String::new(),
            reason: String::new(),
        }
    }

    #[test]
    fn versioned_work_raises_its_own_types() {
        assert_eq!(
            event(EventKind::TaskStale).types(None, None),
            [EventType::TaskStale]
        );
        for (kind, decision) in [
            (EventKind::TaskApproved, "approved"),
            (EventKind::TaskRejected, "rejected"),
        ] {
            let decided = event(kind);
            assert_eq!(decided.types(None, None), [EventType::ApprovalDecided]);
            assert_eq!(decided.data(None)["decision"], decision);
        }
        assert_eq!(
            event(EventKind::RequestFulfilled).types(None, None),
            [EventType::RequestFulfilled]
        );
        assert!(event(EventKind::TaskPinned).types(None, None).is_empty());
        let failing = LogEvent {
            connection_id: Uuid::now_v7().to_string(),
            reason: "Graph answered 503".into(),
            document_id: String::new(),
            task_id: None,
            ..event(EventKind::OnedriveSyncFailed)
        };
        assert_eq!(failing.types(None, None), [EventType::OneDriveSyncFailed]);
        let data = failing.data(None);
        assert_eq!(data["connection_id"], failing.connection_id.as_str());
        assert_eq!(data["reason"], "Graph answered 503");
        assert!(data.get("document_id").is_none());
        assert!(
            event(EventKind::TaskStale)
                .data(None)
                .get("decision")
                .is_none()
        );
    }

    #[test]
    fn the_assignee_the_approval_asker_and_the_requester_are_told_never_the_actor() {
        let (assignee, asker) = (Uuid::now_v7(), Uuid::now_v7());
        let task = TaskPeople {
            assignee: Some(assignee),
            created_by: Some(asker),
        };
        let stranger = Uuid::now_v7().to_string();
        let told = |t: EventType, actor: &str| addressees(&[t], task, actor);
        assert_eq!(
            told(EventType::TaskAssigned, &stranger),
            [(Kind::Assignment, assignee)]
        );
        assert_eq!(
            told(EventType::TaskStale, &stranger),
            [(Kind::Stale, assignee)]
        );
        assert_eq!(
            told(EventType::ApprovalDecided, &stranger),
            [(Kind::Approval, asker)]
        );
        assert_eq!(
            told(EventType::RequestFulfilled, &stranger),
            [(Kind::Request, asker)]
        );
        // The approver deciding their own request, someone uploading over
        // their own task: nobody is told of what they did themselves.
        assert!(told(EventType::ApprovalDecided, &asker.to_string()).is_empty());
        assert!(told(EventType::TaskStale, &assignee.to_string()).is_empty());
        assert!(told(EventType::TaskCompleted, &stranger).is_empty());
        assert!(addressees(&[EventType::TaskStale], TaskPeople::default(), &stranger).is_empty());
    }

    #[test]
    fn every_type_is_in_the_published_catalogue() {
        let spec = include_str!("../../../../openapi/bff.yaml");
        let (_, webhooks) = spec.split_once("\nwebhooks:").expect("a webhooks: section");
        let enumerated = spec
            .lines()
            .skip_while(|l| l.trim() != "EventType:")
            .find_map(|l| l.trim().strip_prefix("enum: ["))
            .expect("the EventType enum");
        for t in EventType::ALL {
            assert!(
                webhooks.contains(&format!("\n  {}:\n", t.as_str())),
                "{t:?}"
            );
            assert!(
                enumerated.split([',', ']', ' ']).any(|e| e == t.as_str()),
                "{t:?}"
            );
        }
    }

    #[test]
    fn catalogue_names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("task.exploded"), None);
    }

    #[test]
    fn assignment_and_completion_come_from_the_change_not_the_kind() {
        let someone = Some(Uuid::now_v7());
        let created = event(EventKind::TaskCreated);
        assert_eq!(
            created.types(None, Some(TaskSeen::default())),
            [EventType::TaskCreated]
        );
        assert_eq!(
            created.types(
                None,
                Some(TaskSeen {
                    assignee: someone,
                    done: false
                })
            ),
            [EventType::TaskCreated, EventType::TaskAssigned]
        );
        let updated = event(EventKind::TaskUpdated);
        let assigned = TaskSeen {
            assignee: someone,
            done: false,
        };
        // Same assignee again (a title edit): nothing.
        assert!(updated.types(Some(assigned), Some(assigned)).is_empty());
        // Done now: completed, once.
        let done = TaskSeen {
            assignee: someone,
            done: true,
        };
        assert_eq!(
            updated.types(Some(assigned), Some(done)),
            [EventType::TaskCompleted]
        );
        assert!(updated.types(Some(done), Some(done)).is_empty());
        // Reassigned to another person.
        let other = TaskSeen {
            assignee: Some(Uuid::now_v7()),
            done: false,
        };
        assert_eq!(
            updated.types(Some(assigned), Some(other)),
            [EventType::TaskAssigned]
        );
        // Unassigned, or the task is gone: nothing.
        assert!(
            updated
                .types(Some(assigned), Some(TaskSeen::default()))
                .is_empty()
        );
        assert!(updated.types(Some(assigned), None).is_empty());
        assert!(event(EventKind::TaskDeleted).types(None, None).is_empty());
        assert_eq!(
            event(EventKind::VersionAdded).types(None, None),
            [EventType::VersionCreated]
        );
    }
}
