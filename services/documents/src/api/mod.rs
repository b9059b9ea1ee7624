//! The gRPC surface: who may call it, and the translation between the
//! contract's messages and the use cases.

mod convert;
mod grpc;
mod transfer;

use folio_platform::{grpc::CallerPolicy, identity::ServiceIdentity as Id};

pub use grpc::DocumentsApi;

pub const SERVICE: &str = "folio.documents.v1.DocumentsService";

/// The bff acts for users, on every RPC; the integration mirrors OneDrive
/// and sends to it: it adds and reads versions, reads a document and changes
/// its tags (the "removed in OneDrive" mark), deletes it, and nothing else
/// (the handlers narrow that further to OneDrive's documents, docs/adr/0042);
/// it alone records its own events (OneDrive sync failing, docs/adr/0068);
/// notifications only reads the event log and what it points at.
pub fn caller_policy() -> CallerPolicy {
    let integration = [
        "UploadVersion",
        "DownloadVersion",
        "GetDocument",
        "UpdateDocument",
        "DeleteDocument",
        "RecordIntegrationEvent",
    ];
    let reads = ["ListEvents", "GetTask", "GetDocument", "ListTasks"];
    // The bff may call every RPC here; the handler of RecordIntegrationEvent
    // refuses every caller but the integration.
    let policy = integration.into_iter().fold(
        CallerPolicy::new().allow_service(SERVICE, &[Id::BFF]),
        |policy, method| policy.allow(SERVICE, method, &[Id::INTEGRATION]),
    );
    reads.into_iter().fold(policy, |policy, method| {
        policy.allow(SERVICE, method, &[Id::NOTIFICATIONS])
    })
}
