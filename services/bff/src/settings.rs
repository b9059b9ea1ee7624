//! The bff's configuration, from `FOLIO_BFF_*` variables.

use std::{path::PathBuf, time::Duration};

use folio_platform::{
    config::{ByteSize, ConfigError, Env, Flag, Platform, PlatformVars},
    secrets::{Secret, SecretSource},
};

pub const PREFIX: &str = "FOLIO_BFF_";

/// Its [`Platform`]: the portal and API on `FOLIO_BFF_ADDR`, HTTPS to the
/// load balancer (`HTTP_TLS_*`), plain HTTP as `folio up` serves on loopback.
pub const PLATFORM: PlatformVars = PlatformVars {
    identity: "bff",
    http_addr_key: "ADDR",
    http_port: 8080,
    https: true,
};

/// How sign-in attempts are limited.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Attempts allowed per (account, client address) pair within a window
    /// (a successful sign-in resets the pair); also per user for changing
    /// one's own password.
    pub per_account: u32,
    /// Attempts allowed per client address within a window.
    pub per_address: u32,
    pub window: Duration,
    /// Past `per_account` attempts on an account from all addresses, each
    /// further attempt waits this much longer (at most ten times as long)
    /// before its password is checked. It slows, never refuses.
    pub slow_down: Duration,
}

impl LoginLimits {
    /// How long the `count`th attempt on one account in a window waits.
    pub fn slow_down_after(&self, count: u32) -> Duration {
        let excess = count.saturating_sub(self.per_account).min(10);
        self.slow_down * excess
    }
}

/// Sign-in with organisations' identity providers (docs/adr/0066).
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// `FOLIO_PUBLIC_URL`: the portal's public base; the provider sends
    /// people back to it + `/api/v1/session/oidc/callback`. Unset: the
    /// address the request came to.
    pub public_url: Option<String>,
    /// Where Entra ID's per-tenant issuers live
    /// (`FOLIO_BFF_ENTRA_AUTHORITY`, normally `https://login.microsoftonline.com`;
    /// tests point it at a local provider).
    pub entra_authority: String,
    /// The deployment's multi-tenant Entra app, for organisations that do
    /// not register their own (`FOLIO_BFF_ENTRA_CLIENT_ID`, `…_CLIENT_SECRET`).
    pub entra_client_id: Option<String>,
    pub entra_client_secret: Option<Secret>,
    /// Or its certificate credential instead of the secret
    /// (`FOLIO_BFF_ENTRA_CLIENT_CERTIFICATE`, `…_FILE`, `…_SECRET`): PEM
    /// text with the RSA private key and the certificate (docs/adr/0074).
    pub entra_client_certificate: Option<Secret>,
    /// Every call to a provider gives up after this (`FOLIO_BFF_OIDC_TIMEOUT_SECS`).
    pub timeout: Duration,
    /// A token naming a key not in the provider's JWKS fetches the keys again
    /// at most this often (`FOLIO_BFF_OIDC_KEYS_MIN_REFRESH_SECS`).
    pub keys_min_refresh: Duration,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        Self {
            public_url: None,
            entra_authority: "https://login.microsoftonline.com".to_owned(),
            entra_client_id: None,
            entra_client_secret: None,
            entra_client_certificate: None,
            timeout: Duration::from_secs(10),
            keys_min_refresh: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub platform: Platform,
    pub users_url: String,
    pub documents_url: String,
    /// The OneDrive integration. Optional in practice: while it cannot be
    /// reached, only the OneDrive endpoints answer 503.
    pub integration_url: String,
    /// The notifications service (webhooks, notification choices); while it
    /// cannot be reached its endpoints answer 503.
    pub notifications_url: String,
    /// Sessions and rate limits in Redis when set; in process otherwise.
    /// A secret: it may carry the AUTH token.
    pub redis_url: Option<Secret>,
    /// The AUTH token (ElastiCache's, from Secrets Manager), used instead
    /// of the URL's password and fetched again every `platform.secrets_refresh`.
    pub redis_auth_token: Option<SecretSource>,
    /// With a `rediss://` URL: trust only this CA (PEM) instead of the
    /// public roots ElastiCache's certificates chain to.
    pub redis_ca_file: Option<PathBuf>,
    /// Prefix of every Redis key, so several systems can share one Redis.
    pub redis_prefix: String,
    /// `Secure` on the session cookie; off only for local plain HTTP.
    pub cookie_secure: bool,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub login: LoginLimits,
    pub max_upload_bytes: u64,
    /// How many proxies (load balancers) in front of the bff append to
    /// `X-Forwarded-For`; 0 trusts no such header.
    pub forwarded_hops: usize,
    /// Requests each API token may make per minute (`FOLIO_BFF_API_TOKEN_RATE`).
    pub api_tokens_per_minute: u32,
    pub providers: ProviderSettings,
}

impl Settings {
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::new(PREFIX)).await
    }

    /// From `env` (`FOLIO_BFF_` and the global `FOLIO_` variables).
    pub async fn read(env: &Env) -> Result<Self, ConfigError> {
        let secs = |key: &str, default: u64| -> Result<Duration, ConfigError> {
            Ok(Duration::from_secs(env.or(key, default)?))
        };
        Ok(Self {
            platform: Platform::from_env(env, &PLATFORM)?,
            users_url: env.or("USERS_URL", "https://localhost:50051".to_owned())?,
            documents_url: env.or("DOCUMENTS_URL", "https://localhost:50052".to_owned())?,
            integration_url: env.or("INTEGRATION_URL", "https://localhost:50053".to_owned())?,
            notifications_url: env.or("NOTIFICATIONS_URL", "https://localhost:50054".to_owned())?,
            redis_url: env.secret("REDIS_URL").await?,
            redis_auth_token: env.secret_source("REDIS_AUTH_TOKEN").await?,
            redis_ca_file: env.optional("REDIS_CA_FILE")?,
            redis_prefix: env.or("REDIS_PREFIX", "folio:".to_owned())?,
            cookie_secure: env.or("COOKIE_SECURE", Flag(true))?.0,
            session_idle: secs("SESSION_IDLE_SECS", 30 * 60)?,
            session_absolute: secs("SESSION_ABSOLUTE_SECS", 12 * 60 * 60)?,
            login: LoginLimits {
                per_account: env.or("LOGIN_MAX_FAILURES", 5)?,
                per_address: env.or("LOGIN_MAX_ATTEMPTS_PER_ADDRESS", 30)?,
                window: secs("LOGIN_WINDOW_SECS", 15 * 60)?,
                slow_down: Duration::from_millis(env.or("LOGIN_SLOW_DOWN_MS", 200)?),
            },
            max_upload_bytes: env.or("MAX_UPLOAD_BYTES", ByteSize(2 << 30))?.0,
            forwarded_hops: env.or("FORWARDED_HOPS", 0)?,
            api_tokens_per_minute: env.or("API_TOKEN_RATE", 600)?,
            providers: ProviderSettings {
                public_url: env
                    .global()
                    .optional::<String>("PUBLIC_URL")?
                    .map(|u| u.trim_end_matches('/').to_owned()),
                entra_authority: env.or(
                    "ENTRA_AUTHORITY",
                    ProviderSettings::default().entra_authority,
                )?,
                entra_client_id: env.optional("ENTRA_CLIENT_ID")?,
                entra_client_secret: env.secret("ENTRA_CLIENT_SECRET").await?,
                entra_client_certificate: env.secret("ENTRA_CLIENT_CERTIFICATE").await?,
                timeout: secs("OIDC_TIMEOUT_SECS", 10)?,
                keys_min_refresh: secs("OIDC_KEYS_MIN_REFRESH_SECS", 30)?,
            },
        })
    }
}
