//! The gRPC surface: who may call it, and the translation between the
//! contract's messages and the use cases.

mod convert;
mod grpc;
mod transfer;

use folio_platform::{grpc::CallerPolicy, identity::ServiceIdentity as Id};

pub use grpc::DocumentsApi;

pub const SERVICE: &str = "folio.documents.v1.DocumentsService";

/// The bff acts for users; the integration mirrors OneDrive; notifications
/// only reads the event log and what it points at.
pub fn caller_policy() -> CallerPolicy {
    let reads = ["ListEvents", "GetTask", "GetDocument", "ListTasks"];
    reads.into_iter().fold(
        CallerPolicy::new().allow_service(SERVICE, &[Id::BFF, Id::INTEGRATION]),
        |policy, method| policy.allow(SERVICE, method, &[Id::NOTIFICATIONS]),
    )
}
