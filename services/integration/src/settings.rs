//! The integration service's configuration, from `FOLIO_INTEGRATION_*` variables.

use std::{net::SocketAddr, time::Duration};

use folio_platform::{
    config::{ConfigError, Env, Platform, PlatformVars},
    db::DatabaseSettings,
};
use url::Url;

use crate::secrets::ClientSecretsConfig;

pub const PREFIX: &str = "FOLIO_INTEGRATION_";

/// Its [`Platform`]: the Graph webhook (`/api/v1/onedrive/…`), `/healthz`
/// and `/readyz`, HTTPS in the cluster (`HTTP_TLS_*`), plain HTTP on loopback.
pub const PLATFORM: PlatformVars = PlatformVars {
    identity: "integration",
    http_addr_key: "HTTP_ADDR",
    http_port: 8090,
    https: true,
};

/// Where Microsoft Graph's client-credentials token endpoint is; `{tenant}`
/// stands for the connection's tenant. In a national cloud the default
/// follows the Graph URL (see `graph::token_url_for`).
pub const DEFAULT_TOKEN_URL: &str = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token";

/// How often things happen. Production values by default; tests shorten them.
#[derive(Debug, Clone)]
pub struct Timing {
    /// How often an idle worker looks for due work (a local webhook wakes it at once).
    pub poll_interval: Duration,
    /// A delta runs at least this often per connection, notifications or not.
    pub safety_sync: Duration,
    /// After a notification, deltas are repeated this many times with a
    /// doubling pause from `followup_base` up to `followup_max` (Graph's
    /// delta may lag minutes behind its notifications; docs/adr/0038).
    pub followups: u32,
    pub followup_base: Duration,
    pub followup_max: Duration,
    /// Requested subscription lifetime (Graph allows at most 42,300 minutes).
    pub subscription_lifetime: Duration,
    /// Renew a subscription when it expires within this.
    pub renew_before: Duration,
    pub reconcile_interval: Duration,
    /// A subscription not seen alive in Graph for this long is looked up
    /// (Graph may remove one without a word); recreated when gone.
    pub subscription_check: Duration,
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
            // 2, 4, … 64 s, then 120 s: follow-ups for about ten minutes.
            followups: 10,
            followup_base: Duration::from_secs(2),
            followup_max: Duration::from_secs(120),
            subscription_lifetime: Duration::from_secs(42_000 * 60),
            renew_before: Duration::from_secs(3 * 24 * 3600),
            reconcile_interval: Duration::from_secs(60),
            subscription_check: Duration::from_secs(30 * 60),
            lease: Duration::from_secs(60),
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(300),
            inbox_retention: Duration::from_secs(7 * 24 * 3600),
            notification_gap: Duration::from_secs(1),
        }
    }
}

impl Timing {
    /// The pause before follow-up delta number `step` (0 = the first).
    pub fn followup_pause(&self, step: u32) -> Duration {
        self.followup_base
            .saturating_mul(2_u32.saturating_pow(step.min(30)))
            .min(self.followup_max)
    }

    /// How long after a notification follow-up deltas keep coming.
    pub fn followup_window(&self) -> Duration {
        (0..self.followups).map(|s| self.followup_pause(s)).sum()
    }

    /// Everything in (tenths of) seconds instead of minutes and hours, for
    /// runs against the fake Graph (the test suites), where waiting the
    /// production intervals would only slow the run down.
    pub fn brisk() -> Self {
        Self {
            poll_interval: Duration::from_millis(100),
            safety_sync: Duration::from_secs(60),
            followups: 2,
            followup_base: Duration::from_millis(300),
            followup_max: Duration::from_secs(1),
            subscription_lifetime: Duration::from_secs(3600),
            renew_before: Duration::from_secs(600),
            reconcile_interval: Duration::from_millis(200),
            subscription_check: Duration::from_secs(60),
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
    pub platform: Platform,
    /// gRPC over mTLS (the bff calls it).
    pub grpc_addr: SocketAddr,
    pub database: DatabaseSettings,
    /// `https://host:port` of the documents service.
    pub documents_url: String,
    /// The base URL Graph posts notifications to (the public address of the
    /// webhook listener); `http://<http_addr>` when unset (local runs).
    pub public_url: Option<Url>,
    /// Overrides Graph's endpoint (`https://graph.microsoft.com/v1.0`), e.g. for the fake.
    pub graph_url: Option<Url>,
    pub token_url: String,
    /// The scope of app-only tokens; `None`: the `/.default` of the cloud
    /// `graph_url` is in (docs/adr/0037).
    pub graph_scope: Option<String>,
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

/// Microsoft Graph posts notifications only to HTTPS, and a webhook in the
/// clear would expose the clientState. Plain `http://` is for loopback, or
/// for a local fake Graph (development), where nobody else can listen.
pub(crate) fn check_public_url(public: &Url, graph: Option<&Url>) -> Result<(), String> {
    if public.scheme() == "https" {
        return Ok(());
    }
    let loopback = match public.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let fake_graph = graph.is_some_and(|g| g.scheme() == "http");
    if loopback || fake_graph {
        Ok(())
    } else {
        Err(format!(
            "expected an https:// URL: Microsoft Graph posts notifications only to HTTPS \
             (http:// is accepted for loopback addresses or a local fake Graph only), got {}://{}",
            public.scheme(),
            public.host_str().unwrap_or_default()
        ))
    }
}

fn seconds(env: &Env, key: &str, default: Duration) -> Result<Duration, ConfigError> {
    Ok(env
        .optional::<u64>(key)?
        .map_or(default, Duration::from_secs))
}

impl Settings {
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::new(PREFIX)).await
    }

    /// From `env` (`FOLIO_INTEGRATION_` and the global `FOLIO_` variables).
    pub async fn read(env: &Env) -> Result<Self, ConfigError> {
        let database = DatabaseSettings::from_env(env, "integration.db").await?;
        let url = |key: &str| -> Result<Option<Url>, ConfigError> {
            match env.optional::<Url>(key)? {
                Some(u) if !matches!(u.scheme(), "http" | "https") => Err(ConfigError::Invalid {
                    var: env.var_name(key),
                    reason: "expected an http:// or https:// URL".to_owned(),
                }),
                other => Ok(other),
            }
        };
        let public_url = url("PUBLIC_URL")?;
        let graph_url = url("GRAPH_URL")?;
        if let Some(public) = &public_url {
            check_public_url(public, graph_url.as_ref()).map_err(|reason| {
                ConfigError::Invalid {
                    var: env.var_name("PUBLIC_URL"),
                    reason,
                }
            })?;
        }
        let token_url = env.or("TOKEN_URL", crate::graph::token_url_for(graph_url.as_ref()))?;
        let graph_scope = env.optional::<String>("GRAPH_SCOPE")?;
        if let Some(scope) = &graph_scope
            && (!scope.starts_with("https://") || !scope.ends_with("/.default"))
        {
            return Err(ConfigError::Invalid {
                var: env.var_name("GRAPH_SCOPE"),
                reason: "expected https://<graph host>/.default".to_owned(),
            });
        }
        if !token_url.contains("{tenant}")
            || Url::parse(&token_url.replace("{tenant}", "t")).is_err()
        {
            return Err(ConfigError::Invalid {
                var: env.var_name("TOKEN_URL"),
                reason: "expected a URL containing {tenant}".to_owned(),
            });
        }
        let client_secrets = client_secrets(env).await?;
        let defaults = Timing::default();
        let timing = Timing {
            safety_sync: seconds(env, "SAFETY_SYNC_SECS", defaults.safety_sync)?,
            subscription_lifetime: seconds(
                env,
                "SUBSCRIPTION_LIFETIME_SECS",
                defaults.subscription_lifetime,
            )?,
            renew_before: seconds(env, "RENEW_BEFORE_SECS", defaults.renew_before)?,
            inbox_retention: seconds(env, "INBOX_RETENTION_SECS", defaults.inbox_retention)?,
            subscription_check: seconds(
                env,
                "SUBSCRIPTION_CHECK_SECS",
                defaults.subscription_check,
            )?,
            ..defaults
        };
        Ok(Self {
            grpc_addr: env.or("GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], 50053)))?,
            platform: Platform::from_env(env, &PLATFORM)?,
            database,
            documents_url: env.or("DOCUMENTS_URL", "https://localhost:50052".to_owned())?,
            public_url,
            graph_url,
            token_url,
            graph_scope,
            client_secrets,
            timing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_webhook_is_https_outside_loopback_and_dev() {
        let u = |s: &str| Url::parse(s).unwrap();
        let graph = u("https://graph.microsoft.com/v1.0");
        let fake = u("http://127.0.0.1:4000/v1.0");
        assert!(check_public_url(&u("https://hooks.example.com"), Some(&graph)).is_ok());
        assert!(check_public_url(&u("http://127.0.0.1:8090"), Some(&graph)).is_ok());
        assert!(check_public_url(&u("http://[::1]:8090"), None).is_ok());
        assert!(check_public_url(&u("http://localhost:8090"), None).is_ok());
        assert!(check_public_url(&u("http://integration:8090"), Some(&fake)).is_ok());
        let refused = check_public_url(&u("http://hooks.example.com"), Some(&graph)).unwrap_err();
        assert!(refused.contains("https://"), "{refused}");
        assert!(check_public_url(&u("http://10.0.0.5:8090"), None).is_err());
    }

    #[test]
    fn followups_cover_about_ten_minutes() {
        let t = Timing::default();
        let window = t.followup_window();
        assert!(
            window >= Duration::from_secs(9 * 60) && window <= Duration::from_secs(11 * 60),
            "{window:?}"
        );
        assert_eq!(t.followup_pause(0), Duration::from_secs(2));
        let pauses: Vec<Duration> = (0..t.followups).map(|s| t.followup_pause(s)).collect();
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]), "{pauses:?}");
        assert!(pauses.iter().all(|p| *p <= t.followup_max));
        // A subscription Graph removed silently is noticed within an hour.
        assert!(t.subscription_check + t.reconcile_interval <= Duration::from_secs(3600));
    }
}
