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
pub(crate) struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    pub(crate) fn parse(field: &'static str, raw: &str) -> Result<Self, Error> {
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
    pub(crate) fn hash(&self) -> Result<PasswordHash, Error> {
        self.hash_like(None)
    }

    /// Like [`Password::hash`], but with the salt and parameters of `sibling`
    /// (another account with the same email) when there is one: every
    /// account of one email then shares them, and signing in costs one
    /// Argon2 run however many organisations the email has accounts in.
    pub(crate) fn hash_like(&self, sibling: Option<&PasswordHash>) -> Result<PasswordHash, Error> {
        let hashing = |e: password_hash::Error| Error::Hashing(e.to_string());
        if let Some(sibling) = sibling
            && let Ok(parsed) = password_hash::PasswordHash::new(&sibling.0)
            && let Some(salt) = parsed.salt
            && let Ok(params) = argon2::Params::try_from(&parsed)
        {
            let argon2 = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
            return argon2
                .hash_password(self.0.as_bytes(), salt)
                .map(|h| PasswordHash(h.to_string()))
                .map_err(hashing);
        }
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|h| PasswordHash(h.to_string()))
            .map_err(hashing)
    }
}

/// A PHC-format Argon2id hash as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PasswordHash(pub String);

impl PasswordHash {
    pub(crate) fn verify(&self, candidate: &str) -> bool {
        match password_hash::PasswordHash::new(&self.0) {
            Ok(parsed) => Argon2::default()
                .verify_password(candidate.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }
}

/// Checks `candidate` against every hash in `hashes` (the accounts of one
/// email), answering which match. Hashes sharing a salt and parameters (as
/// [`Password::hash_like`] makes them) cost one Argon2 run together, so the
/// time does not tell how many accounts there are; with no hash at all, a
/// throwaway hash costs the same run.
pub(crate) fn verify_each(hashes: &[&PasswordHash], candidate: &str) -> Vec<bool> {
    if hashes.is_empty() {
        let _ = verify_or_waste_time(None, candidate);
        return Vec::new();
    }
    let parsed: Vec<Option<password_hash::PasswordHash<'_>>> = hashes
        .iter()
        .map(|h| password_hash::PasswordHash::new(&h.0).ok())
        .collect();
    // One computed hash per distinct (salt, parameters), reused for its group.
    let mut computed: Vec<(String, Option<password_hash::Output>)> = Vec::new();
    parsed
        .iter()
        .map(|stored| {
            let Some(stored) = stored else { return false };
            let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
                return false;
            };
            let group = format!("{}${}${}", stored.algorithm, stored.params, salt);
            let output = match computed.iter().find(|(g, _)| *g == group) {
                Some((_, output)) => *output,
                None => {
                    let output = argon2::Params::try_from(stored).ok().and_then(|params| {
                        Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                            .hash_password(candidate.as_bytes(), salt)
                            .ok()
                            .and_then(|h| h.hash)
                    });
                    computed.push((group, output));
                    output
                }
            };
            // `Output` compares in constant time.
            output.is_some_and(|output| output == expected)
        })
        .collect()
}

/// Checks `candidate` against `hash`, or against a throwaway hash when there
/// is no user, so that an unknown email costs the same time as a wrong password.
pub(crate) fn verify_or_waste_time(hash: Option<&PasswordHash>, candidate: &str) -> bool {
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

    #[test]
    fn accounts_of_one_email_share_a_salt_and_verify_together() {
        let first = Password::parse("password", "first password here")
            .unwrap()
            .hash()
            .unwrap();
        let second = Password::parse("password", "second password here")
            .unwrap()
            .hash_like(Some(&first))
            .unwrap();
        let salt = |h: &PasswordHash| h.0.rsplit('$').nth(1).unwrap().to_owned();
        assert_eq!(salt(&first), salt(&second));
        assert_ne!(first, second);
        assert_eq!(
            verify_each(&[&first, &second], "second password here"),
            [false, true]
        );
        assert_eq!(verify_each(&[&first, &second], "wrong"), [false, false]);
        assert!(second.verify("second password here"));
        assert!(verify_each(&[], "anything").is_empty());
    }
}
