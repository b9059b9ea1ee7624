//! The development PKI: a CA and one certificate per service identity,
//! generated into a data folder on first start and reused afterwards.
//! In Kubernetes, cert-manager plays this part.

use std::{
    fs,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    path::{Path, PathBuf},
};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

use crate::{identity::ServiceIdentity, tls::TlsFiles};

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot write the development PKI in {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{0:?} is not a valid service identity name")]
    BadName(String),
}

/// A folder holding `ca.crt`, `ca.key` and `<name>.crt`/`<name>.key` pairs.
#[derive(Debug, Clone)]
pub struct DevPki {
    dir: PathBuf,
}

impl DevPki {
    /// Opens the PKI in `dir`, creating its CA on first use.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, PkiError> {
        let pki = Self { dir: dir.into() };
        create_dir(&pki.dir)?;
        if !pki.ca_cert_path().exists() || !pki.dir.join("ca.key").exists() {
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::default();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name = name("Folio development CA");
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let cert = params.self_signed(&key)?;
            write_secret(&pki.dir.join("ca.key"), &key.serialize_pem())?;
            write(&pki.ca_cert_path(), &cert.pem())?;
        }
        Ok(pki)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The files for `name`, issuing its certificate if it has none yet.
    pub fn identity(&self, name: &str) -> Result<TlsFiles, PkiError> {
        let files = self.files(name);
        if !files.cert.exists() || !files.key.exists() {
            self.issue(name)?;
        }
        Ok(files)
    }

    /// Issues (or re-issues) a fresh key pair for `name`, replacing its files.
    pub fn issue(&self, name: &str) -> Result<TlsFiles, PkiError> {
        let identity =
            ServiceIdentity::named(name).ok_or_else(|| PkiError::BadName(name.to_owned()))?;
        let ca_key_pem = read(&self.dir.join("ca.key"))?;
        let ca_cert_pem = read(&self.ca_cert_path())?;
        let ca_key = KeyPair::from_pem(&ca_key_pem)?;
        let ca_cert = CertificateParams::from_ca_cert_pem(&ca_cert_pem)?.self_signed(&ca_key)?;

        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = name_of(&identity);
        params.subject_alt_names = vec![
            SanType::URI(identity.uri().try_into()?),
            SanType::DnsName(name.try_into()?),
            SanType::DnsName("localhost".try_into()?),
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &ca_cert, &ca_key)?;
        let files = self.files(name);
        // Key first: a reader that sees the new certificate must find its key.
        write_secret(&files.key, &key.serialize_pem())?;
        write(&files.cert, &cert.pem())?;
        Ok(files)
    }

    fn files(&self, name: &str) -> TlsFiles {
        TlsFiles {
            cert: self.dir.join(format!("{name}.crt")),
            key: self.dir.join(format!("{name}.key")),
            ca: self.ca_cert_path(),
        }
    }
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Folio");
    dn.push(DnType::CommonName, common_name);
    dn
}

fn name_of(identity: &ServiceIdentity) -> DistinguishedName {
    name(identity.name())
}

fn create_dir(path: &Path) -> Result<(), PkiError> {
    fs::create_dir_all(path).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

fn read(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Writes through a temporary file and a rename, so readers never see half a file.
fn write(path: &Path, contents: &str) -> Result<(), PkiError> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, contents)
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|source| PkiError::Io {
            path: path.to_owned(),
            source,
        })
}

fn write_secret(path: &Path, contents: &str) -> Result<(), PkiError> {
    write(path, contents)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(|source| {
            PkiError::Io {
                path: path.to_owned(),
                source,
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::ServiceIdentity;

    #[test]
    fn issues_certificates_carrying_the_identity_and_reuses_them() {
        let dir = tempfile::tempdir().unwrap();
        let pki = DevPki::open(dir.path()).unwrap();
        let files = pki.identity("bff").unwrap();
        let first = fs::read(&files.cert).unwrap();
        let der = rustls_pemfile::certs(&mut first.as_slice())
            .next()
            .unwrap()
            .unwrap();
        let identity = ServiceIdentity::from_certificate(&der).unwrap();
        assert_eq!(identity.uri(), "spiffe://folio/bff");

        let again = DevPki::open(dir.path()).unwrap().identity("bff").unwrap();
        assert_eq!(
            fs::read(&again.cert).unwrap(),
            first,
            "reused, not re-issued"
        );
        assert!(pki.identity("Not Valid").is_err());
    }
}
