//! Contract messages ↔ domain types. Parsing happens here, at the edge.

use folio_platform::clock::rfc3339;
use folio_proto::documents::v1 as pb;
use uuid::Uuid;

use crate::{
    domain::{
        ApprovalState, Comment, Decision, Document, DocumentVersion, Event, EventKind,
        RetentionPolicy, Tag, Task, TaskKind, TaskStatus, VersionSource,
    },
    error::Error,
};

pub(super) fn parse_id(field: &'static str, raw: &str) -> Result<Uuid, Error> {
    raw.trim()
        .parse()
        .map_err(|_| Error::invalid(field, "must be a UUID"))
}

/// An optional id: empty means none.
pub(super) fn parse_optional_id(field: &'static str, raw: &str) -> Result<Option<Uuid>, Error> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        parse_id(field, raw).map(Some)
    }
}

/// A status filter: unspecified means any.
pub(super) fn parse_status_filter(raw: i32) -> Result<Option<TaskStatus>, Error> {
    match pb::TaskStatus::try_from(raw) {
        Ok(pb::TaskStatus::Unspecified) => Ok(None),
        Ok(status) => parse_status(status as i32).map(Some),
        Err(_) => Err(Error::invalid(
            "status",
            "must be open, in_progress or done",
        )),
    }
}

pub(super) fn parse_status(raw: i32) -> Result<TaskStatus, Error> {
    match pb::TaskStatus::try_from(raw) {
        Ok(pb::TaskStatus::Open) => Ok(TaskStatus::Open),
        Ok(pb::TaskStatus::InProgress) => Ok(TaskStatus::InProgress),
        Ok(pb::TaskStatus::Done) => Ok(TaskStatus::Done),
        Ok(pb::TaskStatus::Unspecified) | Err(_) => Err(Error::invalid(
            "status",
            "must be open, in_progress or done",
        )),
    }
}

pub(super) fn parse_source(raw: i32) -> Result<VersionSource, Error> {
    match pb::VersionSource::try_from(raw) {
        Ok(pb::VersionSource::Unspecified | pb::VersionSource::Upload) => Ok(VersionSource::Upload),
        Ok(pb::VersionSource::Onedrive) => Ok(VersionSource::OneDrive),
        Err(_) => Err(Error::invalid("source", "must be upload or onedrive")),
    }
}

fn status(status: TaskStatus) -> pb::TaskStatus {
    match status {
        TaskStatus::Open => pb::TaskStatus::Open,
        TaskStatus::InProgress => pb::TaskStatus::InProgress,
        TaskStatus::Done => pb::TaskStatus::Done,
    }
}

pub(super) fn version(v: &DocumentVersion) -> pb::Version {
    pb::Version {
        document_id: v.document_id.to_string(),
        number: v.number,
        file_name: v.file_name.as_str().to_owned(),
        media_type: v.media_type.as_str().to_owned(),
        size: v.size,
        sha256: v.sha256.clone(),
        source: match v.source {
            VersionSource::Upload => pb::VersionSource::Upload,
            VersionSource::OneDrive => pb::VersionSource::Onedrive,
        }
        .into(),
        created_by: v.created_by.to_string(),
        created_at: rfc3339(v.created_at),
        note: v.note.as_str().to_owned(),
        label: v
            .label
            .as_ref()
            .map(|l| l.as_str().to_owned())
            .unwrap_or_default(),
        restored_from: v.restored_from.unwrap_or(0),
    }
}

pub(super) fn document(d: &Document) -> pb::Document {
    pb::Document {
        id: d.id.to_string(),
        organisation_id: d.org_id.to_string(),
        title: d.title.as_str().to_owned(),
        description: d.description.as_str().to_owned(),
        tags: d.tags.iter().map(Tag::as_str).map(str::to_owned).collect(),
        created_by: d.created_by.to_string(),
        created_at: rfc3339(d.created_at),
        updated_at: rfc3339(d.updated_at),
        current_version: d.current_version,
        current: d.current.as_ref().map(version),
        approval: None,
    }
}

pub(super) fn document_with_approval(d: &Document, a: Option<&ApprovalState>) -> pb::Document {
    pb::Document {
        approval: a.map(|a| pb::ApprovalState {
            version: a.version,
            decision: decision(a.decision).into(),
            approver_id: a.approver_id.map(|u| u.to_string()).unwrap_or_default(),
            decided_at: a.decided_at.map(rfc3339).unwrap_or_default(),
        }),
        ..document(d)
    }
}

fn decision(d: Option<Decision>) -> pb::Decision {
    match d {
        None => pb::Decision::Unspecified,
        Some(Decision::Approved) => pb::Decision::Approved,
        Some(Decision::Rejected) => pb::Decision::Rejected,
    }
}

/// A kind filter or a new task's kind: unspecified means `default`.
pub(super) fn parse_kind(raw: i32, default: Option<TaskKind>) -> Result<Option<TaskKind>, Error> {
    match pb::TaskKind::try_from(raw) {
        Ok(pb::TaskKind::Unspecified) => Ok(default),
        Ok(pb::TaskKind::Todo) => Ok(Some(TaskKind::Todo)),
        Ok(pb::TaskKind::Approval) => Ok(Some(TaskKind::Approval)),
        Ok(pb::TaskKind::Request) => Ok(Some(TaskKind::Request)),
        Err(_) => Err(Error::invalid("kind", "must be todo, approval or request")),
    }
}

pub(super) fn parse_decision(raw: i32) -> Result<Decision, Error> {
    match pb::Decision::try_from(raw) {
        Ok(pb::Decision::Approved) => Ok(Decision::Approved),
        Ok(pb::Decision::Rejected) => Ok(Decision::Rejected),
        Ok(pb::Decision::Unspecified) | Err(_) => {
            Err(Error::invalid("decision", "must be approve or reject"))
        }
    }
}

pub(super) fn retention(p: RetentionPolicy) -> pb::RetentionPolicy {
    pb::RetentionPolicy {
        keep_last: p.keep_last,
        keep_days: p.keep_days,
    }
}

pub(super) fn comment(c: &Comment) -> pb::Comment {
    pb::Comment {
        id: c.id.to_string(),
        task_id: c.task_id.to_string(),
        author_id: c.author_id.to_string(),
        body: c.body.as_str().to_owned(),
        created_at: rfc3339(c.created_at),
        updated_at: rfc3339(c.updated_at),
    }
}

pub(super) fn task(t: &Task) -> pb::Task {
    pb::Task {
        id: t.id.to_string(),
        document_id: t.document_id.map(|d| d.to_string()).unwrap_or_default(),
        title: t.title.clone(),
        description: t.description.as_str().to_owned(),
        status: status(t.status).into(),
        assignee_id: t.assignee_id.map(|a| a.to_string()).unwrap_or_default(),
        due_date: t.due_date.map(|d| d.to_text()).unwrap_or_default(),
        created_by: t.created_by.to_string(),
        created_at: rfc3339(t.created_at),
        updated_at: rfc3339(t.updated_at),
        completed_at: t.completed_at.map(rfc3339).unwrap_or_default(),
        kind: match t.kind {
            TaskKind::Todo => pb::TaskKind::Todo,
            TaskKind::Approval => pb::TaskKind::Approval,
            TaskKind::Request => pb::TaskKind::Request,
        }
        .into(),
        version: t.version,
        stale: t.is_stale(),
        decision: decision(t.decision).into(),
        decided_by: t.decided_by.map(|d| d.to_string()).unwrap_or_default(),
        decided_at: t.decided_at.map(rfc3339).unwrap_or_default(),
        current_version: t.current_version,
        latest: t.latest.as_ref().map(version),
    }
}

pub(super) fn event(e: &Event) -> pb::Event {
    pb::Event {
        sequence: e.sequence,
        kind: match e.kind {
            EventKind::DocumentCreated => pb::EventKind::DocumentCreated,
            EventKind::DocumentUpdated => pb::EventKind::DocumentUpdated,
            EventKind::DocumentDeleted => pb::EventKind::DocumentDeleted,
            EventKind::VersionAdded => pb::EventKind::VersionAdded,
            EventKind::TaskCreated => pb::EventKind::TaskCreated,
            EventKind::TaskUpdated => pb::EventKind::TaskUpdated,
            EventKind::TaskDeleted => pb::EventKind::TaskDeleted,
            EventKind::TaskPinned => pb::EventKind::TaskPinned,
            EventKind::TaskStale => pb::EventKind::TaskStale,
            EventKind::TaskCarriedForward => pb::EventKind::TaskCarriedForward,
            EventKind::TaskApproved => pb::EventKind::TaskApproved,
            EventKind::TaskRejected => pb::EventKind::TaskRejected,
            EventKind::RequestFulfilled => pb::EventKind::RequestFulfilled,
            EventKind::RequestAccepted => pb::EventKind::RequestAccepted,
            EventKind::RequestRejected => pb::EventKind::RequestRejected,
            EventKind::VersionRestored => pb::EventKind::VersionRestored,
            EventKind::VersionLabelled => pb::EventKind::VersionLabelled,
            EventKind::VersionRemoved => pb::EventKind::VersionRemoved,
            EventKind::TaskCommented => pb::EventKind::TaskCommented,
            EventKind::TaskClosed => pb::EventKind::TaskClosed,
            EventKind::OneDriveSyncFailed => pb::EventKind::OnedriveSyncFailed,
            EventKind::OneDriveSyncRecovered => pb::EventKind::OnedriveSyncRecovered,
        }
        .into(),
        document_id: e.document_id.map(|d| d.to_string()).unwrap_or_default(),
        version: e.version.unwrap_or(0),
        task_id: e.task_id.map(|t| t.to_string()).unwrap_or_default(),
        actor_id: e.actor_id.to_string(),
        at: rfc3339(e.at),
        from_version: e.from_version.unwrap_or(0),
        connection_id: e
            .integration
            .as_ref()
            .map(|n| n.connection_id.to_string())
            .unwrap_or_default(),
        reason: e
            .integration
            .as_ref()
            .map(|n| n.reason.clone())
            .unwrap_or_default(),
    }
}

/// The kinds the integration records; any other is refused by the library.
pub(super) fn parse_event_kind(raw: i32) -> Result<EventKind, Error> {
    match pb::EventKind::try_from(raw) {
        Ok(pb::EventKind::OnedriveSyncFailed) => Ok(EventKind::OneDriveSyncFailed),
        Ok(pb::EventKind::OnedriveSyncRecovered) => Ok(EventKind::OneDriveSyncRecovered),
        Ok(_) | Err(_) => Err(Error::invalid("kind", "is not an integration event")),
    }
}
