//! The gRPC surface for the bff.

mod grpc;

use folio_platform::{grpc::CallerPolicy, identity::ServiceIdentity as Id};

pub use grpc::NotificationsApi;

pub const SERVICE: &str = "folio.notifications.v1.NotificationsService";

/// Only the bff calls notifications (for people in the portal).
pub fn caller_policy() -> CallerPolicy {
    CallerPolicy::new().allow_service(SERVICE, &[Id::BFF])
}
