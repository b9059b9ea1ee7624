//! Signing in and out, and changing one's own password.

use std::net::SocketAddr;

use axum::{
    Json, Router,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use folio_proto::users::v1 as pb;
use tonic::Code;

use crate::{
    domain::{
        forms::{Credentials, PasswordChange},
        views::{SessionView, User},
    },
    error::ApiError,
    session::{Session, now_secs, random_token},
    web::{
        AppState,
        extract::{Authed, COOKIE, JsonBody, client_address, session_cookie},
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

fn store_down(_: crate::session::StoreError) -> ApiError {
    ApiError::Unavailable("the session store")
}

fn cookie(state: &AppState, token: &str, max_age: u64) -> HeaderValue {
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    credentials.check()?;
    let limits = state.config.login;
    let account = format!("account:{}", credentials.email.trim().to_lowercase());
    let client = client_address(&headers, peer.ip(), state.config.forwarded_hops);
    let address = format!("address:{client}");
    for (key, max) in [
        (&address, limits.per_address),
        (&account, limits.per_account),
    ] {
        if let Some(retry_after) = state.limiter.blocked(key, max).await.map_err(store_down)? {
            metrics::counter!("folio_sign_ins_total", "outcome" => "limited").increment(1);
            return Err(ApiError::RateLimited { retry_after });
        }
    }
    state.limiter.hit(&address).await.map_err(store_down)?;
    let user = match state
        .users
        .clone()
        .authenticate(pb::AuthenticateRequest {
            email: credentials.email,
            password: credentials.password,
        })
        .await
    {
        Ok(user) => user.into_inner(),
        Err(status) if status.code() == Code::Unauthenticated => {
            state.limiter.hit(&account).await.map_err(store_down)?;
            metrics::counter!("folio_sign_ins_total", "outcome" => "refused").increment(1);
            return Err(ApiError::InvalidCredentials);
        }
        Err(status) => return Err(ApiError::from_status(&status, "user")),
    };
    state.limiter.reset(&account).await.map_err(store_down)?;
    metrics::counter!("folio_sign_ins_total", "outcome" => "ok").increment(1);
    // A fresh token at every sign-in; whatever session the browser had ends.
    if let Some(old) = session_cookie(&headers) {
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
        role: crate::domain::views::role_name(user.role).to_owned(),
        csrf_token: random_token(),
        created_at: now,
        last_seen: now,
    };
    let token = state.sessions.create(&session).await.map_err(store_down)?;
    let body = SessionView {
        user: User::from(user),
        csrf_token: session.csrf_token,
    };
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&state, &token, state.config.session_absolute_secs),
    );
    Ok(response)
}

async fn current(State(state): State<AppState>, authed: Authed) -> Result<Response, ApiError> {
    let user = state
        .users
        .clone()
        .get_user(authed.actor().request(pb::GetUserRequest {
            id: authed.session.user_id.to_string(),
        }))
        .await
        .map_err(|s| {
            if s.code() == Code::NotFound {
                ApiError::Unauthenticated
            } else {
                ApiError::from_status(&s, "user")
            }
        })?
        .into_inner();
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
    if let Some(retry_after) = state
        .limiter
        .blocked(&key, state.config.login.per_account)
        .await
        .map_err(store_down)?
    {
        return Err(ApiError::RateLimited { retry_after });
    }
    change.check()?;
    let result = state
        .users
        .clone()
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
        Err(status) if status.code() == Code::Unauthenticated => {
            state.limiter.hit(&key).await.map_err(store_down)?;
            Err(ApiError::CurrentPasswordIncorrect)
        }
        Err(status) => Err(ApiError::from_status(&status, "user")),
    }
}
