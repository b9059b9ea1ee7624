//! The users service's one error type, mapped once to gRPC status codes.

use folio_platform::actor::ActorError;
use folio_proto::{errors, users::v1::ErrorReason};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field} {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{}", .0.message())]
    AlreadyExists(Taken),
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
    #[error("another organisation signs in people of {0} already")]
    DomainTaken(String),
    #[error(
        "this is the last way to sign in: set a password or link another identity before \
         unlinking it"
    )]
    LastWayIn,
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

/// What another record already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Email,
    OrganisationName,
    /// A provider identity, linked by a first sign-in at the same moment.
    Identity,
}

impl Taken {
    fn message(self) -> &'static str {
        match self {
            Self::Email => "a user with this email already exists",
            Self::OrganisationName => "an organisation with this name already exists",
            Self::Identity => "the identity is linked already",
        }
    }
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
            Error::InvalidInput { field, reason } => errors::invalid(field, reason),
            Error::NotFound(what) => errors::not_found(what),
            Error::AlreadyExists(taken) => {
                let reason = match taken {
                    Taken::Email => ErrorReason::EmailTaken,
                    Taken::OrganisationName => ErrorReason::OrganisationTaken,
                    Taken::Identity => ErrorReason::IdentityLinked,
                };
                errors::refused(Code::AlreadyExists, taken.message(), reason, &[])
            }
            Error::PermissionDenied(_) => Status::permission_denied(error.to_string()),
            Error::WrongCredentials => errors::refused(
                Code::Unauthenticated,
                error.to_string(),
                ErrorReason::WrongCredentials,
                &[],
            ),
            Error::Actor(_) => Status::unauthenticated(error.to_string()),
            Error::LastAdmin => errors::refused(
                Code::FailedPrecondition,
                error.to_string(),
                ErrorReason::LastAdmin,
                &[],
            ),
            Error::FailedPrecondition(_) => Status::failed_precondition(error.to_string()),
            Error::DomainTaken(ref domain) => errors::refused(
                Code::AlreadyExists,
                error.to_string(),
                ErrorReason::DomainTaken,
                &[("domain", domain.clone())],
            ),
            Error::LastWayIn => errors::refused(
                Code::FailedPrecondition,
                error.to_string(),
                ErrorReason::LastWayIn,
                &[],
            ),
            Error::ProviderOnly => Status::permission_denied(error.to_string()),
            // Internal detail is logged here, once, and never sent.
            Error::Database(_) | Error::Hashing(_) | Error::Corrupt(_) | Error::Task(_) => {
                tracing::error!(%error, "internal error");
                Status::internal("internal error")
            }
        }
    }
}
