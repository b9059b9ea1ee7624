use folio_platform::actor::Actor;
use uuid::Uuid;

use super::{Library, page_size};
use crate::{domain::Event, error::Error, store::events};

impl Library {
    /// A page of the organisation's change log and the cursor to continue
    /// from. Oldest first, the cursor is always the last sequence seen, so a
    /// consumer can poll for what comes next; newest first, it is 0 at the end.
    pub async fn events(
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
