//! Extractors, in the order the contract checks things: a session or an API
//! token (401), the session's CSRF token or the token's scope on
//! state-changing requests (403), the role (403), then the body (413, 415,
//! 400).

use std::{net::IpAddr, time::Duration};

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderMap, Method, header, request::Parts},
};
use folio_clients::UsersError;
use folio_platform::actor::{Actor, ActorRole};
use folio_proto::users::v1 as pb;
use futures::StreamExt as _;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq as _;

use super::AppState;
use crate::{
    error::ApiError,
    session::{Session, now_secs},
};

pub(crate) const COOKIE: &str = "folio_session";
const CSRF_HEADER: &str = "x-csrf-token";
/// An `Authorization` header longer than this cannot carry one of our
/// tokens; it is refused unread.
const MAX_AUTHORIZATION: usize = 256;
/// The users service answers a token look-up within this, or the request
/// is refused as unavailable.
const TOKEN_LOOKUP_DEADLINE: Duration = Duration::from_secs(5);
/// JSON bodies are small; anything larger is refused while reading, never
/// buffered (documented in openapi/bff.yaml).
const JSON_LIMIT: usize = 64 * 1024;

/// The session token from the request's cookies, if any.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// The value of the cookie `wanted` from the request, if any.
pub(crate) fn cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
}

/// The client's address: the TCP peer, or, behind `hops` trusted proxies, the
/// address the outermost of them saw (each proxy appends to X-Forwarded-For,
/// so only the last `hops` entries can be trusted).
pub(crate) fn client_address(headers: &HeaderMap, peer: IpAddr, hops: usize) -> IpAddr {
    if hops == 0 {
        return peer;
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    forwarded
        .len()
        .checked_sub(hops)
        .and_then(|i| forwarded.get(i))
        .and_then(|ip| ip.parse().ok())
        .unwrap_or(peer)
}

/// Compares secrets (CSRF tokens, OpenID `state`) without leaking where
/// they differ through timing.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// The API token in `Authorization: Bearer …`, if the header is there. A
/// header that is there but is not one bearer token is refused, never
/// taken for "no token" (so it cannot fall back to a cookie).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() || value.len() > MAX_AUTHORIZATION {
        return Err(ApiError::Unauthenticated);
    }
    let value = value.to_str().map_err(|_| ApiError::Unauthenticated)?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::Unauthenticated)?;
    let token = token.trim();
    let well_formed = !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !scheme.eq_ignore_ascii_case("bearer") || !well_formed {
        return Err(ApiError::Unauthenticated);
    }
    Ok(Some(token.to_owned()))
}

/// How a request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// The session cookie, with its CSRF token on state-changing requests.
    Session,
    /// An API token (`Authorization: Bearer`): no CSRF token (a browser
    /// never adds this header by itself), reads only unless `write`.
    ApiToken { id: String, write: bool },
}

/// A signed-in user whose CSRF token matched (for state-changing methods),
/// or the holder of a live API token whose scope allows the method.
#[derive(Debug, Clone)]
pub(crate) struct Authed {
    pub session: Session,
    /// The session's token; for an API token, a name that matches no session.
    pub token: String,
    pub credential: Credential,
}

impl Authed {
    pub(crate) fn role(&self) -> ActorRole {
        match self.session.role.as_str() {
            "admin" => ActorRole::Admin,
            "editor" => ActorRole::Editor,
            _ => ActorRole::Viewer,
        }
    }

    /// Refuses an API token where only a signed-in person may act (a token
    /// must not mint tokens or end a session it is not).
    pub(crate) fn session_only(&self) -> Result<(), ApiError> {
        match self.credential {
            Credential::Session => Ok(()),
            Credential::ApiToken { .. } => Err(ApiError::Forbidden),
        }
    }

    /// The end user, as the domain services expect them in metadata.
    pub(crate) fn actor(&self) -> Actor {
        Actor {
            user_id: self.session.user_id,
            org_id: self.session.org_id,
            role: self.role(),
        }
    }
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(secret) = bearer_token(&parts.headers)? {
            return api_token(&parts.method, &secret, state).await;
        }
        let token = session_cookie(&parts.headers).ok_or(ApiError::Unauthenticated)?;
        let session = state
            .sessions
            .get(&token)
            .await
            .map_err(|_| ApiError::Unavailable("the session store"))?
            .ok_or(ApiError::Unauthenticated)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !constant_time_eq(sent, session.csrf_token.as_bytes()) {
                return Err(ApiError::CsrfFailed);
            }
        }
        Ok(Self {
            session,
            token,
            credential: Credential::Session,
        })
    }
}

/// Resolves an API token on every request, with no cache: a revoked or
/// expired token, a disabled person and a role change count at once.
async fn api_token(method: &Method, secret: &str, state: &AppState) -> Result<Authed, ApiError> {
    let request = pb::AuthenticateApiTokenRequest {
        secret: secret.to_owned(),
    };
    let users = state.users.clone().with_deadline(TOKEN_LOOKUP_DEADLINE);
    let answer = match users.authenticate_api_token(request).await {
        Ok(answer) => answer,
        Err(UsersError::Unauthenticated(_) | UsersError::Refused { .. }) => {
            metrics::counter!("folio_api_token_requests_total", "outcome" => "refused")
                .increment(1);
            return Err(ApiError::Unauthenticated);
        }
        Err(status) => return Err(ApiError::from_call(status, "user")),
    };
    let user = answer
        .user
        .ok_or_else(|| ApiError::Internal("token without a user".into()))?;
    let used = state
        .api_limiter
        .count(&format!("api-token:{}", answer.token_id))
        .await
        .map_err(|_| ApiError::Unavailable("the session store"))?;
    if let Some(retry_after) = used.over(state.config.api_tokens_per_minute) {
        metrics::counter!("folio_api_token_requests_total", "outcome" => "limited").increment(1);
        return Err(ApiError::RateLimited { retry_after });
    }
    let write = answer.scope == i32::from(pb::ApiTokenScope::Write);
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !write && !safe {
        return Err(ApiError::Forbidden);
    }
    metrics::counter!("folio_api_token_requests_total", "outcome" => "ok").increment(1);
    let parse = |raw: &str, what: &str| {
        raw.parse()
            .map_err(|_| ApiError::Internal(format!("{what} id")))
    };
    let now = now_secs();
    Ok(Authed {
        session: Session {
            user_id: parse(&user.id, "user")?,
            org_id: parse(&user.organisation_id, "organisation")?,
            // A read token acts as a viewer whatever the person's role.
            role: if write {
                crate::rest::views::role_name(user.role).to_owned()
            } else {
                "viewer".to_owned()
            },
            csrf_token: String::new(),
            created_at: now,
            last_seen: now,
        },
        token: format!("api-token:{}", answer.token_id),
        credential: Credential::ApiToken {
            id: answer.token_id,
            write,
        },
    })
}

/// An editor or admin.
#[derive(Debug, Clone)]
pub(crate) struct Writer(pub Authed);

impl FromRequestParts<AppState> for Writer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let authed = Authed::from_request_parts(parts, state).await?;
        if authed.role().can_write() {
            Ok(Self(authed))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// An admin.
#[derive(Debug, Clone)]
pub(crate) struct Admin(pub Authed);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let authed = Authed::from_request_parts(parts, state).await?;
        if authed.role() == ActorRole::Admin {
            Ok(Self(authed))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// A JSON body: `application/json` only, at most 64 KiB, strictly parsed.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType {
                expected: "application/json",
            });
        }
        let too_large = ApiError::PayloadTooLarge {
            limit: JSON_LIMIT as u64,
        };
        // A declared length over the limit is refused unread; an undeclared
        // one is read only up to the limit.
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > JSON_LIMIT as u64) {
            return Err(too_large);
        }
        let mut chunks = request.into_body().into_data_stream();
        let mut body = Vec::new();
        while let Some(chunk) = chunks.next().await {
            let chunk =
                chunk.map_err(|_| ApiError::Malformed("the body could not be read".to_owned()))?;
            if body.len() + chunk.len() > JSON_LIMIT {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map(Self).map_err(|e| {
            if e.is_data() {
                ApiError::invalid("body", e.to_string())
            } else {
                ApiError::Malformed(format!("the body is not valid JSON: {e}"))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_one_well_formed_value_or_refused() {
        let with = |values: &[&[u8]]| {
            let mut headers = HeaderMap::new();
            for v in values {
                headers.append(
                    header::AUTHORIZATION,
                    axum::http::HeaderValue::from_bytes(v).unwrap(),
                );
            }
            bearer_token(&headers).map_err(|e| e.to_string())
        };
        assert_eq!(with(&[]), Ok(None));
        assert_eq!(
            with(&[b"Bearer folio_pat_abc-_9"]),
            Ok(Some("folio_pat_abc-_9".into()))
        );
        assert_eq!(with(&[b"bearer abc"]), Ok(Some("abc".into())));
        for bad in [
            &b"Bearer"[..],
            b"Bearer ",
            b"Basic YWxhZGRpbjpvcGVuc2VzYW1l",
            b"Bearer a b",
            b"Bearer a=b",
            b"Bearer \xc3\xa9t\xc3\xa9",
        ] {
            assert!(with(&[bad]).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let long = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION));
        assert!(with(&[long.as_bytes()]).is_err());
        assert!(with(&[b"Bearer a", b"Bearer b"]).is_err());
    }

    #[test]
    fn client_address_trusts_only_the_configured_proxies() {
        let peer: IpAddr = "10.0.0.9".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        assert_eq!(client_address(&headers, peer, 0), peer);
        assert_eq!(client_address(&headers, peer, 1).to_string(), "203.0.113.7");
        assert_eq!(client_address(&headers, peer, 2).to_string(), "6.6.6.6");
        assert_eq!(client_address(&headers, peer, 3), peer);
        assert_eq!(client_address(&HeaderMap::new(), peer, 1), peer);
    }
}
