//! What the REST API answers, built from the domain services' messages.

use folio_proto::{documents::v1 as docs, integration::v1 as onedrive, users::v1 as users};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct User {
    pub id: String,
    pub organisation_id: String,
    pub email: String,
    pub display_name: String,
    pub role: &'static str,
    pub disabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

pub fn role_name(role: i32) -> &'static str {
    match users::Role::try_from(role) {
        Ok(users::Role::Admin) => "admin",
        Ok(users::Role::Editor) => "editor",
        Ok(users::Role::Viewer | users::Role::Unspecified) | Err(_) => "viewer",
    }
}

impl From<users::User> for User {
    fn from(u: users::User) -> Self {
        Self {
            role: role_name(u.role),
            id: u.id,
            organisation_id: u.organisation_id,
            email: u.email,
            display_name: u.display_name,
            disabled: u.disabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Version {
    pub document_id: String,
    pub number: u32,
    pub file_name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
    pub source: &'static str,
    pub created_by: String,
    pub created_at: String,
    pub note: String,
}

impl From<docs::Version> for Version {
    fn from(v: docs::Version) -> Self {
        Self {
            source: match docs::VersionSource::try_from(v.source) {
                Ok(docs::VersionSource::Onedrive) => "onedrive",
                Ok(docs::VersionSource::Upload | docs::VersionSource::Unspecified) | Err(_) => {
                    "upload"
                }
            },
            document_id: v.document_id,
            number: v.number,
            file_name: v.file_name,
            media_type: v.media_type,
            size: v.size,
            sha256: v.sha256,
            created_by: v.created_by,
            created_at: v.created_at,
            note: v.note,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Document {
    pub id: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub current_version: u32,
    pub current: Option<Version>,
}

impl From<docs::Document> for Document {
    fn from(d: docs::Document) -> Self {
        Self {
            id: d.id,
            title: d.title,
            description: d.description,
            tags: d.tags,
            created_by: d.created_by,
            created_at: d.created_at,
            updated_at: d.updated_at,
            current_version: d.current_version,
            current: d.current.map(Version::from),
        }
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

pub fn status_name(status: i32) -> &'static str {
    match docs::TaskStatus::try_from(status) {
        Ok(docs::TaskStatus::InProgress) => "in_progress",
        Ok(docs::TaskStatus::Done) => "done",
        Ok(docs::TaskStatus::Open | docs::TaskStatus::Unspecified) | Err(_) => "open",
    }
}

#[derive(Debug, Serialize)]
pub struct Task {
    pub id: String,
    pub document_id: String,
    pub title: String,
    pub description: String,
    pub status: &'static str,
    pub assignee_id: Option<String>,
    pub due_date: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
}

impl From<docs::Task> for Task {
    fn from(t: docs::Task) -> Self {
        Self {
            status: status_name(t.status),
            id: t.id,
            document_id: t.document_id,
            title: t.title,
            description: t.description,
            assignee_id: non_empty(t.assignee_id),
            due_date: non_empty(t.due_date),
            created_by: t.created_by,
            created_at: t.created_at,
            updated_at: t.updated_at,
            completed_at: non_empty(t.completed_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Event {
    pub sequence: u64,
    pub kind: &'static str,
    pub document_id: String,
    pub version: Option<u32>,
    pub task_id: Option<String>,
    pub actor_id: String,
    pub at: String,
}

impl From<docs::Event> for Event {
    fn from(e: docs::Event) -> Self {
        use docs::EventKind as K;
        Self {
            kind: match K::try_from(e.kind) {
                Ok(K::DocumentCreated | K::Unspecified) | Err(_) => "document_created",
                Ok(K::DocumentUpdated) => "document_updated",
                Ok(K::DocumentDeleted) => "document_deleted",
                Ok(K::VersionAdded) => "version_added",
                Ok(K::TaskCreated) => "task_created",
                Ok(K::TaskUpdated) => "task_updated",
                Ok(K::TaskDeleted) => "task_deleted",
            },
            sequence: e.sequence,
            document_id: e.document_id,
            version: (e.version != 0).then_some(e.version),
            task_id: non_empty(e.task_id),
            actor_id: e.actor_id,
            at: e.at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub user: User,
    pub csrf_token: String,
}

#[derive(Debug, Serialize)]
pub struct DocumentCreated {
    pub document: Document,
    pub version: Version,
}

#[derive(Debug, Serialize)]
pub struct VersionOutcome {
    pub document: Document,
    pub version: Version,
    pub created: bool,
}

/// The organisation's OneDrive connection. The Graph coordinates (tenant,
/// app, drive, folder) and when the secret was entered are for admins only:
/// `null` for everyone else, whatever the integration sent.
#[derive(Debug, Serialize)]
pub struct OneDriveConnection {
    pub id: String,
    pub tenant_id: Option<String>,
    pub app_id: Option<String>,
    pub drive_id: Option<String>,
    pub folder_id: Option<String>,
    pub client_secret_set_at: Option<String>,
    pub state: &'static str,
    pub subscription_expires_at: Option<String>,
    pub last_sync_at: Option<String>,
    pub documents_mirrored: u64,
    pub last_error: Option<String>,
    pub paused_until: Option<String>,
    pub connected_by: String,
    pub connected_at: String,
}

impl OneDriveConnection {
    pub fn seen_by(c: onedrive::Connection, admin: bool) -> Self {
        let coordinate = |value: String| if admin { non_empty(value) } else { None };
        Self {
            state: match onedrive::ConnectionState::try_from(c.state) {
                Ok(onedrive::ConnectionState::Active) => "active",
                Ok(onedrive::ConnectionState::Error) => "error",
                Ok(onedrive::ConnectionState::Throttled) => "throttled",
                Ok(onedrive::ConnectionState::Pending | onedrive::ConnectionState::Unspecified)
                | Err(_) => "pending",
            },
            id: c.id,
            tenant_id: coordinate(c.tenant_id),
            app_id: coordinate(c.app_id),
            drive_id: coordinate(c.drive_id),
            folder_id: coordinate(c.folder_id),
            client_secret_set_at: coordinate(c.client_secret_set_at),
            subscription_expires_at: non_empty(c.subscription_expires_at),
            last_sync_at: non_empty(c.last_sync_at),
            documents_mirrored: c.documents_mirrored,
            last_error: non_empty(c.last_error),
            paused_until: non_empty(c.paused_until),
            connected_by: c.connected_by,
            connected_at: c.connected_at,
        }
    }
}

/// Where a version went in OneDrive.
#[derive(Debug, Serialize)]
pub struct SentToOneDrive {
    pub item_id: String,
    pub name: String,
    pub size: u64,
    pub chunked: bool,
}

impl From<onedrive::SendToOneDriveResponse> for SentToOneDrive {
    fn from(r: onedrive::SendToOneDriveResponse) -> Self {
        Self {
            item_id: r.item_id,
            name: r.name,
            size: r.size,
            chunked: r.chunked,
        }
    }
}
