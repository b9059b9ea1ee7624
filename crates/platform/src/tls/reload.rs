//! A certificate and key pair that follows its files.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::SystemTime,
};

use rustls::{
    SignatureScheme,
    client::ResolvesClientCert,
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;

/// What identifies one version of a file without reading it. Kubernetes swaps
/// mounted secrets through a symlink, which `metadata` follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl FileStamp {
    pub(crate) fn of(path: &Path) -> Option<Self> {
        let meta = fs::metadata(path).ok()?;
        Some(Self {
            modified: meta.modified().ok(),
            len: meta.len(),
        })
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

pub(crate) fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Invalid {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            path: path.to_owned(),
            what: "certificate",
        });
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| TlsError::Invalid {
            path: path.to_owned(),
            reason: e.to_string(),
        })?
        .ok_or_else(|| TlsError::Empty {
            path: path.to_owned(),
            what: "private key",
        })
}

fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let chain = load_certs(cert)?;
    let key_der = load_key(key)?;
    let signing_key = super::provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| TlsError::Invalid {
            path: key.to_owned(),
            reason: e.to_string(),
        })?;
    report_expiry(cert, &chain);
    let certified = CertifiedKey::new(chain, signing_key);
    certified.keys_match().map_err(|e| TlsError::Invalid {
        path: key.to_owned(),
        reason: format!("does not match {}: {e}", cert.display()),
    })?;
    Ok(certified)
}

/// `tls_certificate_expiry_timestamp_seconds{path}`: when the certificate
/// in use expires (Unix seconds). cert-manager renews long before; an alert
/// on this catches a renewal that stopped.
fn report_expiry(path: &Path, chain: &[CertificateDer<'_>]) {
    use x509_parser::prelude::{FromDer, X509Certificate};

    let Some(leaf) = chain.first() else { return };
    let Ok((_, parsed)) = X509Certificate::from_der(leaf.as_ref()) else {
        return;
    };
    let not_after = parsed.validity().not_after.timestamp();
    // The process's recorder, installed now if nothing recorded yet.
    crate::metrics::handle();
    #[allow(clippy::cast_precision_loss)] // seconds since 1970 fit an f64 exactly
    metrics::gauge!(
        "tls_certificate_expiry_timestamp_seconds",
        "path" => path.display().to_string()
    )
    .set(not_after as f64);
}

#[derive(Debug)]
struct Loaded {
    stamps: (Option<FileStamp>, Option<FileStamp>),
    key: Arc<CertifiedKey>,
}

/// Serves the key pair on disk, re-reading it when either file changes. A
/// half-written pair (mid-rotation) keeps the previous one in use.
#[derive(Debug)]
pub struct ReloadingCertifiedKey {
    cert_path: PathBuf,
    key_path: PathBuf,
    loaded: Mutex<Loaded>,
}

impl ReloadingCertifiedKey {
    pub fn new(cert_path: PathBuf, key_path: PathBuf) -> Result<Self, TlsError> {
        let stamps = (FileStamp::of(&cert_path), FileStamp::of(&key_path));
        let key = Arc::new(load_certified_key(&cert_path, &key_path)?);
        Ok(Self {
            cert_path,
            key_path,
            loaded: Mutex::new(Loaded { stamps, key }),
        })
    }

    /// The current key pair, reloaded first if its files changed.
    pub fn current(&self) -> Arc<CertifiedKey> {
        let stamps = (
            FileStamp::of(&self.cert_path),
            FileStamp::of(&self.key_path),
        );
        let mut loaded = self
            .loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if loaded.stamps != stamps {
            match load_certified_key(&self.cert_path, &self.key_path) {
                Ok(key) => {
                    tracing::info!(cert = %self.cert_path.display(), "reloaded TLS certificate");
                    loaded.key = Arc::new(key);
                    loaded.stamps = stamps;
                }
                Err(error) => {
                    tracing::warn!(%error, "keeping the previous TLS certificate");
                }
            }
        }
        Arc::clone(&loaded.key)
    }
}

impl ResolvesServerCert for ReloadingCertifiedKey {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl ResolvesClientCert for ReloadingCertifiedKey {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod expiry_tests {
    use super::*;

    #[test]
    fn the_expiry_of_the_loaded_certificate_is_a_metric() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = crate::pki::DevPki::open(dir.path()).expect("dev PKI");
        let files = pki.identity("users").expect("identity");
        let _key =
            ReloadingCertifiedKey::new(files.cert.clone(), files.key.clone()).expect("loads");

        let pem = fs::read(&files.cert).expect("cert file");
        let (_, der) = x509_parser::pem::parse_x509_pem(&pem).expect("PEM");
        let not_after = der
            .parse_x509()
            .expect("X.509")
            .validity()
            .not_after
            .timestamp();
        let line = format!(
            "tls_certificate_expiry_timestamp_seconds{{path=\"{}\"}} {not_after}",
            files.cert.display()
        );
        let rendered = crate::metrics::handle().render();
        assert!(rendered.contains(&line), "{line} not in:\n{rendered}");
    }
}
