//! The documents service's one error type, mapped once to gRPC status codes.

use folio_platform::actor::ActorError;
use folio_proto::{documents::v1::ErrorReason, errors};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field} {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("viewers cannot change documents or tasks")]
    ReadOnly,
    /// What the integration's identity may not do (docs/adr/0042).
    #[error("the integration may not do this: {0}")]
    NotForIntegration(&'static str),
    /// The task (or version) is not in a state that allows this.
    #[error("{0}")]
    State(String),
    /// Allowed for someone else (the assignee, the author), not the caller.
    #[error("{0}")]
    NotYours(&'static str),
    #[error("the content exceeds the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the range is outside the content ({size} bytes)")]
    RangeNotSatisfiable { size: u64 },
    #[error("the upload stream ended before the content was complete")]
    Interrupted,
    #[error("{0} is unavailable, try again")]
    Unavailable(&'static str),
    #[error(transparent)]
    Actor(#[from] ActorError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("blob store: {0}")]
    Blob(#[from] object_store::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
    #[error("users service answered unexpectedly: {0}")]
    Directory(String),
}

impl Error {
    pub fn invalid(field: &'static str, reason: &str) -> Self {
        Self::InvalidInput {
            field,
            reason: reason.to_owned(),
        }
    }

    pub fn state(reason: &str) -> Self {
        Self::State(reason.to_owned())
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidInput { field, reason } => errors::invalid(field, reason),
            Error::NotFound(what) => errors::not_found(what),
            Error::ReadOnly | Error::NotYours(_) | Error::NotForIntegration(_) => {
                Status::permission_denied(error.to_string())
            }
            Error::State(_) => errors::refused(
                Code::FailedPrecondition,
                error.to_string(),
                ErrorReason::InvalidState,
                &[],
            ),
            Error::TooLarge { limit } => errors::refused(
                Code::ResourceExhausted,
                error.to_string(),
                ErrorReason::TooLarge,
                &[(errors::LIMIT, limit.to_string())],
            ),
            Error::RangeNotSatisfiable { size } => errors::refused(
                Code::OutOfRange,
                error.to_string(),
                ErrorReason::RangeNotSatisfiable,
                &[(errors::SIZE, size.to_string())],
            ),
            Error::Interrupted => errors::refused(
                Code::Cancelled,
                error.to_string(),
                ErrorReason::UploadInterrupted,
                &[],
            ),
            Error::Unavailable(_) => Status::unavailable(error.to_string()),
            Error::Actor(_) => Status::unauthenticated(error.to_string()),
            // Internal detail is logged here, once, and never sent.
            Error::Database(_) | Error::Blob(_) | Error::Corrupt(_) | Error::Directory(_) => {
                tracing::error!(%error, "internal error");
                Status::internal("internal error")
            }
        }
    }
}
