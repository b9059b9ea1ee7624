//! App-only tokens: the client-credentials grant against the tenant's token
//! endpoint, cached (with the SDK client built on the token) until shortly
//! before the token expires.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use graph_rs_sdk::GraphClient;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::{Credentials, GraphError};

/// A token is replaced this long before it expires.
const EARLY: Duration = Duration::from_secs(300);

#[derive(Debug, Deserialize)]
pub(super) struct TokenResponse {
    pub(super) access_token: String,
    pub(super) expires_in: u64,
}

#[derive(Debug, Deserialize)]
pub(super) struct TokenError {
    pub(super) error: String,
}

struct Cached {
    client: GraphClient,
    refresh_at: Instant,
}

pub(super) struct Tokens {
    url: String,
    /// `https://<graph host>/.default` of the cloud Graph is in.
    scope: String,
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("url", &self.url)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub(super) fn new(url: String, scope: String, http: reqwest::Client) -> Self {
        Self {
            url,
            scope,
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The cache key: the secret only as a digest, so a rotated secret gets a new token.
    fn key(credentials: &Credentials) -> String {
        let digest = Sha256::digest(credentials.secret.expose().as_bytes());
        format!(
            "{}\n{}\n{}",
            credentials.tenant,
            credentials.app_id,
            hex::encode(digest)
        )
    }

    pub(super) async fn client(
        &self,
        credentials: &Credentials,
        build: impl FnOnce(String) -> GraphClient,
    ) -> Result<GraphClient, GraphError> {
        let key = Self::key(credentials);
        if let Some(cached) = self.cache.lock().await.get(&key)
            && cached.refresh_at > Instant::now()
        {
            return Ok(cached.client.clone());
        }
        let (token, lifetime) = self.request(credentials).await?;
        let client = build(token);
        let refresh_at = Instant::now() + lifetime.saturating_sub(EARLY).max(lifetime / 2);
        self.cache.lock().await.insert(
            key,
            Cached {
                client: client.clone(),
                refresh_at,
            },
        );
        Ok(client)
    }

    /// Drops the cached token of these credentials (Graph refused it).
    pub(super) async fn forget(&self, credentials: &Credentials) {
        self.cache.lock().await.remove(&Self::key(credentials));
    }

    async fn request(&self, credentials: &Credentials) -> Result<(String, Duration), GraphError> {
        let tenant = super::segment(&credentials.tenant);
        let url = self.url.replace("{tenant}", &tenant);
        let response = self
            .http
            .post(url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", credentials.app_id.as_str()),
                ("client_secret", credentials.secret.expose()),
                ("scope", self.scope.as_str()),
            ])
            .send()
            .await?;
        let status = response.status();
        if status.is_success() {
            let body: TokenResponse = response
                .json()
                .await
                .map_err(|_| GraphError::Malformed("token response"))?;
            return Ok((body.access_token, Duration::from_secs(body.expires_in)));
        }
        match status.as_u16() {
            429 | 503 => Err(GraphError::Throttled(super::retry_after(
                response.headers(),
            ))),
            400..=499 => {
                let code = response
                    .json::<TokenError>()
                    .await
                    .map(|e| e.error)
                    .unwrap_or_else(|_| status.as_u16().to_string());
                Err(GraphError::Credentials(code.chars().take(80).collect()))
            }
            _ => Err(GraphError::Unavailable(format!("token endpoint {status}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use folio_platform::secrets::Secret;

    use super::*;

    #[test]
    fn a_rotated_secret_misses_the_cache() {
        let credentials = |secret: &str| Credentials {
            tenant: "t".into(),
            app_id: "a".into(),
            secret: Secret::new(secret.to_owned()),
        };
        assert_eq!(
            Tokens::key(&credentials("one")),
            Tokens::key(&credentials("one"))
        );
        assert_ne!(
            Tokens::key(&credentials("one")),
            Tokens::key(&credentials("two"))
        );
        assert!(
            !Tokens::key(&credentials("one")).contains("one"),
            "never the secret itself"
        );
    }
}
