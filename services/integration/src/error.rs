//! The integration service's one error type, mapped once to gRPC status codes.

use std::time::Duration;

use folio_platform::actor::ActorError;
use folio_proto::{
    errors,
    integration::v1::{
        ErrorReason, ONEDRIVE_FAILURE_METADATA, OneDriveFailure, one_drive_failure::Cause,
    },
};
use prost::Message as _;
use tonic::{
    Code, Status,
    metadata::{MetadataMap, MetadataValue},
};

use crate::graph::GraphError;

/// What Graph's refusal or failure means for the person who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Graph cannot be reached or answers 5xx.
    Unavailable,
    /// Graph answered something we cannot use.
    Failed,
    /// The OneDrive file changed since we last saw it, or the name is taken.
    Conflict,
    /// Too large for OneDrive, or the drive is full.
    TooLarge,
    /// Graph throttles; retry after this long.
    Throttled(Duration),
}

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
    /// Microsoft Graph refused or failed; the text is for people.
    #[error("{detail}")]
    OneDrive { refusal: Refusal, detail: String },
    #[error(transparent)]
    Actor(#[from] ActorError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
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

    pub fn onedrive(refusal: Refusal, detail: impl Into<String>) -> Self {
        Self::OneDrive {
            refusal,
            detail: detail.into(),
        }
    }

    /// A Graph failure that is not about what the caller gave.
    fn graph_failure(error: &GraphError) -> Option<Self> {
        Some(match error {
            GraphError::Throttled(pause) => Self::onedrive(
                Refusal::Throttled(*pause),
                format!(
                    "Microsoft Graph is throttling this tenant; try again in {} s",
                    pause.as_secs_f64().ceil()
                ),
            ),
            GraphError::Unavailable(_) => Self::onedrive(
                Refusal::Unavailable,
                "Microsoft Graph is unreachable or failing; try again later",
            ),
            GraphError::Refused {
                status: 413 | 507, ..
            } => Self::onedrive(
                Refusal::TooLarge,
                "OneDrive refused the file as too large, or the drive has no room left",
            ),
            GraphError::Gone { .. } | GraphError::Malformed(_) => Self::onedrive(
                Refusal::Failed,
                "Microsoft Graph answered in a way Folio cannot use",
            ),
            GraphError::Credentials(_)
            | GraphError::Unauthorized
            | GraphError::NotFound
            | GraphError::Refused { .. } => return None,
        })
    }

    /// What a person sending a document may be told about a Graph failure.
    pub fn from_send(error: GraphError) -> Self {
        if let Some(failure) = Self::graph_failure(&error) {
            return failure;
        }
        match error {
            GraphError::Refused { status: 412, .. } => Self::onedrive(
                Refusal::Conflict,
                "the file changed in OneDrive since Folio last saw it, so nothing was \
                 overwritten; OneDrive's change comes in as a new version: review it and send again",
            ),
            GraphError::Refused { status: 409, .. } => Self::onedrive(
                Refusal::Conflict,
                "OneDrive has a conflicting item with this name; nothing was overwritten",
            ),
            GraphError::NotFound => Self::Precondition(
                "the connected folder or the mirrored file no longer exists in OneDrive".to_owned(),
            ),
            other @ (GraphError::Credentials(_)
            | GraphError::Throttled(_)
            | GraphError::Unauthorized
            | GraphError::Gone { .. }
            | GraphError::Refused { .. }
            | GraphError::Unavailable(_)
            | GraphError::Malformed(_)) => Self::from(other),
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
            GraphError::Throttled(_)
            | GraphError::Unavailable(_)
            | GraphError::Gone { .. }
            | GraphError::Malformed(_)
            | GraphError::Refused {
                status: 413 | 507, ..
            } => Self::graph_failure(&error)
                .unwrap_or_else(|| Self::onedrive(Refusal::Failed, "Microsoft Graph failed")),
            GraphError::Unauthorized => {
                Self::Precondition("Microsoft Graph refused the app's access token".to_owned())
            }
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
            GraphError::Refused { status, .. } => Self::onedrive(
                Refusal::Failed,
                format!("Microsoft Graph refused a request (HTTP {status})"),
            ),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidInput { field, reason } => errors::invalid(field, reason),
            Error::NotFound(what) => errors::not_found(what),
            Error::Forbidden(_) => Status::permission_denied(error.to_string()),
            Error::AlreadyConnected => errors::refused(
                Code::AlreadyExists,
                error.to_string(),
                ErrorReason::AlreadyConnected,
                &[],
            ),
            Error::Precondition(_) => errors::refused(
                Code::FailedPrecondition,
                error.to_string(),
                ErrorReason::OnedriveRefused,
                &[],
            ),
            Error::Busy => {
                errors::refused(Code::Unavailable, error.to_string(), ErrorReason::Busy, &[])
            }
            Error::Unavailable(_) => Status::unavailable(error.to_string()),
            Error::OneDrive { refusal, detail } => onedrive_status(refusal, detail),
            Error::Actor(_) => Status::unauthenticated(error.to_string()),
            // Internal detail is logged here, once, and never sent.
            Error::Database(_) | Error::Corrupt(_) | Error::Documents(_) => {
                tracing::error!(%error, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

/// A status naming Graph's refusal by its reason, and for callers of
/// earlier releases in its metadata too (see `OneDriveFailure`).
fn onedrive_status(refusal: Refusal, detail: String) -> Status {
    let (code, reason, cause, retry_after) = match refusal {
        Refusal::Unavailable => (
            Code::Unavailable,
            ErrorReason::GraphUnavailable,
            Cause::GraphUnavailable,
            0,
        ),
        Refusal::Failed => (
            Code::Unavailable,
            ErrorReason::GraphFailed,
            Cause::GraphFailed,
            0,
        ),
        Refusal::Conflict => (
            Code::Aborted,
            ErrorReason::OnedriveConflict,
            Cause::Conflict,
            0,
        ),
        Refusal::TooLarge => (
            Code::ResourceExhausted,
            ErrorReason::OnedriveTooLarge,
            Cause::TooLarge,
            0,
        ),
        Refusal::Throttled(pause) => (
            Code::Unavailable,
            ErrorReason::GraphThrottled,
            Cause::Throttled,
            u32::try_from(pause.as_secs_f64().ceil() as u64)
                .unwrap_or(u32::MAX)
                .max(1),
        ),
    };
    let failure = OneDriveFailure {
        cause: cause.into(),
        retry_after_seconds: retry_after,
    };
    let mut metadata = MetadataMap::new();
    metadata.insert_bin(
        ONEDRIVE_FAILURE_METADATA,
        MetadataValue::from_bytes(&failure.encode_to_vec()),
    );
    let facts = if retry_after > 0 {
        vec![(errors::RETRY_AFTER_SECONDS, retry_after.to_string())]
    } else {
        vec![]
    };
    errors::refused_with(code, detail, reason, &facts, metadata)
}
