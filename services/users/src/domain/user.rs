use uuid::Uuid;

use super::{DisplayName, Email, PasswordHash};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Admin,
    Editor,
    Viewer,
}

impl Role {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Editor => "editor",
            Self::Viewer => "viewer",
        }
    }

    /// Reads a role stored by this service.
    pub(crate) fn from_stored(s: &str) -> Result<Self, Error> {
        match s {
            "admin" => Ok(Self::Admin),
            "editor" => Ok(Self::Editor),
            "viewer" => Ok(Self::Viewer),
            _ => Err(Error::Corrupt("unknown role in storage")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Organisation {
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct User {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: Email,
    pub display_name: DisplayName,
    pub role: Role,
    pub disabled: bool,
    pub password_hash: PasswordHash,
    pub created_at: i64,
    pub updated_at: i64,
}

impl User {
    pub(crate) fn is_enabled_admin(&self) -> bool {
        self.role == Role::Admin && !self.disabled
    }
}

/// What an admin may change about a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UserChanges {
    pub role: Option<Role>,
    pub display_name: Option<DisplayName>,
    pub disabled: Option<bool>,
}

impl UserChanges {
    pub(crate) fn is_empty(&self) -> bool {
        self.role.is_none() && self.display_name.is_none() && self.disabled.is_none()
    }

    pub(crate) fn apply(&self, user: &mut User, now: i64) {
        if let Some(role) = self.role {
            user.role = role;
        }
        if let Some(name) = &self.display_name {
            user.display_name = name.clone();
        }
        if let Some(disabled) = self.disabled {
            user.disabled = disabled;
        }
        user.updated_at = now;
    }
}
