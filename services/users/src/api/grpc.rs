use folio_platform::{actor::Actor, clock::parse_rfc3339};
use folio_proto::users::v1::{self as pb, users_service_server::UsersService};
use tonic::{Request, Response, Status};

use super::convert::{self, parse_id, parse_role};
use crate::{
    accounts::{Accounts, NewUser, SignIn},
    domain::{DisplayName, Email, OrganisationName, Password, UserChanges, identity_id},
    error::Error,
    sign_in::{ProviderIdentity, ProviderSignIn},
    tokens::ApiTokens,
};

#[derive(Debug, Clone)]
pub(crate) struct UsersApi {
    accounts: Accounts,
    tokens: ApiTokens,
    provider_sign_in: ProviderSignIn,
}

impl UsersApi {
    pub(crate) fn new(accounts: Accounts, provider_sign_in: ProviderSignIn) -> Self {
        let tokens = ApiTokens::new(accounts.database().clone());
        Self {
            accounts,
            tokens,
            provider_sign_in,
        }
    }
}

fn actor<T>(request: &Request<T>) -> Result<Actor, Error> {
    Ok(Actor::from_metadata(request.metadata())?)
}

/// An id that may be left empty.
fn optional_id(field: &'static str, raw: &str) -> Result<Option<uuid::Uuid>, Error> {
    if raw.is_empty() {
        Ok(None)
    } else {
        parse_id(field, raw).map(Some)
    }
}

fn new_user(email: &str, display_name: &str, role: i32, password: &str) -> Result<NewUser, Error> {
    Ok(NewUser {
        email: Email::parse(email)?,
        display_name: DisplayName::parse(display_name)?,
        role: parse_role(role)?,
        password: Password::parse("password", password)?,
    })
}

#[tonic::async_trait]
impl UsersService for UsersApi {
    async fn create_organisation(
        &self,
        request: Request<pb::CreateOrganisationRequest>,
    ) -> Result<Response<pb::CreateOrganisationResponse>, Status> {
        let req = request.into_inner();
        let name = OrganisationName::parse(&req.name)?;
        let admin = new_user(
            &req.admin_email,
            &req.admin_display_name,
            pb::Role::Admin.into(),
            &req.admin_password,
        )?;
        let (org, admin) = self.accounts.create_organisation(name, admin).await?;
        Ok(Response::new(pb::CreateOrganisationResponse {
            organisation: Some(convert::organisation(&org)),
            admin: Some(convert::user(&admin)),
        }))
    }

    async fn list_organisations(
        &self,
        _request: Request<pb::ListOrganisationsRequest>,
    ) -> Result<Response<pb::ListOrganisationsResponse>, Status> {
        let orgs = self.accounts.list_organisations().await?;
        Ok(Response::new(pb::ListOrganisationsResponse {
            organisations: orgs.iter().map(convert::organisation).collect(),
        }))
    }

    async fn authenticate(
        &self,
        request: Request<pb::AuthenticateRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let req = request.into_inner();
        match self
            .accounts
            .sign_in(&req.email, req.password, None)
            .await?
        {
            SignIn::User(user) => Ok(Response::new(convert::user(&user))),
            SignIn::Choose(_) => Err(Status::failed_precondition(
                "the email has accounts in several organisations: choose one (SignIn)",
            )),
        }
    }

    async fn provision_user(
        &self,
        request: Request<pb::ProvisionUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let new = new_user(&req.email, &req.display_name, req.role, &req.password)?;
        let user = self.accounts.provision(&actor, new).await?;
        Ok(Response::new(convert::user(&user)))
    }

    async fn update_user(
        &self,
        request: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let id = parse_id("id", &req.id)?;
        let changes = UserChanges {
            role: req.role.map(parse_role).transpose()?,
            display_name: req
                .display_name
                .as_deref()
                .map(DisplayName::parse)
                .transpose()?,
            disabled: req.disabled,
        };
        let user = self.accounts.update(&actor, id, &changes).await?;
        Ok(Response::new(convert::user(&user)))
    }

    async fn reset_password(
        &self,
        request: Request<pb::ResetPasswordRequest>,
    ) -> Result<Response<pb::ResetPasswordResponse>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let id = parse_id("id", &req.id)?;
        let password = Password::parse("new_password", &req.new_password)?;
        self.accounts.reset_password(&actor, id, password).await?;
        Ok(Response::new(pb::ResetPasswordResponse {}))
    }

    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let actor = actor(&request)?;
        let id = parse_id("id", &request.get_ref().id)?;
        let user = self.accounts.get(&actor, id).await?;
        Ok(Response::new(convert::user(&user)))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let actor = actor(&request)?;
        let users = self.accounts.list(&actor).await?;
        Ok(Response::new(pb::ListUsersResponse {
            users: users.iter().map(convert::user).collect(),
        }))
    }

    async fn sign_in(
        &self,
        request: Request<pb::SignInRequest>,
    ) -> Result<Response<pb::SignInResponse>, Status> {
        let req = request.into_inner();
        let organisation = optional_id("organisation_id", &req.organisation_id)?;
        let answer = match self
            .accounts
            .sign_in(&req.email, req.password, organisation)
            .await?
        {
            SignIn::User(user) => pb::SignInResponse {
                user: Some(convert::user(&user)),
                choices: Vec::new(),
            },
            SignIn::Choose(organisations) => pb::SignInResponse {
                user: None,
                choices: organisations
                    .iter()
                    .map(|o| pb::Organisation {
                        id: o.id.to_string(),
                        name: o.name.clone(),
                        created_at: String::new(),
                    })
                    .collect(),
            },
        };
        Ok(Response::new(answer))
    }

    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Result<Response<pb::ChangePasswordResponse>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let new = Password::parse("new_password", &req.new_password)?;
        self.accounts
            .change_password(&actor, req.current_password, new)
            .await?;
        Ok(Response::new(pb::ChangePasswordResponse {}))
    }

    async fn list_recipients(
        &self,
        request: Request<pb::ListRecipientsRequest>,
    ) -> Result<Response<pb::ListRecipientsResponse>, Status> {
        let req = request.into_inner();
        let only = match req.organisation_id.trim() {
            "" => None,
            id => Some(parse_id("organisation_id", id)?),
        };
        let found = self.accounts.recipients(only).await?;
        Ok(Response::new(pb::ListRecipientsResponse {
            organisations: found
                .iter()
                .map(|(org, users)| pb::OrganisationRecipients {
                    organisation: Some(convert::organisation(org)),
                    users: users.iter().map(convert::user).collect(),
                })
                .collect(),
        }))
    }
    async fn create_api_token(
        &self,
        request: Request<pb::CreateApiTokenRequest>,
    ) -> Result<Response<pb::CreateApiTokenResponse>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let scope = convert::parse_scope(req.scope)?;
        let expires_at = parse_rfc3339(&req.expires_at)
            .ok_or_else(|| Error::invalid("expires_at", "must be an RFC 3339 date-time"))?;
        let (token, secret) = self
            .tokens
            .create(&actor, &req.name, expires_at, scope)
            .await?;
        let email = self.accounts.get(&actor, actor.user_id).await?.email;
        Ok(Response::new(pb::CreateApiTokenResponse {
            token: Some(convert::api_token(&token, email.as_str())),
            secret,
        }))
    }

    async fn list_api_tokens(
        &self,
        request: Request<pb::ListApiTokensRequest>,
    ) -> Result<Response<pb::ListApiTokensResponse>, Status> {
        let actor = actor(&request)?;
        let tokens = self
            .tokens
            .list(&actor, request.get_ref().organisation)
            .await?;
        Ok(Response::new(pb::ListApiTokensResponse {
            tokens: tokens
                .iter()
                .map(|(token, email)| convert::api_token(token, email))
                .collect(),
        }))
    }

    async fn revoke_api_token(
        &self,
        request: Request<pb::RevokeApiTokenRequest>,
    ) -> Result<Response<pb::RevokeApiTokenResponse>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let id = parse_id("id", &req.id)?;
        self.tokens.revoke(&actor, id, req.organisation).await?;
        Ok(Response::new(pb::RevokeApiTokenResponse {}))
    }

    async fn authenticate_api_token(
        &self,
        request: Request<pb::AuthenticateApiTokenRequest>,
    ) -> Result<Response<pb::AuthenticateApiTokenResponse>, Status> {
        let (user, token) = self.tokens.authenticate(&request.get_ref().secret).await?;
        Ok(Response::new(pb::AuthenticateApiTokenResponse {
            user: Some(convert::user(&user)),
            scope: convert::scope(token.scope).into(),
            token_id: token.id.to_string(),
        }))
    }

    async fn get_sign_in_settings(
        &self,
        request: Request<pb::GetSignInSettingsRequest>,
    ) -> Result<Response<pb::SignInSettings>, Status> {
        let actor = actor(&request)?;
        let stored = self.provider_sign_in.settings(&actor).await?;
        Ok(Response::new(convert::sign_in_settings(stored.as_ref())))
    }

    async fn put_sign_in_settings(
        &self,
        request: Request<pb::PutSignInSettingsRequest>,
    ) -> Result<Response<pb::SignInSettings>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let input = req.oidc.as_ref().map(convert::oidc_input).transpose()?;
        let stored = self
            .provider_sign_in
            .put(
                &actor,
                input,
                req.client_secret.as_deref(),
                req.client_certificate.as_deref(),
            )
            .await?;
        Ok(Response::new(convert::sign_in_settings(stored.as_ref())))
    }

    async fn find_oidc_provider(
        &self,
        request: Request<pb::FindOidcProviderRequest>,
    ) -> Result<Response<pb::OidcProvider>, Status> {
        let req = request.into_inner();
        let organisation = optional_id("organisation_id", &req.organisation_id)?;
        let email = Some(req.email.as_str()).filter(|e| !e.trim().is_empty());
        let found = self.provider_sign_in.find(email, organisation).await?;
        Ok(Response::new(pb::OidcProvider {
            organisation_id: found.org_id.to_string(),
            preset: convert::preset(found.config.preset).into(),
            issuer: found.config.issuer,
            client_id: found.config.client_id,
            client_secret: found
                .client_secret
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
            client_certificate: found
                .client_certificate
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
            tenant_id: found
                .config
                .tenant_id
                .map(|t| t.to_string())
                .unwrap_or_default(),
        }))
    }

    async fn oidc_sign_in(
        &self,
        request: Request<pb::OidcSignInRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let req = request.into_inner();
        let identity = ProviderIdentity {
            org_id: parse_id("organisation_id", &req.organisation_id)?,
            issuer: req.issuer,
            subject: req.subject,
            tenant_id: req.tenant_id,
            email: req.email,
            email_verified: req.email_verified,
            display_name: req.display_name,
        };
        let user = self
            .provider_sign_in
            .sign_in(&self.accounts, &identity)
            .await?;
        Ok(Response::new(convert::user(&user)))
    }

    async fn list_oidc_identities(
        &self,
        request: Request<pb::ListOidcIdentitiesRequest>,
    ) -> Result<Response<pb::ListOidcIdentitiesResponse>, Status> {
        let actor = actor(&request)?;
        let user_id = optional_id("user_id", &request.get_ref().user_id)?;
        let identities = self
            .provider_sign_in
            .identities(&actor, user_id)
            .await?
            .into_iter()
            .map(|(identity, current)| pb::OidcIdentity {
                identity_id: identity_id(&identity.issuer, &identity.subject),
                issuer: identity.issuer,
                subject: identity.subject,
                created_at: folio_platform::clock::rfc3339(identity.created_at),
                current,
            })
            .collect();
        Ok(Response::new(pb::ListOidcIdentitiesResponse { identities }))
    }

    async fn unlink_oidc_identity(
        &self,
        request: Request<pb::UnlinkOidcIdentityRequest>,
    ) -> Result<Response<pb::UnlinkOidcIdentityResponse>, Status> {
        let actor = actor(&request)?;
        let req = request.get_ref();
        let user_id = optional_id("user_id", &req.user_id)?;
        if req.identity_id.len() > 64 {
            return Err(Error::invalid("identity_id", "must be an identity's id").into());
        }
        self.provider_sign_in
            .unlink(&actor, user_id, &req.identity_id)
            .await?;
        Ok(Response::new(pb::UnlinkOidcIdentityResponse {}))
    }
}
