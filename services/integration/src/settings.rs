//! The integration service's configuration, from `FOLIO_INTEGRATION_*` variables.

use std::{net::SocketAddr, time::Duration};

use folio_platform::{
    config::{ConfigError, Env},
    db::{Credentials, DatabaseUrl},
    tls::TlsFiles,
};
use url::Url;

use crate::secrets::ClientSecretsConfig;

pub const PREFIX: &str = "FOLIO_INTEGRATION_";

/// Where Microsoft Graph's client-credentials token endpoint is; `{tenant}`
/// stands for the connection's tenant.
pub const DEFAULT_TOKEN_URL: &str = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token";

/// How often things happen. Production values by default; tests shorten them.
#[derive(Debug, Clone)]
pub struct Timing {
    /// How often an idle worker looks for due work (a local webhook wakes it at once).
    pub poll_interval: Duration,
    /// A delta runs at least this often per connection, notifications or not.
    pub safety_sync: Duration,
    /// After a notification, deltas are repeated this many times with a
    /// doubling pause (Graph's delta may lag behind its notifications).
    pub followups: u32,
    pub followup_base: Duration,
    /// Requested subscription lifetime (Graph allows at most 42,300 minutes).
    pub subscription_lifetime: Duration,
    /// Renew a subscription when it expires within this.
    pub renew_before: Duration,
    pub reconcile_interval: Duration,
    /// A claim on a connection lapses after this unless renewed.
    pub lease: Duration,
    /// Back-off after a failed sync: base · 2^failures, at most max.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Processed notifications are deleted this long after processing.
    pub inbox_retention: Duration,
    /// A notification starts a sync no sooner than this after the last sync
    /// took notifications, so a flood of replays cannot run syncs back to back.
    pub notification_gap: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            safety_sync: Duration::from_secs(3600),
            followups: 3,
            followup_base: Duration::from_secs(2),
            subscription_lifetime: Duration::from_secs(42_000 * 60),
            renew_before: Duration::from_secs(3 * 24 * 3600),
            reconcile_interval: Duration::from_secs(60),
            lease: Duration::from_secs(60),
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(300),
            inbox_retention: Duration::from_secs(7 * 24 * 3600),
            notification_gap: Duration::from_secs(1),
        }
    }
}

impl Timing {
    /// Everything in (tenths of) seconds instead of minutes and hours, for
    /// runs against the fake Graph (the test suites), where waiting the
    /// production intervals would only slow the run down.
    pub fn brisk() -> Self {
        Self {
            poll_interval: Duration::from_millis(100),
            safety_sync: Duration::from_secs(60),
            followups: 2,
            followup_base: Duration::from_millis(300),
            subscription_lifetime: Duration::from_secs(3600),
            renew_before: Duration::from_secs(600),
            reconcile_interval: Duration::from_millis(200),
            lease: Duration::from_secs(10),
            retry_base: Duration::from_millis(200),
            retry_max: Duration::from_secs(1),
            // Long enough that no test sees rows vanish unless it asks to.
            inbox_retention: Duration::from_secs(3600),
            notification_gap: Duration::from_millis(200),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// gRPC over mTLS (the bff calls it).
    pub grpc_addr: SocketAddr,
    /// Plain HTTP: the Graph webhook (`/api/v1/onedrive/…`), `/healthz`, `/readyz`.
    pub http_addr: SocketAddr,
    pub database_url: DatabaseUrl,
    /// User name and password from secrets, when not in the URL.
    pub database_credentials: Credentials,
    pub database_max_connections: u32,
    /// How often secrets that can change are fetched again (0: never).
    pub secrets_refresh: Duration,
    /// `https://host:port` of the documents service.
    pub documents_url: String,
    /// The base URL Graph posts notifications to (the public address of the
    /// webhook listener); `http://<http_addr>` when unset (local runs).
    pub public_url: Option<Url>,
    /// Overrides Graph's endpoint (`https://graph.microsoft.com/v1.0`), e.g. for the fake.
    pub graph_url: Option<Url>,
    pub token_url: String,
    pub tls: TlsFiles,
    /// Where each organisation's Graph client secret is kept.
    pub client_secrets: ClientSecretsConfig,
    pub timing: Timing,
}

/// `SECRETS_SOURCE`: `database` (the default; sealed with `SECRETS_KEY`)
/// or `aws` (one Secrets Manager secret per organisation under
/// `SECRETS_PREFIX`). Nothing lets a request name a secret (docs/adr/0040).
async fn client_secrets(env: &Env) -> Result<ClientSecretsConfig, ConfigError> {
    if env.optional::<String>("SECRETS_DIR")?.is_some() {
        return Err(ConfigError::Invalid {
            var: env.var_name("SECRETS_DIR"),
            reason: "is no longer used: admins enter the client secret in the portal".to_owned(),
        });
    }
    let source = env
        .optional::<String>("SECRETS_SOURCE")?
        .map(|s| s.trim().to_ascii_lowercase());
    match source.as_deref() {
        None | Some("database") => Ok(ClientSecretsConfig::Database(
            env.secret_source("SECRETS_KEY").await?,
        )),
        Some("aws") => Ok(ClientSecretsConfig::Aws {
            secrets: env.aws_secrets().await,
            prefix: env.or("SECRETS_PREFIX", "folio/integration/graph/".to_owned())?,
        }),
        Some(_) => Err(ConfigError::Invalid {
            var: env.var_name("SECRETS_SOURCE"),
            reason: "expected database or aws".to_owned(),
        }),
    }
}

fn seconds(env: &Env, key: &str, default: Duration) -> Result<Duration, ConfigError> {
    Ok(env
        .optional::<u64>(key)?
        .map_or(default, Duration::from_secs))
}

impl Settings {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new(PREFIX);
        let database_url = env.database_url("integration.db")?;
        let url = |key: &str| -> Result<Option<Url>, ConfigError> {
            match env.optional::<Url>(key)? {
                Some(u) if !matches!(u.scheme(), "http" | "https") => Err(ConfigError::Invalid {
                    var: env.var_name(key),
                    reason: "expected an http:// or https:// URL".to_owned(),
                }),
                other => Ok(other),
            }
        };
        let token_url = env.or("TOKEN_URL", DEFAULT_TOKEN_URL.to_owned())?;
        if !token_url.contains("{tenant}")
            || Url::parse(&token_url.replace("{tenant}", "t")).is_err()
        {
            return Err(ConfigError::Invalid {
                var: env.var_name("TOKEN_URL"),
                reason: "expected a URL containing {tenant}".to_owned(),
            });
        }
        let client_secrets = client_secrets(&env).await?;
        let defaults = Timing::default();
        let timing = Timing {
            safety_sync: seconds(&env, "SAFETY_SYNC_SECS", defaults.safety_sync)?,
            subscription_lifetime: seconds(
                &env,
                "SUBSCRIPTION_LIFETIME_SECS",
                defaults.subscription_lifetime,
            )?,
            renew_before: seconds(&env, "RENEW_BEFORE_SECS", defaults.renew_before)?,
            inbox_retention: seconds(&env, "INBOX_RETENTION_SECS", defaults.inbox_retention)?,
            ..defaults
        };
        Ok(Self {
            grpc_addr: env.or("GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], 50053)))?,
            http_addr: env.or("HTTP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8090)))?,
            database_url,
            database_credentials: Credentials::from_env(&env).await?,
            database_max_connections: env.or("DATABASE_MAX_CONNECTIONS", 10)?,
            secrets_refresh: Env::new("FOLIO_").secrets_refresh()?,
            documents_url: env.or("DOCUMENTS_URL", "https://localhost:50052".to_owned())?,
            public_url: url("PUBLIC_URL")?,
            graph_url: url("GRAPH_URL")?,
            token_url,
            tls: TlsFiles::from_env(&env, "integration")?,
            client_secrets,
            timing,
        })
    }
}
