use uuid::Uuid;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    DocumentCreated,
    DocumentUpdated,
    DocumentDeleted,
    VersionAdded,
    TaskCreated,
    TaskUpdated,
    TaskDeleted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DocumentCreated => "document_created",
            Self::DocumentUpdated => "document_updated",
            Self::DocumentDeleted => "document_deleted",
            Self::VersionAdded => "version_added",
            Self::TaskCreated => "task_created",
            Self::TaskUpdated => "task_updated",
            Self::TaskDeleted => "task_deleted",
        }
    }
    pub fn from_stored(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "document_created" => Self::DocumentCreated,
            "document_updated" => Self::DocumentUpdated,
            "document_deleted" => Self::DocumentDeleted,
            "version_added" => Self::VersionAdded,
            "task_created" => Self::TaskCreated,
            "task_updated" => Self::TaskUpdated,
            "task_deleted" => Self::TaskDeleted,
            _ => return Err(Error::Corrupt("event kind")),
        })
    }
}

/// One entry of an organisation's change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub sequence: u64,
    pub org_id: Uuid,
    pub kind: EventKind,
    pub document_id: Uuid,
    pub version: Option<u32>,
    pub task_id: Option<Uuid>,
    pub actor_id: Uuid,
    pub at: i64,
}

impl Event {
    pub fn new(kind: EventKind, org_id: Uuid, document_id: Uuid, actor_id: Uuid, at: i64) -> Self {
        Self {
            sequence: 0,
            org_id,
            kind,
            document_id,
            version: None,
            task_id: None,
            actor_id,
            at,
        }
    }
}
