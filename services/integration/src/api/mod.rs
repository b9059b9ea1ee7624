//! The surfaces: gRPC for the bff, and the HTTP webhook Microsoft Graph
//! posts notifications to.

mod convert;
mod grpc;
pub mod webhook;

use folio_platform::{grpc::CallerPolicy, identity::ServiceIdentity as Id};

pub use grpc::IntegrationApi;

pub const SERVICE: &str = "folio.integration.v1.IntegrationService";

/// Every RPC, each allowed to the bff alone (it calls for people in the
/// portal); an RPC missing here is refused to everyone.
const RPCS: [&str; 8] = [
    "ConnectOneDrive",
    "ReplaceClientSecret",
    "GetConnection",
    "SyncNow",
    "DisconnectOneDrive",
    "SendToOneDrive",
    "ListConflicts",
    "DismissConflict",
];

pub fn caller_policy() -> CallerPolicy {
    CallerPolicy::new().allow_each(SERVICE, &RPCS, &[Id::BFF])
}
