//! The bff's one error type, answered as an RFC 9457 problem document. gRPC
//! statuses from the domain services map back into it in one place.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use folio_clients::CallError;
use folio_proto::{
    documents::v1 as documents,
    errors::{self, Reason},
    integration::v1 as integration,
    notifications::v1 as notifications,
    users::v1 as users,
};
use serde::Serialize;

/// What Microsoft Graph did to a send or connect, as the integration names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GraphRefusal {
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
pub(crate) struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
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
    /// Another organisation serves an email domain given; the text is the
    /// users service's, naming it.
    #[error("{0}")]
    DomainTaken(String),
    /// Unlinking would leave the person no way to sign in.
    #[error(
        "this is your last way to sign in: set a password or link another identity before \
         unlinking this one"
    )]
    LastWayIn,
    #[error("the range lies outside the content ({size} bytes)")]
    RangeNotSatisfiable { size: u64 },
    #[error("too many attempts; try again in {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    #[error("{0} is unavailable; try again later")]
    Unavailable(&'static str),
    #[error("internal: {0}")]
    Internal(String),
}

/// The session store (Redis, or the process's memory) did not answer.
impl From<crate::session::StoreError> for ApiError {
    fn from(_: crate::session::StoreError) -> Self {
        Self::Unavailable("the session store")
    }
}

impl ApiError {
    /// A not-found answer named for what the caller asked about (an upload
    /// into a request names the document it could not find, the caller
    /// asked for a task).
    pub(crate) fn not_found_as(self, resource: &'static str) -> Self {
        if matches!(self, Self::NotFound(_)) {
            Self::NotFound(resource)
        } else {
            self
        }
    }

    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    /// Logs what an answer made from this error does not show (internal
    /// errors, unavailable dependencies); every such answer passes here once.
    pub(crate) fn log_hidden(&self) {
        if let Self::Internal(what) = self {
            tracing::error!(error = %what, "internal error");
        } else if let Self::Unavailable(_) = self {
            tracing::warn!(error = %self, "dependency unavailable");
        }
    }

    /// The stable last segment of the problem's `type`
    /// (`https://folio.dev/problems/<kind>`).
    pub(crate) fn kind(&self) -> &'static str {
        self.parts().1
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
            Self::DomainTaken(_) => (
                StatusCode::CONFLICT,
                "domain-taken",
                "Domain served by another organisation",
            ),
            Self::LastWayIn => (StatusCode::CONFLICT, "last-way-in", "Last way to sign in"),
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

    /// Maps a failed call to a domain service: its stable reasons first
    /// (their metadata become the problem's members), then the kind of
    /// failure; `resource` names what was not found.
    pub(crate) fn from_call<R: Problems>(error: CallError<R>, resource: &'static str) -> Self {
        match error {
            CallError::Refused {
                reason,
                message,
                metadata,
                ..
            } => reason.problem(message, |key| metadata.get(key)?.parse().ok()),
            CallError::Invalid {
                violations,
                message,
            } if violations.is_empty() => Self::invalid("input", message),
            CallError::Invalid { violations, .. } => Self::Validation(
                violations
                    .into_iter()
                    .map(|v| FieldError {
                        field: v.field,
                        message: v.description,
                    })
                    .collect(),
            ),
            CallError::NotFound { .. } => Self::NotFound(resource),
            CallError::PermissionDenied(_) => Self::Forbidden,
            CallError::DeadlineExceeded | CallError::Unavailable(_) => {
                Self::Unavailable(R::SERVICE)
            }
            CallError::Unauthenticated(what) => Self::Internal(format!("unauthenticated: {what}")),
            CallError::Failed { code, message } => Self::Internal(format!("{code:?}: {message}")),
        }
    }
}

/// A contract's stable reasons, as the problems a person is shown.
pub(crate) trait Problems: Reason {
    /// The service, as an unavailable one is named.
    const SERVICE: &'static str;
    /// The problem for this reason; `message` is the service's, written
    /// for people, and `number` reads a fact of the refusal.
    fn problem(self, message: String, number: impl Fn(&str) -> Option<u64>) -> ApiError;
}

impl Problems for users::ErrorReason {
    const SERVICE: &'static str = "the users service";
    fn problem(self, message: String, _: impl Fn(&str) -> Option<u64>) -> ApiError {
        match self {
            Self::EmailTaken => ApiError::EmailTaken,
            Self::LastAdmin => ApiError::LastAdmin,
            Self::WrongCredentials => ApiError::InvalidCredentials,
            Self::IdentityLinked => ApiError::SignInRefused(
                "another sign-in linked this identity at the same moment: sign in again".to_owned(),
            ),
            Self::DomainTaken => ApiError::DomainTaken(message),
            Self::LastWayIn => ApiError::LastWayIn,
            // The bff creates no organisations.
            Self::OrganisationTaken | Self::Unspecified => {
                ApiError::Internal(format!("{self:?}: {message}"))
            }
        }
    }
}

impl Problems for documents::ErrorReason {
    const SERVICE: &'static str = "the documents service";
    fn problem(self, message: String, number: impl Fn(&str) -> Option<u64>) -> ApiError {
        match self {
            Self::InvalidState => ApiError::NotNow(message),
            Self::TooLarge => ApiError::PayloadTooLarge {
                limit: number(errors::LIMIT).unwrap_or(0),
            },
            Self::RangeNotSatisfiable => ApiError::RangeNotSatisfiable {
                size: number(errors::SIZE).unwrap_or(0),
            },
            // Only ever the bff's own stream ending early.
            Self::UploadInterrupted => ApiError::Unavailable(Self::SERVICE),
            Self::Unspecified => ApiError::Internal(message),
        }
    }
}

impl Problems for integration::ErrorReason {
    const SERVICE: &'static str = "the OneDrive integration";
    fn problem(self, message: String, number: impl Fn(&str) -> Option<u64>) -> ApiError {
        let graph = |refusal| ApiError::Graph {
            refusal,
            detail: message.clone(),
        };
        match self {
            Self::AlreadyConnected => ApiError::OneDriveConnected,
            Self::OnedriveRefused => ApiError::OneDriveRefused(message),
            Self::Busy => ApiError::Unavailable(Self::SERVICE),
            Self::GraphUnavailable | Self::GraphFailed => graph(GraphRefusal::Failed),
            Self::OnedriveConflict => graph(GraphRefusal::Conflict),
            Self::OnedriveTooLarge => graph(GraphRefusal::TooLarge),
            Self::GraphThrottled => graph(GraphRefusal::Throttled(
                number(errors::RETRY_AFTER_SECONDS)
                    .and_then(|s| u32::try_from(s).ok())
                    .unwrap_or(1)
                    .max(1),
            )),
            Self::Unspecified => ApiError::Internal(message),
        }
    }
}

impl Problems for notifications::ErrorReason {
    const SERVICE: &'static str = "the notifications service";
    fn problem(self, message: String, _: impl Fn(&str) -> Option<u64>) -> ApiError {
        match self {
            Self::Unspecified => ApiError::Internal(message),
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
    /// The limit, in bytes, that the request went over.
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u64>,
    /// The size, in bytes, of the content a range was asked of.
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title) = self.parts();
        self.log_hidden();
        let detail = match &self {
            // The caller sees no internals.
            Self::Internal(_) => "something went wrong on our side".to_owned(),
            Self::Unavailable(_)
            | Self::Malformed(_)
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
            | Self::DomainTaken(_)
            | Self::LastWayIn
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
            limit: if let Self::PayloadTooLarge { limit } = &self
                && *limit > 0
            {
                Some(*limit)
            } else {
                None
            },
            size: if let Self::RangeNotSatisfiable { size } = &self {
                Some(*size)
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
    use folio_proto::{errors::refused, integration::v1::ErrorReason as Graph};
    use tonic::Code;

    use super::*;

    fn from_integration(code: Code, reason: Graph, retry_after: u32) -> ApiError {
        let facts = if retry_after > 0 {
            vec![(errors::RETRY_AFTER_SECONDS, retry_after.to_string())]
        } else {
            vec![]
        };
        let status = refused(code, "what Graph did", reason, &facts);
        ApiError::from_call(folio_clients::IntegrationError::from(status), "x")
    }

    #[test]
    fn graph_refusals_become_their_problems() {
        for (code, reason, retry, http, kind) in [
            (
                Code::Unavailable,
                Graph::GraphUnavailable,
                0,
                502,
                "onedrive-unavailable",
            ),
            (
                Code::Unavailable,
                Graph::GraphFailed,
                0,
                502,
                "onedrive-unavailable",
            ),
            (
                Code::Aborted,
                Graph::OnedriveConflict,
                0,
                409,
                "onedrive-conflict",
            ),
            (
                Code::ResourceExhausted,
                Graph::OnedriveTooLarge,
                0,
                413,
                "onedrive-too-large",
            ),
            (
                Code::Unavailable,
                Graph::GraphThrottled,
                9,
                429,
                "onedrive-throttled",
            ),
        ] {
            let error = from_integration(code, reason, retry);
            assert_eq!(error.parts().0.as_u16(), http, "{reason:?}");
            assert_eq!(error.parts().1, kind);
            assert_eq!(error.to_string(), "what Graph did");
            let response = error.into_response();
            assert_eq!(
                response.headers().get(header::RETRY_AFTER).is_some(),
                retry > 0,
                "{reason:?}"
            );
        }
        // Without a reason the kind of failure decides.
        let plain = ApiError::from_call(
            folio_clients::IntegrationError::from(tonic::Status::unavailable("down")),
            "x",
        );
        assert_eq!(plain.parts().0, StatusCode::SERVICE_UNAVAILABLE);
    }
}
