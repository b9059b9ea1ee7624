use uuid::Uuid;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    DocumentCreated,
    DocumentUpdated,
    DocumentDeleted,
    VersionAdded,
    TaskCreated,
    TaskUpdated,
    TaskDeleted,
    TaskPinned,
    TaskStale,
    TaskCarriedForward,
    TaskApproved,
    TaskRejected,
    RequestFulfilled,
    RequestAccepted,
    RequestRejected,
    VersionRestored,
    VersionLabelled,
    VersionRemoved,
    TaskCommented,
    TaskClosed,
    OneDriveSyncFailed,
    OneDriveSyncRecovered,
}

impl EventKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::DocumentCreated => "document_created",
            Self::DocumentUpdated => "document_updated",
            Self::DocumentDeleted => "document_deleted",
            Self::VersionAdded => "version_added",
            Self::TaskCreated => "task_created",
            Self::TaskUpdated => "task_updated",
            Self::TaskDeleted => "task_deleted",
            Self::TaskPinned => "task_pinned",
            Self::TaskStale => "task_stale",
            Self::TaskCarriedForward => "task_carried_forward",
            Self::TaskApproved => "task_approved",
            Self::TaskRejected => "task_rejected",
            Self::RequestFulfilled => "request_fulfilled",
            Self::RequestAccepted => "request_accepted",
            Self::RequestRejected => "request_rejected",
            Self::VersionRestored => "version_restored",
            Self::VersionLabelled => "version_labelled",
            Self::VersionRemoved => "version_removed",
            Self::TaskCommented => "task_commented",
            Self::TaskClosed => "task_closed",
            Self::OneDriveSyncFailed => "onedrive_sync_failed",
            Self::OneDriveSyncRecovered => "onedrive_sync_recovered",
        }
    }
    pub(crate) fn from_stored(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "document_created" => Self::DocumentCreated,
            "document_updated" => Self::DocumentUpdated,
            "document_deleted" => Self::DocumentDeleted,
            "version_added" => Self::VersionAdded,
            "task_created" => Self::TaskCreated,
            "task_updated" => Self::TaskUpdated,
            "task_deleted" => Self::TaskDeleted,
            "task_pinned" => Self::TaskPinned,
            "task_stale" => Self::TaskStale,
            "task_carried_forward" => Self::TaskCarriedForward,
            "task_approved" => Self::TaskApproved,
            "task_rejected" => Self::TaskRejected,
            "request_fulfilled" => Self::RequestFulfilled,
            "request_accepted" => Self::RequestAccepted,
            "request_rejected" => Self::RequestRejected,
            "version_restored" => Self::VersionRestored,
            "version_labelled" => Self::VersionLabelled,
            "version_removed" => Self::VersionRemoved,
            "task_commented" => Self::TaskCommented,
            "task_closed" => Self::TaskClosed,
            "onedrive_sync_failed" => Self::OneDriveSyncFailed,
            "onedrive_sync_recovered" => Self::OneDriveSyncRecovered,
            _ => return Err(Error::Corrupt("event kind")),
        })
    }
}

/// One entry of an organisation's change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    pub sequence: u64,
    pub org_id: Uuid,
    pub kind: EventKind,
    /// None only for a request that names no document yet.
    pub document_id: Option<Uuid>,
    pub version: Option<u32>,
    pub task_id: Option<Uuid>,
    /// The version before the change, for kinds that move between versions.
    pub from_version: Option<u32>,
    pub actor_id: Uuid,
    pub at: i64,
    /// Recorded by the integration (OneDrive events), else None.
    pub integration: Option<IntegrationNote>,
}

/// What the integration says of its connection in an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IntegrationNote {
    pub connection_id: Uuid,
    pub reason: String,
}

impl EventKind {
    /// The kinds the integration may record (RecordIntegrationEvent).
    pub(crate) fn is_integration(self) -> bool {
        matches!(self, Self::OneDriveSyncFailed | Self::OneDriveSyncRecovered)
    }
}

impl Event {
    pub(crate) fn new(
        kind: EventKind,
        org_id: Uuid,
        document_id: Uuid,
        actor_id: Uuid,
        at: i64,
    ) -> Self {
        Self {
            sequence: 0,
            org_id,
            kind,
            document_id: Some(document_id),
            version: None,
            task_id: None,
            from_version: None,
            actor_id,
            at,
            integration: None,
        }
    }
}
