//! One error type per contract, decoded once from the rich error model
//! (`folio_proto::errors`): callers decide on its variants, reasons and
//! metadata, never on a message's text.

use std::collections::HashMap;

use folio_proto::errors::Reason;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

/// A field the service refused, and why (for people).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// What a call to the contract whose reasons are `R` failed with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError<R> {
    /// INVALID_ARGUMENT: the fields refused (empty if the service named none).
    #[error("invalid input: {message}")]
    Invalid {
        violations: Vec<FieldViolation>,
        message: String,
    },
    /// NOT_FOUND, with the kind of resource the service names (`ResourceInfo`).
    #[error("{resource} not found")]
    NotFound { resource: String },
    /// A refusal for one of the contract's stable reasons (`ErrorInfo`);
    /// `message` is for people.
    #[error("{message}")]
    Refused {
        reason: R,
        code: Code,
        message: String,
        metadata: HashMap<String, String>,
    },
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The call's deadline passed (the service stalled, or is overloaded).
    #[error("the deadline passed")]
    DeadlineExceeded,
    /// The service cannot be reached, or ended the call.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything else (INTERNAL, UNIMPLEMENTED, …): for the log, not for people.
    #[error("{code:?}: {message}")]
    Failed { code: Code, message: String },
}

impl<R: Reason> CallError<R> {
    /// The stable reason, if the service named one this release knows.
    pub fn reason(&self) -> Option<R> {
        match self {
            Self::Refused { reason, .. } => Some(*reason),
            Self::Invalid { .. }
            | Self::NotFound { .. }
            | Self::PermissionDenied(_)
            | Self::Unauthenticated(_)
            | Self::DeadlineExceeded
            | Self::Unavailable(_)
            | Self::Failed { .. } => None,
        }
    }

    /// A number the refusal carries as metadata (e.g. `errors::LIMIT`).
    pub fn number(&self, key: &str) -> Option<u64> {
        match self {
            Self::Refused { metadata, .. } => metadata.get(key)?.parse().ok(),
            Self::Invalid { .. }
            | Self::NotFound { .. }
            | Self::PermissionDenied(_)
            | Self::Unauthenticated(_)
            | Self::DeadlineExceeded
            | Self::Unavailable(_)
            | Self::Failed { .. } => None,
        }
    }

    /// The gRPC code the call ended with.
    pub fn code(&self) -> Code {
        match self {
            Self::Invalid { .. } => Code::InvalidArgument,
            Self::NotFound { .. } => Code::NotFound,
            Self::Refused { code, .. } | Self::Failed { code, .. } => *code,
            Self::PermissionDenied(_) => Code::PermissionDenied,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::DeadlineExceeded => Code::DeadlineExceeded,
            Self::Unavailable(_) => Code::Unavailable,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Whether trying the same read again may succeed: the service was not
    /// reached, or went away mid-call.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl<R: Reason> From<Status> for CallError<R> {
    fn from(status: Status) -> Self {
        let details = status.get_error_details();
        if let Some(info) = details.error_info()
            && info.domain == R::DOMAIN
            && let Some(reason) = R::from_name(&info.reason)
        {
            return Self::Refused {
                reason,
                code: status.code(),
                message: status.message().to_owned(),
                metadata: info.metadata.clone(),
            };
        }
        let message = status.message().to_owned();
        match status.code() {
            Code::InvalidArgument => Self::Invalid {
                violations: details
                    .bad_request()
                    .map(|b| {
                        b.field_violations
                            .iter()
                            .map(|v| FieldViolation {
                                field: v.field.clone(),
                                description: v.description.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                message,
            },
            Code::NotFound => Self::NotFound {
                resource: details
                    .resource_info()
                    .map(|r| r.resource_type.clone())
                    .unwrap_or_default(),
            },
            Code::PermissionDenied => Self::PermissionDenied(message),
            Code::Unauthenticated => Self::Unauthenticated(message),
            Code::DeadlineExceeded => Self::DeadlineExceeded,
            Code::Unavailable | Code::Cancelled => Self::Unavailable(message),
            code @ (Code::Ok
            | Code::Unknown
            | Code::AlreadyExists
            | Code::ResourceExhausted
            | Code::FailedPrecondition
            | Code::Aborted
            | Code::OutOfRange
            | Code::Unimplemented
            | Code::Internal
            | Code::DataLoss) => Self::Failed { code, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use folio_proto::{errors, users::v1::ErrorReason};

    use super::*;

    type UsersError = CallError<ErrorReason>;

    #[test]
    fn decodes_each_detail() {
        let taken = UsersError::from(errors::refused(
            Code::AlreadyExists,
            "taken",
            ErrorReason::EmailTaken,
            &[],
        ));
        assert_eq!(taken.reason(), Some(ErrorReason::EmailTaken));
        let invalid = UsersError::from(errors::invalid("email", "is not an address"));
        assert!(matches!(
            invalid,
            CallError::Invalid { ref violations, .. }
                if violations == &[FieldViolation { field: "email".into(), description: "is not an address".into() }]
        ));
        let missing = UsersError::from(errors::not_found("user"));
        assert!(matches!(missing, CallError::NotFound { ref resource } if resource == "user"));
    }

    #[test]
    fn another_contracts_reason_is_not_trusted() {
        let theirs = errors::refused(
            Code::ResourceExhausted,
            "too large",
            folio_proto::documents::v1::ErrorReason::TooLarge,
            &[(errors::LIMIT, "5".into())],
        );
        let error = UsersError::from(theirs);
        assert!(error.reason().is_none());
        assert!(matches!(
            error,
            CallError::Failed {
                code: Code::ResourceExhausted,
                ..
            }
        ));
    }
}
