//! Mutual TLS 1.3 for every internal gRPC hop.
//!
//! Certificates, keys and the CA are files (cert-manager mounts them in
//! Kubernetes; the development PKI writes them locally). Both the key pair a
//! service presents and the CA it verifies peers against are re-read when
//! their files change, so rotation needs no restart.

mod reload;
mod verify;

use std::{path::PathBuf, sync::Arc};

use rustls::{ClientConfig, ServerConfig, crypto::CryptoProvider};

pub use reload::ReloadingCertifiedKey;
pub use verify::{ReloadingClientVerifier, ReloadingServerVerifier};

/// Where a service finds its certificate, key and the internal CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no usable {what}")]
    Empty { path: PathBuf, what: &'static str },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

const H2: &[u8] = b"h2";

/// A server that asks every caller for a certificate signed by the internal CA.
///
/// A caller without a certificate still completes the handshake so that the
/// authorisation layer can answer UNAUTHENTICATED as a gRPC status; a
/// certificate from another CA fails the handshake.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let verifier = Arc::new(ReloadingClientVerifier::new(files.ca.clone())?);
    let key = Arc::new(ReloadingCertifiedKey::new(
        files.cert.clone(),
        files.key.clone(),
    )?);
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(key);
    config.alpn_protocols = vec![H2.to_vec()];
    Ok(Arc::new(config))
}

/// A client that presents its own certificate and verifies the server against the CA.
pub fn client_config(files: &TlsFiles) -> Result<Arc<ClientConfig>, TlsError> {
    let verifier = Arc::new(ReloadingServerVerifier::new(files.ca.clone())?);
    let key = Arc::new(ReloadingCertifiedKey::new(
        files.cert.clone(),
        files.key.clone(),
    )?);
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(key);
    config.alpn_protocols = vec![H2.to_vec()];
    Ok(Arc::new(config))
}

/// A client that verifies the server but presents no certificate (tests of refusal).
pub fn anonymous_client_config(ca: PathBuf) -> Result<Arc<ClientConfig>, TlsError> {
    let verifier = Arc::new(ReloadingServerVerifier::new(ca)?);
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![H2.to_vec()];
    Ok(Arc::new(config))
}

impl TlsFiles {
    /// `PREFIX+TLS_CERT_FILE`, `…_KEY_FILE`, `…_CA_FILE` when set (all three);
    /// otherwise the development PKI under `FOLIO_DATA_DIR/pki`, issuing a
    /// certificate for `identity` on first use.
    pub fn from_env(
        env: &crate::config::Env,
        identity: &str,
    ) -> Result<Self, crate::config::ConfigError> {
        let cert = env.optional::<PathBuf>("TLS_CERT_FILE")?;
        let key = env.optional::<PathBuf>("TLS_KEY_FILE")?;
        let ca = env.optional::<PathBuf>("TLS_CA_FILE")?;
        match (cert, key, ca) {
            (Some(cert), Some(key), Some(ca)) => Ok(Self { cert, key, ca }),
            (None, None, None) => {
                let dir = env.data_dir()?.join("pki");
                crate::pki::DevPki::open(&dir)
                    .and_then(|pki| pki.identity(identity))
                    .map_err(|e| crate::config::ConfigError::Invalid {
                        var: "FOLIO_DATA_DIR".to_owned(),
                        reason: e.to_string(),
                    })
            }
            _ => Err(crate::config::ConfigError::Missing {
                var: format!(
                    "{} (set all of TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE, or none)",
                    env.var_name("TLS_*_FILE")
                ),
            }),
        }
    }
}
