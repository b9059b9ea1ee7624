//! The bff's one error type, answered as an RFC 9457 problem document. gRPC
//! statuses from the domain services map back into it in one place.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use tonic::Code;

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
    #[error("the body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    #[error("expected {expected}")]
    UnsupportedMediaType { expected: &'static str },
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
    /// The integration's answers. ALREADY_EXISTS and FAILED_PRECONDITION have
    /// OneDrive meanings there (their messages are written for people); the
    /// other codes map as for every domain service.
    pub fn from_integration_status(status: &tonic::Status, resource: &'static str) -> Self {
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
        if let Self::RangeNotSatisfiable { size } = &self
            && let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}"))
        {
            headers.insert(header::CONTENT_RANGE, value);
        }
        response
    }
}
