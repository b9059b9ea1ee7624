//! What the REST API answers, built from the domain services' messages.

use folio_proto::{documents::v1 as docs, integration::v1 as onedrive, users::v1 as users};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub(crate) struct User {
    pub id: String,
    pub organisation_id: String,
    pub email: String,
    pub display_name: String,
    pub role: &'static str,
    pub disabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// An API token as its owner and admins see it: never its secret.
#[derive(Debug, Serialize)]
pub(crate) struct ApiToken {
    pub id: String,
    pub name: String,
    pub scope: &'static str,
    pub user_id: String,
    pub user_email: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
}

impl From<users::ApiToken> for ApiToken {
    fn from(t: users::ApiToken) -> Self {
        Self {
            scope: match users::ApiTokenScope::try_from(t.scope) {
                Ok(users::ApiTokenScope::Write) => "write",
                _ => "read",
            },
            id: t.id,
            name: t.name,
            user_id: t.user_id,
            user_email: t.user_email,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
        }
    }
}

/// The answer to creating a token: the only time its secret is shown.
#[derive(Debug, Serialize)]
pub(crate) struct CreatedApiToken {
    #[serde(flatten)]
    pub api_token: ApiToken,
    pub token: String,
}

impl TryFrom<users::CreateApiTokenResponse> for CreatedApiToken {
    type Error = crate::error::ApiError;

    fn try_from(created: users::CreateApiTokenResponse) -> Result<Self, Self::Error> {
        let token = created
            .token
            .ok_or_else(|| crate::error::ApiError::Internal("created token missing".into()))?;
        Ok(Self {
            api_token: ApiToken::from(token),
            token: created.secret,
        })
    }
}

pub(crate) fn role_name(role: i32) -> &'static str {
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
pub(crate) struct Version {
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
    pub label: Option<String>,
    pub restored_from: Option<u32>,
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
            label: non_empty(v.label),
            restored_from: (v.restored_from != 0).then_some(v.restored_from),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Document {
    pub id: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub current_version: u32,
    pub current: Option<Version>,
    pub approval: Option<Approval>,
}

/// Where the document stands with its newest approval.
#[derive(Debug, Serialize)]
pub(crate) struct Approval {
    pub version: u32,
    pub decision: Option<&'static str>,
    pub approver_id: Option<String>,
    pub decided_at: Option<String>,
}

fn decision_name(decision: i32) -> Option<&'static str> {
    match docs::Decision::try_from(decision) {
        Ok(docs::Decision::Approved) => Some("approved"),
        Ok(docs::Decision::Rejected) => Some("rejected"),
        Ok(docs::Decision::Unspecified) | Err(_) => None,
    }
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
            approval: d.approval.map(|a| Approval {
                version: a.version,
                decision: decision_name(a.decision),
                approver_id: non_empty(a.approver_id),
                decided_at: non_empty(a.decided_at),
            }),
        }
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

pub(crate) fn status_name(status: i32) -> &'static str {
    match docs::TaskStatus::try_from(status) {
        Ok(docs::TaskStatus::InProgress) => "in_progress",
        Ok(docs::TaskStatus::Done) => "done",
        Ok(docs::TaskStatus::Open | docs::TaskStatus::Unspecified) | Err(_) => "open",
    }
}

pub(crate) fn kind_name(kind: i32) -> &'static str {
    match docs::TaskKind::try_from(kind) {
        Ok(docs::TaskKind::Approval) => "approval",
        Ok(docs::TaskKind::Request) => "request",
        Ok(docs::TaskKind::Todo | docs::TaskKind::Unspecified) | Err(_) => "todo",
    }
}

/// What changed since the version a stale task is about.
#[derive(Debug, Serialize)]
pub(crate) struct Change {
    pub from_version: u32,
    pub to_version: u32,
    pub file_name: String,
    pub size: u64,
    pub note: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Task {
    pub id: String,
    pub document_id: Option<String>,
    pub kind: &'static str,
    pub version: Option<u32>,
    pub stale: bool,
    pub decision: Option<&'static str>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub current_version: Option<u32>,
    pub changed: Option<Change>,
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
        let changed = match (&t.latest, t.stale) {
            (Some(latest), true) => Some(Change {
                from_version: t.version,
                to_version: latest.number,
                file_name: latest.file_name.clone(),
                size: latest.size,
                note: latest.note.clone(),
                created_by: latest.created_by.clone(),
                created_at: latest.created_at.clone(),
            }),
            _ => None,
        };
        Self {
            status: status_name(t.status),
            id: t.id,
            document_id: non_empty(t.document_id),
            kind: kind_name(t.kind),
            version: (t.version != 0).then_some(t.version),
            stale: t.stale,
            decision: decision_name(t.decision),
            decided_by: non_empty(t.decided_by),
            decided_at: non_empty(t.decided_at),
            current_version: (t.current_version != 0).then_some(t.current_version),
            changed,
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
pub(crate) struct Event {
    pub sequence: u64,
    pub kind: &'static str,
    pub document_id: Option<String>,
    pub version: Option<u32>,
    pub from_version: Option<u32>,
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
                Ok(K::TaskPinned) => "task_pinned",
                Ok(K::TaskStale) => "task_stale",
                Ok(K::TaskCarriedForward) => "task_carried_forward",
                Ok(K::TaskApproved) => "task_approved",
                Ok(K::TaskRejected) => "task_rejected",
                Ok(K::RequestFulfilled) => "request_fulfilled",
                Ok(K::RequestAccepted) => "request_accepted",
                Ok(K::RequestRejected) => "request_rejected",
                Ok(K::VersionRestored) => "version_restored",
                Ok(K::VersionLabelled) => "version_labelled",
                Ok(K::VersionRemoved) => "version_removed",
                Ok(K::TaskCommented) => "task_commented",
                Ok(K::TaskClosed) => "task_closed",
                Ok(K::OnedriveSyncFailed) => "onedrive_sync_failed",
                Ok(K::OnedriveSyncRecovered) => "onedrive_sync_recovered",
            },
            sequence: e.sequence,
            document_id: non_empty(e.document_id),
            version: (e.version != 0).then_some(e.version),
            from_version: (e.from_version != 0).then_some(e.from_version),
            task_id: non_empty(e.task_id),
            actor_id: e.actor_id,
            at: e.at,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Comment {
    pub id: String,
    pub task_id: String,
    pub author_id: String,
    pub body: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<docs::Comment> for Comment {
    fn from(c: docs::Comment) -> Self {
        Self {
            id: c.id,
            task_id: c.task_id,
            author_id: c.author_id,
            body: c.body,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A request fulfilled by an upload: the request, and what the upload made.
#[derive(Debug, Serialize)]
pub(crate) struct TaskFulfilled {
    pub task: Task,
    pub document: Document,
    pub version: Version,
}

#[derive(Debug, Serialize)]
pub(crate) struct Retention {
    pub keep_last: Option<u32>,
    pub keep_days: Option<u32>,
}

impl From<docs::RetentionPolicy> for Retention {
    fn from(p: docs::RetentionPolicy) -> Self {
        Self {
            keep_last: p.keep_last,
            keep_days: p.keep_days,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page and the cursor of the next, which a service sends empty when
    /// there is none.
    pub(crate) fn new(items: impl IntoIterator<Item = T>, next_cursor: String) -> Self {
        Self {
            items: items.into_iter().collect(),
            next_cursor: (!next_cursor.is_empty()).then_some(next_cursor),
        }
    }
}

/// One of My tasks, with the group the documents service put it in.
#[derive(Debug, Serialize)]
pub(crate) struct MyTask {
    pub group: String,
    pub task: Task,
}

#[derive(Debug, Serialize)]
pub(crate) struct SessionView {
    pub user: User,
    pub csrf_token: String,
}

/// The password opened accounts in several organisations: sign in again
/// with one of these as `organisation_id`.
#[derive(Debug, Serialize)]
pub(crate) struct OrganisationChoice {
    pub organisations: Vec<OrganisationName>,
}

#[derive(Debug, Serialize)]
pub(crate) struct OrganisationName {
    pub id: String,
    pub name: String,
}

impl From<Vec<users::Organisation>> for OrganisationChoice {
    fn from(choices: Vec<users::Organisation>) -> Self {
        Self {
            organisations: choices
                .into_iter()
                .map(|o| OrganisationName {
                    id: o.id,
                    name: o.name,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct DocumentCreated {
    pub document: Document,
    pub version: Version,
}

#[derive(Debug, Serialize)]
pub(crate) struct VersionOutcome {
    pub document: Document,
    pub version: Version,
    pub created: bool,
}

/// An upload's document and version, which the documents service always sends.
fn uploaded(
    outcome: docs::UploadVersionResponse,
) -> Result<(Document, Version), crate::error::ApiError> {
    match (outcome.document, outcome.version) {
        (Some(document), Some(version)) => Ok((document.into(), version.into())),
        _ => Err(crate::error::ApiError::Internal(
            "upload answered without a document".into(),
        )),
    }
}

impl TryFrom<docs::UploadVersionResponse> for DocumentCreated {
    type Error = crate::error::ApiError;

    fn try_from(outcome: docs::UploadVersionResponse) -> Result<Self, Self::Error> {
        let (document, version) = uploaded(outcome)?;
        Ok(Self { document, version })
    }
}

impl TryFrom<docs::UploadVersionResponse> for VersionOutcome {
    type Error = crate::error::ApiError;

    fn try_from(outcome: docs::UploadVersionResponse) -> Result<Self, Self::Error> {
        let created = outcome.created;
        let (document, version) = uploaded(outcome)?;
        Ok(Self {
            document,
            version,
            created,
        })
    }
}

/// The organisation's OneDrive connection. The Graph coordinates (tenant,
/// app, drive, folder) and when the secret was entered are for admins only:
/// `null` for everyone else, whatever the integration sent.
#[derive(Debug, Serialize)]
pub(crate) struct OneDriveConnection {
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
    pub sync: OneDriveSyncProgress,
    pub skipped: OneDriveSkipped,
    pub lag: OneDriveLag,
    pub open_conflicts: u64,
}

/// How long a change in OneDrive takes to reach Folio (docs/adr/0043).
#[derive(Debug, Serialize)]
pub(crate) struct OneDriveLag {
    /// The last sync that applied notifications: from the oldest one's
    /// arrival to the end of its delta; `None` before the first.
    pub last_seconds: Option<f64>,
    /// How long the oldest notification still waiting has waited; 0 when none.
    pub current_seconds: f64,
}

fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// The current delta paging (or the last one).
#[derive(Debug, Serialize)]
pub(crate) struct OneDriveSyncProgress {
    pub in_progress: bool,
    pub items_seen: u64,
    pub items_mirrored: u64,
    pub items_skipped: u64,
}

/// Files the mirror does not take, and why (listed for admins only).
#[derive(Debug, Serialize)]
pub(crate) struct OneDriveSkipped {
    pub total: u64,
    pub items: Vec<OneDriveSkippedItem>,
}

#[derive(Debug, Serialize)]
pub(crate) struct OneDriveSkippedItem {
    pub item_id: String,
    pub name: String,
    pub reason: String,
    pub skipped_at: String,
}

impl OneDriveConnection {
    pub(crate) fn seen_by(c: onedrive::Connection, admin: bool) -> Self {
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
            sync: OneDriveSyncProgress {
                in_progress: c.sync_in_progress,
                items_seen: c.sync_items_seen,
                items_mirrored: c.sync_items_mirrored,
                items_skipped: c.sync_items_skipped,
            },
            skipped: OneDriveSkipped {
                total: c.skipped_total,
                items: c
                    .skipped_items
                    .into_iter()
                    .map(|s| OneDriveSkippedItem {
                        item_id: s.item_id,
                        name: s.name,
                        reason: s.reason,
                        skipped_at: s.skipped_at,
                    })
                    .collect(),
            },
            lag: OneDriveLag {
                last_seconds: c.last_sync_lag_ms.map(seconds),
                current_seconds: seconds(c.current_lag_ms),
            },
            open_conflicts: c.open_conflicts,
        }
    }
}

/// A send that found the OneDrive file changed: nothing was overwritten,
/// and OneDrive's change comes in as a version (docs/adr/0043).
#[derive(Debug, Serialize)]
pub(crate) struct OneDriveConflict {
    pub id: String,
    pub document_id: String,
    pub name: String,
    pub sent_version: u32,
    /// `None` while OneDrive's change has not come in, or when it changed
    /// no content (then `incoming_at` is set).
    pub incoming_version: Option<u32>,
    pub incoming_at: Option<String>,
    pub sent_by: String,
    pub sent_at: String,
}

impl From<onedrive::Conflict> for OneDriveConflict {
    fn from(c: onedrive::Conflict) -> Self {
        Self {
            id: c.id,
            document_id: c.document_id,
            name: c.name,
            sent_version: c.sent_version,
            incoming_version: (c.incoming_version > 0).then_some(c.incoming_version),
            incoming_at: non_empty(c.incoming_at),
            sent_by: c.sent_by,
            sent_at: c.sent_at,
        }
    }
}

/// The open conflicts (at most 100, newest first) and how many there are.
#[derive(Debug, Serialize)]
pub(crate) struct OneDriveConflicts {
    pub items: Vec<OneDriveConflict>,
    pub total: u64,
}

/// Where a version went in OneDrive.
#[derive(Debug, Serialize)]
pub(crate) struct SentToOneDrive {
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

/// `GET /api/v1/organisation/sign-in`: never the client secret.
#[derive(Debug, Serialize)]
pub(crate) struct SignInSettings {
    pub oidc: Option<OidcSettings>,
}

#[derive(Debug, Serialize)]
pub(crate) struct OidcSettings {
    /// `entra` or `oidc`.
    pub provider: &'static str,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub tenant_id: Option<String>,
    pub only_sso: bool,
    pub create_accounts: bool,
    pub default_role: &'static str,
    pub client_secret_set: bool,
    pub client_certificate_set: bool,
    pub updated_at: String,
    pub domains: Vec<String>,
}

impl From<users::SignInSettings> for SignInSettings {
    fn from(settings: users::SignInSettings) -> Self {
        let some = |s: String| Some(s).filter(|s| !s.is_empty());
        Self {
            oidc: settings.oidc.map(|o| OidcSettings {
                provider: if o.preset == i32::from(users::OidcPreset::Entra) {
                    "entra"
                } else {
                    "oidc"
                },
                issuer: some(o.issuer),
                client_id: some(o.client_id),
                tenant_id: some(o.tenant_id),
                only_sso: o.only_sso,
                create_accounts: o.create_accounts,
                default_role: role_name(o.default_role),
                client_secret_set: o.client_secret_set,
                client_certificate_set: o.client_certificate_set,
                updated_at: o.updated_at,
                domains: o.domains,
            }),
        }
    }
}

/// A provider identity linked to a person.
#[derive(Debug, Serialize)]
pub(crate) struct LinkedIdentity {
    pub id: String,
    pub issuer: String,
    pub subject: String,
    pub created_at: String,
    /// Of the provider the organisation signs in with now.
    pub current: bool,
}

impl From<users::OidcIdentity> for LinkedIdentity {
    fn from(i: users::OidcIdentity) -> Self {
        Self {
            id: i.identity_id,
            issuer: i.issuer,
            subject: i.subject,
            created_at: i.created_at,
            current: i.current,
        }
    }
}

/// `GET /api/v1/session/oidc`: whether and how the email's organisation
/// signs in with a provider.
#[derive(Debug, Serialize)]
pub(crate) struct ProviderAvailable {
    /// `entra` or `oidc`.
    pub provider: &'static str,
    /// Where the portal sends the browser to sign in.
    pub start: String,
}

impl ProviderAvailable {
    /// The start link for what was asked: the organisation's id, or the
    /// email as given (echoed, so it says nothing of accounts).
    pub(crate) fn start_link(asked: &users::FindOidcProviderRequest) -> String {
        const START: &str = "/api/v1/session/oidc/start";
        if asked.email.is_empty() {
            format!("{START}?organisation={}", asked.organisation_id)
        } else {
            let email = percent_encoding::utf8_percent_encode(
                &asked.email,
                percent_encoding::NON_ALPHANUMERIC,
            );
            format!("{START}?email={email}")
        }
    }

    pub(crate) fn new(provider: &users::OidcProvider, start: String) -> Self {
        let provider = if provider.preset == i32::from(users::OidcPreset::Entra) {
            "entra"
        } else {
            "oidc"
        };
        Self { provider, start }
    }
}
