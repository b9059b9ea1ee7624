//! Who belongs to an organisation, asked of the users service over mTLS.

use folio_platform::{actor::Actor, grpc::TracedChannel};
use folio_proto::users::v1::{GetUserRequest, users_service_client::UsersServiceClient};
use tonic::Code;
use uuid::Uuid;

use crate::error::Error;

#[derive(Debug, Clone)]
pub struct Directory {
    users: UsersServiceClient<TracedChannel>,
}

impl Directory {
    pub fn new(channel: TracedChannel) -> Self {
        Self {
            users: UsersServiceClient::new(channel),
        }
    }

    /// Whether `user_id` is an enabled user of the actor's organisation.
    pub async fn is_active_member(&self, actor: &Actor, user_id: Uuid) -> Result<bool, Error> {
        let request = actor.request(GetUserRequest {
            id: user_id.to_string(),
        });
        match self.users.clone().get_user(request).await {
            Ok(user) => Ok(!user.into_inner().disabled),
            Err(status) => match status.code() {
                Code::NotFound => Ok(false),
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                    Err(Error::Unavailable("the users service"))
                }
                Code::Ok
                | Code::Unknown
                | Code::InvalidArgument
                | Code::AlreadyExists
                | Code::PermissionDenied
                | Code::ResourceExhausted
                | Code::FailedPrecondition
                | Code::Aborted
                | Code::OutOfRange
                | Code::Unimplemented
                | Code::Internal
                | Code::DataLoss
                | Code::Unauthenticated => Err(Error::Directory(format!(
                    "{:?}: {}",
                    status.code(),
                    status.message()
                ))),
            },
        }
    }
}
