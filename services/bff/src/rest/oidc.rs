//! The checks an ID token must pass before Folio believes it (OpenID Connect
//! Core 3.1.3.7), after its signature: pure, so each refusal is unit-tested.
//! The protocol (discovery, keys, the token request) is `crate::oidc`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// How far clocks may disagree, in seconds.
pub(crate) const CLOCK_SKEW_SECS: i64 = 120;

/// Why a provider's answer gets no session. Each names the check it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("the sign-in is unknown, used already or expired, or its state does not match")]
    State,
    #[error("the provider answered with an error")]
    ProviderError,
    #[error("the ID token is not a signed JWT with RS256 or ES256")]
    Algorithm,
    #[error("the ID token is signed with a key the provider does not publish")]
    UnknownKey,
    #[error("the ID token's signature does not verify")]
    Signature,
    #[error("the ID token is from another issuer")]
    Issuer,
    #[error("the ID token is for another audience")]
    Audience,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token is not valid yet")]
    NotYetValid,
    #[error("the ID token's nonce does not match this sign-in")]
    Nonce,
    #[error("the ID token is from another organisation's tenant")]
    Tenant,
    #[error("the ID token names no subject")]
    Subject,
}

impl Refusal {
    /// A short stable name for metrics and logs.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::State => "state",
            Self::ProviderError => "provider_error",
            Self::Algorithm => "algorithm",
            Self::UnknownKey => "unknown_key",
            Self::Signature => "signature",
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Nonce => "nonce",
            Self::Tenant => "tenant",
            Self::Subject => "subject",
        }
    }
}

/// Only asymmetric signatures: `none` proves nothing, and HS* would take the
/// client secret (which Folio shares with the provider) as the key.
pub(crate) fn allowed_algorithm(alg: &str) -> bool {
    matches!(alg, "RS256" | "ES256")
}

/// The claims Folio reads; others are ignored.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IdClaims {
    pub iss: String,
    #[serde(default)]
    pub sub: String,
    pub aud: Value,
    pub exp: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub azp: Option<String>,
    /// Entra ID: the tenant, the person's id in it, and the identity provider
    /// of a guest (absent for the tenant's own members).
    #[serde(default)]
    pub tid: Option<String>,
    #[serde(default)]
    pub oid: Option<String>,
    #[serde(default)]
    pub idp: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: Option<Value>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// What this sign-in expects of its ID token.
#[derive(Debug, Clone)]
pub(crate) struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Entra ID: the organisation's tenant.
    pub tenant_id: Option<&'a str>,
    /// Unix seconds.
    pub now: i64,
}

/// The person an ID token vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verified {
    /// `oid` for Entra ID (the same for every app of the tenant), `sub` otherwise.
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    pub display_name: String,
}

fn audience_ok(aud: &Value, azp: Option<&str>, client_id: &str) -> bool {
    match aud {
        Value::String(one) => one == client_id,
        Value::Array(many) => {
            let has = many.iter().any(|a| a.as_str() == Some(client_id));
            // With other audiences too, the token must have been issued to us.
            has && (many.len() == 1 || azp == Some(client_id))
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::Object(_) => false,
    }
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        None | Some(Value::Null | Value::Number(_) | Value::Array(_) | Value::Object(_)) => false,
    }
}

/// Every check after the signature, in the order the specification lists.
pub(crate) fn check(claims: &IdClaims, expected: &Expected<'_>) -> Result<Verified, Refusal> {
    if claims.iss != expected.issuer {
        return Err(Refusal::Issuer);
    }
    if !audience_ok(&claims.aud, claims.azp.as_deref(), expected.client_id) {
        return Err(Refusal::Audience);
    }
    if claims.exp + CLOCK_SKEW_SECS <= expected.now {
        return Err(Refusal::Expired);
    }
    let future = |t: Option<i64>| t.is_some_and(|t| t - CLOCK_SKEW_SECS > expected.now);
    if future(claims.nbf) || future(claims.iat) {
        return Err(Refusal::NotYetValid);
    }
    let nonce_ok = claims.nonce.as_deref().is_some_and(|n| {
        n.len() == expected.nonce.len()
            && n.bytes()
                .zip(expected.nonce.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if !nonce_ok {
        return Err(Refusal::Nonce);
    }
    let (subject, email, email_verified) = match expected.tenant_id {
        Some(tenant) => {
            if claims.tid.as_deref() != Some(tenant) {
                return Err(Refusal::Tenant);
            }
            let email = claims
                .email
                .clone()
                .or_else(|| claims.preferred_username.clone())
                .unwrap_or_default();
            // The tenant is the organisation's own directory: its members'
            // addresses are its IT's to set. A guest's (`idp` elsewhere) are not.
            let member = claims.idp.as_deref().is_none_or(|idp| idp == claims.iss);
            (claims.oid.clone().unwrap_or_default(), email, member)
        }
        None => (
            claims.sub.clone(),
            claims.email.clone().unwrap_or_default(),
            truthy(claims.email_verified.as_ref()),
        ),
    };
    if subject.is_empty() || subject.len() > 255 {
        return Err(Refusal::Subject);
    }
    Ok(Verified {
        subject,
        display_name: claims.name.clone().unwrap_or_default(),
        email,
        email_verified,
    })
}

/// RFC 7636 S256: the challenge sent up front for the verifier sent later.
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Entra ID's issuer for a tenant, under `authority` (normally
/// `https://login.microsoftonline.com`).
pub(crate) fn entra_issuer(authority: &str, tenant_id: &str) -> String {
    format!("{}/{tenant_id}/v2.0", authority.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn claims(extra: &Value) -> IdClaims {
        let mut base = json!({
            "iss": "https://idp.example.com",
            "sub": "person-1",
            "aud": "folio",
            "exp": NOW + 300,
            "iat": NOW,
            "nonce": "n-123",
            "email": "a@b.example",
            "email_verified": true,
            "name": "A B",
        });
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://idp.example.com",
            client_id: "folio",
            nonce: "n-123",
            tenant_id: None,
            now: NOW,
        }
    }

    #[test]
    fn a_good_token_names_its_subject() {
        let verified = check(&claims(&json!({})), &expected()).unwrap();
        assert_eq!(verified.subject, "person-1");
        assert!(verified.email_verified);
        let unverified = claims(&json!({"email_verified": "false"}));
        assert!(!check(&unverified, &expected()).unwrap().email_verified);
    }

    #[test]
    fn each_claim_is_checked() {
        let cases = [
            (json!({"iss": "https://other.example.com"}), Refusal::Issuer),
            (json!({"aud": "someone-else"}), Refusal::Audience),
            (json!({"aud": ["folio", "other"]}), Refusal::Audience),
            (json!({"exp": NOW - CLOCK_SKEW_SECS - 1}), Refusal::Expired),
            (
                json!({"nbf": NOW + CLOCK_SKEW_SECS + 5}),
                Refusal::NotYetValid,
            ),
            (json!({"iat": NOW + 3600}), Refusal::NotYetValid),
            (json!({"nonce": "n-124"}), Refusal::Nonce),
            (json!({"nonce": null}), Refusal::Nonce),
            (json!({"sub": ""}), Refusal::Subject),
        ];
        for (change, refusal) in cases {
            assert_eq!(
                check(&claims(&change), &expected()),
                Err(refusal),
                "{change}"
            );
        }
        let within_skew = claims(&json!({"exp": NOW - 10, "nbf": NOW + 10}));
        assert!(check(&within_skew, &expected()).is_ok());
        let azp = claims(&json!({"aud": ["folio", "other"], "azp": "folio"}));
        assert!(check(&azp, &expected()).is_ok());
    }

    #[test]
    fn entra_tokens_must_come_from_the_organisations_tenant() {
        let tenant = "7d3f0c9e-1111-4222-8333-944455556666";
        let entra = Expected {
            tenant_id: Some(tenant),
            ..expected()
        };
        let token = claims(&json!({"tid": tenant, "oid": "oid-1", "email": null,
            "email_verified": null, "preferred_username": "a@b.example"}));
        let verified = check(&token, &entra).unwrap();
        assert_eq!(verified.subject, "oid-1");
        assert_eq!(verified.email, "a@b.example");
        assert!(verified.email_verified);
        let other = claims(&json!({"tid": "00000000-0000-4000-8000-000000000000", "oid": "x"}));
        assert_eq!(check(&other, &entra), Err(Refusal::Tenant));
        let guest = claims(&json!({"tid": tenant, "oid": "g", "idp": "https://sts.other/"}));
        assert!(!check(&guest, &entra).unwrap().email_verified);
        let no_oid = claims(&json!({"tid": tenant}));
        assert_eq!(check(&no_oid, &entra), Err(Refusal::Subject));
    }

    #[test]
    fn only_asymmetric_algorithms() {
        assert!(allowed_algorithm("RS256") && allowed_algorithm("ES256"));
        for bad in ["none", "HS256", "HS512", "RS384", ""] {
            assert!(!allowed_algorithm(bad), "{bad}");
        }
    }

    #[test]
    fn pkce_matches_rfc_7636() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(
            entra_issuer("https://login.microsoftonline.com/", "t"),
            "https://login.microsoftonline.com/t/v2.0"
        );
    }
}
