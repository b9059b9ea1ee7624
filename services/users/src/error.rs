//! The users service's one error type, mapped once to gRPC status codes.

use folio_platform::actor::ActorError;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field} {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    AlreadyExists(&'static str),
    #[error("{0}")]
    PermissionDenied(&'static str),
    #[error("email or password is wrong")]
    WrongCredentials,
    #[error("the organisation must keep at least one enabled admin")]
    LastAdmin,
    #[error("this organisation signs in with its identity provider")]
    ProviderOnly,
    #[error("{0}")]
    FailedPrecondition(&'static str),
    #[error(transparent)]
    Actor(#[from] ActorError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("password hashing: {0}")]
    Hashing(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
    #[error("background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl Error {
    pub fn invalid(field: &'static str, reason: &str) -> Self {
        Self::InvalidInput {
            field,
            reason: reason.to_owned(),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidInput { .. } => Status::invalid_argument(error.to_string()),
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::AlreadyExists(_) => Status::already_exists(error.to_string()),
            Error::PermissionDenied(_) => Status::permission_denied(error.to_string()),
            Error::WrongCredentials | Error::Actor(_) => Status::unauthenticated(error.to_string()),
            Error::LastAdmin | Error::FailedPrecondition(_) => {
                Status::failed_precondition(error.to_string())
            }
            Error::ProviderOnly => Status::permission_denied(error.to_string()),
            // Internal detail is logged here, once, and never sent.
            Error::Database(_) | Error::Hashing(_) | Error::Corrupt(_) | Error::Task(_) => {
                tracing::error!(%error, "internal error");
                Status::internal("internal error")
            }
        }
    }
}
