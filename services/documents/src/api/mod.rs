//! The gRPC surface: who may call it, and the translation between the
//! contract's messages and the use cases.

mod convert;
mod grpc;
mod transfer;

use folio_platform::{grpc::CallerPolicy, identity::ServiceIdentity as Id};

pub(crate) use grpc::DocumentsApi;

pub(crate) const SERVICE: &str = "folio.documents.v1.DocumentsService";

/// Every RPC, each with the identities that may call it; an RPC missing here
/// is refused to everyone. The bff acts for users, on every RPC but the
/// integration's own events; the integration mirrors OneDrive and sends to
/// it: it adds and reads versions, reads a document and changes its tags
/// (the "removed in OneDrive" mark), deletes it, and nothing else (the
/// handlers narrow that further to OneDrive's documents, docs/adr/0042); it
/// alone records its own events (OneDrive sync failing, docs/adr/0068);
/// notifications only reads the event log and what it points at.
const BFF: [&str; 27] = [
    "GetDocument",
    "ListDocuments",
    "GetLibraryRevision",
    "UpdateDocument",
    "DeleteDocument",
    "UploadVersion",
    "ListVersions",
    "DownloadVersion",
    "CreateTask",
    "GetTask",
    "ListTasks",
    "UpdateTask",
    "DeleteTask",
    "ListEvents",
    "ShareWithOneDrive",
    "CarryForwardTask",
    "CloseTask",
    "DecideApproval",
    "ReviewRequest",
    "ListComments",
    "AddComment",
    "EditComment",
    "RestoreVersion",
    "LabelVersion",
    "GetRetention",
    "SetRetention",
    "ListMyTasks",
];
const INTEGRATION: [&str; 6] = [
    "UploadVersion",
    "DownloadVersion",
    "GetDocument",
    "UpdateDocument",
    "DeleteDocument",
    "RecordIntegrationEvent",
];
const NOTIFICATIONS: [&str; 4] = ["ListEvents", "GetTask", "GetDocument", "ListTasks"];

pub(crate) fn caller_policy() -> CallerPolicy {
    CallerPolicy::new()
        .allow_each(SERVICE, &BFF, &[Id::BFF])
        .allow_each(SERVICE, &INTEGRATION, &[Id::INTEGRATION])
        .allow_each(SERVICE, &NOTIFICATIONS, &[Id::NOTIFICATIONS])
}
