use std::sync::OnceLock;

use argon2::{
    Argon2, PasswordHasher, PasswordVerifier,
    password_hash::{self, SaltString, rand_core::OsRng},
};

use crate::error::Error;

const MIN_CHARS: usize = 12;
const MAX_CHARS: usize = 128;

/// A password that meets the policy. Never logged: `Debug` hides it.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, Error> {
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return Err(Error::invalid(
                field,
                &format!("must be at least {MIN_CHARS} characters"),
            ));
        }
        if chars > MAX_CHARS {
            return Err(Error::invalid(
                field,
                &format!("must be at most {MAX_CHARS} characters"),
            ));
        }
        if raw.trim().is_empty() {
            return Err(Error::invalid(field, "must not be only spaces"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Argon2id with the crate's recommended parameters. CPU-heavy: call from
    /// a blocking thread.
    pub fn hash(&self) -> Result<PasswordHash, Error> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|h| PasswordHash(h.to_string()))
            .map_err(|e| Error::Hashing(e.to_string()))
    }
}

/// A PHC-format Argon2id hash as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl PasswordHash {
    pub fn verify(&self, candidate: &str) -> bool {
        match password_hash::PasswordHash::new(&self.0) {
            Ok(parsed) => Argon2::default()
                .verify_password(candidate.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }
}

/// Checks `candidate` against `hash`, or against a throwaway hash when there
/// is no user, so that an unknown email costs the same time as a wrong password.
pub fn verify_or_waste_time(hash: Option<&PasswordHash>, candidate: &str) -> bool {
    static DUMMY: OnceLock<PasswordHash> = OnceLock::new();
    match hash {
        Some(hash) => hash.verify(candidate),
        None => {
            let dummy = DUMMY.get_or_init(|| {
                Password("not-a-real-password-for-timing".to_owned())
                    .hash()
                    .unwrap_or_else(|_| PasswordHash(String::new()))
            });
            let _ = dummy.verify(candidate);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_and_round_trip() {
        assert!(Password::parse("password", "short").is_err());
        assert!(Password::parse("password", &" ".repeat(20)).is_err());
        assert!(Password::parse("password", &"x".repeat(129)).is_err());
        let password = Password::parse("password", "correct horse battery").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
        let hash = password.hash().unwrap();
        assert!(hash.0.starts_with("$argon2id$"));
        assert!(hash.verify("correct horse battery"));
        assert!(!hash.verify("wrong horse battery"));
        assert!(!verify_or_waste_time(None, "correct horse battery"));
    }
}
