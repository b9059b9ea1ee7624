//! The integration service's one error type, mapped once to gRPC status codes.

use folio_platform::actor::ActorError;
use tonic::Status;

use crate::graph::GraphError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field} {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the organisation is already connected to OneDrive")]
    AlreadyConnected,
    #[error("{0}")]
    Precondition(String),
    #[error("the connection is busy with another operation; try again")]
    Busy,
    #[error("{0} is unavailable, try again")]
    Unavailable(&'static str),
    #[error("Graph asks to slow down; try again later")]
    Throttled,
    #[error(transparent)]
    Actor(#[from] ActorError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
    #[error("Graph: {0}")]
    Graph(GraphError),
    #[error("documents answered unexpectedly: {0}")]
    Documents(String),
}

impl Error {
    pub fn invalid(field: &'static str, reason: &str) -> Self {
        Self::InvalidInput {
            field,
            reason: reason.to_owned(),
        }
    }
}

/// The one answer for a drive or folder that cannot be connected, whether
/// Graph does not show it or another organisation holds it.
pub(crate) fn drive_refused() -> Error {
    Error::Precondition("the drive or folder does not exist in OneDrive".to_owned())
}

impl From<GraphError> for Error {
    /// What a caller of the API may be told about a Graph failure.
    fn from(error: GraphError) -> Self {
        match error {
            GraphError::Credentials(_) => Self::Precondition(
                "Microsoft Graph refused the app credentials (tenant, app id or secret)".to_owned(),
            ),
            GraphError::Throttled(_) => Self::Throttled,
            GraphError::NotFound => drive_refused(),
            GraphError::Refused { status: 403, .. } => Self::Precondition(
                "the app has no access to this drive in Microsoft Graph".to_owned(),
            ),
            // Graph judged what the caller gave (a drive id, a folder path).
            GraphError::Refused {
                status: status @ 400..=499,
                ..
            } => Self::Precondition(format!(
                "Microsoft Graph refused the drive or folder (HTTP {status})"
            )),
            GraphError::Unavailable(_) => Self::Unavailable("Microsoft Graph"),
            GraphError::Gone { .. } | GraphError::Refused { .. } | GraphError::Malformed(_) => {
                Self::Graph(error)
            }
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidInput { .. } => Status::invalid_argument(error.to_string()),
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::Forbidden(_) => Status::permission_denied(error.to_string()),
            Error::AlreadyConnected => Status::already_exists(error.to_string()),
            Error::Precondition(_) => Status::failed_precondition(error.to_string()),
            Error::Busy | Error::Unavailable(_) | Error::Throttled => {
                Status::unavailable(error.to_string())
            }
            Error::Actor(_) => Status::unauthenticated(error.to_string()),
            // Internal detail is logged here, once, and never sent.
            Error::Database(_) | Error::Corrupt(_) | Error::Graph(_) | Error::Documents(_) => {
                tracing::error!(%error, "internal error");
                Status::internal("internal error")
            }
        }
    }
}
