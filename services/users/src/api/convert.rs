//! Contract messages ↔ domain types. Parsing happens here, at the edge.

use folio_platform::clock::rfc3339;
use folio_proto::users::v1 as pb;
use uuid::Uuid;

use crate::{
    domain::{Organisation, Role, User},
    error::Error,
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

fn role(role: Role) -> pb::Role {
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
