//! The notifications service's configuration, from `FOLIO_NOTIFICATIONS_*` variables.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use folio_platform::{
    config::{ConfigError, Env, Platform, PlatformVars},
    db::DatabaseSettings,
    secrets::SecretSource,
};
use url::Url;

pub const PREFIX: &str = "FOLIO_NOTIFICATIONS_";

/// Its [`Platform`]: plain HTTP for `/healthz`, `/readyz`, `/metrics`.
pub const PLATFORM: PlatformVars = PlatformVars {
    identity: "notifications",
    http_addr_key: "HTTP_ADDR",
    http_port: 8091,
    https: false,
};

/// How often things happen. Production values by default; tests shorten them.
#[derive(Debug, Clone)]
pub struct Timing {
    /// How often the event logs and the due deliveries are looked at.
    pub poll_interval: Duration,
    /// First pause after a failed webhook delivery; doubles each time.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Deliveries are retried this long after their first attempt.
    pub retry_window: Duration,
    /// An endpoint failing without a success for this long is disabled.
    pub disable_after: Duration,
    /// One delivery attempt's whole time.
    pub delivery_timeout: Duration,
    /// A claimed delivery is free again after this (its worker died).
    pub lease: Duration,
    /// Log events older than this when first read cause nothing (a new
    /// deployment does not replay an organisation's history).
    pub max_event_age: Duration,
    /// Deadline of each call to users and documents.
    pub call_deadline: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(2),
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(4 * 3600),
            retry_window: Duration::from_secs(26 * 3600),
            disable_after: Duration::from_secs(5 * 24 * 3600),
            delivery_timeout: Duration::from_secs(5),
            lease: Duration::from_secs(60),
            max_event_age: Duration::from_secs(7 * 24 * 3600),
            call_deadline: Duration::from_secs(10),
        }
    }
}

impl Timing {
    /// Tenths of seconds instead of minutes and hours, for the test suites.
    pub fn brisk() -> Self {
        Self {
            poll_interval: Duration::from_millis(100),
            retry_base: Duration::from_millis(200),
            retry_max: Duration::from_secs(1),
            retry_window: Duration::from_secs(60),
            disable_after: Duration::from_secs(3600),
            delivery_timeout: Duration::from_secs(5),
            lease: Duration::from_secs(10),
            max_event_age: Duration::from_secs(3600),
            call_deadline: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub platform: Platform,
    /// gRPC over mTLS (the bff calls it).
    pub grpc_addr: SocketAddr,
    pub database: DatabaseSettings,
    /// `https://host:port` of the users service.
    pub users_url: String,
    /// `https://host:port` of the documents service.
    pub documents_url: String,
    /// Webhooks to loopback, private and link-local addresses, and over
    /// plain http://, are refused unless this is set (tests, `folio up`).
    pub allow_private_webhooks: bool,
    pub timing: Timing,
    pub mail: MailSettings,
}

/// Where email goes.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// No mail is sent (no SMTP relay configured).
    Off,
    /// Each message is written as `<id>.eml` here (`folio up` without SMTP).
    Directory(PathBuf),
    Smtp(Box<SmtpSettings>),
}

/// `FOLIO_SMTP_URL` and its login.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// `smtps://host[:465]` (implicit TLS) or `smtp://host[:587]` (STARTTLS
    /// when offered; required when there are credentials).
    pub url: Url,
    /// `FOLIO_SMTP_USERNAME` / `FOLIO_SMTP_PASSWORD` (or `_FILE`, `_SECRET`).
    pub username: Option<SecretSource>,
    pub password: Option<SecretSource>,
    /// `FOLIO_SMTP_CA_FILE`: a CA to trust besides the public roots.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    pub transport: MailTransport,
    /// `FOLIO_SMTP_FROM`.
    pub from: String,
    /// `FOLIO_PUBLIC_URL`: the portal's base, for links in mails.
    pub public_url: Url,
    /// Hour (UTC) from which the daily digest is sent; None: this instance
    /// sends none (`FOLIO_NOTIFICATIONS_DIGEST_HOUR=off`, e.g. while a
    /// relay is repaired; what waits goes in the next digest).
    pub digest_hour: Option<u8>,
}

impl MailSettings {
    pub fn off() -> Self {
        Self {
            transport: MailTransport::Off,
            from: "Folio <folio@localhost>".to_owned(),
            public_url: Url::parse("http://127.0.0.1:8080/").unwrap_or_else(|_| unreachable!()),
            digest_hour: Some(7),
        }
    }

    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let global = env.global();
        let defaults = Self::off();
        let transport = match global.optional::<Url>("SMTP_URL")? {
            None => MailTransport::Off,
            Some(url) => {
                let invalid = |reason: &str| ConfigError::Invalid {
                    var: "FOLIO_SMTP_URL".to_owned(),
                    reason: reason.to_owned(),
                };
                if !matches!(url.scheme(), "smtp" | "smtps") || url.host_str().is_none() {
                    return Err(invalid(
                        "expected smtps://host[:port] or smtp://host[:port]",
                    ));
                }
                if !url.username().is_empty() || url.password().is_some() {
                    return Err(invalid(
                        "credentials do not belong in the URL: use FOLIO_SMTP_USERNAME and FOLIO_SMTP_PASSWORD (or their _SECRET)",
                    ));
                }
                MailTransport::Smtp(Box::new(SmtpSettings {
                    url,
                    username: global.secret_source("SMTP_USERNAME").await?,
                    password: global.secret_source("SMTP_PASSWORD").await?,
                    ca_file: global.optional::<PathBuf>("SMTP_CA_FILE")?,
                }))
            }
        };
        let digest_hour = match env.optional::<String>("DIGEST_HOUR")? {
            None => defaults.digest_hour,
            Some(raw) if raw.trim() == "off" => None,
            Some(raw) => match raw.trim().parse::<u8>() {
                Ok(hour) if hour <= 23 => Some(hour),
                Ok(_) | Err(_) => {
                    return Err(ConfigError::Invalid {
                        var: env.var_name("DIGEST_HOUR"),
                        reason: "expected an hour from 0 to 23 (UTC), or off".to_owned(),
                    });
                }
            },
        };
        Ok(Self {
            transport,
            from: global.or("SMTP_FROM", defaults.from)?,
            public_url: global.or("PUBLIC_URL", defaults.public_url)?,
            digest_hour,
        })
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

    /// From `env` (`FOLIO_NOTIFICATIONS_`, `FOLIO_SMTP_*` and the other
    /// global `FOLIO_` variables).
    pub async fn read(env: &Env) -> Result<Self, ConfigError> {
        let defaults = Timing::default();
        let timing = Timing {
            poll_interval: seconds(env, "POLL_SECS", defaults.poll_interval)?,
            retry_base: seconds(env, "RETRY_BASE_SECS", defaults.retry_base)?,
            retry_window: seconds(env, "RETRY_WINDOW_SECS", defaults.retry_window)?,
            disable_after: seconds(env, "DISABLE_AFTER_SECS", defaults.disable_after)?,
            lease: seconds(env, "LEASE_SECS", defaults.lease)?,
            ..defaults
        };
        if timing.retry_window < Duration::from_secs(24 * 3600) {
            return Err(ConfigError::Invalid {
                var: env.var_name("RETRY_WINDOW_SECS"),
                reason: "webhooks are retried for at least 24 hours (86400)".to_owned(),
            });
        }
        Ok(Self {
            grpc_addr: env.or("GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], 50054)))?,
            platform: Platform::from_env(env, &PLATFORM)?,
            database: DatabaseSettings::from_env(env, "notifications.db").await?,
            users_url: env.or("USERS_URL", "https://localhost:50051".to_owned())?,
            documents_url: env.or("DOCUMENTS_URL", "https://localhost:50052".to_owned())?,
            allow_private_webhooks: env.or("ALLOW_PRIVATE_WEBHOOKS", false)?,
            timing,
            mail: MailSettings::from_env(env).await?,
        })
    }
}
