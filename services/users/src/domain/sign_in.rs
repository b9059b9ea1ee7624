//! Sign-in with an organisation's OpenID Connect provider: which settings
//! are acceptable, and who a first sign-in may become (docs/adr/0066, 0067).

use folio_platform::secrets::Secret;
use uuid::Uuid;

use super::{Role, User};
use crate::error::Error;

/// What kind of provider an organisation signs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Preset {
    /// Any OpenID Connect provider, by its issuer URL.
    Generic,
    /// Microsoft Entra ID: the issuer follows from the tenant.
    Entra,
}

impl Preset {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Generic => "oidc",
            Self::Entra => "entra",
        }
    }

    pub(crate) fn from_stored(s: &str) -> Result<Self, Error> {
        match s {
            "oidc" => Ok(Self::Generic),
            "entra" => Ok(Self::Entra),
            _ => Err(Error::Corrupt("unknown sign-in preset")),
        }
    }
}

/// An organisation's provider settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OidcConfig {
    pub preset: Preset,
    /// Generic only (empty for Entra).
    pub issuer: String,
    /// Empty for Entra with the deployment's app.
    pub client_id: String,
    /// Entra only.
    pub tenant_id: Option<Uuid>,
    pub only_sso: bool,
    pub create_accounts: bool,
    pub default_role: Role,
    /// The email domains whose addresses are sent to this provider (lower
    /// case, sorted; docs/adr/0073).
    pub domains: Vec<String>,
}

/// The settings as an admin entered them, before checking.
#[derive(Debug, Clone, Default)]
pub(crate) struct OidcInput {
    pub entra: bool,
    pub issuer: String,
    pub client_id: String,
    pub tenant_id: String,
    pub only_sso: bool,
    pub create_accounts: bool,
    pub default_role: Option<Role>,
    pub domains: Vec<String>,
}

/// At most this many email domains per organisation.
pub(super) const MAX_DOMAINS: usize = 50;

/// One email domain an organisation's provider serves: DNS labels of ASCII
/// letters, digits and inner hyphens (an international name in its `xn--`
/// form), at least two, at most 253 characters, a top-level label that is
/// not all digits. Lower-cased; no wildcard, each subdomain named itself.
pub(super) fn parse_domain(raw: &str) -> Result<String, Error> {
    let domain = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let bad = || {
        Error::invalid(
            "domains",
            "each must be a domain name like example.com (at most 253 characters)",
        )
    };
    if domain.is_empty() || domain.len() > 253 {
        return Err(bad());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let top_ok = labels
        .last()
        .is_some_and(|t| !t.bytes().all(|b| b.is_ascii_digit()));
    if labels.len() < 2 || !labels.iter().all(label_ok) || !top_ok {
        return Err(bad());
    }
    Ok(domain)
}

/// An admin's list of domains: each checked, duplicates folded, sorted.
pub(super) fn parse_domains(raw: &[String]) -> Result<Vec<String>, Error> {
    if raw.len() > MAX_DOMAINS {
        return Err(Error::InvalidInput {
            field: "domains",
            reason: format!("must be at most {MAX_DOMAINS}"),
        });
    }
    let mut domains = raw
        .iter()
        .map(|d| parse_domain(d))
        .collect::<Result<Vec<_>, _>>()?;
    domains.sort();
    domains.dedup();
    Ok(domains)
}

/// The opaque, stable id a person's link to (issuer, subject) is named by
/// in the API: no column to add, and the subject is not put in addresses.
pub(crate) fn identity_id(issuer: &str, subject: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(issuer.as_bytes())
        .chain_update([0u8])
        .chain_update(subject.as_bytes())
        .finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a person keeps a way to sign in without one of their provider
/// identities: a password they know and may use under the organisation's
/// settings (`config`, none when provider sign-in is off), or another
/// identity of the issuer the organisation signs in with now.
pub(crate) fn keeps_a_way_in(
    config: Option<&OidcConfig>,
    user: &User,
    password_known: bool,
    other_current_identities: usize,
) -> bool {
    let password = password_known && config.is_none_or(|c| c.allows_password(user));
    password || (config.is_some() && other_current_identities > 0)
}

/// An issuer URL: `https://`, or `http://` on a loopback address only (tests
/// and `folio up`), without query, fragment or credentials.
pub(super) fn parse_issuer(raw: &str) -> Result<String, Error> {
    let value = raw.trim();
    let bad = |reason: &str| Error::invalid("issuer", reason);
    if value.is_empty() {
        return Err(bad("must not be empty"));
    }
    if value.len() > 300 {
        return Err(bad("must be at most 300 characters"));
    }
    let url = url::Url::parse(value).map_err(|_| bad("must be an absolute URL"))?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("must have no query, fragment or user name"));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(value.to_owned()),
        "http" if loopback => Ok(value.to_owned()),
        _ => Err(bad(
            "must be an https:// URL (http:// only on a loopback address)",
        )),
    }
}

fn parse_client_id(raw: &str) -> Result<String, Error> {
    let value = raw.trim();
    if value.len() > 255 || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            "client_id",
            "must be at most 255 characters, without spaces",
        ));
    }
    Ok(value.to_owned())
}

/// A client secret as entered (the rule is the platform's).
pub(crate) fn parse_client_secret(raw: &str) -> Result<String, Error> {
    Secret::client_secret(raw)
        .map(|secret| secret.expose().to_owned())
        .map_err(|why| Error::invalid("client_secret", why))
}

impl OidcConfig {
    /// Checks an admin's input. `secret_given`: a client secret comes with
    /// it; `secret_kept`: the same client's secret is stored already.
    pub(crate) fn parse(
        input: &OidcInput,
        secret_given: bool,
        secret_kept: bool,
    ) -> Result<Self, Error> {
        let client_id = parse_client_id(&input.client_id)?;
        let (preset, issuer, tenant_id) = if input.entra {
            if !input.issuer.trim().is_empty() {
                return Err(Error::invalid(
                    "issuer",
                    "must be left out with tenant_id: Entra ID's issuer follows from the tenant",
                ));
            }
            let tenant = input
                .tenant_id
                .trim()
                .parse::<Uuid>()
                .map_err(|_| Error::invalid("tenant_id", "must be the tenant's id (a UUID)"))?;
            (Preset::Entra, String::new(), Some(tenant))
        } else {
            if client_id.is_empty() {
                return Err(Error::invalid(
                    "client_id",
                    "is needed with an issuer (only Entra ID may use the deployment's app)",
                ));
            }
            (Preset::Generic, parse_issuer(&input.issuer)?, None)
        };
        if !client_id.is_empty() && !secret_given && !secret_kept {
            return Err(Error::invalid(
                "client_secret",
                "is needed with a client_id: the provider's secret for that client",
            ));
        }
        if client_id.is_empty() && secret_given {
            return Err(Error::invalid(
                "client_secret",
                "must be left out without a client_id (the deployment's app is used)",
            ));
        }
        let default_role = input.default_role.unwrap_or(Role::Viewer);
        if default_role == Role::Admin {
            return Err(Error::invalid(
                "default_role",
                "must be editor or viewer: an admin is made by an admin",
            ));
        }
        Ok(Self {
            preset,
            issuer,
            client_id,
            tenant_id,
            only_sso: input.only_sso,
            create_accounts: input.create_accounts,
            default_role,
            domains: parse_domains(&input.domains)?,
        })
    }

    /// Whether `user` may still sign in with a password: admins always
    /// (their way back in when the provider fails), others unless only_sso.
    pub(crate) fn allows_password(&self, user: &User) -> bool {
        !self.only_sso || user.role == Role::Admin
    }

    /// What a sealed client secret is bound to: a secret copied to another
    /// organisation's or client's row does not open.
    pub(crate) fn secret_binding(&self, org_id: Uuid) -> String {
        format!("folio/users/oidc-client-secret/{org_id}/{}", self.client_id)
    }
}

/// What a verified provider identity that no link names yet leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FirstSignIn {
    /// The admin's invitation: the organisation's unlinked account with the
    /// asserted email.
    Link(Uuid),
    /// A new account with the organisation's default role.
    Create,
    /// No invitation, and the admin did not allow new accounts.
    Refuse,
}

/// `invited`: the organisation's account with the token's email, when it has
/// none linked for this issuer yet. An unverified email never links nor
/// becomes an account's address: anyone can put any address in such a claim.
pub(crate) fn first_sign_in(
    invited: Option<&User>,
    email_verified: bool,
    create_accounts: bool,
) -> FirstSignIn {
    match invited {
        Some(user) if email_verified => FirstSignIn::Link(user.id),
        // Someone holds that address here but the provider does not vouch
        // for it: creating a second account with it would not be right.
        Some(_) => FirstSignIn::Refuse,
        None if create_accounts && email_verified => FirstSignIn::Create,
        None => FirstSignIn::Refuse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DisplayName, Email, PasswordHash};

    fn input() -> OidcInput {
        OidcInput {
            issuer: "https://idp.example.com/realms/acme".into(),
            client_id: "folio".into(),
            ..OidcInput::default()
        }
    }

    #[test]
    fn issuers_must_be_https_except_on_loopback() {
        assert!(parse_issuer("https://login.example.com/t/v2.0").is_ok());
        for ok in [
            "http://127.0.0.1:4000/x",
            "http://localhost:1/",
            "http://[::1]:2/",
        ] {
            assert!(parse_issuer(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "http://idp.example.com/",
            "ftp://127.0.0.1/",
            "idp.example.com",
            "https://idp.example.com/?a=b",
            "https://user@idp.example.com/",
        ] {
            let err = parse_issuer(bad).unwrap_err().to_string();
            assert!(err.starts_with("issuer"), "{bad}: {err}");
        }
        assert!(parse_issuer(&format!("https://a.example/{}", "x".repeat(300))).is_err());
    }

    #[test]
    fn a_generic_provider_needs_its_client_and_secret() {
        let config = OidcConfig::parse(&input(), true, false).unwrap();
        assert_eq!(config.preset, Preset::Generic);
        assert_eq!(config.default_role, Role::Viewer);
        assert!(OidcConfig::parse(&input(), false, true).is_ok());
        let err = OidcConfig::parse(&input(), false, false).unwrap_err();
        assert!(err.to_string().starts_with("client_secret"));
        let no_client = OidcInput {
            client_id: String::new(),
            ..input()
        };
        assert!(OidcConfig::parse(&no_client, true, false).is_err());
    }

    #[test]
    fn entra_derives_its_issuer_and_may_use_the_deployment_app() {
        let tenant = Uuid::now_v7();
        let entra = OidcInput {
            entra: true,
            issuer: String::new(),
            client_id: String::new(),
            tenant_id: tenant.to_string(),
            ..OidcInput::default()
        };
        let config = OidcConfig::parse(&entra, false, false).unwrap();
        assert_eq!(config.preset, Preset::Entra);
        assert_eq!(config.tenant_id, Some(tenant));
        assert!(OidcConfig::parse(&entra, true, false).is_err());
        let with_issuer = OidcInput {
            issuer: "https://login.example.com/".into(),
            ..entra.clone()
        };
        assert!(OidcConfig::parse(&with_issuer, false, false).is_err());
        let bad_tenant = OidcInput {
            tenant_id: "contoso.onmicrosoft.com".into(),
            ..entra
        };
        assert!(OidcConfig::parse(&bad_tenant, false, false).is_err());
    }

    #[test]
    fn created_accounts_are_never_admins() {
        let admin = OidcInput {
            default_role: Some(Role::Admin),
            ..input()
        };
        assert!(OidcConfig::parse(&admin, true, false).is_err());
    }

    fn user(role: Role) -> User {
        User {
            id: Uuid::now_v7(),
            org_id: Uuid::now_v7(),
            email: Email::parse("a@b.example").unwrap(),
            display_name: DisplayName::parse("A").unwrap(),
            role,
            disabled: false,
            password_hash: PasswordHash(String::new()),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn only_sso_keeps_the_admins_password_as_a_way_back_in() {
        let mut config = OidcConfig::parse(&input(), true, false).unwrap();
        assert!(config.allows_password(&user(Role::Viewer)));
        config.only_sso = true;
        assert!(!config.allows_password(&user(Role::Editor)));
        assert!(config.allows_password(&user(Role::Admin)));
    }

    #[test]
    fn domains_are_dns_names_lower_cased_bounded_and_folded() {
        assert_eq!(parse_domain(" Contoso.COM. ").unwrap(), "contoso.com");
        assert_eq!(
            parse_domain("xn--bcher-kva.example").unwrap(),
            "xn--bcher-kva.example"
        );
        for bad in [
            "",
            "contoso",
            "*.contoso.com",
            "-a.example",
            "a-.example",
            "a..example",
            "bücher.example",
            "name@contoso.com",
            "10.0.0.1",
            &format!("{}.example", "a".repeat(64)),
            &format!("{}example", "abcdefghi.".repeat(25)),
        ] {
            assert!(parse_domain(bad).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..=MAX_DOMAINS).map(|i| format!("d{i}.example")).collect();
        assert!(parse_domains(&many).is_err());
        let folded = parse_domains(&["b.example".into(), "A.example".into(), "a.example".into()]);
        assert_eq!(folded.unwrap(), ["a.example", "b.example"]);
    }

    #[test]
    fn identity_ids_are_stable_opaque_and_distinct() {
        let id = identity_id("https://idp.example/t", "abc");
        assert_eq!(id.len(), 32);
        assert_eq!(id, identity_id("https://idp.example/t", "abc"));
        assert_ne!(id, identity_id("https://idp.example/ta", "bc"));
        assert!(!id.contains("abc"));
    }

    #[test]
    fn a_person_keeps_a_way_in_by_a_usable_password_or_another_current_identity() {
        let mut config = OidcConfig::parse(&input(), true, false).unwrap();
        let viewer = user(Role::Viewer);
        assert!(keeps_a_way_in(Some(&config), &viewer, true, 0));
        assert!(!keeps_a_way_in(Some(&config), &viewer, false, 0));
        assert!(keeps_a_way_in(Some(&config), &viewer, false, 1));
        config.only_sso = true;
        assert!(!keeps_a_way_in(Some(&config), &viewer, true, 0));
        assert!(keeps_a_way_in(Some(&config), &user(Role::Admin), true, 0));
        assert!(keeps_a_way_in(None, &viewer, true, 0));
        assert!(
            !keeps_a_way_in(None, &viewer, false, 3),
            "provider sign-in is off"
        );
    }

    #[test]
    fn a_first_sign_in_links_only_a_verified_invitation() {
        let invited = user(Role::Editor);
        assert_eq!(
            first_sign_in(Some(&invited), true, false),
            FirstSignIn::Link(invited.id)
        );
        assert_eq!(
            first_sign_in(Some(&invited), false, true),
            FirstSignIn::Refuse
        );
        assert_eq!(first_sign_in(None, true, true), FirstSignIn::Create);
        assert_eq!(first_sign_in(None, true, false), FirstSignIn::Refuse);
        assert_eq!(first_sign_in(None, false, true), FirstSignIn::Refuse);
    }
}
