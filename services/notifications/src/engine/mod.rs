//! The use cases: reading the event logs, managing endpoints, delivering.

mod deliver;
mod mail;
mod mailer;
mod read;
mod resolve;
mod webhooks;

use std::time::Duration;

use folio_clients::{DocumentsClient, UsersClient};
use folio_platform::{actor::Actor, actor::ActorRole, db::Database, grpc::TracedChannel};
use uuid::Uuid;

use crate::{
    domain::Backoff,
    settings::{MailSettings, Timing},
};

pub(crate) use mail::People;
pub(crate) use mailer::Mailer;
pub(crate) use webhooks::WebhookChanges;

#[derive(Debug)]
pub(crate) struct Engine {
    db: Database,
    users: UsersClient,
    documents: DocumentsClient,
    timing: Timing,
    allow_private: bool,
    mailer: Mailer,
    mail: MailSettings,
}

impl Engine {
    pub(crate) fn new(
        db: Database,
        users: TracedChannel,
        documents: TracedChannel,
        timing: Timing,
        allow_private: bool,
        mailer: Mailer,
        mail: MailSettings,
    ) -> Self {
        Self {
            db,
            users: UsersClient::new(users).with_deadline(timing.call_deadline),
            documents: DocumentsClient::new(documents).with_deadline(timing.call_deadline),
            timing,
            allow_private,
            mailer,
            mail,
        }
    }

    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    fn backoff(&self) -> Backoff {
        Backoff {
            base: self.timing.retry_base,
            max: self.timing.retry_max,
            window: self.timing.retry_window,
        }
    }

    /// A request with the call deadline, on behalf of nobody in particular
    /// of `org` (documents scopes reads by the organisation).
    fn on_behalf_of<T>(&self, org: Uuid, message: T) -> tonic::Request<T> {
        let reader = Actor {
            user_id: Uuid::nil(),
            org_id: org,
            role: ActorRole::Viewer,
        };
        let mut request = reader.request(message);
        request.set_timeout(self.timing.call_deadline);
        request
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
