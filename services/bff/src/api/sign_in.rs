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
use folio_proto::users::v1 as pb;

use super::shared::{issue_session, named_cookie, store_down};
use crate::{
    error::ApiError,
    provider_sign_in::{self, PENDING_SECS, ProviderAnswer, find_provider, refused},
    rest::{
        forms::SignInSettingsForm,
        views::{ProviderAvailable, SignInSettings},
    },
    web::{
        AppState,
        extract::{Admin, JsonBody, client_address, cookie},
    },
};

/// The cookie that binds a waiting sign-in to the browser that started it.
const PENDING_COOKIE: &str = "folio_oidc";
const PENDING_PATH: &str = "/api/v1/session/oidc";
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
    let request = form.into_request()?;
    let answer = state
        .users
        .put_sign_in_settings(authed.actor().request(request))
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

/// Who a look-up or a start asks about, checked and counted against the
/// client address's sign-in limit.
async fn asked(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<pb::FindOidcProviderRequest, ApiError> {
    let request = who(&parse_query(query)?)?;
    count_attempt(state, headers, peer).await?;
    Ok(request)
}

async fn available(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let request = asked(&state, &headers, peer, query).await?;
    let start = ProviderAvailable::start_link(&request);
    let provider = find_provider(&state, request).await?;
    Ok(Json(ProviderAvailable::new(&provider, start)).into_response())
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
    let request = asked(&state, &headers, peer, query).await?;
    let begun = provider_sign_in::begin(&state, request, redirect_uri(&state, &headers)?).await?;
    let mut response = see_other(&begun.authorize_url)?;
    response.headers_mut().insert(
        header::SET_COOKIE,
        named_cookie(
            &state,
            PENDING_COOKIE,
            PENDING_PATH,
            &begun.binding,
            PENDING_SECS,
        ),
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
    let answer = ProviderAnswer {
        state: query.get("state").map_or("", String::as_str),
        code: query.get("code").map(String::as_str),
        error: query.contains_key("error"),
    };
    let binding = pending_cookie(headers);
    let user = provider_sign_in::finish(state, binding.as_deref(), &answer).await?;
    metrics::counter!("folio_sign_ins_total", "outcome" => "provider_ok").increment(1);
    let (_, cookie) = issue_session(state, headers, user).await?;
    let mut response = see_other("/")?;
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}
