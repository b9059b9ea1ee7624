//! Secrets: values that must never reach a log line, an error or a `Debug`
//! dump. One provider trait, chosen by configuration: the environment and
//! files here; AWS Secrets Manager plugs in behind the same trait.

use std::{fmt, future::Future, path::PathBuf, pin::Pin};

use crate::config::{ConfigError, Env};

/// A secret value. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that must hand it on.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {name} is not set")]
    NotFound { name: String },
    #[error("secret {name} cannot be read: {reason}")]
    Unreadable { name: String, reason: String },
}

pub type SecretFuture<'a> = Pin<Box<dyn Future<Output = Result<Secret, SecretError>> + Send + 'a>>;

/// Where secrets come from.
pub trait SecretProvider: fmt::Debug + Send + Sync {
    /// The secret called `name` (a variable name, a file name, a secret id).
    fn get<'a>(&'a self, name: &'a str) -> SecretFuture<'a>;
}

/// Secrets in environment variables.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvSecrets;

impl SecretProvider for EnvSecrets {
    fn get<'a>(&'a self, name: &'a str) -> SecretFuture<'a> {
        Box::pin(async move {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .map(Secret)
                .ok_or_else(|| SecretError::NotFound {
                    name: name.to_owned(),
                })
        })
    }
}

/// Secrets in files under a folder (Kubernetes secret volumes, Docker secrets).
#[derive(Debug, Clone)]
pub struct FileSecrets {
    pub dir: PathBuf,
}

impl SecretProvider for FileSecrets {
    fn get<'a>(&'a self, name: &'a str) -> SecretFuture<'a> {
        Box::pin(async move {
            let path = self.dir.join(name);
            match tokio::fs::read_to_string(&path).await {
                Ok(value) => Ok(Secret(value.trim_end_matches(['\r', '\n']).to_owned())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SecretError::NotFound {
                    name: name.to_owned(),
                }),
                Err(e) => Err(SecretError::Unreadable {
                    name: name.to_owned(),
                    reason: e.kind().to_string(),
                }),
            }
        })
    }
}

impl Env {
    /// A secret configured as `PREFIX+KEY` (the value) or `PREFIX+KEY_FILE`
    /// (a file holding it); `None` when neither is set.
    pub async fn secret(&self, key: &str) -> Result<Option<Secret>, ConfigError> {
        let var = self.var_name(key);
        if let Some(value) = self.optional::<String>(key)? {
            return Ok(Some(Secret(value)));
        }
        let Some(path) = self.optional::<PathBuf>(&format!("{key}_FILE"))? else {
            return Ok(None);
        };
        let dir = path.parent().map(PathBuf::from).unwrap_or_default();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        FileSecrets { dir }
            .get(&name)
            .await
            .map(Some)
            .map_err(|e| ConfigError::Invalid {
                var: format!("{var}_FILE"),
                reason: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_its_value() {
        let secret = Secret::new("hunter2");
        assert!(!format!("{secret:?} {secret}").contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2");
    }

    #[tokio::test]
    async fn reads_files_and_reports_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db"), "s3cret\n").unwrap();
        let files = FileSecrets {
            dir: dir.path().to_owned(),
        };
        assert_eq!(files.get("db").await.unwrap().expose(), "s3cret");
        let err = files.get("nope").await.unwrap_err().to_string();
        assert_eq!(err, "secret nope is not set");
    }
}
