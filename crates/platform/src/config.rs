//! Typed configuration from environment variables, one prefix per service.
//!
//! A missing or malformed value stops start-up with a message naming the
//! variable and what was expected, never the value of a secret.

use std::{
    collections::BTreeMap, fmt::Display, net::SocketAddr, path::PathBuf, str::FromStr, sync::Arc,
    time::Duration,
};

use tokio::sync::OnceCell;

use crate::{
    https::HttpsFiles,
    secrets::{AwsSecrets, FetchError},
    tls::TlsFiles,
};

/// The configuration error shown at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is required but not set")]
    Missing { var: String },
    #[error("{var} is not valid: {reason}")]
    Invalid { var: String, reason: String },
    #[error(transparent)]
    Secret(#[from] FetchError),
}

/// Reads variables that share a prefix, e.g. `FOLIO_USERS_`.
#[derive(Debug, Clone)]
pub struct Env {
    prefix: String,
    lookup: fn(&str) -> Option<String>,
    /// One Secrets Manager client for every secret read through this `Env`,
    /// made on first use (the SDK reads its own `AWS_*` variables).
    aws: Arc<OnceCell<AwsSecrets>>,
    /// Values used for variables the environment leaves unset (`folio up`'s
    /// local wiring), by full variable name.
    defaults: Arc<BTreeMap<String, String>>,
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Env {
    pub fn new(prefix: &str) -> Self {
        Self::with_lookup(prefix, process_env)
    }

    /// Reads from a given lookup instead of the process environment (tests).
    pub fn with_lookup(prefix: &str, lookup: fn(&str) -> Option<String>) -> Self {
        Self {
            prefix: prefix.to_owned(),
            lookup,
            aws: Arc::default(),
            defaults: Arc::default(),
        }
    }

    /// The same environment with `value` for the variable `var` (its full
    /// name) when the environment does not set it. `folio up` wires the
    /// services together this way, so each one's settings are read once.
    #[must_use]
    pub fn with_default(mut self, var: &str, value: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.defaults).insert(var.to_owned(), value.into());
        self
    }

    /// The variables shared by every service (`FOLIO_` + key), with the same
    /// lookup and defaults.
    pub fn global(&self) -> Self {
        Self {
            prefix: "FOLIO_".to_owned(),
            ..self.clone()
        }
    }

    pub async fn aws_secrets(&self) -> AwsSecrets {
        self.aws.get_or_init(AwsSecrets::from_env).await.clone()
    }

    pub fn var_name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn raw(&self, var: &str) -> Option<String> {
        (self.lookup)(var)
            .filter(|v| !v.trim().is_empty())
            .or_else(|| self.defaults.get(var).cloned())
    }

    /// The value under `PREFIX + key`, parsed; `None` when unset or empty.
    pub fn optional<T>(&self, key: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.optional_exact(&self.var_name(key))
    }

    /// Like [`Env::optional`] for a variable without the prefix (e.g. `FOLIO_DATA_DIR`).
    pub fn optional_exact<T>(&self, var: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.raw(var) {
            None => Ok(None),
            Some(raw) => raw
                .trim()
                .parse::<T>()
                .map(Some)
                .map_err(|e| ConfigError::Invalid {
                    var: var.to_owned(),
                    reason: e.to_string(),
                }),
        }
    }

    pub fn or<T>(&self, key: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        Ok(self.optional(key)?.unwrap_or(default))
    }

    pub fn required<T>(&self, key: &str) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.optional(key)?.ok_or_else(|| ConfigError::Missing {
            var: self.var_name(key),
        })
    }

    /// `FOLIO_DATA_DIR`, shared by every service run locally; `./.folio` by default.
    pub fn data_dir(&self) -> Result<PathBuf, ConfigError> {
        Ok(self
            .optional_exact::<PathBuf>("FOLIO_DATA_DIR")?
            .unwrap_or_else(|| PathBuf::from(".folio")))
    }
}

/// What every service is configured with the same way, read once under its
/// prefix and embedded in its `Settings` (docs/adr/0076).
#[derive(Debug, Clone)]
pub struct Platform {
    /// The HTTP listener: `/healthz`, `/readyz`, `/metrics`, and the API or
    /// webhook of the services a load balancer reaches.
    pub http_addr: SocketAddr,
    /// HTTPS on `http_addr` (`PREFIX+HTTP_TLS_CERT_FILE`, `…_KEY_FILE`);
    /// none: plain HTTP, as `folio up` serves on loopback.
    pub http_tls: Option<HttpsFiles>,
    /// The mTLS identity for gRPC, as server and as client (`PREFIX+TLS_*`).
    pub tls: TlsFiles,
    /// `FOLIO_SECRETS_REFRESH_SECS`: how often secrets that can change are
    /// fetched again (0: never).
    pub secrets_refresh: Duration,
}

/// How one service names and defaults its [`Platform`] variables.
#[derive(Debug, Clone, Copy)]
pub struct PlatformVars {
    /// The identity of its development certificate (`users`, `bff`, …).
    pub identity: &'static str,
    /// The key of its HTTP address (`HTTP_ADDR`; the bff's is `ADDR`).
    pub http_addr_key: &'static str,
    pub http_port: u16,
    /// Whether it reads `HTTP_TLS_*` (the services a load balancer reaches).
    pub https: bool,
}

impl Platform {
    pub fn from_env(env: &Env, vars: &PlatformVars) -> Result<Self, ConfigError> {
        Ok(Self {
            http_addr: env.or(
                vars.http_addr_key,
                SocketAddr::from(([127, 0, 0, 1], vars.http_port)),
            )?,
            http_tls: if vars.https {
                HttpsFiles::from_env(env)?
            } else {
                None
            },
            tls: TlsFiles::from_env(env, vars.identity)?,
            secrets_refresh: env.secrets_refresh()?,
        })
    }
}

/// A boolean that accepts the spellings operators type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl FromStr for Flag {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(Flag(true)),
            "0" | "false" | "no" | "off" => Ok(Flag(false)),
            _ => Err("expected true or false".to_owned()),
        }
    }
}

/// A byte size such as `1048576`, `64MiB`, `2GiB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, unit) = s.split_at(split);
        let n: u64 = digits
            .parse()
            .map_err(|_| "expected a size such as 1048576, 64MiB or 2GiB".to_owned())?;
        let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kib" => 1 << 10,
            "m" | "mib" => 1 << 20,
            "g" | "gib" => 1 << 30,
            other => return Err(format!("unknown unit {other:?}; use B, KiB, MiB or GiB")),
        };
        n.checked_mul(factor)
            .map(ByteSize)
            .ok_or_else(|| "size too large".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(name: &str) -> Option<String> {
        match name {
            "T_PORT" => Some("not-a-port".into()),
            "T_SIZE" => Some("64MiB".into()),
            "T_EMPTY" => Some("  ".into()),
            _ => None,
        }
    }

    #[test]
    fn errors_name_the_variable() {
        let env = Env::with_lookup("T_", fake);
        let err = env.required::<u16>("PORT").unwrap_err().to_string();
        assert!(err.contains("T_PORT") && err.contains("not valid"), "{err}");
        let err = env.required::<u16>("MISSING").unwrap_err().to_string();
        assert_eq!(err, "T_MISSING is required but not set");
        assert_eq!(env.optional::<String>("EMPTY").unwrap(), None);
        assert_eq!(
            env.required::<ByteSize>("SIZE").unwrap(),
            ByteSize(64 << 20)
        );
    }

    #[test]
    fn defaults_apply_only_where_the_environment_sets_nothing() {
        let env = Env::with_lookup("T_", fake)
            .with_default("T_SIZE", "1KiB")
            .with_default("T_EMPTY", "given")
            .with_default("FOLIO_SHARED", "too");
        assert_eq!(
            env.required::<ByteSize>("SIZE").unwrap(),
            ByteSize(64 << 20),
            "the environment wins"
        );
        assert_eq!(
            env.optional::<String>("EMPTY").unwrap().as_deref(),
            Some("given")
        );
        assert_eq!(env.optional::<String>("UNSET").unwrap(), None);
        let global = env.global();
        assert_eq!(global.var_name("SHARED"), "FOLIO_SHARED");
        assert_eq!(
            global.optional::<String>("SHARED").unwrap().as_deref(),
            Some("too")
        );
    }

    #[test]
    fn sizes_and_flags_parse() {
        assert_eq!("2GiB".parse::<ByteSize>().unwrap(), ByteSize(2 << 30));
        assert!("12parsecs".parse::<ByteSize>().is_err());
        assert_eq!("On".parse::<Flag>().unwrap(), Flag(true));
        assert!("maybe".parse::<Flag>().is_err());
    }
}
