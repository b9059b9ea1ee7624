//! Content-addressed blobs per organisation, on any `object_store` back end.
//!
//! An upload is written to a staging object through a multipart upload while
//! its SHA-256 is computed, and only when complete moved to its final key
//! `org/<org>/sha256/<hex>`. An interrupted upload is aborted, which removes
//! its parts, so nothing of it is ever visible under `org/`.
//!
//! On S3 the move is a server-side copy and a delete; every write asks for
//! server-side encryption (SSE-KMS with a configured key, SSE-S3 otherwise).

use std::{ops::Range, path::Path, sync::Arc};

use bytes::Bytes;
use futures::{StreamExt, stream::BoxStream};
use object_store::{
    GetOptions, GetRange, GetResultPayload, ObjectStore, WriteMultipart,
    aws::{AmazonS3Builder, AmazonS3ConfigKey},
    local::LocalFileSystem,
    path::Path as Key,
    prefix::PrefixStore,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    error::Error,
    settings::{S3Credentials, S3Settings},
};

/// The largest object S3 copies in one request, and so the largest blob an
/// S3 store can move to its content address.
pub(crate) const S3_MAX_COPY: u64 = 5 << 30;

/// Part size for multipart uploads to S3 (its minimum is 5 MiB) and how many
/// parts may be in flight: together they bound an upload's memory.
const S3_PART_SIZE: usize = 5 << 20;
const PARTS_IN_FLIGHT: usize = 2;
/// Part size on the local file system, which has no minimum: each content
/// message (256 KiB) is written while it is still in the CPU's cache, and
/// the few buffers in flight are reused rather than faulted in anew.
const LOCAL_PART_SIZE: usize = 256 << 10;

#[derive(Debug, Clone)]
pub(crate) struct BlobStore {
    store: Arc<dyn ObjectStore>,
    part_size: usize,
}

/// A blob written completely, under its content address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredBlob {
    pub key: String,
    pub sha256: String,
    pub size: u64,
}

impl BlobStore {
    /// Blobs as files under `dir`, created if missing.
    pub(crate) fn local(dir: &Path) -> Result<Self, std::io::Error> {
        std::fs::create_dir_all(dir)?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Self {
            store: Arc::new(store),
            part_size: LOCAL_PART_SIZE,
        })
    }

    /// Blobs in an S3 bucket under `settings.prefix`.
    pub(crate) fn s3(settings: &S3Settings) -> Result<Self, object_store::Error> {
        let builder = match &settings.credentials {
            S3Credentials::Environment => AmazonS3Builder::from_env(),
            S3Credentials::Static {
                access_key_id,
                secret_access_key,
            } => AmazonS3Builder::new()
                .with_access_key_id(access_key_id)
                .with_secret_access_key(secret_access_key.expose()),
        };
        let mut builder = builder
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        builder = match &settings.kms_key_id {
            Some(key) => builder.with_sse_kms_encryption(key).with_bucket_key(true),
            // SSE-S3; the key is only reachable by its name.
            None => builder.with_config(
                "aws_server_side_encryption".parse::<AmazonS3ConfigKey>()?,
                "AES256",
            ),
        };
        let bucket = builder.build()?;
        let store: Arc<dyn ObjectStore> = if settings.prefix.is_empty() {
            Arc::new(bucket)
        } else {
            Arc::new(PrefixStore::new(bucket, settings.prefix.as_str()))
        };
        Ok(Self {
            store,
            part_size: S3_PART_SIZE,
        })
    }

    pub(crate) async fn begin(&self, org_id: Uuid, limit: u64) -> Result<BlobWriter, Error> {
        let staging = Key::from(format!("staging/{}", Uuid::now_v7()));
        let upload = self.store.put_multipart(&staging).await?;
        Ok(BlobWriter {
            store: Arc::clone(&self.store),
            org_id,
            staging,
            upload: Some(WriteMultipart::new_with_chunk_size(upload, self.part_size)),
            hasher: Sha256::new(),
            size: 0,
            limit,
        })
    }

    /// Streams `range` of the blob at `key`.
    pub(crate) async fn read(
        &self,
        key: &str,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes, Error>>, Error> {
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(&Key::from(key), options).await?;
        match result.payload {
            // The local store's own stream reads 8 KiB per blocking task,
            // which caps a download far below the disk; read whole chunks.
            GetResultPayload::File(file, _) => Ok(file_chunks(file, result.range)),
            GetResultPayload::Stream(stream) => Ok(stream.map(|r| r.map_err(Error::from)).boxed()),
        }
    }

    /// Deletes the blob at `key`; one that is already gone is fine (a
    /// deletion repeated after a restart).
    pub(crate) async fn delete(&self, key: &str) -> Result<(), Error> {
        match self.store.delete(&Key::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A finished upload's staging copy, kept until the version that uses its
/// content is committed.
#[derive(Debug)]
pub(crate) struct Staged {
    store: Arc<dyn ObjectStore>,
    staging: Key,
    org_id: Uuid,
    sha256: String,
}

impl Staged {
    /// The content address is in use by a committed version: the staging
    /// copy is not needed. A failure only leaves garbage behind.
    pub(crate) async fn discard(self) {
        if let Err(error) = self.store.delete(&self.staging).await {
            tracing::warn!(%error, staging = %self.staging, "could not delete a staging copy");
        }
    }

    /// Retention deleted the blob at `key` (its content address): writes it
    /// again from the staging copy, which stays for [`Staged::discard`].
    pub(crate) async fn rewrite(&self, key: &str) -> Result<(), Error> {
        self.store.copy(&self.staging, &Key::from(key)).await?;
        Ok(())
    }

    /// Retention is deleting the content address: moves the content to a
    /// key of its own (still ending in its SHA-256), which no deletion
    /// queued before can name.
    pub(crate) async fn keep_apart(self) -> Result<StoredBlob, Error> {
        let key = Key::from(format!(
            "org/{}/copies/{}/{}",
            self.org_id,
            Uuid::now_v7(),
            self.sha256
        ));
        self.store.rename(&self.staging, &key).await?;
        let size = self.store.head(&key).await?.size;
        Ok(StoredBlob {
            key: key.to_string(),
            sha256: self.sha256,
            size,
        })
    }
}

/// An upload in progress. Dropped unfinished (a caller that went away: a
/// reset stream drops its handler), it aborts the multipart upload in the
/// background, so no part of it stays behind.
pub(crate) struct BlobWriter {
    store: Arc<dyn ObjectStore>,
    org_id: Uuid,
    staging: Key,
    /// `None` once finished or aborted.
    upload: Option<WriteMultipart>,
    hasher: Sha256,
    size: u64,
    limit: u64,
}

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter")
            .field("staging", &self.staging)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl BlobWriter {
    /// Appends a chunk; refuses to go past the size limit.
    pub(crate) async fn write(&mut self, chunk: Bytes) -> Result<(), Error> {
        let size = self.size.saturating_add(chunk.len() as u64);
        if size > self.limit {
            return Err(Error::TooLarge { limit: self.limit });
        }
        self.size = size;
        self.hasher.update(&chunk);
        let upload = self.upload.as_mut().ok_or(Error::Interrupted)?;
        upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        upload.put(chunk);
        Ok(())
    }

    /// Completes the upload and makes sure its content address holds the
    /// content. Runs to the end even if the caller goes away meanwhile (a
    /// reset stream drops its handler), so no completed staging object is
    /// left behind unless an error stops it.
    ///
    /// The staging copy is kept (see [`Staged`]) until the version that uses
    /// the blob is committed: the content address may be under deletion by
    /// retention, and then the upload keeps its content apart instead.
    pub(crate) async fn finish(self) -> Result<(StoredBlob, Staged), Error> {
        tokio::spawn(self.complete())
            .await
            .unwrap_or(Err(Error::Interrupted))
    }

    async fn complete(mut self) -> Result<(StoredBlob, Staged), Error> {
        let sha256 = hex::encode(std::mem::take(&mut self.hasher).finalize());
        self.upload
            .take()
            .ok_or(Error::Interrupted)?
            .finish()
            .await?;
        let staged = Staged {
            store: Arc::clone(&self.store),
            staging: self.staging.clone(),
            org_id: self.org_id,
            sha256: sha256.clone(),
        };
        let key = Key::from(format!("org/{}/sha256/{sha256}", self.org_id));
        match self.store.head(&key).await {
            // The same content is already stored: keep one copy.
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => {
                if let Err(e) = self.store.copy(&self.staging, &key).await {
                    staged.discard().await;
                    return Err(e.into());
                }
            }
            Err(e) => {
                staged.discard().await;
                return Err(e.into());
            }
        }
        Ok((
            StoredBlob {
                key: key.to_string(),
                sha256,
                size: self.size,
            },
            staged,
        ))
    }

    /// Discards everything written so far; like [`BlobWriter::finish`], to
    /// the end even if the caller goes away meanwhile.
    pub(crate) async fn abort(mut self) {
        if let Some(upload) = self.upload.take() {
            let staging = self.staging.clone();
            let _ = tokio::spawn(async move { abort(upload, &staging).await }).await;
        }
    }
}

async fn abort(upload: WriteMultipart, staging: &Key) {
    if let Err(error) = upload.abort().await {
        tracing::warn!(%error, %staging, "could not abort an upload");
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        let Some(upload) = self.upload.take() else {
            return;
        };
        let staging = self.staging.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    abort(upload, &staging).await;
                    tracing::debug!(%staging, "aborted an upload whose caller went away");
                });
            }
            Err(_) => {
                tracing::warn!(%staging, "an unfinished upload was dropped outside a runtime");
            }
        }
    }
}

/// How much of a local file one blocking read takes: the size of the
/// messages a download is sent in, so that they go on without a copy.
const FILE_READ: usize = 256 * 1024;

/// `range` of `file`, read on the blocking pool [`FILE_READ`] bytes at a time.
fn file_chunks(file: std::fs::File, range: Range<u64>) -> BoxStream<'static, Result<Bytes, Error>> {
    let state = (Some(file), range.start, range.end);
    futures::stream::try_unfold(state, |(file, at, end)| async move {
        let Some(file) = file else { return Ok(None) };
        if at >= end {
            return Ok(None);
        }
        let want = usize::try_from((end - at).min(FILE_READ as u64)).unwrap_or(FILE_READ);
        let (file, chunk) = tokio::task::spawn_blocking(move || {
            use std::os::unix::fs::FileExt as _;
            let mut buffer = vec![0; want];
            let mut filled = 0;
            while filled < want {
                let offset = at + filled as u64;
                match file.read_at(&mut buffer[filled..], offset)? {
                    0 => break,
                    n => filled += n,
                }
            }
            buffer.truncate(filled);
            Ok::<_, std::io::Error>((file, buffer))
        })
        .await
        .map_err(read_failed)?
        .map_err(read_failed)?;
        if chunk.is_empty() {
            return Err(read_failed("the file is shorter than the range"));
        }
        let next = at + chunk.len() as u64;
        Ok(Some((Bytes::from(chunk), (Some(file), next, end))))
    })
    .boxed()
}

fn read_failed(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::Blob(object_store::Error::Generic {
        store: "LocalFileSystem",
        source: error.into(),
    })
}
