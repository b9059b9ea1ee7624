//! The OpenID Connect protocol, as a relying party: the provider's discovery
//! document, its signing keys (cached; fetched again when a token names an
//! unknown key, at most every `keys_min_refresh`), the authorization code
//! exchange (with PKCE), and the ID token's signature. The claims' checks
//! are `crate::rest::oidc`'s.

use std::{sync::Arc, time::Duration};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, jwk::JwkSet};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::{
    provider_cache::{CachedKeys, ProviderCache, now_ms},
    rest::oidc::{Expected, IdClaims, Refusal, Verified, allowed_algorithm, check},
};

/// How long a discovery document is trusted.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// How long signing keys are kept without a reason to look again.
const KEYS_TTL: Duration = Duration::from_secs(3600);
/// Provider answers larger than this are refused.
const MAX_ANSWER: usize = 1 << 20;

/// Why a sign-in with a provider failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProviderError {
    /// The provider cannot be reached, fails, or answers nonsense.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Refused(Refusal),
}

/// The parts of a discovery document Folio uses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    id_token: Option<String>,
}

/// How long a client assertion is valid: only for the token request it
/// goes with.
const ASSERTION_SECS: u64 = 300;
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's certificate credential (RFC 7523 `private_key_jwt`, as
/// Microsoft Entra ID takes it): the RSA private key that signs each
/// assertion, and the certificate's SHA-256 thumbprint (`x5t#S256`) the
/// provider finds the registered certificate by.
#[derive(Clone)]
pub(crate) struct ClientCertificate {
    key: EncodingKey,
    thumbprint: String,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

/// The base64 body of the first PEM block whose label is one of `labels`,
/// with the label.
fn pem_block<'a>(pem: &'a str, labels: &[&'a str]) -> Option<(&'a str, String)> {
    labels.iter().find_map(|label| {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let start = pem.find(&begin)? + begin.len();
        let stop = start + pem[start..].find(&end)?;
        Some((*label, pem[start..stop].split_whitespace().collect()))
    })
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: String,
    iat: u64,
    nbf: u64,
    exp: u64,
}

impl ClientCertificate {
    /// From PEM text holding the RSA private key (`PRIVATE KEY` or `RSA
    /// PRIVATE KEY`) and its `CERTIFICATE`, in either order, as key vaults
    /// export them.
    pub(crate) fn from_pem(pem: &str) -> Result<Self, String> {
        let (_, cert) = pem_block(pem, &["CERTIFICATE"])
            .ok_or("no CERTIFICATE block in the client certificate")?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(cert)
            .map_err(|_| "the CERTIFICATE block is not base64")?;
        let (label, key) = pem_block(pem, &["PRIVATE KEY", "RSA PRIVATE KEY"])
            .ok_or("no PRIVATE KEY block in the client certificate")?;
        let key_pem = format!("-----BEGIN {label}-----\n{key}\n-----END {label}-----\n");
        let key = EncodingKey::from_rsa_pem(key_pem.as_bytes())
            .map_err(|_| "the private key is not an RSA key")?;
        let thumbprint =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(&der));
        let certificate = Self { key, thumbprint };
        // A key that cannot sign fails here, at start, not at a sign-in.
        certificate.assertion("check", "check", 0)?;
        Ok(certificate)
    }

    /// A fresh assertion for one token request at `audience` (the token
    /// endpoint): short-lived, with a unique `jti`.
    fn assertion(&self, client_id: &str, audience: &str, now: u64) -> Result<String, String> {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".to_owned());
        header.x5t_s256 = Some(self.thumbprint.clone());
        let claims = AssertionClaims {
            iss: client_id,
            sub: client_id,
            aud: audience,
            jti: crate::session::random_token(),
            iat: now,
            nbf: now,
            exp: now + ASSERTION_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| e.to_string())
    }
}

/// How Folio proves at the token endpoint that it is the client.
#[derive(Clone)]
pub(crate) enum ClientCredential {
    /// `client_secret_post`.
    Secret(String),
    /// `private_key_jwt` with the certificate's key.
    Certificate(Arc<ClientCertificate>),
}

impl std::fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("ClientCredential::Secret([redacted])"),
            Self::Certificate(c) => f
                .debug_tuple("ClientCredential::Certificate")
                .field(c)
                .finish(),
        }
    }
}

/// Talks to providers; one per bff, shared by every request.
#[derive(Debug, Clone)]
pub(crate) struct OidcClient {
    http: reqwest::Client,
    /// Discovery documents and signing keys (shared through Redis when
    /// sessions are there).
    cache: ProviderCache,
    /// A token with an unknown key fetches the keys again at most this
    /// often, so forged tokens cannot make Folio hammer the provider.
    keys_min_refresh: Duration,
    /// The deployment's Entra app's certificate, when it has one.
    deployment_certificate: Option<Arc<ClientCertificate>>,
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
    pub(crate) fn new(timeout: Duration, keys_min_refresh: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            http,
            cache: ProviderCache::memory(),
            keys_min_refresh,
            deployment_certificate: None,
        })
    }

    /// The deployment's Entra app authenticates with this certificate (PEM:
    /// key and certificate) instead of its secret.
    pub(crate) fn with_deployment_certificate(mut self, pem: Option<&str>) -> Result<Self, String> {
        self.deployment_certificate = pem
            .map(|pem| ClientCertificate::from_pem(pem).map(Arc::new))
            .transpose()?;
        Ok(self)
    }

    /// Keeps discovery documents and keys in Redis, shared by the replicas.
    pub(crate) fn with_shared_cache(mut self, pool: deadpool_redis::Pool, prefix: &str) -> Self {
        self.cache = ProviderCache::redis(pool, prefix);
        self
    }

    pub(crate) fn deployment_certificate(&self) -> Option<&Arc<ClientCertificate>> {
        self.deployment_certificate.as_ref()
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
    pub(crate) async fn discover(&self, issuer: &str) -> Result<Discovery, ProviderError> {
        if let Some(discovery) = self.cache.discovery(issuer, DISCOVERY_TTL).await {
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
        self.cache
            .put_discovery(issuer, &document, DISCOVERY_TTL)
            .await;
        Ok(document)
    }

    /// Exchanges the authorization code for the ID token (the client's
    /// secret or a signed assertion in the body, PKCE verifier alongside).
    pub(crate) async fn exchange(
        &self,
        discovery: &Discovery,
        code: &str,
        redirect_uri: &str,
        client_id: &str,
        credential: &ClientCredential,
        verifier: &str,
    ) -> Result<String, ProviderError> {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
            ("client_id", client_id.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ];
        match credential {
            ClientCredential::Secret(secret) => form.push(("client_secret", secret.clone())),
            ClientCredential::Certificate(certificate) => {
                let now = crate::session::now_secs();
                let assertion = certificate
                    .assertion(client_id, &discovery.token_endpoint, now)
                    .map_err(|e| ProviderError::Unavailable(format!("client assertion: {e}")))?;
                form.push(("client_assertion_type", ASSERTION_TYPE.to_owned()));
                form.push(("client_assertion", assertion));
            }
        }
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
        if let Some(keys) = self.cache.keys(jwks_uri).await {
            let age = Duration::from_millis(now_ms().saturating_sub(keys.fetched_ms));
            if !refetch_keys(age, refresh, self.keys_min_refresh) {
                return Ok(keys.set);
            }
            // Stale keys are fetched again whatever; for an unknown key
            // only one replica per `keys_min_refresh` asks.
            if age < KEYS_TTL
                && !self
                    .cache
                    .claim_refresh(jwks_uri, self.keys_min_refresh)
                    .await
            {
                return Ok(keys.set);
            }
        }
        let what = "the signing keys";
        let (status, set) = self
            .fetch_json::<JwkSet>(self.http.get(jwks_uri), what)
            .await?;
        let set = Arc::new(
            set.filter(|_| status.is_success())
                .ok_or_else(|| ProviderError::Unavailable(format!("{what}: HTTP {status}")))?,
        );
        let keys = CachedKeys {
            set: Arc::clone(&set),
            fetched_ms: now_ms(),
        };
        self.cache.put_keys(jwks_uri, &keys, KEYS_TTL).await;
        Ok(set)
    }

    /// The ID token's signature with the provider's published key, then
    /// every claim check.
    pub(crate) async fn verify(
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
    fn a_client_certificate_needs_its_rsa_key_and_certificate_in_any_order() {
        let (key, certificate) = folio_testkit::oidc::client_certificate("folio-test-app");
        let one = ClientCertificate::from_pem(&format!("{key}{certificate}")).unwrap();
        let other = ClientCertificate::from_pem(&format!("{certificate}\n{key}")).unwrap();
        assert_eq!(one.thumbprint, other.thumbprint);
        assert_eq!(one.thumbprint.len(), 43, "base64url of 32 bytes");
        assert!(!format!("{one:?}").contains("PRIVATE"), "no key in Debug");
        let no_key = ClientCertificate::from_pem(&certificate).unwrap_err();
        assert!(no_key.contains("PRIVATE KEY"), "{no_key}");
        let no_certificate = ClientCertificate::from_pem(&key).unwrap_err();
        assert!(no_certificate.contains("CERTIFICATE"), "{no_certificate}");
        let garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let not_rsa = ClientCertificate::from_pem(&format!("{certificate}{garbage}")).unwrap_err();
        assert!(not_rsa.contains("RSA"), "{not_rsa}");
        let secret = ClientCredential::Secret("hunter2-secret".into());
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

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
