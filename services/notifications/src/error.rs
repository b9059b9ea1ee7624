//! The notifications service's one error type, mapped once to gRPC status codes.

use folio_clients::CallError;
use folio_platform::actor::ActorError;
use folio_proto::errors::{self, Reason};
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field} {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} is unavailable, try again")]
    Unavailable(&'static str),
    #[error(transparent)]
    Actor(#[from] ActorError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
    #[error("{service} answered unexpectedly: {code:?}")]
    Upstream {
        service: &'static str,
        code: tonic::Code,
    },
}

impl Error {
    pub fn invalid(field: &'static str, reason: &str) -> Self {
        Self::InvalidInput {
            field,
            reason: reason.to_owned(),
        }
    }

    /// A failed call to another Folio service.
    pub fn upstream<R: Reason>(service: &'static str, error: &CallError<R>) -> Self {
        if matches!(
            error,
            CallError::Unavailable(_) | CallError::DeadlineExceeded
        ) {
            Self::Unavailable(service)
        } else {
            Self::Upstream {
                service,
                code: error.code(),
            }
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidInput { field, reason } => errors::invalid(field, reason),
            Error::NotFound(what) => errors::not_found(what),
            Error::Forbidden(_) => Status::permission_denied(error.to_string()),
            Error::Unavailable(_) => Status::unavailable(error.to_string()),
            Error::Actor(_) => Status::unauthenticated(error.to_string()),
            // Internal detail is logged here, once, and never sent.
            Error::Database(_) | Error::Corrupt(_) | Error::Upstream { .. } => {
                tracing::error!(%error, "internal error");
                Status::internal("internal error")
            }
        }
    }
}
