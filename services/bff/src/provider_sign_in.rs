//! Sign-in with an organisation's identity provider as two steps free of
//! HTTP (docs/adr/0066): `begin` finds the provider and keeps the waiting
//! sign-in; `finish` takes it back, checks the provider's answer, exchanges
//! the code, verifies the ID token and asks the users service who it is.
//! The handlers in `api::sign_in` only parse requests and present answers.

use std::sync::Arc;

use folio_clients::{CallError, UsersError};
use folio_proto::users::v1 as pb;
use serde::{Deserialize, Serialize};
use tonic::Code;

use crate::{
    error::ApiError,
    oidc::{ClientCertificate, ClientCredential, ProviderError},
    rest::oidc::{Expected, Refusal, entra_issuer, pkce_challenge},
    session::{now_secs, random_token},
    web::{AppState, extract::constant_time_eq},
};

/// How long a person may take at their provider.
pub(crate) const PENDING_SECS: u64 = 600;

/// A sign-in waiting for the provider's answer, kept server-side (one use).
/// No client secret: it is fetched again for the token request.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    organisation_id: String,
    issuer: String,
    client_id: String,
    tenant_id: Option<String>,
    redirect_uri: String,
}

/// A started sign-in: where to send the browser, and the key of the waiting
/// sign-in its cookie must carry back.
pub(crate) struct Begun {
    pub authorize_url: String,
    pub binding: String,
}

/// What the provider sent back in the browser's address.
pub(crate) struct ProviderAnswer<'a> {
    pub state: &'a str,
    pub code: Option<&'a str>,
    /// The provider answered with an `error` instead of a code.
    pub error: bool,
}

/// The client Folio is at the organisation's provider.
struct Client {
    issuer: String,
    client_id: String,
    credential: ClientCredential,
    tenant_id: Option<String>,
}

fn store_down(_: crate::session::StoreError) -> ApiError {
    ApiError::Unavailable("the session store")
}

/// A users-service refusal as a problem. FAILED_PRECONDITION: the provider
/// is not set up for this; the message is the users service's, for people.
pub(crate) fn refused(error: UsersError) -> ApiError {
    if let CallError::Failed {
        code: Code::FailedPrecondition,
        message,
    } = &error
    {
        return ApiError::ProviderSignIn(message.clone());
    }
    ApiError::from_call(error, "sign-in provider")
}

pub(crate) async fn find_provider(
    state: &AppState,
    request: pb::FindOidcProviderRequest,
) -> Result<pb::OidcProvider, ApiError> {
    state
        .users
        .find_oidc_provider(request)
        .await
        .map_err(refused)
}

/// The issuer and client credentials to use for `provider`: the
/// organisation's own registration, or for Entra the deployment's app.
fn client_of(state: &AppState, provider: &pb::OidcProvider) -> Result<Client, ApiError> {
    // The organisation's own registration: by its certificate or secret.
    let own = || -> Result<ClientCredential, ApiError> {
        if provider.client_certificate.is_empty() {
            return Ok(ClientCredential::Secret(provider.client_secret.clone()));
        }
        ClientCertificate::from_pem(&provider.client_certificate)
            .map(|c| ClientCredential::Certificate(Arc::new(c)))
            .map_err(|_| {
                ApiError::ProviderSignIn(
                    "the organisation's client certificate cannot be used: an admin must enter it \
                     again"
                        .to_owned(),
                )
            })
    };
    if provider.preset != i32::from(pb::OidcPreset::Entra) {
        return Ok(Client {
            issuer: provider.issuer.clone(),
            client_id: provider.client_id.clone(),
            credential: own()?,
            tenant_id: None,
        });
    }
    let issuer = entra_issuer(&state.config.providers.entra_authority, &provider.tenant_id);
    let tenant_id = Some(provider.tenant_id.clone());
    if !provider.client_id.is_empty() {
        return Ok(Client {
            issuer,
            client_id: provider.client_id.clone(),
            credential: own()?,
            tenant_id,
        });
    }
    // The deployment's app: by its certificate when it has one (docs/adr/0074).
    let providers = &state.config.providers;
    let credential = match (
        state.oidc.deployment_certificate(),
        &providers.entra_client_secret,
    ) {
        (Some(certificate), _) => Some(ClientCredential::Certificate(Arc::clone(certificate))),
        (None, Some(secret)) => Some(ClientCredential::Secret(secret.expose().to_owned())),
        (None, None) => None,
    };
    match (&providers.entra_client_id, credential) {
        (Some(id), Some(credential)) => Ok(Client {
            issuer,
            client_id: id.clone(),
            credential,
            tenant_id,
        }),
        _ => Err(ApiError::ProviderSignIn(
            "this deployment has no Entra ID app: the organisation's admin must enter its own \
             client_id and client_secret"
                .to_owned(),
        )),
    }
}

pub(crate) fn provider_failed(error: ProviderError) -> ApiError {
    match error {
        ProviderError::Unavailable(why) => {
            tracing::warn!(error = %why, "identity provider unavailable");
            ApiError::ProviderUnavailable
        }
        ProviderError::Refused(refusal) => sign_in_refused(refusal),
    }
}

pub(crate) fn sign_in_refused(refusal: Refusal) -> ApiError {
    metrics::counter!("folio_sign_ins_total", "outcome" => "provider_refused").increment(1);
    tracing::warn!(check = refusal.as_str(), "provider sign-in refused");
    ApiError::SignInRefused(format!(
        "the identity provider's answer was refused: {refusal}"
    ))
}

/// Finds the provider for `who`, keeps a waiting sign-in (state, nonce,
/// PKCE verifier) for `PENDING_SECS`, and names the provider's page.
pub(crate) async fn begin(
    state: &AppState,
    who: pb::FindOidcProviderRequest,
    redirect_uri: String,
) -> Result<Begun, ApiError> {
    let provider = find_provider(state, who).await?;
    let client = client_of(state, &provider)?;
    let discovery = state
        .oidc
        .discover(&client.issuer)
        .await
        .map_err(provider_failed)?;
    let pending = Pending {
        state: random_token(),
        nonce: random_token(),
        verifier: random_token(),
        organisation_id: provider.organisation_id,
        issuer: client.issuer,
        client_id: client.client_id,
        tenant_id: client.tenant_id,
        redirect_uri,
    };
    let mut url = reqwest::Url::parse(&discovery.authorization_endpoint)
        .map_err(|_| ApiError::ProviderUnavailable)?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &pending.client_id)
        .append_pair("redirect_uri", &pending.redirect_uri)
        .append_pair("scope", "openid email profile")
        .append_pair("state", &pending.state)
        .append_pair("nonce", &pending.nonce)
        .append_pair("code_challenge", &pkce_challenge(&pending.verifier))
        .append_pair("code_challenge_method", "S256");
    let binding = random_token();
    let json = serde_json::to_string(&pending).map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .sessions
        .stash(&binding, &json, PENDING_SECS)
        .await
        .map_err(store_down)?;
    Ok(Begun {
        authorize_url: url.into(),
        binding,
    })
}

/// The waiting sign-in `binding` names, taken (one use: a replay or a
/// mismatched `state` finds nothing), checked against the provider's answer;
/// the authorization code.
async fn take_pending<'a>(
    state: &AppState,
    binding: Option<&str>,
    answer: &ProviderAnswer<'a>,
) -> Result<(Pending, &'a str), ApiError> {
    let pending = match binding {
        Some(binding) => state.sessions.take(binding).await.map_err(store_down)?,
        None => None,
    };
    let pending: Pending = pending
        .and_then(|json| serde_json::from_str(&json).ok())
        .ok_or_else(|| sign_in_refused(Refusal::State))?;
    if !constant_time_eq(answer.state.as_bytes(), pending.state.as_bytes()) {
        return Err(sign_in_refused(Refusal::State));
    }
    if answer.error {
        return Err(sign_in_refused(Refusal::ProviderError));
    }
    let code = answer
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| sign_in_refused(Refusal::ProviderError))?;
    Ok((pending, code))
}

/// Ends a provider sign-in: the person the verified ID token names, for
/// whom the caller issues a Folio session.
pub(crate) async fn finish(
    state: &AppState,
    binding: Option<&str>,
    answer: &ProviderAnswer<'_>,
) -> Result<pb::User, ApiError> {
    let (pending, code) = take_pending(state, binding, answer).await?;
    let provider = find_provider(
        state,
        pb::FindOidcProviderRequest {
            email: String::new(),
            organisation_id: pending.organisation_id.clone(),
        },
    )
    .await?;
    let client = client_of(state, &provider)?;
    if client.issuer != pending.issuer || client.client_id != pending.client_id {
        return Err(ApiError::ProviderSignIn(
            "the organisation's sign-in settings changed meanwhile: start again".to_owned(),
        ));
    }
    let discovery = state
        .oidc
        .discover(&client.issuer)
        .await
        .map_err(provider_failed)?;
    let id_token = state
        .oidc
        .exchange(
            &discovery,
            code,
            &pending.redirect_uri,
            &client.client_id,
            &client.credential,
            &pending.verifier,
        )
        .await
        .map_err(provider_failed)?;
    let expected = Expected {
        issuer: &client.issuer,
        client_id: &client.client_id,
        nonce: &pending.nonce,
        tenant_id: client.tenant_id.as_deref(),
        now: i64::try_from(now_secs()).unwrap_or(i64::MAX),
    };
    let verified = state
        .oidc
        .verify(&discovery, &id_token, &expected)
        .await
        .map_err(provider_failed)?;
    state
        .users
        .oidc_sign_in(pb::OidcSignInRequest {
            organisation_id: pending.organisation_id,
            issuer: client.issuer,
            subject: verified.subject,
            tenant_id: client.tenant_id.unwrap_or_default(),
            email: verified.email,
            email_verified: verified.email_verified,
            display_name: verified.display_name,
        })
        .await
        .map_err(|error| match error {
            CallError::NotFound { .. } => ApiError::SignInRefused(
                "no Folio account belongs to this identity: ask your organisation's admin to \
                 invite you"
                    .to_owned(),
            ),
            CallError::PermissionDenied(_) => {
                ApiError::SignInRefused("the Folio account is disabled".to_owned())
            }
            CallError::Invalid { .. }
            | CallError::Refused { .. }
            | CallError::Unauthenticated(_)
            | CallError::DeadlineExceeded
            | CallError::Unavailable(_)
            | CallError::Failed { .. } => refused(error),
        })
}
