//! Extractors, in the order the contract checks things: a session (401),
//! its CSRF token on state-changing requests (403), the role (403), then
//! the body (413, 415, 400).

use std::net::IpAddr;

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderMap, Method, header, request::Parts},
};
use folio_platform::actor::{Actor, ActorRole};
use futures::StreamExt as _;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::{error::ApiError, session::Session};

pub const COOKIE: &str = "folio_session";
const CSRF_HEADER: &str = "x-csrf-token";
/// JSON bodies are small; anything larger is refused while reading, never
/// buffered (documented in openapi/bff.yaml).
const JSON_LIMIT: usize = 64 * 1024;

/// The session token from the request's cookies, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The client's address: the TCP peer, or, behind `hops` trusted proxies, the
/// address the outermost of them saw (each proxy appends to X-Forwarded-For,
/// so only the last `hops` entries can be trusted).
pub fn client_address(headers: &HeaderMap, peer: IpAddr, hops: usize) -> IpAddr {
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

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A signed-in user whose CSRF token matched (for state-changing methods).
#[derive(Debug, Clone)]
pub struct Authed {
    pub session: Session,
    pub token: String,
}

impl Authed {
    pub fn role(&self) -> ActorRole {
        match self.session.role.as_str() {
            "admin" => ActorRole::Admin,
            "editor" => ActorRole::Editor,
            _ => ActorRole::Viewer,
        }
    }

    /// The end user, as the domain services expect them in metadata.
    pub fn actor(&self) -> Actor {
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
        Ok(Self { session, token })
    }
}

/// An editor or admin.
#[derive(Debug, Clone)]
pub struct Writer(pub Authed);

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
pub struct Admin(pub Authed);

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
pub struct JsonBody<T>(pub T);

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
