//! Typed configuration from environment variables, one prefix per service.
//!
//! A missing or malformed value stops start-up with a message naming the
//! variable and what was expected, never the value of a secret.

use std::{fmt::Display, path::PathBuf, str::FromStr, sync::Arc};

use tokio::sync::OnceCell;

use crate::secrets::{AwsSecrets, FetchError};

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
        }
    }

    pub async fn aws_secrets(&self) -> AwsSecrets {
        self.aws.get_or_init(AwsSecrets::from_env).await.clone()
    }

    pub fn var_name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn raw(&self, var: &str) -> Option<String> {
        (self.lookup)(var).filter(|v| !v.trim().is_empty())
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
    fn sizes_and_flags_parse() {
        assert_eq!("2GiB".parse::<ByteSize>().unwrap(), ByteSize(2 << 30));
        assert!("12parsecs".parse::<ByteSize>().is_err());
        assert_eq!("On".parse::<Flag>().unwrap(), Flag(true));
        assert!("maybe".parse::<Flag>().is_err());
    }
}
