//! The end user on whose behalf a service is called. The bff puts them in
//! request metadata; domain services read them from it and scope every query
//! to their organisation.

use std::{fmt, str::FromStr};

use tonic::metadata::{MetadataMap, MetadataValue};
use uuid::Uuid;

pub const ACTOR_ID: &str = "x-folio-actor-id";
pub const ACTOR_ORG: &str = "x-folio-actor-org";
pub const ACTOR_ROLE: &str = "x-folio-actor-role";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorRole {
    Admin,
    Editor,
    Viewer,
}

impl ActorRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Editor => "editor",
            Self::Viewer => "viewer",
        }
    }

    pub fn can_write(self) -> bool {
        match self {
            Self::Admin | Self::Editor => true,
            Self::Viewer => false,
        }
    }
}

impl FromStr for ActorRole {
    type Err = ActorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Self::Admin),
            "editor" => Ok(Self::Editor),
            "viewer" => Ok(Self::Viewer),
            _ => Err(ActorError::Invalid(ACTOR_ROLE)),
        }
    }
}

impl fmt::Display for ActorRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ActorError {
    #[error("request metadata {0} is missing")]
    Missing(&'static str),
    #[error("request metadata {0} is not valid")]
    Invalid(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub role: ActorRole,
}

fn field<T: FromStr>(metadata: &MetadataMap, key: &'static str) -> Result<T, ActorError> {
    metadata
        .get(key)
        .ok_or(ActorError::Missing(key))?
        .to_str()
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(ActorError::Invalid(key))
}

impl Actor {
    pub fn from_metadata(metadata: &MetadataMap) -> Result<Self, ActorError> {
        Ok(Self {
            user_id: field(metadata, ACTOR_ID)?,
            org_id: field(metadata, ACTOR_ORG)?,
            role: field(metadata, ACTOR_ROLE)?,
        })
    }

    pub fn write_metadata(&self, metadata: &mut MetadataMap) {
        // Uuids and role names are ASCII, so these conversions cannot fail.
        let put = |metadata: &mut MetadataMap, key: &'static str, value: String| {
            if let Ok(value) = MetadataValue::try_from(value) {
                metadata.insert(key, value);
            }
        };
        put(metadata, ACTOR_ID, self.user_id.to_string());
        put(metadata, ACTOR_ORG, self.org_id.to_string());
        put(metadata, ACTOR_ROLE, self.role.as_str().to_owned());
    }

    /// Wraps a message in a request carrying this actor.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        self.write_metadata(request.metadata_mut());
        request
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_metadata_and_rejects_garbage() {
        let actor = Actor {
            user_id: Uuid::now_v7(),
            org_id: Uuid::now_v7(),
            role: ActorRole::Viewer,
        };
        let request = actor.request(());
        assert_eq!(Actor::from_metadata(request.metadata()).unwrap(), actor);

        let mut bad = MetadataMap::new();
        assert_eq!(
            Actor::from_metadata(&bad),
            Err(ActorError::Missing(ACTOR_ID))
        );
        actor.write_metadata(&mut bad);
        bad.insert(ACTOR_ROLE, MetadataValue::from_static("root"));
        assert_eq!(
            Actor::from_metadata(&bad),
            Err(ActorError::Invalid(ACTOR_ROLE))
        );
    }
}
