//! The OpenID Connect protocol, as a relying party: the provider's discovery
//! document, its signing keys (cached; fetched again when a token names an
//! unknown key, at most every `keys_min_refresh`), the authorization code
//! exchange (with PKCE), and the ID token's signature. The claims' checks
//! are `crate::rest::oidc`'s.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use jsonwebtoken::{DecodingKey, Validation, jwk::JwkSet};
use serde::{Deserialize, de::DeserializeOwned};

use crate::rest::oidc::{Expected, IdClaims, Refusal, Verified, allowed_algorithm, check};

/// How long a discovery document is trusted.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// How long signing keys are kept without a reason to look again.
const KEYS_TTL: Duration = Duration::from_secs(3600);
/// Provider answers larger than this are refused.
const MAX_ANSWER: usize = 1 << 20;

/// Why a sign-in with a provider failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider cannot be reached, fails, or answers nonsense.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Refused(Refusal),
}

/// The parts of a discovery document Folio uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

#[derive(Debug, Clone)]
struct Keys {
    set: Arc<JwkSet>,
    fetched: Instant,
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    id_token: Option<String>,
}

/// Talks to providers; one per bff, shared by every request.
#[derive(Debug, Clone)]
pub struct OidcClient {
    http: reqwest::Client,
    discovery: Arc<Mutex<HashMap<String, (Discovery, Instant)>>>,
    keys: Arc<Mutex<HashMap<String, Keys>>>,
    /// A token with an unknown key fetches the keys again at most this
    /// often, so forged tokens cannot make Folio hammer the provider.
    keys_min_refresh: Duration,
}

/// Whether keys fetched `age` ago must be fetched again: when stale, or
/// when a token names a key they lack (`unknown_key`) and they are not
/// younger than `min_refresh`.
fn refetch_keys(age: Duration, unknown_key: bool, min_refresh: Duration) -> bool {
    age >= KEYS_TTL || (unknown_key && age >= min_refresh)
}

fn unavailable(what: &str) -> impl Fn(reqwest::Error) -> ProviderError + '_ {
    move |error| ProviderError::Unavailable(format!("{what}: {}", error.without_url()))
}

/// `https://`, or `http://` when the issuer itself is plain HTTP (loopback
/// only, as the users service checks when the issuer is entered).
fn same_security(issuer: &str, endpoint: &str) -> bool {
    endpoint.starts_with("https://")
        || (issuer.starts_with("http://") && endpoint.starts_with("http://"))
}

impl OidcClient {
    /// Every call to a provider gives up after `timeout`.
    pub fn new(timeout: Duration, keys_min_refresh: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            http,
            discovery: Arc::default(),
            keys: Arc::default(),
            keys_min_refresh,
        })
    }

    async fn fetch_json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<(reqwest::StatusCode, Option<T>), ProviderError> {
        let response = request.send().await.map_err(unavailable(what))?;
        let status = response.status();
        let body = response.bytes().await.map_err(unavailable(what))?;
        if body.len() > MAX_ANSWER {
            return Err(ProviderError::Unavailable(format!(
                "{what}: answer too large"
            )));
        }
        Ok((status, serde_json::from_slice(&body).ok()))
    }

    /// The issuer's discovery document, which must name the same issuer.
    pub async fn discover(&self, issuer: &str) -> Result<Discovery, ProviderError> {
        let cached = self
            .discovery
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(issuer)
            .filter(|(_, at)| at.elapsed() < DISCOVERY_TTL)
            .map(|(d, _)| d.clone());
        if let Some(discovery) = cached {
            return Ok(discovery);
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let what = "the discovery document";
        let (status, document) = self
            .fetch_json::<Discovery>(self.http.get(url), what)
            .await?;
        let document = document
            .filter(|_| status.is_success())
            .ok_or_else(|| ProviderError::Unavailable(format!("{what}: HTTP {status}")))?;
        if document.issuer != issuer {
            return Err(ProviderError::Refused(Refusal::Issuer));
        }
        let endpoints = [
            &document.authorization_endpoint,
            &document.token_endpoint,
            &document.jwks_uri,
        ];
        if !endpoints.iter().all(|e| same_security(issuer, e)) {
            return Err(ProviderError::Unavailable(format!(
                "{what}: endpoints must be https://"
            )));
        }
        self.discovery
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(issuer.to_owned(), (document.clone(), Instant::now()));
        Ok(document)
    }

    /// Exchanges the authorization code for the ID token (client secret in
    /// the body, PKCE verifier alongside).
    pub async fn exchange(
        &self,
        discovery: &Discovery,
        code: &str,
        redirect_uri: &str,
        client_id: &str,
        client_secret: &str,
        verifier: &str,
    ) -> Result<String, ProviderError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("code_verifier", verifier),
        ];
        let request = self
            .http
            .post(&discovery.token_endpoint)
            .header("accept", "application/json")
            .form(&form);
        let (status, answer) = self
            .fetch_json::<TokenAnswer>(request, "the token endpoint")
            .await?;
        if status.is_client_error() {
            // A code used twice, expired, or not for this verifier.
            return Err(ProviderError::Refused(Refusal::ProviderError));
        }
        answer
            .filter(|_| status.is_success())
            .and_then(|a| a.id_token)
            .ok_or_else(|| {
                ProviderError::Unavailable(format!(
                    "the token endpoint: HTTP {status}, no ID token"
                ))
            })
    }

    async fn key_set(&self, jwks_uri: &str, refresh: bool) -> Result<Arc<JwkSet>, ProviderError> {
        let cached = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(jwks_uri)
            .cloned();
        if let Some(keys) = &cached
            && !refetch_keys(keys.fetched.elapsed(), refresh, self.keys_min_refresh)
        {
            return Ok(Arc::clone(&keys.set));
        }
        let what = "the signing keys";
        let (status, set) = self
            .fetch_json::<JwkSet>(self.http.get(jwks_uri), what)
            .await?;
        let set = Arc::new(
            set.filter(|_| status.is_success())
                .ok_or_else(|| ProviderError::Unavailable(format!("{what}: HTTP {status}")))?,
        );
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                jwks_uri.to_owned(),
                Keys {
                    set: Arc::clone(&set),
                    fetched: Instant::now(),
                },
            );
        Ok(set)
    }

    /// The ID token's signature with the provider's published key, then
    /// every claim check.
    pub async fn verify(
        &self,
        discovery: &Discovery,
        id_token: &str,
        expected: &Expected<'_>,
    ) -> Result<Verified, ProviderError> {
        let refused = ProviderError::Refused;
        // `alg: none` (and anything unknown) does not even parse as a header.
        let header =
            jsonwebtoken::decode_header(id_token).map_err(|_| refused(Refusal::Algorithm))?;
        let alg = serde_json::to_value(header.alg)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        if !allowed_algorithm(&alg) {
            return Err(refused(Refusal::Algorithm));
        }
        let find = |set: &JwkSet| match &header.kid {
            Some(kid) => set.find(kid).cloned(),
            None if set.keys.len() == 1 => set.keys.first().cloned(),
            None => None,
        };
        let mut jwk = find(&*self.key_set(&discovery.jwks_uri, false).await?);
        if jwk.is_none() {
            // Keys rotate: look once more before refusing.
            jwk = find(&*self.key_set(&discovery.jwks_uri, true).await?);
        }
        let jwk = jwk.ok_or(refused(Refusal::UnknownKey))?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| refused(Refusal::UnknownKey))?;
        let mut validation = Validation::new(header.alg);
        // The claims are checked by `rest::oidc::check`, with its skew.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<IdClaims>(id_token, &key, &validation)
            .map_err(|_| refused(Refusal::Signature))?;
        check(&data.claims, expected).map_err(refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fetched_again_when_stale_or_for_an_unknown_key_at_most_so_often() {
        let min = Duration::from_secs(30);
        let secs = Duration::from_secs;
        assert!(!refetch_keys(secs(5), false, min));
        assert!(!refetch_keys(secs(5), true, min), "rate limited");
        assert!(refetch_keys(secs(30), true, min));
        assert!(!refetch_keys(secs(300), false, min));
        assert!(refetch_keys(KEYS_TTL, false, min));
    }
}
