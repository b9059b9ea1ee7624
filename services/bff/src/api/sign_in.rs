//! Sign-in with an organisation's identity provider (OpenID Connect,
//! docs/adr/0066): the admin's settings, the redirect to the provider, and
//! its answer, which ends in a Folio session like a password sign-in.

use std::{collections::HashMap, net::SocketAddr};

use axum::{
    Json, Router,
    extract::{ConnectInfo, Query, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use folio_clients::{CallError, UsersError};
use folio_proto::users::v1 as pb;
use serde::{Deserialize, Serialize};
use tonic::Code;

use super::shared::{issue_session, named_cookie, store_down};
use crate::{
    error::ApiError,
    oidc::ProviderError,
    rest::{
        forms::{Role, SignInSettingsForm},
        oidc::{Expected, Refusal, entra_issuer, pkce_challenge},
        views::{ProviderAvailable, SignInSettings},
    },
    session::{now_secs, random_token},
    web::{
        AppState,
        extract::{Admin, JsonBody, client_address, constant_time_eq, cookie},
    },
};

/// The cookie that binds a waiting sign-in to the browser that started it.
const PENDING_COOKIE: &str = "folio_oidc";
const PENDING_PATH: &str = "/api/v1/session/oidc";
/// How long a person may take at their provider.
const PENDING_SECS: u64 = 600;
const CALLBACK: &str = "/api/v1/session/oidc/callback";
/// Provider answers' query values are short; longer ones are refused.
const MAX_QUERY_VALUE: usize = 4096;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/organisation/sign-in",
            get(settings).put(put_settings),
        )
        .route("/api/v1/session/oidc", get(available))
        .route("/api/v1/session/oidc/start", get(start))
        .route(CALLBACK, get(callback))
}

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

fn refused(error: UsersError) -> ApiError {
    // FAILED_PRECONDITION: the provider is not set up for this; the
    // message is the users service's, written for people.
    if let CallError::Failed {
        code: Code::FailedPrecondition,
        message,
    } = &error
    {
        return ApiError::ProviderSignIn(message.clone());
    }
    ApiError::from_call(error, "sign-in provider")
}

async fn settings(
    State(state): State<AppState>,
    Admin(authed): Admin,
) -> Result<Response, ApiError> {
    let answer = state
        .users
        .get_sign_in_settings(authed.actor().request(pb::GetSignInSettingsRequest {}))
        .await
        .map_err(refused)?;
    Ok(Json(SignInSettings::from(answer)).into_response())
}

async fn put_settings(
    State(state): State<AppState>,
    Admin(authed): Admin,
    JsonBody(form): JsonBody<SignInSettingsForm>,
) -> Result<Response, ApiError> {
    let (oidc, client_secret) = match form.oidc {
        Some(oidc) => {
            oidc.check()?;
            let entra = oidc.tenant_id.is_some();
            let role = oidc
                .default_role
                .map_or(pb::Role::Unspecified, |r| match r {
                    Role::Admin => pb::Role::Admin,
                    Role::Editor => pb::Role::Editor,
                    Role::Viewer => pb::Role::Viewer,
                });
            let settings = pb::OidcSettings {
                preset: if entra {
                    pb::OidcPreset::Entra
                } else {
                    pb::OidcPreset::Generic
                }
                .into(),
                issuer: oidc.issuer.unwrap_or_default(),
                client_id: oidc.client_id.unwrap_or_default(),
                tenant_id: oidc.tenant_id.unwrap_or_default(),
                only_sso: oidc.only_sso,
                create_accounts: oidc.create_accounts,
                default_role: role.into(),
                ..Default::default()
            };
            (Some(settings), oidc.client_secret)
        }
        None => (None, None),
    };
    let answer = state
        .users
        .put_sign_in_settings(authed.actor().request(pb::PutSignInSettingsRequest {
            oidc,
            client_secret,
        }))
        .await
        .map_err(refused)?;
    Ok(Json(SignInSettings::from(answer)).into_response())
}

/// `email` or `organisation` from the query, checked.
fn who(query: &HashMap<String, String>) -> Result<pb::FindOidcProviderRequest, ApiError> {
    match (query.get("email"), query.get("organisation")) {
        (Some(email), None) => {
            let mut checks = crate::rest::forms::Checks::default();
            checks.email("email", email.trim());
            checks.finish()?;
            Ok(pb::FindOidcProviderRequest {
                email: email.trim().to_owned(),
                organisation_id: String::new(),
            })
        }
        (None, Some(org)) => {
            let id = org
                .parse::<uuid::Uuid>()
                .map_err(|_| ApiError::invalid("organisation", "organisation must be an id"))?;
            Ok(pb::FindOidcProviderRequest {
                email: String::new(),
                organisation_id: id.to_string(),
            })
        }
        _ => Err(ApiError::invalid(
            "email",
            "give either email or organisation",
        )),
    }
}

fn parse_query(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, ApiError> {
    let Query(query) =
        query.map_err(|_| ApiError::invalid("query", "the query string is malformed"))?;
    if query.values().any(|v| v.chars().count() > MAX_QUERY_VALUE) {
        return Err(ApiError::invalid(
            "query",
            format!("query values must be at most {MAX_QUERY_VALUE} characters"),
        ));
    }
    Ok(query)
}

/// Counts a provider sign-in step against the client address's limit, as
/// password sign-ins are counted.
async fn count_attempt(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<(), ApiError> {
    let client = client_address(headers, peer.ip(), state.config.forwarded_hops);
    let attempts = state
        .limiter
        .count(&format!("oidc:{client}"))
        .await
        .map_err(store_down)?;
    match attempts.over(state.config.login.per_address) {
        Some(retry_after) => Err(ApiError::RateLimited { retry_after }),
        None => Ok(()),
    }
}

async fn find_provider(
    state: &AppState,
    request: pb::FindOidcProviderRequest,
) -> Result<pb::OidcProvider, ApiError> {
    state
        .users
        .find_oidc_provider(request)
        .await
        .map_err(refused)
}

/// The issuer, client id and secret to use for `provider`.
fn client_of(
    state: &AppState,
    provider: &pb::OidcProvider,
) -> Result<(String, String, String, Option<String>), ApiError> {
    if provider.preset == i32::from(pb::OidcPreset::Entra) {
        let issuer = entra_issuer(&state.config.providers.entra_authority, &provider.tenant_id);
        let tenant = Some(provider.tenant_id.clone());
        if !provider.client_id.is_empty() {
            return Ok((
                issuer,
                provider.client_id.clone(),
                provider.client_secret.clone(),
                tenant,
            ));
        }
        let providers = &state.config.providers;
        match (&providers.entra_client_id, &providers.entra_client_secret) {
            (Some(id), Some(secret)) => {
                Ok((issuer, id.clone(), secret.expose().to_owned(), tenant))
            }
            _ => Err(ApiError::ProviderSignIn(
                "this deployment has no Entra ID app: the organisation's admin must enter its own \
                 client_id and client_secret"
                    .to_owned(),
            )),
        }
    } else {
        Ok((
            provider.issuer.clone(),
            provider.client_id.clone(),
            provider.client_secret.clone(),
            None,
        ))
    }
}

fn provider_failed(error: ProviderError) -> ApiError {
    match error {
        ProviderError::Unavailable(why) => {
            tracing::warn!(error = %why, "identity provider unavailable");
            ApiError::ProviderUnavailable
        }
        ProviderError::Refused(refusal) => sign_in_refused(refusal),
    }
}

fn sign_in_refused(refusal: Refusal) -> ApiError {
    metrics::counter!("folio_sign_ins_total", "outcome" => "provider_refused").increment(1);
    tracing::warn!(check = refusal.as_str(), "provider sign-in refused");
    ApiError::SignInRefused(format!(
        "the identity provider's answer was refused: {refusal}"
    ))
}

async fn available(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = parse_query(query)?;
    let request = who(&query)?;
    count_attempt(&state, &headers, peer).await?;
    let start = if request.email.is_empty() {
        format!(
            "{PENDING_PATH}/start?organisation={}",
            request.organisation_id
        )
    } else {
        format!(
            "{PENDING_PATH}/start?email={}",
            percent_encoding::utf8_percent_encode(
                &request.email,
                percent_encoding::NON_ALPHANUMERIC
            )
        )
    };
    let provider = find_provider(&state, request).await?;
    let name = if provider.preset == i32::from(pb::OidcPreset::Entra) {
        "entra"
    } else {
        "oidc"
    };
    Ok(Json(ProviderAvailable {
        provider: name,
        start,
    })
    .into_response())
}

fn redirect_uri(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(public) = &state.config.providers.public_url {
        return Ok(format!("{public}{CALLBACK}"));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| ApiError::invalid("host", "the Host header is needed"))?;
    let scheme = if state.config.cookie_secure {
        "https"
    } else {
        "http"
    };
    Ok(format!("{scheme}://{host}{CALLBACK}"))
}

fn see_other(location: &str) -> Result<Response, ApiError> {
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(location).map_err(|_| ApiError::Internal("location".into()))?,
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = parse_query(query)?;
    let request = who(&query)?;
    count_attempt(&state, &headers, peer).await?;
    let provider = find_provider(&state, request).await?;
    let (issuer, client_id, _, tenant_id) = client_of(&state, &provider)?;
    let discovery = state
        .oidc
        .discover(&issuer)
        .await
        .map_err(provider_failed)?;
    let pending = Pending {
        state: random_token(),
        nonce: random_token(),
        verifier: random_token(),
        organisation_id: provider.organisation_id,
        issuer,
        client_id,
        tenant_id,
        redirect_uri: redirect_uri(&state, &headers)?,
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
    let mut response = see_other(url.as_str())?;
    response.headers_mut().insert(
        header::SET_COOKIE,
        named_cookie(&state, PENDING_COOKIE, PENDING_PATH, &binding, PENDING_SECS),
    );
    Ok(response)
}

fn pending_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, PENDING_COOKIE)
}

async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    // Whatever happens, the waiting sign-in is over: its cookie goes.
    let clear = named_cookie(&state, PENDING_COOKIE, PENDING_PATH, "", 0);
    let mut response = match finish(&state, peer, &headers, query).await {
        Ok(response) => response,
        // The provider sent a browser here: it goes back to the sign-in
        // page, which says what went wrong from the problem's kind alone
        // (no text of ours in the address). Scripts get the problem.
        Err(error) if wants_html(&headers) => {
            error.log_hidden();
            see_other(&format!("/#/login?problem={}", error.kind()))
                .unwrap_or_else(IntoResponse::into_response)
        }
        Err(error) => error.into_response(),
    };
    response.headers_mut().append(header::SET_COOKIE, clear);
    response
}

/// A browser's navigation asks for HTML first; fetch() and scripts do not.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.split(',').any(|t| t.trim().starts_with("text/html")))
}

async fn finish(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = parse_query(query)?;
    count_attempt(state, headers, peer).await?;
    // One use: taken before anything else, so a replay finds nothing.
    let pending = match pending_cookie(headers) {
        Some(binding) => state.sessions.take(&binding).await.map_err(store_down)?,
        None => None,
    };
    let pending: Pending = pending
        .and_then(|json| serde_json::from_str(&json).ok())
        .ok_or_else(|| sign_in_refused(Refusal::State))?;
    let sent_state = query.get("state").map_or("", String::as_str);
    if !constant_time_eq(sent_state.as_bytes(), pending.state.as_bytes()) {
        return Err(sign_in_refused(Refusal::State));
    }
    if query.contains_key("error") {
        return Err(sign_in_refused(Refusal::ProviderError));
    }
    let code = query
        .get("code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| sign_in_refused(Refusal::ProviderError))?;
    let provider = find_provider(
        state,
        pb::FindOidcProviderRequest {
            email: String::new(),
            organisation_id: pending.organisation_id.clone(),
        },
    )
    .await?;
    let (issuer, client_id, client_secret, tenant_id) = client_of(state, &provider)?;
    if issuer != pending.issuer || client_id != pending.client_id {
        return Err(ApiError::ProviderSignIn(
            "the organisation's sign-in settings changed meanwhile: start again".to_owned(),
        ));
    }
    let discovery = state
        .oidc
        .discover(&issuer)
        .await
        .map_err(provider_failed)?;
    let id_token = state
        .oidc
        .exchange(
            &discovery,
            code,
            &pending.redirect_uri,
            &client_id,
            &client_secret,
            &pending.verifier,
        )
        .await
        .map_err(provider_failed)?;
    let expected = Expected {
        issuer: &issuer,
        client_id: &client_id,
        nonce: &pending.nonce,
        tenant_id: tenant_id.as_deref(),
        now: i64::try_from(now_secs()).unwrap_or(i64::MAX),
    };
    let verified = state
        .oidc
        .verify(&discovery, &id_token, &expected)
        .await
        .map_err(provider_failed)?;
    let user = state
        .users
        .oidc_sign_in(pb::OidcSignInRequest {
            organisation_id: pending.organisation_id,
            issuer,
            subject: verified.subject,
            tenant_id: tenant_id.unwrap_or_default(),
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
        })?;
    metrics::counter!("folio_sign_ins_total", "outcome" => "provider_ok").increment(1);
    let (_, cookie) = issue_session(state, headers, user).await?;
    let mut response = see_other("/")?;
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}
