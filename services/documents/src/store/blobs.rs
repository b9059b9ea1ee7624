//! Content-addressed blobs per organisation, on any `object_store` back end.
//!
//! An upload is written to a staging object through a multipart upload while
//! its SHA-256 is computed, and only when complete moved to its final key
//! `org/<org>/sha256/<hex>`. An interrupted upload is aborted, which removes
//! its parts, so nothing of it is ever visible under `org/`.

use std::{ops::Range, path::Path, sync::Arc};

use bytes::Bytes;
use futures::{StreamExt, stream::BoxStream};
use object_store::{
    GetOptions, GetRange, ObjectStore, WriteMultipart, local::LocalFileSystem, path::Path as Key,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::Error;

/// Part size for multipart uploads (S3's minimum is 5 MiB) and how many parts
/// may be in flight: together they bound an upload's memory.
const PART_SIZE: usize = 5 << 20;
const PARTS_IN_FLIGHT: usize = 2;

#[derive(Debug, Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
}

/// A blob written completely, under its content address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub key: String,
    pub sha256: String,
    pub size: u64,
}

impl BlobStore {
    /// Blobs as files under `dir`, created if missing.
    pub fn local(dir: &Path) -> Result<Self, std::io::Error> {
        std::fs::create_dir_all(dir)?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Self {
            store: Arc::new(store),
        })
    }

    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    pub async fn begin(&self, org_id: Uuid, limit: u64) -> Result<BlobWriter, Error> {
        let staging = Key::from(format!("staging/{}", Uuid::now_v7()));
        let upload = self.store.put_multipart(&staging).await?;
        Ok(BlobWriter {
            store: Arc::clone(&self.store),
            org_id,
            staging,
            upload: WriteMultipart::new_with_chunk_size(upload, PART_SIZE),
            hasher: Sha256::new(),
            size: 0,
            limit,
        })
    }

    /// Streams `range` of the blob at `key`.
    pub async fn read(
        &self,
        key: &str,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes, Error>>, Error> {
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(&Key::from(key), options).await?;
        Ok(result.into_stream().map(|r| r.map_err(Error::from)).boxed())
    }

    /// Every object key, for checks that nothing stray is left.
    pub async fn keys(&self) -> Result<Vec<String>, Error> {
        let mut keys = Vec::new();
        let mut listing = self.store.list(None);
        while let Some(meta) = listing.next().await {
            keys.push(meta?.location.to_string());
        }
        keys.sort();
        Ok(keys)
    }
}

/// An upload in progress.
pub struct BlobWriter {
    store: Arc<dyn ObjectStore>,
    org_id: Uuid,
    staging: Key,
    upload: WriteMultipart,
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
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), Error> {
        let size = self.size.saturating_add(chunk.len() as u64);
        if size > self.limit {
            return Err(Error::TooLarge { limit: self.limit });
        }
        self.size = size;
        self.hasher.update(&chunk);
        self.upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        self.upload.put(chunk);
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Completes the upload and moves it to its content address.
    pub async fn finish(self) -> Result<StoredBlob, Error> {
        let sha256 = hex::encode(self.hasher.finalize());
        self.upload.finish().await?;
        let key = Key::from(format!("org/{}/sha256/{sha256}", self.org_id));
        match self.store.head(&key).await {
            // The same content is already stored: keep one copy.
            Ok(_) => self.store.delete(&self.staging).await?,
            Err(object_store::Error::NotFound { .. }) => {
                self.store.rename(&self.staging, &key).await?;
            }
            Err(e) => {
                let _ = self.store.delete(&self.staging).await;
                return Err(e.into());
            }
        }
        Ok(StoredBlob {
            key: key.to_string(),
            sha256,
            size: self.size,
        })
    }

    /// Discards everything written so far.
    pub async fn abort(self) {
        if let Err(error) = self.upload.abort().await {
            tracing::warn!(%error, staging = %self.staging, "could not abort an upload");
        }
    }
}
