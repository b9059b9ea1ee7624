//! Contract messages ↔ domain types. Parsing happens here, at the edge.

use folio_platform::clock::rfc3339;
use folio_proto::documents::v1 as pb;
use uuid::Uuid;

use crate::{
    domain::{Document, DocumentVersion, Event, EventKind, Tag, Task, TaskStatus, VersionSource},
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
    }
}

pub(super) fn task(t: &Task) -> pb::Task {
    pb::Task {
        id: t.id.to_string(),
        document_id: t.document_id.to_string(),
        title: t.title.clone(),
        description: t.description.as_str().to_owned(),
        status: status(t.status).into(),
        assignee_id: t.assignee_id.map(|a| a.to_string()).unwrap_or_default(),
        due_date: t.due_date.map(|d| d.to_text()).unwrap_or_default(),
        created_by: t.created_by.to_string(),
        created_at: rfc3339(t.created_at),
        updated_at: rfc3339(t.updated_at),
        completed_at: t.completed_at.map(rfc3339).unwrap_or_default(),
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
        }
        .into(),
        document_id: e.document_id.to_string(),
        version: e.version.unwrap_or(0),
        task_id: e.task_id.map(|t| t.to_string()).unwrap_or_default(),
        actor_id: e.actor_id.to_string(),
        at: rfc3339(e.at),
        from_version: 0,
    }
}
