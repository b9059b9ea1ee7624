//! The bff's one error type, answered as an RFC 9457 problem document. gRPC
//! statuses from the domain services map back into it in one place.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use folio_proto::integration::v1::{
    ONEDRIVE_FAILURE_METADATA, OneDriveFailure, one_drive_failure::Cause,
};
use prost::Message as _;
use serde::Serialize;
use tonic::Code;

/// What Microsoft Graph did to a send or connect, as the integration names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphRefusal {
    /// Graph cannot be reached, fails, or answers something unusable.
    Failed,
    /// The OneDrive file changed meanwhile, or the name is taken.
    Conflict,
    /// Too large for OneDrive, or the drive is full.
    TooLarge,
    /// Graph throttles the tenant for this many seconds.
    Throttled(u32),
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Malformed(String),
    #[error("{}", .0.first().map_or("invalid input", |e| e.message.as_str()))]
    Validation(Vec<FieldError>),
    #[error("sign in first")]
    Unauthenticated,
    #[error("the email or password is wrong")]
    InvalidCredentials,
    #[error("the current password is wrong")]
    CurrentPasswordIncorrect,
    #[error("the X-CSRF-Token header is missing or does not match the session")]
    CsrfFailed,
    #[error("your role does not allow this")]
    Forbidden,
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    #[error("another user of this organisation already has this email")]
    EmailTaken,
    #[error("the organisation must keep at least one enabled admin")]
    LastAdmin,
    #[error("the organisation is already connected to OneDrive")]
    OneDriveConnected,
    /// OneDrive (or Microsoft Graph) cannot do what was asked; the text is
    /// the integration's explanation, written for people and free of secrets.
    #[error("{0}")]
    OneDriveRefused(String),
    /// The task or version is not in a state that allows this; the text is
    /// the documents service's explanation, written for people.
    #[error("{0}")]
    NotNow(String),
    /// Microsoft Graph refused or failed the request; the text is the
    /// integration's, written for people.
    #[error("{detail}")]
    Graph {
        refusal: GraphRefusal,
        detail: String,
    },
    #[error("the body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    #[error("expected {expected}")]
    UnsupportedMediaType { expected: &'static str },
    /// The organisation's people sign in with its identity provider.
    #[error(
        "this organisation signs in with its identity provider: use \"Sign in with your organisation\""
    )]
    ProviderSignInOnly,
    /// A sign-in with a provider got no session; the text says why.
    #[error("{0}")]
    SignInRefused(String),
    #[error("the identity provider cannot be reached or failed; try again later")]
    ProviderUnavailable,
    /// Sign-in with a provider is not possible as configured; the text is
    /// the users service's explanation, written for people.
    #[error("{0}")]
    ProviderSignIn(String),
    #[error("the range lies outside the content ({size} bytes)")]
    RangeNotSatisfiable { size: u64 },
    #[error("too many attempts; try again in {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    #[error("{0} is unavailable; try again later")]
    Unavailable(&'static str),
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::Malformed(_) => (
                StatusCode::BAD_REQUEST,
                "malformed-request",
                "Malformed request",
            ),
            Self::Validation(_) => (
                StatusCode::BAD_REQUEST,
                "validation-failed",
                "Invalid input",
            ),
            Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", "Not signed in"),
            Self::InvalidCredentials => (
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "Sign-in refused",
            ),
            Self::CurrentPasswordIncorrect => (
                StatusCode::FORBIDDEN,
                "current-password-incorrect",
                "Current password incorrect",
            ),
            Self::CsrfFailed => (StatusCode::FORBIDDEN, "csrf-failed", "CSRF check failed"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Self::EmailTaken => (StatusCode::CONFLICT, "email-taken", "Email taken"),
            Self::LastAdmin => (StatusCode::CONFLICT, "last-admin", "Last admin"),
            Self::OneDriveConnected => (
                StatusCode::CONFLICT,
                "onedrive-connected",
                "Already connected",
            ),
            Self::OneDriveRefused(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "onedrive-refused",
                "OneDrive refused",
            ),
            Self::NotNow(_) => (StatusCode::CONFLICT, "not-now", "Not possible now"),
            Self::Graph { refusal, .. } => match refusal {
                GraphRefusal::Failed => (
                    StatusCode::BAD_GATEWAY,
                    "onedrive-unavailable",
                    "Microsoft Graph failed",
                ),
                GraphRefusal::Conflict => (
                    StatusCode::CONFLICT,
                    "onedrive-conflict",
                    "Changed in OneDrive",
                ),
                GraphRefusal::TooLarge => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "onedrive-too-large",
                    "Too large for OneDrive",
                ),
                GraphRefusal::Throttled(_) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "onedrive-throttled",
                    "Microsoft Graph throttles",
                ),
            },
            Self::ProviderSignInOnly => (
                StatusCode::FORBIDDEN,
                "provider-sign-in-only",
                "Sign in with your organisation",
            ),
            Self::SignInRefused(_) => (
                StatusCode::UNAUTHORIZED,
                "sign-in-refused",
                "Sign-in refused",
            ),
            Self::ProviderUnavailable => (
                StatusCode::BAD_GATEWAY,
                "provider-unavailable",
                "Identity provider unavailable",
            ),
            Self::ProviderSignIn(_) => (
                StatusCode::CONFLICT,
                "provider-sign-in",
                "Sign-in with a provider not possible",
            ),
            Self::PayloadTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            Self::UnsupportedMediaType { .. } => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Self::RangeNotSatisfiable { .. } => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range-not-satisfiable",
                "Range not satisfiable",
            ),
            Self::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many attempts",
            ),
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service-unavailable",
                "Service unavailable",
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }

    /// Maps a domain service's answer. Codes whose meaning depends on the
    /// call (UNAUTHENTICATED, ALREADY_EXISTS, FAILED_PRECONDITION) are
    /// interpreted by the caller before this; here they are the general case.
    pub fn from_status(status: &tonic::Status, resource: &'static str) -> Self {
        match status.code() {
            Code::InvalidArgument => Self::invalid(
                status.message().split(' ').next().unwrap_or("input"),
                status.message(),
            ),
            Code::NotFound => Self::NotFound(resource),
            Code::PermissionDenied => Self::Forbidden,
            Code::AlreadyExists => Self::EmailTaken,
            Code::FailedPrecondition => Self::LastAdmin,
            Code::ResourceExhausted => Self::PayloadTooLarge {
                limit: status
                    .message()
                    .split_whitespace()
                    .find_map(|w| w.parse().ok())
                    .unwrap_or(0),
            },
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                Self::Unavailable("a Folio service")
            }
            Code::OutOfRange => Self::RangeNotSatisfiable { size: 0 },
            Code::Ok
            | Code::Unknown
            | Code::Aborted
            | Code::Unimplemented
            | Code::Internal
            | Code::DataLoss
            | Code::Unauthenticated => {
                Self::Internal(format!("{:?}: {}", status.code(), status.message()))
            }
        }
    }
}

impl ApiError {
    /// The documents service's answers for work on versions: FAILED_PRECONDITION
    /// means the task or version is not in a state for this (its message
    /// says why); the other codes map as for every domain service.
    pub fn from_documents_status(status: &tonic::Status, resource: &'static str) -> Self {
        if status.code() == Code::FailedPrecondition {
            Self::NotNow(status.message().to_owned())
        } else {
            Self::from_status(status, resource)
        }
    }

    /// The integration's answers. ALREADY_EXISTS and FAILED_PRECONDITION have
    /// OneDrive meanings there (their messages are written for people); the
    /// other codes map as for every domain service.
    pub fn from_integration_status(status: &tonic::Status, resource: &'static str) -> Self {
        if let Some(refusal) = graph_refusal(status) {
            return Self::Graph {
                refusal,
                detail: status.message().to_owned(),
            };
        }
        match status.code() {
            Code::AlreadyExists => Self::OneDriveConnected,
            Code::FailedPrecondition => Self::OneDriveRefused(status.message().to_owned()),
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                Self::Unavailable("the OneDrive integration")
            }
            Code::Ok
            | Code::InvalidArgument
            | Code::NotFound
            | Code::PermissionDenied
            | Code::ResourceExhausted
            | Code::OutOfRange
            | Code::Unknown
            | Code::Aborted
            | Code::Unimplemented
            | Code::Internal
            | Code::DataLoss
            | Code::Unauthenticated => Self::from_status(status, resource),
        }
    }
}

/// The integration's `OneDriveFailure`, when the status carries one.
fn graph_refusal(status: &tonic::Status) -> Option<GraphRefusal> {
    let raw = status.metadata().get_bin(ONEDRIVE_FAILURE_METADATA)?;
    let failure = OneDriveFailure::decode(raw.to_bytes().ok()?.as_ref()).ok()?;
    Some(match failure.cause() {
        Cause::GraphUnavailable | Cause::GraphFailed => GraphRefusal::Failed,
        Cause::Conflict => GraphRefusal::Conflict,
        Cause::TooLarge => GraphRefusal::TooLarge,
        Cause::Throttled => GraphRefusal::Throttled(failure.retry_after_seconds.max(1)),
        Cause::Unspecified => return None,
    })
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title) = self.parts();
        let detail = match &self {
            // Logged once, here; the caller sees no internals.
            Self::Internal(what) => {
                tracing::error!(error = %what, "internal error");
                "something went wrong on our side".to_owned()
            }
            Self::Unavailable(_) => {
                tracing::warn!(error = %self, "dependency unavailable");
                self.to_string()
            }
            Self::Malformed(_)
            | Self::Validation(_)
            | Self::Unauthenticated
            | Self::InvalidCredentials
            | Self::CurrentPasswordIncorrect
            | Self::CsrfFailed
            | Self::Forbidden
            | Self::NotFound(_)
            | Self::MethodNotAllowed
            | Self::EmailTaken
            | Self::LastAdmin
            | Self::OneDriveConnected
            | Self::OneDriveRefused(_)
            | Self::NotNow(_)
            | Self::Graph { .. }
            | Self::ProviderSignInOnly
            | Self::SignInRefused(_)
            | Self::ProviderUnavailable
            | Self::ProviderSignIn(_)
            | Self::PayloadTooLarge { .. }
            | Self::UnsupportedMediaType { .. }
            | Self::RangeNotSatisfiable { .. }
            | Self::RateLimited { .. } => self.to_string(),
        };
        let body = Problem {
            kind: format!("https://folio.dev/problems/{kind}"),
            title,
            status: status.as_u16(),
            detail,
            errors: if let Self::Validation(errors) = &self {
                Some(errors)
            } else {
                None
            },
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, json).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Self::RateLimited { retry_after } = &self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if let Self::Graph {
            refusal: GraphRefusal::Throttled(seconds),
            ..
        } = &self
        {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*seconds));
        }
        if let Self::RangeNotSatisfiable { size } = &self
            && let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}"))
        {
            headers.insert(header::CONTENT_RANGE, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: Code, cause: Cause, retry_after: u32) -> tonic::Status {
        let failure = OneDriveFailure {
            cause: cause.into(),
            retry_after_seconds: retry_after,
        };
        let mut metadata = tonic::metadata::MetadataMap::new();
        metadata.insert_bin(
            ONEDRIVE_FAILURE_METADATA,
            tonic::metadata::MetadataValue::from_bytes(&failure.encode_to_vec()),
        );
        tonic::Status::with_metadata(code, "what Graph did", metadata)
    }

    #[test]
    fn graph_refusals_become_their_problems() {
        for (code, cause, retry, http, kind) in [
            (
                Code::Unavailable,
                Cause::GraphUnavailable,
                0,
                502,
                "onedrive-unavailable",
            ),
            (
                Code::Unavailable,
                Cause::GraphFailed,
                0,
                502,
                "onedrive-unavailable",
            ),
            (Code::Aborted, Cause::Conflict, 0, 409, "onedrive-conflict"),
            (
                Code::ResourceExhausted,
                Cause::TooLarge,
                0,
                413,
                "onedrive-too-large",
            ),
            (
                Code::Unavailable,
                Cause::Throttled,
                9,
                429,
                "onedrive-throttled",
            ),
        ] {
            let error = ApiError::from_integration_status(&status(code, cause, retry), "x");
            assert_eq!(error.parts().0.as_u16(), http, "{cause:?}");
            assert_eq!(error.parts().1, kind);
            assert_eq!(error.to_string(), "what Graph did");
            let response = error.into_response();
            assert_eq!(
                response.headers().get(header::RETRY_AFTER).is_some(),
                retry > 0,
                "{cause:?}"
            );
        }
        // Without the metadata the code decides, as before.
        let plain = ApiError::from_integration_status(&tonic::Status::unavailable("down"), "x");
        assert_eq!(plain.parts().0, StatusCode::SERVICE_UNAVAILABLE);
        // A cause this bff does not know is not trusted.
        let unknown = status(Code::Unavailable, Cause::Unspecified, 0);
        assert_eq!(
            ApiError::from_integration_status(&unknown, "x").parts().0,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
