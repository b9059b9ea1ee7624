//! Secrets sealed at rest with AES-256-GCM (`ring`, already in the tree
//! through rustls): a random 96-bit nonce per value, and associated data that
//! names what the value belongs to, so a sealed value copied to another row
//! (another organisation) does not open. The key is a secret like any other
//! (64 hex digits from the secrets sources).

use std::{fmt, sync::Arc};

use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};

use crate::secrets::{Secret, SecretSource};

/// A value as stored: hex nonce and hex ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub nonce: String,
    pub sealed: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the random number generator failed")]
    Random,
    #[error("the sealed value cannot be opened")]
    Unopenable,
}

/// An AES-256-GCM key.
#[derive(Clone)]
pub struct SealingKey(Arc<LessSafeKey>);

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey")
    }
}

impl SealingKey {
    /// A key given as 64 hex digits; the error names `var`, never the value.
    pub fn from_hex(hex_key: &str, var: &str) -> Result<Self, String> {
        let bytes = hex::decode(hex_key.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| format!("{var}: expected 64 hex digits"))?;
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| format!("{var}: not an AES-256 key"))?;
        Ok(Self(Arc::new(LessSafeKey::new(key))))
    }

    /// Fetches the key from its source.
    pub async fn fetch(source: &SecretSource) -> Result<Self, String> {
        let key = source.fetch().await.map_err(|e| e.to_string())?;
        Self::from_hex(key.expose(), source.var())
    }

    pub fn seal(&self, secret: &Secret, bound_to: &str) -> Result<Sealed, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let mut sealed = secret.expose().as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(bound_to),
                &mut sealed,
            )
            .map_err(|_| SealError::Random)?;
        Ok(Sealed {
            nonce: hex::encode(nonce),
            sealed: hex::encode(sealed),
        })
    }

    pub fn open(&self, stored: &Sealed, bound_to: &str) -> Result<Secret, SealError> {
        let nonce: [u8; NONCE_LEN] = hex::decode(&stored.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or(SealError::Unopenable)?;
        let mut sealed = hex::decode(&stored.sealed).map_err(|_| SealError::Unopenable)?;
        let plain = self
            .0
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(bound_to),
                &mut sealed,
            )
            .map_err(|_| SealError::Unopenable)?;
        let text = std::str::from_utf8(plain).map_err(|_| SealError::Unopenable)?;
        Ok(Secret::new(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_where_it_belongs_and_with_its_key() {
        let key = SealingKey::from_hex(&"ab".repeat(32), "KEY").unwrap();
        let sealed = key.seal(&Secret::new("s3cret"), "org-a").unwrap();
        assert!(!sealed.sealed.contains("s3cret"));
        assert_eq!(key.open(&sealed, "org-a").unwrap().expose(), "s3cret");
        assert!(key.open(&sealed, "org-b").is_err());
        let other = SealingKey::from_hex(&"cd".repeat(32), "KEY").unwrap();
        assert!(other.open(&sealed, "org-a").is_err());
        let again = key.seal(&Secret::new("s3cret"), "org-a").unwrap();
        assert_ne!(again.nonce, sealed.nonce);
    }

    #[test]
    fn bad_keys_are_named_not_quoted() {
        let err = SealingKey::from_hex("beef", "FOLIO_X_KEY").unwrap_err();
        assert_eq!(err, "FOLIO_X_KEY: expected 64 hex digits");
    }
}
