use folio_platform::{actor::Actor, clock::now_millis};
use uuid::Uuid;

use super::{Library, page_size};
use crate::{
    domain::{Event, EventKind, IntegrationNote},
    error::Error,
    store::events,
};

impl Library {
    /// A page of the organisation's change log and the cursor to continue
    /// from. Oldest first, the cursor is always the last sequence seen, so a
    /// consumer can poll for what comes next; newest first, it is 0 at the end.
    pub(crate) async fn events(
        &self,
        actor: &Actor,
        cursor: u64,
        limit: u32,
        newest_first: bool,
        task_id: Option<Uuid>,
    ) -> Result<(Vec<Event>, u64), Error> {
        let limit = page_size(limit, 100, 500);
        let mut conn = self.db.reader().acquire().await?;
        let page = events::list_events(
            &mut conn,
            actor.org_id,
            cursor,
            limit,
            newest_first,
            task_id,
        )
        .await?;
        let next = match (newest_first, page.last()) {
            (false, Some(last)) => last.sequence,
            (false, None) => cursor,
            (true, Some(last)) if page.len() == limit as usize => last.sequence,
            (true, _) => 0,
        };
        Ok((page, next))
    }
}

/// An integration event as the integration sends it.
#[derive(Debug, Clone)]
pub(crate) struct IntegrationEvent {
    pub kind: EventKind,
    pub connection_id: Uuid,
    pub key: String,
    pub reason: String,
}

impl Library {
    /// Records the integration's event in the actor's organisation's log,
    /// once per key: its sequence and whether this call recorded it.
    pub(crate) async fn record_integration_event(
        &self,
        actor: &Actor,
        event: IntegrationEvent,
    ) -> Result<(u64, bool), Error> {
        if !event.kind.is_integration() {
            return Err(Error::invalid("kind", "is not an integration event"));
        }
        let key = event.key.trim();
        if key.is_empty() || key.chars().count() > 200 {
            return Err(Error::invalid("key", "must be 1 to 200 characters"));
        }
        if event.reason.chars().count() > 500 {
            return Err(Error::invalid("reason", "must be at most 500 characters"));
        }
        let recorded = Event {
            document_id: None,
            integration: Some(IntegrationNote {
                connection_id: event.connection_id,
                reason: event.reason,
            }),
            ..Event::new(
                event.kind,
                actor.org_id,
                Uuid::nil(),
                actor.user_id,
                now_millis(),
            )
        };
        let mut tx = self.change(actor.org_id).await?;
        let answer = events::insert_integration_event(&mut tx, &recorded, key).await?;
        tx.commit().await?;
        Ok(answer)
    }
}
