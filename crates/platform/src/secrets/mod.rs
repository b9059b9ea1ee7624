//! Secrets: values that must never reach a log line, an error or a `Debug`
//! dump. One provider trait with three sources, chosen per secret by
//! configuration:
//!
//! | variable            | source                                          |
//! |---------------------|-------------------------------------------------|
//! | `PREFIX+KEY`        | the value itself (local runs)                   |
//! | `PREFIX+KEY_FILE`   | a file holding it (Kubernetes secret volumes)   |
//! | `PREFIX+KEY_SECRET` | `aws:<secret-id>[#<json-key>]` in Secrets Manager |
//!
//! At most one of them may be set. A [`SecretSource`] remembers where a secret
//! comes from, so that it can be fetched again later (rotation); errors name
//! the variable and the reference, never a value.

mod aws;

use std::{fmt, future::Future, path::PathBuf, pin::Pin, str::FromStr, sync::Arc, time::Duration};

pub use aws::AwsSecrets;

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

    /// A client secret as an admin enters it (an app registration's, at
    /// Entra ID about 40 printable characters): trimmed, 1 to 1024
    /// characters, no control characters. The error says what is wrong
    /// without quoting the value.
    pub fn client_secret(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("must not be empty");
        }
        if value.chars().count() > 1024 {
            return Err("must be at most 1024 characters");
        }
        if value.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Self::new(value))
    }
}

/// A secret in a request body is a plain string; once read it is as
/// hidden as any other.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
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

/// Why a provider could not hand out a secret. `name` is what the provider
/// was asked for (a variable, a file, a secret reference), never the value.
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

/// A value given directly in the configuration: it is its own provider.
#[derive(Debug, Clone)]
struct Given(Secret);

impl SecretProvider for Given {
    fn get<'a>(&'a self, _name: &'a str) -> SecretFuture<'a> {
        Box::pin(async move { Ok(self.0.clone()) })
    }
}

/// A reference to a secret in AWS Secrets Manager, as configured:
/// `aws:<secret-id>` for the whole secret string, `aws:<secret-id>#<key>`
/// for one key of a JSON secret (such as RDS's
/// `{"username":…,"password":…,"host":…}`). The id is a name or an ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub id: String,
    pub key: Option<String>,
}

impl SecretRef {
    /// What [`AwsSecrets`] is asked for: `<secret-id>[#<key>]`.
    pub fn name(&self) -> String {
        match &self.key {
            Some(key) => format!("{}#{key}", self.id),
            None => self.id.clone(),
        }
    }

    /// Splits `<secret-id>[#<key>]`. `#` cannot occur in a secret's name or ARN.
    pub fn parse_name(name: &str) -> Result<Self, String> {
        let (id, key) = match name.split_once('#') {
            Some((id, key)) => (id, Some(key)),
            None => (name, None),
        };
        if id.is_empty() || id.len() > 2048 || id.chars().any(|c| c.is_whitespace()) {
            return Err("the secret id must be a non-empty name or ARN without spaces".to_owned());
        }
        if key.is_some_and(|k| k.is_empty() || k.contains('#')) {
            return Err("the JSON key after # must be non-empty and contain no #".to_owned());
        }
        Ok(Self {
            id: id.to_owned(),
            key: key.map(str::to_owned),
        })
    }
}

impl FromStr for SecretRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some(name) = s.strip_prefix("aws:") else {
            return Err("expected aws:<secret-id> or aws:<secret-id>#<json-key>".to_owned());
        };
        Self::parse_name(name)
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "aws:{}", self.name())
    }
}

/// Where one configured secret comes from, so that it can be fetched again
/// (a rotated password). Knows the variable that configured it, for errors.
#[derive(Debug, Clone)]
pub struct SecretSource {
    provider: Arc<dyn SecretProvider>,
    name: String,
    var: String,
}

/// A configured secret that could not be fetched: names the variable and
/// what it refers to, never a value.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {error}")]
pub struct FetchError {
    pub var: String,
    pub error: SecretError,
}

impl SecretSource {
    /// The secret `name` of `provider`, configured by the variable `var`.
    pub fn new(
        provider: Arc<dyn SecretProvider>,
        name: impl Into<String>,
        var: impl Into<String>,
    ) -> Self {
        Self {
            provider,
            name: name.into(),
            var: var.into(),
        }
    }

    /// A fixed value (it never changes).
    pub fn given(secret: Secret, var: impl Into<String>) -> Self {
        Self::new(Arc::new(Given(secret)), "", var)
    }

    /// A secret in AWS Secrets Manager.
    pub fn aws(secrets: AwsSecrets, reference: &SecretRef, var: impl Into<String>) -> Self {
        Self::new(Arc::new(secrets), reference.name(), var)
    }

    /// The variable that configured this secret.
    pub fn var(&self) -> &str {
        &self.var
    }

    /// The current value, from wherever it lives.
    pub async fn fetch(&self) -> Result<Secret, FetchError> {
        self.provider
            .get(&self.name)
            .await
            .map_err(|error| FetchError {
                var: self.var.clone(),
                error,
            })
    }
}

/// `FOLIO_SECRETS_REFRESH_SECS` when nothing is set: five minutes.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(300);

impl Env {
    /// Where the secret `PREFIX+KEY` comes from: the variable itself,
    /// `PREFIX+KEY_FILE` (a file, read again on every fetch) or
    /// `PREFIX+KEY_SECRET` (`aws:<secret-id>[#<json-key>]`). `None` when
    /// none is set; an error when more than one is.
    pub async fn secret_source(&self, key: &str) -> Result<Option<SecretSource>, ConfigError> {
        let var = self.var_name(key);
        let given = self.optional::<String>(key)?;
        let file = self.optional::<PathBuf>(&format!("{key}_FILE"))?;
        let reference = self.optional::<SecretRef>(&format!("{key}_SECRET"))?;
        let set = usize::from(given.is_some())
            + usize::from(file.is_some())
            + usize::from(reference.is_some());
        if set > 1 {
            return Err(ConfigError::Invalid {
                var: format!("{var}, {var}_FILE and {var}_SECRET"),
                reason: "set only one of them".to_owned(),
            });
        }
        if let Some(value) = given {
            return Ok(Some(SecretSource::given(Secret(value), var)));
        }
        if let Some(path) = file {
            let dir = path.parent().map(PathBuf::from).unwrap_or_default();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Ok(Some(SecretSource::new(
                Arc::new(FileSecrets { dir }),
                name,
                format!("{var}_FILE"),
            )));
        }
        if let Some(reference) = reference {
            let aws = self.aws_secrets().await;
            return Ok(Some(SecretSource::aws(
                aws,
                &reference,
                format!("{var}_SECRET"),
            )));
        }
        Ok(None)
    }

    /// The secret `PREFIX+KEY` as configured (see [`Env::secret_source`]),
    /// fetched once; `None` when it is not configured.
    pub async fn secret(&self, key: &str) -> Result<Option<Secret>, ConfigError> {
        match self.secret_source(key).await? {
            Some(source) => Ok(Some(source.fetch().await?)),
            None => Ok(None),
        }
    }

    /// `FOLIO_SECRETS_REFRESH_SECS`: how often secrets that can change
    /// (files, Secrets Manager) are fetched again; 0 turns that off.
    pub fn secrets_refresh(&self) -> Result<Duration, ConfigError> {
        Ok(self
            .optional_exact::<u64>("FOLIO_SECRETS_REFRESH_SECS")?
            .map_or(DEFAULT_REFRESH, Duration::from_secs))
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
        let source = SecretSource::given(secret, "T_PASSWORD");
        assert!(!format!("{source:?}").contains("hunter2"));
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

    #[test]
    fn references_parse() {
        let plain: SecretRef = "aws:folio/dev/users/db".parse().unwrap();
        assert_eq!((plain.id.as_str(), plain.key), ("folio/dev/users/db", None));
        let arn =
            "aws:arn:aws:secretsmanager:eu-central-1:123456789012:secret:rds!db-1a2b#password";
        let keyed: SecretRef = arn.parse().unwrap();
        assert_eq!(
            keyed.id,
            "arn:aws:secretsmanager:eu-central-1:123456789012:secret:rds!db-1a2b"
        );
        assert_eq!(keyed.key.as_deref(), Some("password"));
        assert_eq!(keyed.to_string(), arn);
        for bad in [
            "folio/db",
            "aws:",
            "aws:#password",
            "aws:db#",
            "aws:db#a#b",
            "aws:my db",
        ] {
            assert!(bad.parse::<SecretRef>().is_err(), "{bad}");
        }
    }

    fn fake(name: &str) -> Option<String> {
        match name {
            "T_A" => Some("value".into()),
            "T_A_FILE" => Some("/run/secrets/a".into()),
            "T_B_SECRET" => Some("folio/b".into()),
            "T_C_FILE" => Some("/nonexistent/folio/c".into()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn one_source_per_secret_and_errors_name_the_variable() {
        let env = Env::with_lookup("T_", fake);
        let err = env.secret_source("A").await.unwrap_err().to_string();
        assert!(err.contains("T_A, T_A_FILE and T_A_SECRET"), "{err}");
        let err = env.secret_source("B").await.unwrap_err().to_string();
        assert!(
            err.contains("T_B_SECRET") && err.contains("aws:<secret-id>"),
            "{err}"
        );
        let err = env.secret("C").await.unwrap_err().to_string();
        assert_eq!(err, "T_C_FILE: secret c is not set");
        assert!(env.secret("D").await.unwrap().is_none());
    }
}
