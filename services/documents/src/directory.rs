//! Who belongs to an organisation, asked of the users service over mTLS.

use folio_clients::{CallError, TracedChannel, UsersClient};
use folio_platform::actor::Actor;
use folio_proto::users::v1::GetUserRequest;
use uuid::Uuid;

use crate::error::Error;

#[derive(Debug, Clone)]
pub(crate) struct Directory {
    users: UsersClient,
}

impl Directory {
    pub(crate) fn new(channel: TracedChannel) -> Self {
        Self {
            users: UsersClient::new(channel),
        }
    }

    /// Whether `user_id` is an enabled user of the actor's organisation.
    pub(crate) async fn is_active_member(
        &self,
        actor: &Actor,
        user_id: Uuid,
    ) -> Result<bool, Error> {
        let request = actor.request(GetUserRequest {
            id: user_id.to_string(),
        });
        match self.users.get_user(request).await {
            Ok(user) => Ok(!user.disabled),
            Err(CallError::NotFound { .. }) => Ok(false),
            Err(CallError::Unavailable(_) | CallError::DeadlineExceeded) => {
                Err(Error::Unavailable("the users service"))
            }
            Err(other) => Err(Error::Directory(other.to_string())),
        }
    }
}
