//! The gRPC surface: who may call what, and the translation between the
//! contract's messages and the use cases.

mod convert;
mod grpc;

use folio_platform::{grpc::CallerPolicy, identity::ServiceIdentity as Id};

pub(crate) use grpc::UsersApi;

pub(crate) const SERVICE: &str = "folio.users.v1.UsersService";

/// Operators onboard organisations; the bff acts for users; documents and
/// the integration only look users up.
pub(crate) fn caller_policy() -> CallerPolicy {
    CallerPolicy::new()
        .allow(SERVICE, "CreateOrganisation", &[Id::OPERATOR])
        .allow(SERVICE, "ListOrganisations", &[Id::OPERATOR])
        .allow(SERVICE, "Authenticate", &[Id::BFF])
        .allow(SERVICE, "SignIn", &[Id::BFF])
        .allow(SERVICE, "ProvisionUser", &[Id::BFF])
        .allow(SERVICE, "UpdateUser", &[Id::BFF])
        .allow(SERVICE, "ResetPassword", &[Id::BFF])
        .allow(SERVICE, "ChangePassword", &[Id::BFF])
        .allow(SERVICE, "CreateApiToken", &[Id::BFF])
        .allow(SERVICE, "ListApiTokens", &[Id::BFF])
        .allow(SERVICE, "RevokeApiToken", &[Id::BFF])
        .allow(SERVICE, "AuthenticateApiToken", &[Id::BFF])
        .allow(SERVICE, "GetSignInSettings", &[Id::BFF])
        .allow(SERVICE, "PutSignInSettings", &[Id::BFF])
        .allow(SERVICE, "FindOidcProvider", &[Id::BFF])
        .allow(SERVICE, "OidcSignIn", &[Id::BFF])
        .allow(SERVICE, "ListOidcIdentities", &[Id::BFF])
        .allow(SERVICE, "UnlinkOidcIdentity", &[Id::BFF])
        .allow(
            SERVICE,
            "GetUser",
            &[Id::BFF, Id::DOCUMENTS, Id::INTEGRATION],
        )
        .allow(
            SERVICE,
            "ListUsers",
            &[Id::BFF, Id::DOCUMENTS, Id::INTEGRATION],
        )
        .allow(SERVICE, "ListRecipients", &[Id::NOTIFICATIONS])
}
