//! Graph client secrets, one per organisation (docs/adr/0040). The admin
//! enters the secret in the portal; it is stored under the organisation's id
//! and only ever looked up by it, so no request can name another
//! organisation's secret (or anything else in a secret store).
//!
//! - `database`: in the integration's own database, sealed with AES-256-GCM
//!   under a key from the secrets source (`FOLIO_INTEGRATION_SECRETS_KEY`,
//!   `…_FILE` or `…_SECRET`), the organisation id bound in as associated
//!   data, so a sealed value copied to another organisation does not open.
//! - `aws`: one AWS Secrets Manager secret per organisation,
//!   `<prefix>org-<organisation id>`.

use std::fmt;

use folio_platform::{
    db::Database,
    sealed::{SealError, Sealed, SealingKey},
    secrets::{AwsSecrets, Secret, SecretError, SecretProvider, SecretSource},
};
use uuid::Uuid;

use crate::{error::Error, store::client_secrets};

/// Where client secrets are kept, as configured.
#[derive(Debug, Clone)]
pub enum ClientSecretsConfig {
    /// Sealed in the integration's database with this key (64 hex digits);
    /// `None` until someone configures one (start-up then fails).
    Database(Option<SecretSource>),
    /// AWS Secrets Manager, one secret per organisation under `prefix`.
    Aws { secrets: AwsSecrets, prefix: String },
}

impl ClientSecretsConfig {
    /// The database store with a key given as 64 hex digits (tests, and the
    /// key `folio up` generates into its data folder).
    pub fn sealed_with(key_hex: &str) -> Self {
        Self::Database(Some(SecretSource::given(
            Secret::new(key_hex),
            "FOLIO_INTEGRATION_SECRETS_KEY",
        )))
    }
}

/// The configured store, ready to use.
#[derive(Clone)]
pub enum ClientSecrets {
    Database(SealingKey),
    Aws { secrets: AwsSecrets, prefix: String },
}

impl fmt::Debug for ClientSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Database(_) => f.write_str("ClientSecrets::Database"),
            Self::Aws { prefix, .. } => write!(f, "ClientSecrets::Aws({prefix})"),
        }
    }
}

/// Why a client secret could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientSecretError {
    #[error("no client secret is stored for the organisation")]
    Missing,
    #[error("the stored client secret cannot be opened")]
    Sealed,
    #[error("the client secret store: {0}")]
    Store(String),
}

/// What the associated data binds a sealed secret to.
fn aad(org_id: Uuid) -> String {
    format!("folio/integration/graph-client-secret/{org_id}")
}

impl ClientSecrets {
    /// Opens the configured store: fetches and checks the database key.
    pub async fn open(config: &ClientSecretsConfig) -> Result<Self, String> {
        match config {
            ClientSecretsConfig::Database(None) => Err(
                "FOLIO_INTEGRATION_SECRETS_KEY (or …_FILE, …_SECRET) is needed: 64 hex digits, \
                 the key client secrets are sealed with in the database"
                    .to_owned(),
            ),
            ClientSecretsConfig::Database(Some(source)) => {
                Ok(Self::Database(SealingKey::fetch(source).await?))
            }
            ClientSecretsConfig::Aws { secrets, prefix } => Ok(Self::Aws {
                secrets: secrets.clone(),
                prefix: prefix.clone(),
            }),
        }
    }

    /// The Secrets Manager name of an organisation's secret.
    pub(crate) fn aws_name(prefix: &str, org_id: Uuid) -> String {
        format!("{prefix}org-{org_id}")
    }

    /// Stores (or replaces) the organisation's client secret.
    pub(crate) async fn put(
        &self,
        db: &Database,
        org_id: Uuid,
        secret: &Secret,
        now: i64,
    ) -> Result<(), Error> {
        match self {
            Self::Database(key) => {
                let sealed = key.seal(secret, &aad(org_id)).map_err(|e| match e {
                    SealError::Random => Error::Unavailable("the random number generator"),
                    SealError::Unopenable => Error::Corrupt("sealing a client secret"),
                })?;
                let mut conn = db.pool.acquire().await?;
                client_secrets::upsert(&mut conn, org_id, &sealed.nonce, &sealed.sealed, now).await
            }
            Self::Aws { secrets, prefix } => secrets
                .put(&Self::aws_name(prefix, org_id), secret)
                .await
                .map_err(|error| {
                    tracing::warn!(%error, "cannot store a client secret");
                    Error::Unavailable("the secret store")
                }),
        }
    }

    /// The organisation's client secret.
    pub(crate) async fn get(
        &self,
        db: &Database,
        org_id: Uuid,
    ) -> Result<Secret, ClientSecretError> {
        match self {
            Self::Database(key) => {
                let stored = async {
                    let mut conn = db.pool.acquire().await?;
                    client_secrets::get(&mut conn, org_id).await
                }
                .await
                .map_err(|e| ClientSecretError::Store(e.to_string()))?;
                let (nonce, sealed) = stored.ok_or(ClientSecretError::Missing)?;
                key.open(&Sealed { nonce, sealed }, &aad(org_id))
                    .map_err(|_| ClientSecretError::Sealed)
            }
            Self::Aws { secrets, prefix } => {
                match secrets.get(&Self::aws_name(prefix, org_id)).await {
                    Ok(secret) => Ok(secret),
                    Err(SecretError::NotFound { .. }) => Err(ClientSecretError::Missing),
                    Err(e) => Err(ClientSecretError::Store(e.to_string())),
                }
            }
        }
    }

    /// Forgets the organisation's client secret (disconnecting).
    pub(crate) async fn delete(&self, db: &Database, org_id: Uuid) -> Result<(), Error> {
        match self {
            Self::Database(_) => {
                let mut conn = db.pool.acquire().await?;
                client_secrets::delete(&mut conn, org_id).await
            }
            Self::Aws { secrets, prefix } => secrets
                .delete(&Self::aws_name(prefix, org_id))
                .await
                .map_err(|error| {
                    tracing::warn!(%error, "cannot delete a client secret");
                    Error::Unavailable("the secret store")
                }),
        }
    }
}

/// A client secret as entered (the rule is the platform's).
pub(crate) fn parse_client_secret(value: &str) -> Result<Secret, Error> {
    Secret::client_secret(value).map_err(|why| Error::invalid("client_secret", why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secrets_are_checked_without_being_quoted() {
        assert_eq!(
            parse_client_secret(" abc~.-_ ").unwrap().expose(),
            "abc~.-_"
        );
        for bad in ["", "   ", "a\nb", &"x".repeat(1025)] {
            let err = parse_client_secret(bad).unwrap_err().to_string();
            assert!(err.starts_with("client_secret"), "{err}");
            assert!(bad.len() < 3 || !err.contains(bad), "{err}");
        }
    }
}
