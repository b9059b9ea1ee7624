//! The surfaces: gRPC for the bff, and the HTTP webhook Microsoft Graph
//! posts notifications to.

mod convert;
mod grpc;
pub mod webhook;

use folio_platform::{grpc::CallerPolicy, identity::ServiceIdentity as Id};

pub use grpc::IntegrationApi;

pub const SERVICE: &str = "folio.integration.v1.IntegrationService";

/// Only the bff calls the integration (for people in the portal).
pub fn caller_policy() -> CallerPolicy {
    CallerPolicy::new().allow_service(SERVICE, &[Id::BFF])
}
