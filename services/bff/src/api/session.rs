//! Signing in and out, and changing one's own password.

use std::net::SocketAddr;

use axum::{
    Json, Router,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use folio_clients::UsersError;
use folio_proto::users::v1 as pb;

use crate::{
    error::ApiError,
    rest::{
        forms::{Credentials, PasswordChange},
        views::{OrganisationChoice, OrganisationName, SessionView, User},
    },
    session::{Session, now_secs, random_token},
    web::{
        AppState,
        extract::{Authed, COOKIE, Credential, JsonBody, client_address, session_cookie},
    },
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/session",
            post(sign_in).get(current).delete(sign_out),
        )
        .route("/api/v1/session/password", post(change_password))
}

pub(super) fn store_down(_: crate::session::StoreError) -> ApiError {
    ApiError::Unavailable("the session store")
}

fn cookie(state: &AppState, token: &str, max_age: u64) -> HeaderValue {
    named_cookie(state, COOKIE, "/", token, max_age)
}

/// An `HttpOnly; SameSite=Lax` cookie (`Secure` unless configured off).
pub(super) fn named_cookie(
    state: &AppState,
    name: &str,
    path: &str,
    value: &str,
    max_age: u64,
) -> HeaderValue {
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Starts a session for `user` as every sign-in does: whatever session the
/// browser had ends, a fresh token and CSRF token are issued. Answers the
/// body of `GET /api/v1/session` and the `Set-Cookie` value.
pub(super) async fn issue_session(
    state: &AppState,
    headers: &HeaderMap,
    user: pb::User,
) -> Result<(SessionView, HeaderValue), ApiError> {
    if let Some(old) = session_cookie(headers) {
        state.sessions.delete(&old).await.map_err(store_down)?;
    }
    let now = now_secs();
    let session = Session {
        user_id: user
            .id
            .parse()
            .map_err(|_| ApiError::Internal("user id".into()))?,
        org_id: user
            .organisation_id
            .parse()
            .map_err(|_| ApiError::Internal("organisation id".into()))?,
        role: crate::rest::views::role_name(user.role).to_owned(),
        csrf_token: random_token(),
        created_at: now,
        last_seen: now,
    };
    let token = state.sessions.create(&session).await.map_err(store_down)?;
    let body = SessionView {
        user: User::from(user),
        csrf_token: session.csrf_token,
    };
    Ok((
        body,
        cookie(state, &token, state.config.session_absolute_secs),
    ))
}

async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    credentials.check()?;
    let limits = state.config.login;
    let email = credentials.email.trim().to_lowercase();
    let client = client_address(&headers, peer.ip(), state.config.forwarded_hops);
    // Each attempt is counted before the password is checked, in one atomic
    // step, so parallel guesses cannot all slip under a limit. A stranger's
    // failures throttle only their own (account, address) pair: the owner,
    // from an address that has not failed, is slowed down at most.
    let limited = |retry_after| {
        metrics::counter!("folio_sign_ins_total", "outcome" => "limited").increment(1);
        ApiError::RateLimited { retry_after }
    };
    let address = state
        .limiter
        .count(&format!("address:{client}"))
        .await
        .map_err(store_down)?;
    if let Some(retry_after) = address.over(limits.per_address) {
        return Err(limited(retry_after));
    }
    let pair_key = format!("pair:{email}|{client}");
    let pair = state.limiter.count(&pair_key).await.map_err(store_down)?;
    if let Some(retry_after) = pair.over(limits.per_account) {
        return Err(limited(retry_after));
    }
    let account_key = format!("account:{email}");
    let account = state
        .limiter
        .count(&account_key)
        .await
        .map_err(store_down)?;
    let delay = limits.slow_down_after(account.count);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let answer = match state
        .users
        .sign_in(pb::SignInRequest {
            email: credentials.email,
            password: credentials.password,
            organisation_id: credentials.organisation_id.unwrap_or_default(),
        })
        .await
    {
        Ok(answer) => answer,
        Err(
            UsersError::Unauthenticated(_)
            | UsersError::Refused {
                reason: pb::ErrorReason::WrongCredentials,
                ..
            },
        ) => {
            metrics::counter!("folio_sign_ins_total", "outcome" => "refused").increment(1);
            return Err(ApiError::InvalidCredentials);
        }
        // The password was right, but the organisation's non-admins sign in
        // with its identity provider only.
        Err(UsersError::PermissionDenied(_)) => {
            metrics::counter!("folio_sign_ins_total", "outcome" => "provider_only").increment(1);
            return Err(ApiError::ProviderSignInOnly);
        }
        Err(error) => return Err(ApiError::from_call(error, "user")),
    };
    let Some(user) = answer.user else {
        // The password is right for several organisations' accounts (only
        // those are named): the person chooses, and signs in again.
        metrics::counter!("folio_sign_ins_total", "outcome" => "choose").increment(1);
        let organisations = answer
            .choices
            .into_iter()
            .map(|o| OrganisationName {
                id: o.id,
                name: o.name,
            })
            .collect();
        return Ok(Json(OrganisationChoice { organisations }).into_response());
    };
    for key in [&pair_key, &account_key] {
        state.limiter.reset(key).await.map_err(store_down)?;
    }
    metrics::counter!("folio_sign_ins_total", "outcome" => "ok").increment(1);
    let (body, cookie) = issue_session(&state, &headers, user).await?;
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

async fn current(State(state): State<AppState>, authed: Authed) -> Result<Response, ApiError> {
    let user_id = authed.session.user_id;
    let generation = state.sessions.users_generation();
    let user = match state.sessions.recent_user(user_id) {
        Some(user) => user,
        None => state
            .users
            .get_user(authed.actor().request(pb::GetUserRequest {
                id: user_id.to_string(),
            }))
            .await
            .map_err(|e| {
                if e.is_not_found() {
                    ApiError::Unauthenticated
                } else {
                    ApiError::from_call(e, "user")
                }
            })?,
    };
    if !user.disabled {
        state
            .sessions
            .remember_user(user_id, user.clone(), generation);
    }
    if user.disabled {
        state
            .sessions
            .delete(&authed.token)
            .await
            .map_err(store_down)?;
        return Err(ApiError::Unauthenticated);
    }
    Ok(Json(SessionView {
        user: User::from(user),
        csrf_token: authed.session.csrf_token,
    })
    .into_response())
}

async fn sign_out(State(state): State<AppState>, authed: Authed) -> Result<Response, ApiError> {
    // An API token is not a session: it ends by being revoked.
    if authed.credential != Credential::Session {
        return Err(ApiError::Forbidden);
    }
    state
        .sessions
        .delete(&authed.token)
        .await
        .map_err(store_down)?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&state, "", 0));
    Ok(response)
}

async fn change_password(
    State(state): State<AppState>,
    authed: Authed,
    JsonBody(change): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let key = format!("password:{}", authed.session.user_id);
    // Counted first, like sign-in: parallel guesses cannot all get through.
    let attempts = state.limiter.count(&key).await.map_err(store_down)?;
    if let Some(retry_after) = attempts.over(state.config.login.per_account) {
        return Err(ApiError::RateLimited { retry_after });
    }
    change.check()?;
    let result = state
        .users
        .change_password(authed.actor().request(pb::ChangePasswordRequest {
            current_password: change.current_password,
            new_password: change.new_password,
        }))
        .await;
    match result {
        Ok(_) => {
            state.limiter.reset(&key).await.map_err(store_down)?;
            state
                .sessions
                .end_user(authed.session.user_id, Some(&authed.token))
                .await
                .map_err(store_down)?;
            Ok(StatusCode::NO_CONTENT)
        }
        Err(
            UsersError::Unauthenticated(_)
            | UsersError::Refused {
                reason: pb::ErrorReason::WrongCredentials,
                ..
            },
        ) => Err(ApiError::CurrentPasswordIncorrect),
        Err(status) => Err(ApiError::from_call(status, "user")),
    }
}
