//! The documents service's one error type, mapped once to gRPC status codes.

use folio_platform::actor::ActorError;
use tonic::Status;

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
            Error::InvalidInput { .. } => Status::invalid_argument(error.to_string()),
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::ReadOnly | Error::NotYours(_) | Error::NotForIntegration(_) => {
                Status::permission_denied(error.to_string())
            }
            Error::State(_) => Status::failed_precondition(error.to_string()),
            Error::TooLarge { .. } => Status::resource_exhausted(error.to_string()),
            Error::RangeNotSatisfiable { .. } => Status::out_of_range(error.to_string()),
            Error::Interrupted => Status::cancelled(error.to_string()),
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
