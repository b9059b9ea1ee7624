//! Contract messages ↔ domain types. Parsing happens here, at the edge.

use folio_platform::clock::rfc3339;
use folio_proto::users::v1 as pb;
use uuid::Uuid;

use crate::{
    domain::{ApiToken, OidcInput, Organisation, Preset, Role, TokenScope, User},
    error::Error,
    store::StoredSettings,
};

pub(super) fn parse_id(field: &'static str, raw: &str) -> Result<Uuid, Error> {
    raw.trim()
        .parse()
        .map_err(|_| Error::invalid(field, "must be a UUID"))
}

pub(super) fn parse_role(raw: i32) -> Result<Role, Error> {
    match pb::Role::try_from(raw) {
        Ok(pb::Role::Admin) => Ok(Role::Admin),
        Ok(pb::Role::Editor) => Ok(Role::Editor),
        Ok(pb::Role::Viewer) => Ok(Role::Viewer),
        Ok(pb::Role::Unspecified) | Err(_) => {
            Err(Error::invalid("role", "must be admin, editor or viewer"))
        }
    }
}

pub(super) fn role(role: Role) -> pb::Role {
    match role {
        Role::Admin => pb::Role::Admin,
        Role::Editor => pb::Role::Editor,
        Role::Viewer => pb::Role::Viewer,
    }
}

pub(super) fn user(user: &User) -> pb::User {
    pb::User {
        id: user.id.to_string(),
        organisation_id: user.org_id.to_string(),
        email: user.email.to_string(),
        display_name: user.display_name.as_str().to_owned(),
        role: role(user.role).into(),
        disabled: user.disabled,
        created_at: rfc3339(user.created_at),
        updated_at: rfc3339(user.updated_at),
    }
}

pub(super) fn organisation(org: &Organisation) -> pb::Organisation {
    pb::Organisation {
        id: org.id.to_string(),
        name: org.name.clone(),
        created_at: rfc3339(org.created_at),
    }
}

pub(super) fn parse_scope(raw: i32) -> Result<TokenScope, Error> {
    match pb::ApiTokenScope::try_from(raw) {
        Ok(pb::ApiTokenScope::Read) => Ok(TokenScope::Read),
        Ok(pb::ApiTokenScope::Write) => Ok(TokenScope::Write),
        Ok(pb::ApiTokenScope::Unspecified) | Err(_) => {
            Err(Error::invalid("scope", "must be read or write"))
        }
    }
}

pub(super) fn scope(scope: TokenScope) -> pb::ApiTokenScope {
    match scope {
        TokenScope::Read => pb::ApiTokenScope::Read,
        TokenScope::Write => pb::ApiTokenScope::Write,
    }
}

pub(super) fn api_token(token: &ApiToken, owner_email: &str) -> pb::ApiToken {
    pb::ApiToken {
        id: token.id.to_string(),
        user_id: token.user_id.to_string(),
        name: token.name.clone(),
        scope: scope(token.scope).into(),
        created_at: rfc3339(token.created_at),
        expires_at: rfc3339(token.expires_at),
        last_used_at: token.last_used_at.map(rfc3339),
        user_email: owner_email.to_owned(),
    }
}

pub(super) fn preset(preset: Preset) -> pb::OidcPreset {
    match preset {
        Preset::Generic => pb::OidcPreset::Generic,
        Preset::Entra => pb::OidcPreset::Entra,
    }
}

pub(super) fn oidc_input(settings: &pb::OidcSettings) -> Result<OidcInput, Error> {
    let entra = match pb::OidcPreset::try_from(settings.preset) {
        Ok(pb::OidcPreset::Entra) => true,
        Ok(pb::OidcPreset::Generic) => false,
        Ok(pb::OidcPreset::Unspecified) | Err(_) => {
            return Err(Error::invalid("preset", "must be generic or entra"));
        }
    };
    let default_role = match settings.default_role {
        0 => None,
        raw => Some(parse_role(raw)?),
    };
    Ok(OidcInput {
        entra,
        issuer: settings.issuer.clone(),
        client_id: settings.client_id.clone(),
        tenant_id: settings.tenant_id.clone(),
        only_sso: settings.only_sso,
        create_accounts: settings.create_accounts,
        default_role,
        domains: settings.domains.clone(),
    })
}

pub(super) fn sign_in_settings(stored: Option<&StoredSettings>) -> pb::SignInSettings {
    pb::SignInSettings {
        oidc: stored.map(|s| pb::OidcSettings {
            preset: preset(s.config.preset).into(),
            issuer: s.config.issuer.clone(),
            client_id: s.config.client_id.clone(),
            tenant_id: s
                .config
                .tenant_id
                .map(|t| t.to_string())
                .unwrap_or_default(),
            only_sso: s.config.only_sso,
            create_accounts: s.config.create_accounts,
            default_role: role(s.config.default_role).into(),
            client_secret_set: s.secret.is_some() && !s.secret_is_certificate,
            client_certificate_set: s.secret.is_some() && s.secret_is_certificate,
            updated_at: rfc3339(s.updated_at),
            domains: s.config.domains.clone(),
        }),
    }
}
