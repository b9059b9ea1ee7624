//! The gRPC surface for the bff.

mod grpc;

use folio_platform::{grpc::CallerPolicy, identity::ServiceIdentity as Id};

pub(crate) use grpc::NotificationsApi;

pub(crate) const SERVICE: &str = "folio.notifications.v1.NotificationsService";

/// Only the bff calls notifications (for people in the portal).
pub(crate) fn caller_policy() -> CallerPolicy {
    CallerPolicy::new().allow_service(SERVICE, &[Id::BFF])
}
