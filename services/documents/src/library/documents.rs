use folio_platform::{actor::Actor, clock::now_millis};
use uuid::Uuid;

use super::{Library, page_size, require_writer};
use crate::{
    domain::{
        ApprovalState, Document, DocumentChanges, DocumentFilter, Event, EventKind, ListCursor,
        TaskKind, approval_state,
    },
    error::Error,
    store::{
        documents, events, revisions,
        tasks::{self, TaskScope},
    },
};

impl Library {
    pub(crate) async fn document(&self, actor: &Actor, id: Uuid) -> Result<Document, Error> {
        let mut conn = self.db.reader().acquire().await?;
        documents::get_document(&mut conn, actor.org_id, id)
            .await?
            .ok_or(Error::NotFound("document"))
    }

    /// A document with the state of its approvals.
    pub(crate) async fn document_with_approval(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<(Document, Option<ApprovalState>), Error> {
        let mut conn = self.db.reader().acquire().await?;
        let document = documents::get_document(&mut conn, actor.org_id, id)
            .await?
            .ok_or(Error::NotFound("document"))?;
        let approvals = tasks::list_tasks(
            &mut conn,
            actor.org_id,
            TaskScope::Document(id),
            None,
            Some(TaskKind::Approval),
        )
        .await?;
        Ok((document, approval_state(&approvals)))
    }

    /// A page of documents and the cursor of the next page, if there is one.
    pub(crate) async fn documents(
        &self,
        actor: &Actor,
        filter: &DocumentFilter,
        cursor: Option<ListCursor>,
        limit: u32,
    ) -> Result<(Vec<Document>, Option<ListCursor>, u64), Error> {
        let limit = page_size(limit, 25, 100);
        let mut conn = self.db.reader().acquire().await?;
        // Before the page: the page then shows at least this revision.
        let revision = revisions::get(&mut conn, actor.org_id).await?;
        let mut page =
            documents::list_documents(&mut conn, actor.org_id, filter, cursor, limit + 1).await?;
        let next = if page.len() > limit as usize {
            page.truncate(limit as usize);
            page.last().map(|d| ListCursor {
                updated_at: d.updated_at,
                id: d.id,
            })
        } else {
            None
        };
        Ok((page, next, revision))
    }

    pub(crate) async fn update_document(
        &self,
        actor: &Actor,
        id: Uuid,
        changes: DocumentChanges,
    ) -> Result<Document, Error> {
        require_writer(actor)?;
        let mut tx = self.change(actor.org_id).await?;
        if !documents::lock_document(&mut tx, actor.org_id, id).await? {
            return Err(Error::NotFound("document"));
        }
        let mut doc = documents::get_document(&mut tx, actor.org_id, id)
            .await?
            .ok_or(Error::NotFound("document"))?;
        if changes.is_empty() {
            return Ok(doc);
        }
        let now = now_millis();
        if let Some(title) = changes.title {
            doc.title = title;
        }
        if let Some(description) = changes.description {
            doc.description = description;
        }
        if let Some(tags) = changes.tags {
            doc.tags = tags;
        }
        doc.updated_at = now;
        documents::update_document(&mut tx, &doc).await?;
        let event = Event::new(
            EventKind::DocumentUpdated,
            actor.org_id,
            id,
            actor.user_id,
            now,
        );
        events::insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(doc)
    }

    pub(crate) async fn delete_document(&self, actor: &Actor, id: Uuid) -> Result<(), Error> {
        require_writer(actor)?;
        let mut tx = self.change(actor.org_id).await?;
        if !documents::lock_document(&mut tx, actor.org_id, id).await? {
            return Err(Error::NotFound("document"));
        }
        let now = now_millis();
        documents::soft_delete(&mut tx, id, now).await?;
        let event = Event::new(
            EventKind::DocumentDeleted,
            actor.org_id,
            id,
            actor.user_id,
            now,
        );
        events::insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user sends the document to OneDrive: the integration may read it
    /// from now on (docs/adr/0042).
    pub(crate) async fn share_with_onedrive(&self, actor: &Actor, id: Uuid) -> Result<(), Error> {
        require_writer(actor)?;
        let mut conn = self.db.pool.acquire().await?;
        if documents::share_with_onedrive(&mut conn, actor.org_id, id, now_millis()).await? {
            Ok(())
        } else {
            Err(Error::NotFound("document"))
        }
    }

    /// For the integration's calls: the document must come from or go to
    /// OneDrive. A missing document is NOT_FOUND, as for anyone.
    pub(crate) async fn require_onedrive_link(&self, actor: &Actor, id: Uuid) -> Result<(), Error> {
        let mut conn = self.db.reader().acquire().await?;
        match documents::onedrive_linked(&mut conn, actor.org_id, id).await? {
            Some(true) => Ok(()),
            Some(false) => Err(Error::NotForIntegration(
                "the document neither comes from nor was sent to OneDrive",
            )),
            None => Err(Error::NotFound("document")),
        }
    }
}
