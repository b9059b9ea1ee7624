//! Who is calling: the service identity in a peer certificate's URI SAN.

use std::fmt;

use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

const SCHEME: &str = "spiffe://folio/";

/// A service identity such as `spiffe://folio/bff`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceIdentity(String);

impl ServiceIdentity {
    pub const BFF: &'static str = "bff";
    pub const USERS: &'static str = "users";
    pub const DOCUMENTS: &'static str = "documents";
    pub const INTEGRATION: &'static str = "integration";
    pub const NOTIFICATIONS: &'static str = "notifications";
    /// The operator CLI (`folio org …`): onboarding organisations.
    pub const OPERATOR: &'static str = "operator";

    /// An identity from its short name; names are lower-case ASCII words.
    pub fn named(name: &str) -> Option<Self> {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        valid.then(|| Self(name.to_owned()))
    }

    pub fn from_uri(uri: &str) -> Option<Self> {
        uri.strip_prefix(SCHEME).and_then(Self::named)
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    pub fn uri(&self) -> String {
        format!("{SCHEME}{}", self.0)
    }

    /// The first Folio identity among a DER certificate's URI SANs.
    pub fn from_certificate(der: &[u8]) -> Option<Self> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let san = cert.subject_alternative_name().ok()??;
        san.value.general_names.iter().find_map(|name| {
            if let GeneralName::URI(uri) = name {
                Self::from_uri(uri)
            } else {
                None
            }
        })
    }
}

impl fmt::Display for ServiceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri())
    }
}

#[cfg(test)]
mod tests {
    use super::ServiceIdentity;

    #[test]
    fn parses_only_folio_uris() {
        assert_eq!(
            ServiceIdentity::from_uri("spiffe://folio/bff").map(|i| i.name().to_owned()),
            Some("bff".to_owned())
        );
        assert!(ServiceIdentity::from_uri("spiffe://other/bff").is_none());
        assert!(ServiceIdentity::from_uri("spiffe://folio/").is_none());
        assert!(ServiceIdentity::from_uri("spiffe://folio/BFF").is_none());
        assert!(ServiceIdentity::from_uri("spiffe://folio/a/b").is_none());
    }
}
