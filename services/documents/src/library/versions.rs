use bytes::Bytes;
use folio_platform::{actor::Actor, clock::now_millis};
use futures::stream::{self, BoxStream, StreamExt};
use uuid::Uuid;

use super::{Library, require_writer};
use crate::{
    domain::{
        ByteRange, Description, Document, DocumentVersion, Event, EventKind, FileName, MediaType,
        Note, Tags, Title, VersionSource,
    },
    error::Error,
    store::{
        blobs::{BlobWriter, StoredBlob},
        documents, events, versions,
    },
};

#[derive(Debug, Clone)]
pub enum UploadTarget {
    Existing(Uuid),
    New {
        title: Option<Title>,
        description: Description,
        tags: Tags,
    },
}

/// What the first message of an upload says, parsed.
#[derive(Debug, Clone)]
pub struct UploadHeader {
    pub target: UploadTarget,
    pub file_name: FileName,
    pub media_type: MediaType,
    pub note: Note,
    pub source: VersionSource,
}

#[derive(Debug, Clone)]
pub struct UploadOutcome {
    pub document: Document,
    pub version: DocumentVersion,
    /// False when the content equalled the current version's.
    pub created: bool,
}

/// An upload whose content is being streamed into the blob store.
#[derive(Debug)]
pub struct Upload {
    actor: Actor,
    header: UploadHeader,
    writer: BlobWriter,
}

impl Upload {
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), Error> {
        self.writer.write(chunk).await
    }

    pub async fn abort(self) {
        self.writer.abort().await;
    }
}

impl Library {
    /// Checks the upload may happen before any content is accepted.
    pub async fn begin_upload(&self, actor: Actor, header: UploadHeader) -> Result<Upload, Error> {
        require_writer(&actor)?;
        if let UploadTarget::Existing(id) = header.target {
            self.document(&actor, id).await?;
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
    pub async fn finish_upload(&self, upload: Upload) -> Result<UploadOutcome, Error> {
        let Upload {
            actor,
            header,
            writer,
        } = upload;
        let blob = writer.finish().await?;
        let outcome = match &header.target {
            UploadTarget::Existing(id) => self.add_version(&actor, &header, *id, blob).await?,
            UploadTarget::New {
                title,
                description,
                tags,
            } => {
                let title = match title {
                    Some(title) => title.clone(),
                    None => default_title(&header.file_name)?,
                };
                let document = Document {
                    id: Uuid::now_v7(),
                    org_id: actor.org_id,
                    title,
                    description: description.clone(),
                    tags: tags.clone(),
                    created_by: actor.user_id,
                    created_at: now_millis(),
                    updated_at: now_millis(),
                    current_version: 1,
                    current: None,
                };
                self.create_document(&actor, &header, document, blob)
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
    ) -> Result<UploadOutcome, Error> {
        let version = new_version(actor, header, document.id, 1, blob, document.created_at);
        let mut tx = self.db.pool.begin().await?;
        documents::insert_document(&mut tx, &document).await?;
        versions::insert_version(&mut tx, &version).await?;
        let created = Event::new(
            EventKind::DocumentCreated,
            actor.org_id,
            document.id,
            actor.user_id,
            document.created_at,
        );
        events::insert_event(&mut tx, &created).await?;
        events::insert_event(&mut tx, &version_event(&version, actor)).await?;
        tx.commit().await?;
        document.current = Some(version.clone());
        Ok(UploadOutcome {
            document,
            version,
            created: true,
        })
    }

    async fn add_version(
        &self,
        actor: &Actor,
        header: &UploadHeader,
        id: Uuid,
        blob: StoredBlob,
    ) -> Result<UploadOutcome, Error> {
        let mut tx = self.db.pool.begin().await?;
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
            return Ok(UploadOutcome {
                document,
                version,
                created: false,
            });
        }
        let now = now_millis();
        let number = document.current_version + 1;
        let version = new_version(actor, header, id, number, blob, now);
        versions::insert_version(&mut tx, &version).await?;
        documents::set_current_version(&mut tx, id, number, now).await?;
        events::insert_event(&mut tx, &version_event(&version, actor)).await?;
        tx.commit().await?;
        document.current_version = number;
        document.updated_at = now;
        document.current = Some(version.clone());
        Ok(UploadOutcome {
            document,
            version,
            created: true,
        })
    }

    pub async fn versions(&self, actor: &Actor, id: Uuid) -> Result<Vec<DocumentVersion>, Error> {
        self.document(actor, id).await?;
        let mut conn = self.db.reader().acquire().await?;
        versions::list_versions(&mut conn, id).await
    }

    /// A version (0 = the current one) and a stream of its content or part of it.
    pub async fn open_version(
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
