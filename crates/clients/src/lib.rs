//! One typed client per internal contract, used by every caller (the bff,
//! the integration, documents, notifications, the test kit, `folio`).
//!
//! Each client owns what a call between services needs (docs/adr/0070): a
//! deadline per unary call ([`Policy`], settable), the message limit
//! ([`MAX_MESSAGE`], the contracts' one), the chunked upload and the
//! streamed download (cancelled when dropped), retries of idempotent reads
//! within a small budget, the trace (its channel is a [`TracedChannel`]),
//! and one typed error per contract decoded from the gRPC rich error model.
//! Methods are named after their RPCs.

mod call;
mod documents;
mod error;
mod integration;
mod notifications;
mod users;

use std::time::Duration;

pub use documents::{CHUNK, DocumentsClient, DocumentsError, Download, Upload};
pub use error::{CallError, FieldViolation};
pub use folio_platform::grpc::TracedChannel;
pub use integration::{IntegrationClient, IntegrationError};
pub use notifications::{NotificationsClient, NotificationsError};
pub use users::{UsersClient, UsersError};

pub use folio_proto::MAX_MESSAGE;

/// How a client calls: the deadline of each unary call (retries included),
/// and how many times an idempotent read is tried again when the service
/// is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub deadline: Duration,
    pub read_retries: u32,
}

impl Default for Policy {
    /// Long enough for an Argon2 hash under load, short enough that a
    /// stalled service answers a person within seconds.
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(10),
            read_retries: 2,
        }
    }
}
