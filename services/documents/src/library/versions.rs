use bytes::Bytes;
use folio_platform::{actor::Actor, clock::now_millis};
use futures::stream::{self, BoxStream, StreamExt};
use uuid::Uuid;

use super::tasks::{apply_new_version, task_event};
use super::{Library, require_writer};
use crate::{
    domain::{
        ByteRange, Description, Document, DocumentVersion, Event, EventKind, FileName,
        IdempotencyKey, Label, MediaType, Note, Tags, Title, VersionSource,
    },
    error::Error,
    store::{
        blobs::{BlobWriter, StoredBlob},
        documents, events,
        retention::{self, BlobUse},
        tasks, upload_keys, versions,
    },
};

/// Whether an upload became a version, or what its blob needs first.
enum Placement {
    Placed(Box<UploadOutcome>),
    Use(BlobUse),
    /// A concurrent upload with the same idempotency key committed first;
    /// nothing of this one was kept.
    KeyTaken,
}
use sqlx::AnyConnection;

#[derive(Debug, Clone)]
pub(crate) enum UploadTarget {
    Existing(Uuid),
    /// Fulfils this request: its document, or a new one titled after it.
    Request(Uuid),
    New {
        title: Option<Title>,
        description: Description,
        tags: Tags,
    },
}

/// What the first message of an upload says, parsed.
#[derive(Debug, Clone)]
pub(crate) struct UploadHeader {
    pub target: UploadTarget,
    pub file_name: FileName,
    pub media_type: MediaType,
    pub note: Note,
    pub source: VersionSource,
    /// A retry with this key answers the first result (docs/adr/0033).
    pub idempotency_key: Option<IdempotencyKey>,
}

#[derive(Debug, Clone)]
pub(crate) struct UploadOutcome {
    pub document: Document,
    pub version: DocumentVersion,
    /// False when the content equalled the current version's.
    pub created: bool,
}

/// An upload whose content is being streamed into the blob store.
#[derive(Debug)]
pub(crate) struct Upload {
    actor: Actor,
    header: UploadHeader,
    writer: BlobWriter,
}

impl Upload {
    pub(crate) async fn write(&mut self, chunk: Bytes) -> Result<(), Error> {
        self.writer.write(chunk).await
    }

    pub(crate) async fn abort(self) {
        self.writer.abort().await;
    }
}

impl Library {
    /// Checks the upload may happen before any content is accepted.
    pub(crate) async fn begin_upload(
        &self,
        actor: Actor,
        header: UploadHeader,
    ) -> Result<Upload, Error> {
        match header.target {
            UploadTarget::Existing(id) => {
                require_writer(&actor)?;
                self.document(&actor, id).await?;
            }
            // The assignee of a request may upload whatever their role.
            UploadTarget::Request(id) => {
                let task = self.task(&actor, id).await?;
                task.check_fulfil(actor.user_id, actor.role.can_write())?;
            }
            UploadTarget::New { .. } => require_writer(&actor)?,
        }
        let writer = self
            .blobs
            .begin(actor.org_id, self.max_upload_bytes)
            .await?;
        Ok(Upload {
            actor,
            header,
            writer,
        })
    }

    /// Makes the fully stored content a version, numbered after the current
    /// one under the document's lock, unless it equals the current version.
    pub(crate) async fn finish_upload(&self, upload: Upload) -> Result<UploadOutcome, Error> {
        let Upload {
            actor,
            header,
            writer,
        } = upload;
        let (blob, staged) = writer.finish().await?;
        // A retry of an upload that was committed: its first result, and
        // nothing new (the content is already stored under its address).
        if let Some(first) = self.replay(&actor, &header, &blob.sha256).await? {
            staged.discard().await;
            return Ok(first);
        }
        let placed = match self.place(&actor, &header, blob.clone(), false).await {
            Ok(placed) => placed,
            Err(e) => {
                staged.discard().await;
                return Err(e);
            }
        };
        let placed = match placed {
            placed @ (Placement::Placed(_) | Placement::KeyTaken) => placed,
            Placement::Use(BlobUse::KeepApart) => {
                let blob = staged.keep_apart().await?;
                let sha256 = blob.sha256.clone();
                return match self.place(&actor, &header, blob, false).await? {
                    Placement::Placed(outcome) => Ok(*outcome),
                    Placement::KeyTaken => self.replayed(&actor, &header, &sha256).await,
                    Placement::Use(_) => Err(Error::Corrupt("a fresh blob key is being deleted")),
                };
            }
            Placement::Use(_) => {
                staged.rewrite(&blob.key).await?;
                self.place(&actor, &header, blob.clone(), true).await?
            }
        };
        staged.discard().await;
        match placed {
            Placement::Placed(outcome) => Ok(*outcome),
            Placement::KeyTaken => self.replayed(&actor, &header, &blob.sha256).await,
            Placement::Use(_) => Err(Error::Unavailable("the blob store")),
        }
    }

    /// The first result of an upload with the header's idempotency key, if
    /// one committed; the key is refused for other content. Read from the
    /// primary: a retry follows its first call closely.
    async fn replay(
        &self,
        actor: &Actor,
        header: &UploadHeader,
        sha256: &str,
    ) -> Result<Option<UploadOutcome>, Error> {
        let Some(key) = &header.idempotency_key else {
            return Ok(None);
        };
        let mut conn = self.db.pool.acquire().await?;
        let Some(first) = upload_keys::get(&mut conn, actor.org_id, key).await? else {
            return Ok(None);
        };
        if first.sha256 != sha256 {
            return Err(Error::state(
                "the idempotency key was already used for other content",
            ));
        }
        let document = documents::get_document(&mut conn, actor.org_id, first.document_id)
            .await?
            .ok_or(Error::NotFound("document"))?;
        let version = versions::get_version(&mut conn, first.document_id, first.number)
            .await?
            .ok_or(Error::NotFound("version"))?;
        tracing::info!(document = %first.document_id, number = first.number, "an upload repeated by its idempotency key");
        Ok(Some(UploadOutcome {
            document,
            version,
            created: true,
        }))
    }

    /// [`Self::replay`] after losing the race for the key: the first result must exist.
    async fn replayed(
        &self,
        actor: &Actor,
        header: &UploadHeader,
        sha256: &str,
    ) -> Result<UploadOutcome, Error> {
        self.replay(actor, header, sha256)
            .await?
            .ok_or(Error::Corrupt("an idempotency key without its version"))
    }

    /// Makes `blob` a version as the upload's target says, unless retention
    /// is deleting or has deleted its key (nothing is committed then).
    async fn place(
        &self,
        actor: &Actor,
        header: &UploadHeader,
        blob: StoredBlob,
        rewritten: bool,
    ) -> Result<Placement, Error> {
        let outcome = match &header.target {
            UploadTarget::Existing(id) => {
                self.add_version(actor, header, *id, blob, None, rewritten)
                    .await?
            }
            UploadTarget::Request(task_id) => {
                let task = self.task(actor, *task_id).await?;
                match task.document_id {
                    Some(id) => {
                        self.add_version(actor, header, id, blob, Some(*task_id), rewritten)
                            .await?
                    }
                    None => {
                        let title = Title::parse(&task.title)?;
                        let document =
                            new_document(actor, title, Description::default(), Tags::default());
                        self.create_document(
                            actor,
                            header,
                            document,
                            blob,
                            Some(*task_id),
                            rewritten,
                        )
                        .await?
                    }
                }
            }
            UploadTarget::New {
                title,
                description,
                tags,
            } => {
                let title = match title {
                    Some(title) => title.clone(),
                    None => default_title(&header.file_name)?,
                };
                let document = new_document(actor, title, description.clone(), tags.clone());
                self.create_document(actor, header, document, blob, None, rewritten)
                    .await?
            }
        };
        Ok(outcome)
    }

    async fn create_document(
        &self,
        actor: &Actor,
        header: &UploadHeader,
        mut document: Document,
        blob: StoredBlob,
        fulfils: Option<Uuid>,
        rewritten: bool,
    ) -> Result<Placement, Error> {
        let version = new_version(actor, header, document.id, 1, blob, document.created_at);
        let mut tx = self.change(actor.org_id).await?;
        if let Some(task_id) = fulfils
            && !tasks::lock_task(&mut tx, actor.org_id, task_id).await?
        {
            return Err(Error::NotFound("task"));
        }
        documents::insert_document(&mut tx, &document).await?;
        // Its content is in use again, if retention had queued it; unless
        // retention is deleting it (the transaction is rolled back).
        match retention::reuse_blob(&mut tx, &version.blob_key, rewritten).await? {
            BlobUse::Reuse => {}
            other @ (BlobUse::KeepApart | BlobUse::Rewrite) => return Ok(Placement::Use(other)),
        }
        versions::insert_version(&mut tx, &version).await?;
        if !remember_key(&mut tx, actor, header, &version).await? {
            tx.rollback().await?;
            return Ok(Placement::KeyTaken);
        }
        let created = Event::new(
            EventKind::DocumentCreated,
            actor.org_id,
            document.id,
            actor.user_id,
            document.created_at,
        );
        events::insert_event(&mut tx, &created).await?;
        events::insert_event(&mut tx, &version_event(&version, actor)).await?;
        if let Some(task_id) = fulfils {
            fulfil_request(&mut tx, actor, task_id, &version, None).await?;
        }
        tx.commit().await?;
        document.current = Some(version.clone());
        Ok(Placement::Placed(Box::new(UploadOutcome {
            document,
            version,
            created: true,
        })))
    }

    async fn add_version(
        &self,
        actor: &Actor,
        header: &UploadHeader,
        id: Uuid,
        blob: StoredBlob,
        fulfils: Option<Uuid>,
        rewritten: bool,
    ) -> Result<Placement, Error> {
        let mut tx = self.change(actor.org_id).await?;
        if !documents::lock_document(&mut tx, actor.org_id, id).await? {
            return Err(Error::NotFound("document"));
        }
        let mut document = documents::get_document(&mut tx, actor.org_id, id)
            .await?
            .ok_or(Error::NotFound("document"))?;
        if let Some(current) = &document.current
            && current.sha256 == blob.sha256
        {
            let version = current.clone();
            tx.rollback().await?;
            if fulfils.is_some() {
                return Err(Error::state(&format!(
                    "the file is identical to the current version v{}",
                    version.number
                )));
            }
            return Ok(Placement::Placed(Box::new(UploadOutcome {
                document,
                version,
                created: false,
            })));
        }
        let now = now_millis();
        let number = document.current_version + 1;
        let version = new_version(actor, header, id, number, blob, now);
        match retention::reuse_blob(&mut tx, &version.blob_key, rewritten).await? {
            BlobUse::Reuse => {}
            other @ (BlobUse::KeepApart | BlobUse::Rewrite) => return Ok(Placement::Use(other)),
        }
        versions::insert_version(&mut tx, &version).await?;
        if !remember_key(&mut tx, actor, header, &version).await? {
            tx.rollback().await?;
            return Ok(Placement::KeyTaken);
        }
        documents::set_current_version(&mut tx, id, number, now).await?;
        events::insert_event(&mut tx, &version_event(&version, actor)).await?;
        apply_new_version(&mut tx, actor, id, number - 1, number, fulfils, now).await?;
        if let Some(task_id) = fulfils {
            fulfil_request(&mut tx, actor, task_id, &version, Some(id)).await?;
        }
        tx.commit().await?;
        document.current_version = number;
        document.updated_at = now;
        document.current = Some(version.clone());
        Ok(Placement::Placed(Box::new(UploadOutcome {
            document,
            version,
            created: true,
        })))
    }

    /// Adds a version with the content of version `number` (the same blob),
    /// noted "restored from vN"; open work then goes stale as for any version.
    pub(crate) async fn restore_version(
        &self,
        actor: &Actor,
        id: Uuid,
        number: u32,
    ) -> Result<UploadOutcome, Error> {
        require_writer(actor)?;
        let mut tx = self.change(actor.org_id).await?;
        if !documents::lock_document(&mut tx, actor.org_id, id).await? {
            return Err(Error::NotFound("document"));
        }
        let mut document = documents::get_document(&mut tx, actor.org_id, id)
            .await?
            .ok_or(Error::NotFound("document"))?;
        let source = versions::get_version(&mut tx, id, number)
            .await?
            .ok_or(Error::NotFound("version"))?;
        let now = now_millis();
        let version = source.restored_as(document.current.as_ref(), actor.user_id, now)?;
        versions::insert_version(&mut tx, &version).await?;
        retention::unqueue_blob(&mut tx, &version.blob_key).await?;
        documents::set_current_version(&mut tx, id, version.number, now).await?;
        events::insert_event(&mut tx, &version_event(&version, actor)).await?;
        let restored = Event {
            version: Some(version.number),
            from_version: Some(number),
            ..Event::new(
                EventKind::VersionRestored,
                actor.org_id,
                id,
                actor.user_id,
                now,
            )
        };
        events::insert_event(&mut tx, &restored).await?;
        apply_new_version(
            &mut tx,
            actor,
            id,
            version.number - 1,
            version.number,
            None,
            now,
        )
        .await?;
        tx.commit().await?;
        document.current_version = version.number;
        document.updated_at = now;
        document.current = Some(version.clone());
        Ok(UploadOutcome {
            document,
            version,
            created: true,
        })
    }

    /// Sets (or with `None` clears) a version's label.
    pub(crate) async fn label_version(
        &self,
        actor: &Actor,
        id: Uuid,
        number: u32,
        label: Option<Label>,
    ) -> Result<DocumentVersion, Error> {
        require_writer(actor)?;
        let mut tx = self.change(actor.org_id).await?;
        if !documents::lock_document(&mut tx, actor.org_id, id).await? {
            return Err(Error::NotFound("document"));
        }
        let mut version = versions::get_version(&mut tx, id, number)
            .await?
            .ok_or(Error::NotFound("version"))?;
        let now = now_millis();
        version.label = label;
        versions::set_label(&mut tx, &version).await?;
        documents::touch(&mut tx, id, now).await?;
        let event = Event {
            version: Some(number),
            ..Event::new(
                EventKind::VersionLabelled,
                actor.org_id,
                id,
                actor.user_id,
                now,
            )
        };
        events::insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(version)
    }

    pub(crate) async fn versions(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<Vec<DocumentVersion>, Error> {
        self.document(actor, id).await?;
        let mut conn = self.db.reader().acquire().await?;
        versions::list_versions(&mut conn, id).await
    }

    /// A version (0 = the current one) and a stream of its content or part of it.
    pub(crate) async fn open_version(
        &self,
        actor: &Actor,
        id: Uuid,
        number: u32,
        range: Option<ByteRange>,
    ) -> Result<(DocumentVersion, BoxStream<'static, Result<Bytes, Error>>), Error> {
        let document = self.document(actor, id).await?;
        let version = if number == 0 {
            document.current.ok_or(Error::NotFound("version"))?
        } else {
            let mut conn = self.db.reader().acquire().await?;
            versions::get_version(&mut conn, id, number)
                .await?
                .ok_or(Error::NotFound("version"))?
        };
        let span = match range {
            Some(range) => range.resolve(version.size)?,
            None => 0..version.size,
        };
        if span.is_empty() {
            return Ok((version, stream::empty().boxed()));
        }
        let content = self.blobs.read(&version.blob_key, span).await?;
        Ok((version, content))
    }
}

fn new_document(actor: &Actor, title: Title, description: Description, tags: Tags) -> Document {
    let now = now_millis();
    Document {
        id: Uuid::now_v7(),
        org_id: actor.org_id,
        title,
        description,
        tags,
        created_by: actor.user_id,
        created_at: now,
        updated_at: now,
        current_version: 1,
        current: None,
    }
}

/// Links the request to the version that fulfils it, under the lock taken
/// for that version; checks again that it may still be fulfilled and names
/// the document it expects (`None`: none yet).
async fn fulfil_request(
    conn: &mut AnyConnection,
    actor: &Actor,
    task_id: Uuid,
    version: &DocumentVersion,
    expected_document: Option<Uuid>,
) -> Result<(), Error> {
    let mut task = tasks::get_task(conn, actor.org_id, task_id)
        .await?
        .ok_or(Error::NotFound("task"))?;
    task.check_fulfil(actor.user_id, actor.role.can_write())?;
    if task.document_id != expected_document {
        return Err(Error::state("the request changed meanwhile; try again"));
    }
    task.fulfil(version.document_id, version.number, version.created_at);
    tasks::update_task(conn, &task).await?;
    events::insert_event(
        conn,
        &task_event(
            EventKind::RequestFulfilled,
            &task,
            actor.user_id,
            version.created_at,
        ),
    )
    .await
}

/// Keeps the header's idempotency key with the version it made, in the
/// version's transaction; `false` when another call took the key first.
async fn remember_key(
    conn: &mut AnyConnection,
    actor: &Actor,
    header: &UploadHeader,
    version: &DocumentVersion,
) -> Result<bool, Error> {
    match &header.idempotency_key {
        Some(key) => upload_keys::insert(conn, actor.org_id, key, version).await,
        None => Ok(true),
    }
}

fn default_title(file_name: &FileName) -> Result<Title, Error> {
    let name: String = file_name.as_str().chars().take(200).collect();
    Title::parse(&name)
}

fn new_version(
    actor: &Actor,
    header: &UploadHeader,
    document_id: Uuid,
    number: u32,
    blob: StoredBlob,
    now: i64,
) -> DocumentVersion {
    DocumentVersion {
        document_id,
        number,
        file_name: header.file_name.clone(),
        media_type: header.media_type.clone(),
        size: blob.size,
        sha256: blob.sha256,
        blob_key: blob.key,
        source: header.source,
        created_by: actor.user_id,
        created_at: now,
        note: header.note.clone(),
        label: None,
        restored_from: None,
    }
}

fn version_event(version: &DocumentVersion, actor: &Actor) -> Event {
    Event {
        version: Some(version.number),
        ..Event::new(
            EventKind::VersionAdded,
            actor.org_id,
            version.document_id,
            actor.user_id,
            version.created_at,
        )
    }
}
