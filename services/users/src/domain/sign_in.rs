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
