//! Verifiers that trust the internal CA as it is on disk now.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
};

use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme,
    client::{
        WebPkiServerVerifier,
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    },
    server::{
        WebPkiClientVerifier,
        danger::{ClientCertVerified, ClientCertVerifier},
    },
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::{
    TlsError,
    reload::{FileStamp, load_certs},
};

fn roots(ca: &std::path::Path) -> Result<Arc<RootCertStore>, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in load_certs(ca)? {
        store.add(cert).map_err(|e| TlsError::Invalid {
            path: ca.to_owned(),
            reason: e.to_string(),
        })?;
    }
    Ok(Arc::new(store))
}

/// Keeps a verifier built from the CA file, rebuilt when the file changes.
#[derive(Debug)]
struct CaFile<V: ?Sized> {
    path: PathBuf,
    build: fn(Arc<RootCertStore>) -> Result<Arc<V>, TlsError>,
    loaded: Mutex<(Option<FileStamp>, Arc<V>)>,
}

impl<V: ?Sized> CaFile<V> {
    fn new(
        path: PathBuf,
        build: fn(Arc<RootCertStore>) -> Result<Arc<V>, TlsError>,
    ) -> Result<Self, TlsError> {
        let stamp = FileStamp::of(&path);
        let verifier = build(roots(&path)?)?;
        Ok(Self {
            path,
            build,
            loaded: Mutex::new((stamp, verifier)),
        })
    }

    fn current(&self) -> Arc<V> {
        let stamp = FileStamp::of(&self.path);
        let mut loaded = self
            .loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if loaded.0 != stamp {
            match roots(&self.path).and_then(self.build) {
                Ok(verifier) => {
                    tracing::info!(ca = %self.path.display(), "reloaded TLS trust anchors");
                    *loaded = (stamp, verifier);
                }
                Err(error) => tracing::warn!(%error, "keeping the previous TLS trust anchors"),
            }
        }
        Arc::clone(&loaded.1)
    }
}

fn build_client_verifier(
    roots: Arc<RootCertStore>,
) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    WebPkiClientVerifier::builder_with_provider(roots, super::provider())
        .allow_unauthenticated()
        .build()
        .map_err(|e| TlsError::Rustls(rustls::Error::General(e.to_string())))
}

fn build_server_verifier(
    roots: Arc<RootCertStore>,
) -> Result<Arc<dyn ServerCertVerifier>, TlsError> {
    let verifier: Arc<dyn ServerCertVerifier> =
        WebPkiServerVerifier::builder_with_provider(roots, super::provider())
            .build()
            .map_err(|e| TlsError::Rustls(rustls::Error::General(e.to_string())))?;
    Ok(verifier)
}

/// Verifies callers' certificates against the CA file.
#[derive(Debug)]
pub struct ReloadingClientVerifier(CaFile<dyn ClientCertVerifier>);

impl ReloadingClientVerifier {
    pub fn new(ca: PathBuf) -> Result<Self, TlsError> {
        Ok(Self(CaFile::new(ca, build_client_verifier)?))
    }
}

impl ClientCertVerifier for ReloadingClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    // Optional at the TLS layer so that a caller without a certificate gets a
    // readable UNAUTHENTICATED status from the authorisation layer.
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    // No hints: the CA may change, and our clients hold one certificate each.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.0
            .current()
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.current().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.current().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.current().supported_verify_schemes()
    }
}

/// Verifies servers' certificates against the CA file.
#[derive(Debug)]
pub struct ReloadingServerVerifier(CaFile<dyn ServerCertVerifier>);

impl ReloadingServerVerifier {
    pub fn new(ca: PathBuf) -> Result<Self, TlsError> {
        Ok(Self(CaFile::new(ca, build_server_verifier)?))
    }
}

impl ServerCertVerifier for ReloadingServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.0.current().verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.current().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.current().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.current().supported_verify_schemes()
    }
}
