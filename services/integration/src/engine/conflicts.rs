//! Open conflicts (docs/adr/0043): a send that found the OneDrive file
//! changed is kept, with the Folio version sent and the version OneDrive's
//! change became, until a later send of the document succeeds or a person
//! dismisses it.

use folio_platform::{actor::Actor, clock::now_millis};
use uuid::Uuid;

use super::{Engine, Sent, send::SendAttempt};
use crate::{
    domain::Connection,
    error::{Error, Refusal},
    store::conflicts::{self, Conflict, Refused},
};

/// Conflicts listed at once.
const LISTED: u32 = 100;

fn require_writer(actor: &Actor) -> Result<(), Error> {
    if actor.role.can_write() {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only admins and editors see and dismiss OneDrive conflicts",
        ))
    }
}

impl Engine {
    /// After a send: a refusal over a changed OneDrive file opens a
    /// conflict; a success closes the document's open ones. Failing to
    /// record either is logged, and the send's answer stands.
    pub(super) async fn keep_conflicts(
        &self,
        conn: &Connection,
        actor: &Actor,
        document: Uuid,
        attempt: Option<SendAttempt>,
        sent: &Result<Sent, Error>,
    ) {
        let now = now_millis();
        let kept = async {
            let mut db = self.db.pool.acquire().await?;
            match (sent, attempt) {
                (Ok(_), _) => {
                    let closed = conflicts::close_for_document(
                        &mut db,
                        conn.org_id,
                        document,
                        actor.user_id,
                        now,
                    )
                    .await?;
                    if closed > 0 {
                        tracing::info!(%document, closed, "OneDrive conflicts closed by a send");
                    }
                }
                (
                    Err(Error::OneDrive {
                        refusal: Refusal::Conflict,
                        ..
                    }),
                    Some(SendAttempt {
                        version,
                        over: Some((item_id, name)),
                    }),
                ) => {
                    let refused = Refused {
                        org_id: conn.org_id,
                        connection_id: conn.id,
                        document_id: document,
                        item_id: &item_id,
                        name: &name,
                        sent_version: version,
                        sent_by: actor.user_id,
                    };
                    let id = conflicts::open(&mut db, &refused, now).await?;
                    tracing::info!(conflict = %id, %document, version, "OneDrive conflict kept");
                }
                (Err(_), _) => {}
            }
            Ok::<_, Error>(())
        }
        .await;
        if let Err(error) = kept {
            tracing::warn!(connection = %conn.id, %document, %error, "cannot record a OneDrive conflict");
        }
    }

    /// The organisation's open conflicts (of one document when given),
    /// newest first, and how many are open.
    pub async fn conflicts(
        &self,
        actor: &Actor,
        document: Option<Uuid>,
    ) -> Result<(Vec<Conflict>, u64), Error> {
        require_writer(actor)?;
        // The primary: a conflict is listed the moment its send answered.
        let mut db = self.db.pool.acquire().await?;
        conflicts::list_open(&mut db, actor.org_id, document, LISTED).await
    }

    /// Closes a conflict of the actor's organisation; one already closed
    /// stays as it closed.
    pub async fn dismiss_conflict(&self, actor: &Actor, id: Uuid) -> Result<(), Error> {
        require_writer(actor)?;
        let mut db = self.db.pool.acquire().await?;
        if conflicts::dismiss(&mut db, actor.org_id, id, actor.user_id, now_millis()).await? {
            tracing::info!(conflict = %id, "OneDrive conflict dismissed");
            Ok(())
        } else {
            Err(Error::NotFound("conflict"))
        }
    }
}
