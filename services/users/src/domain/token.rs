//! API tokens: what a token may do, how long it lives, and how its secret
//! is made and kept (only its SHA-256 is stored: a 256-bit random secret
//! needs no slow hash, and the digest lets a request find its row).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::Error;

/// Every secret starts so, which lets secret scanners recognise a leaked one.
const SECRET_PREFIX: &str = "folio_pat_";
/// The longest life a token may be given.
const MAX_LIFETIME_MILLIS: i64 = 366 * 24 * 60 * 60 * 1000;
const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenScope {
    Read,
    Write,
}

impl TokenScope {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    pub(crate) fn from_stored(s: &str) -> Result<Self, Error> {
        match s {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            _ => Err(Error::Corrupt("unknown token scope in storage")),
        }
    }
}

/// A token as stored: never the secret, only its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiToken {
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub scope: TokenScope,
    pub secret_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
}

impl ApiToken {
    pub(crate) fn is_live(&self, now: i64) -> bool {
        now < self.expires_at
    }
}

/// A token's name: what the person calls it ("backup script").
pub(crate) fn parse_name(raw: &str) -> Result<String, Error> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid("name", "must be at most 100 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// The expiry must lie ahead, and at most `MAX_LIFETIME_MILLIS` ahead: a
/// script's token that never expires is a leak that never ends.
pub(crate) fn check_expiry(expires_at: i64, now: i64) -> Result<i64, Error> {
    if expires_at <= now {
        return Err(Error::invalid("expires_at", "must be in the future"));
    }
    if expires_at - now > MAX_LIFETIME_MILLIS {
        return Err(Error::invalid(
            "expires_at",
            "must be at most 366 days ahead",
        ));
    }
    Ok(expires_at)
}

/// A new secret: the prefix and 256 random bits, URL-safe.
pub(crate) fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored and looked up: the secret's SHA-256, hex.
pub(crate) fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a presented secret could be one of ours at all; anything else is
/// refused without a database query.
pub(crate) fn looks_like_secret(secret: &str) -> bool {
    secret.strip_prefix(SECRET_PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_recognisable_and_stored_as_digests() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(looks_like_secret(&a), "{a}");
        assert_eq!(secret_hash(&a).len(), 64);
        assert_ne!(secret_hash(&a), secret_hash(&b));
        assert!(!secret_hash(&a).contains(&a[SECRET_PREFIX.len()..]));
        assert!(!looks_like_secret("folio_pat_short"));
        assert!(!looks_like_secret(&a.replace("folio_pat_", "other_pat_")));
        assert!(!looks_like_secret(&format!("{a}x")));
    }

    #[test]
    fn expiry_lies_ahead_within_a_year_and_a_day() {
        let now = 1_000_000;
        assert!(check_expiry(now, now).is_err());
        assert!(check_expiry(now - 1, now).is_err());
        assert_eq!(check_expiry(now + 1, now).unwrap(), now + 1);
        assert!(check_expiry(now + MAX_LIFETIME_MILLIS, now).is_ok());
        assert!(check_expiry(now + MAX_LIFETIME_MILLIS + 1, now).is_err());
    }

    #[test]
    fn names_are_trimmed_short_and_printable() {
        assert_eq!(parse_name("  backup  ").unwrap(), "backup");
        assert!(parse_name(" ").is_err());
        assert!(parse_name(&"x".repeat(101)).is_err());
        assert!(parse_name("a\u{7}b").is_err());
    }

    #[test]
    fn a_token_dies_at_its_expiry() {
        let token = ApiToken {
            id: Uuid::nil(),
            org_id: Uuid::nil(),
            user_id: Uuid::nil(),
            name: "t".into(),
            scope: TokenScope::Read,
            secret_hash: String::new(),
            created_at: 0,
            expires_at: 10,
            last_used_at: None,
        };
        assert!(token.is_live(9));
        assert!(!token.is_live(10));
    }
}
