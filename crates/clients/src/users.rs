//! The users service's contract (`folio.users.v1`).

use folio_proto::users::v1::{self as pb, users_service_client::UsersServiceClient};

use crate::call::{client, unary};

/// What a call to the users service failed with.
pub type UsersError = crate::CallError<pb::ErrorReason>;

client!(
    /// The users service: organisations, users, sign-in, API tokens.
    UsersClient,
    UsersServiceClient
);

unary!(UsersClient, UsersError, {
    write create_organisation(pb::CreateOrganisationRequest) -> pb::CreateOrganisationResponse;
    read list_organisations(pb::ListOrganisationsRequest) -> pb::ListOrganisationsResponse;
    read authenticate(pb::AuthenticateRequest) -> pb::User;
    write provision_user(pb::ProvisionUserRequest) -> pb::User;
    write update_user(pb::UpdateUserRequest) -> pb::User;
    write reset_password(pb::ResetPasswordRequest) -> pb::ResetPasswordResponse;
    read get_user(pb::GetUserRequest) -> pb::User;
    read list_users(pb::ListUsersRequest) -> pb::ListUsersResponse;
    write change_password(pb::ChangePasswordRequest) -> pb::ChangePasswordResponse;
    /// Not retried: each attempt counts against the person's sign-in limit.
    write sign_in(pb::SignInRequest) -> pb::SignInResponse;
    read list_recipients(pb::ListRecipientsRequest) -> pb::ListRecipientsResponse;
    write create_api_token(pb::CreateApiTokenRequest) -> pb::CreateApiTokenResponse;
    read list_api_tokens(pb::ListApiTokensRequest) -> pb::ListApiTokensResponse;
    write revoke_api_token(pb::RevokeApiTokenRequest) -> pb::RevokeApiTokenResponse;
    /// Not retried: it records the token's last use.
    write authenticate_api_token(pb::AuthenticateApiTokenRequest) -> pb::AuthenticateApiTokenResponse;
    read get_sign_in_settings(pb::GetSignInSettingsRequest) -> pb::SignInSettings;
    write put_sign_in_settings(pb::PutSignInSettingsRequest) -> pb::SignInSettings;
    read find_oidc_provider(pb::FindOidcProviderRequest) -> pb::OidcProvider;
    /// Not retried: it may create the person's account.
    write oidc_sign_in(pb::OidcSignInRequest) -> pb::User;
    read list_oidc_identities(pb::ListOidcIdentitiesRequest) -> pb::ListOidcIdentitiesResponse;
    write unlink_oidc_identity(pb::UnlinkOidcIdentityRequest) -> pb::UnlinkOidcIdentityResponse;
});
