//! The rich error model of every contract, encoded in one way by every
//! service (in its one `From<Error> for Status`) and decoded in one way by
//! the typed clients (`folio-clients`): `BadRequest` field violations,
//! `ResourceInfo` for what was not found, and `ErrorInfo` whose reason is a
//! contract's `ErrorReason` name without its `ERROR_REASON_` prefix.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt as _};

/// Metadata key: a limit, in bytes, that the request went over.
pub const LIMIT: &str = "limit";
/// Metadata key: the size, in bytes, of what the request refers to.
pub const SIZE: &str = "size";
/// Metadata key: whole seconds to wait before trying again.
pub const RETRY_AFTER_SECONDS: &str = "retry_after_seconds";

const PREFIX: &str = "ERROR_REASON_";

/// A contract's `ErrorReason` enum: its stable names, and the domain its
/// `ErrorInfo` carries.
pub trait Reason: Copy + std::fmt::Debug + Send + Sync + 'static {
    /// The `ErrorInfo` domain of this contract's refusals.
    const DOMAIN: &'static str;
    /// The name carried on the wire, e.g. `EMAIL_TAKEN`.
    fn name(self) -> &'static str;
    /// The reason named `name`, if this release knows it.
    fn from_name(name: &str) -> Option<Self>;
}

macro_rules! reason {
    ($reason:ty, $domain:literal) => {
        impl Reason for $reason {
            const DOMAIN: &'static str = $domain;
            fn name(self) -> &'static str {
                let full = self.as_str_name();
                full.strip_prefix(PREFIX).unwrap_or(full)
            }
            fn from_name(name: &str) -> Option<Self> {
                Self::from_str_name(&format!("{PREFIX}{name}"))
                    .filter(|r| *r != <$reason>::Unspecified)
            }
        }
    };
}

reason!(crate::users::v1::ErrorReason, "users.folio");
reason!(crate::documents::v1::ErrorReason, "documents.folio");
reason!(crate::integration::v1::ErrorReason, "integration.folio");
reason!(crate::notifications::v1::ErrorReason, "notifications.folio");

/// INVALID_ARGUMENT naming the offending field; `description` is for people.
pub fn invalid(field: &str, description: impl Into<String>) -> Status {
    let description = description.into();
    let message = format!("{field} {description}");
    Status::with_error_details(
        Code::InvalidArgument,
        message,
        ErrorDetails::with_bad_request(vec![FieldViolation::new(field, description)]),
    )
}

/// NOT_FOUND naming the kind of resource (e.g. `document`).
pub fn not_found(resource_type: &str) -> Status {
    Status::with_error_details(
        Code::NotFound,
        format!("{resource_type} not found"),
        ErrorDetails::with_resource_info(resource_type, "", "", ""),
    )
}

/// A refusal for a stable `reason`, with its facts as metadata (e.g.
/// [`LIMIT`]); `message` is for people and no caller parses it.
pub fn refused<R: Reason>(
    code: Code,
    message: impl Into<String>,
    reason: R,
    metadata: &[(&str, String)],
) -> Status {
    refused_with(
        code,
        message,
        reason,
        metadata,
        tonic::metadata::MetadataMap::new(),
    )
}

/// [`refused`] with extra metadata on the status (for callers of earlier
/// releases that read their own).
pub fn refused_with<R: Reason>(
    code: Code,
    message: impl Into<String>,
    reason: R,
    metadata: &[(&str, String)],
    headers: tonic::metadata::MetadataMap,
) -> Status {
    let metadata: HashMap<String, String> = metadata
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    Status::with_error_details_and_metadata(
        code,
        message,
        ErrorDetails::with_error_info(reason.name(), R::DOMAIN, metadata),
        headers,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::v1::ErrorReason;

    #[test]
    fn reasons_travel_by_their_short_names() {
        assert_eq!(ErrorReason::EmailTaken.name(), "EMAIL_TAKEN");
        assert_eq!(
            ErrorReason::from_name("EMAIL_TAKEN"),
            Some(ErrorReason::EmailTaken)
        );
        assert_eq!(ErrorReason::from_name("UNSPECIFIED"), None);
        assert_eq!(ErrorReason::from_name("NO_SUCH_REASON"), None);
    }
}
