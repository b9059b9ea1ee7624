//! The delta worker: claims connections whose delta is due, runs the delta
//! from the stored link to a new delta link, and applies what changed under
//! the connected folder to documents.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use folio_platform::{actor::Actor, clock::now_millis};
use futures::{StreamExt, stream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use uuid::Uuid;

use super::{
    Engine, Lease, WorkError,
    gauges::{self, SyncOutcome},
    millis,
};
use crate::{
    documents::{DocumentsError, Target},
    domain::{Connection, media_type_for, title_for, under_folder},
    graph::{Credentials, DriveItem, GraphError},
    store::{
        connections::{self, SyncEnd},
        inbox,
        items::{self, ItemFacts},
    },
};

/// Connections synced at once by one process.
const PARALLEL_CONNECTIONS: usize = 4;
/// Files transferred at once within one connection's sync.
const PARALLEL_FILES: usize = 4;
/// A delta that keeps answering 410 is given up after this many restarts.
const MAX_RESTARTS: u32 = 3;

#[derive(Debug)]
enum Work {
    Mirror {
        item: Box<DriveItem>,
        document: Option<Uuid>,
    },
    Remove {
        item_id: String,
        document: Uuid,
    },
}

#[derive(Debug, Default)]
struct Outcome {
    delta_link: String,
    /// Files a document could not be made of (documents refused them).
    refused: Vec<String>,
}

impl Engine {
    /// Runs until `stop`: claims due connections and syncs them.
    pub async fn run_sync_worker(self: Arc<Self>, stop: CancellationToken) {
        let mut running = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            if running.len() < PARALLEL_CONNECTIONS {
                match self.claim_due().await {
                    Ok(Some((conn, lease, claimed_due))) => {
                        let engine = self.clone();
                        // One trace per sync: Graph and documents calls hang under it.
                        let span = tracing::info_span!("onedrive sync", connection = %conn.id);
                        running.spawn(
                            async move {
                                engine.sync_claimed(conn, lease, claimed_due).await;
                            }
                            .instrument(span),
                        );
                        continue;
                    }
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "cannot look for due syncs"),
                }
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = self.wake_sync.notified() => {}
                () = tokio::time::sleep(self.timing.poll_interval) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        // Unfinished syncs commit nothing; their leases lapse and another
        // replica (or the next start) runs them again.
        running.shutdown().await;
    }

    async fn claim_due(&self) -> Result<Option<(Connection, Lease, i64)>, crate::error::Error> {
        let now = now_millis();
        let candidates = {
            let mut db = self.db.pool.acquire().await?;
            connections::due(&mut db, now, 10).await?
        };
        for id in candidates {
            if let Some((lease, until)) = self.try_lease(id, true).await? {
                let mut db = self.db.pool.acquire().await?;
                match connections::by_id(&mut db, id).await? {
                    Some(conn) => return Ok(Some((conn, lease, until))),
                    None => continue,
                }
            }
        }
        Ok(None)
    }

    async fn sync_claimed(&self, conn: Connection, lease: Lease, claimed_due: i64) {
        let newest = match self.db.pool.acquire().await {
            Ok(mut db) => inbox::newest_pending(&mut db, conn.id).await.ok().flatten(),
            Err(_) => None,
        };
        let alive = self.keep_alive(&lease);
        let result = self.sync(&conn, &lease).await;
        drop(alive);
        let now = now_millis();
        let t = &self.timing;
        let ended = match &result {
            Ok(outcome) => {
                let followups = if newest.is_some() {
                    t.followups
                } else {
                    conn.followups.saturating_sub(1)
                };
                let next_due = if followups > 0 {
                    now + millis(t.followup_pause(t.followups.saturating_sub(followups)))
                } else {
                    now + millis(t.safety_sync)
                };
                let error = (!outcome.refused.is_empty()).then(|| {
                    format!(
                        "documents refused {} file(s), e.g. {:?}",
                        outcome.refused.len(),
                        outcome.refused[0]
                    )
                });
                let end = SyncEnd {
                    claimed_due,
                    next_due,
                    delta_link: Some(&outcome.delta_link),
                    followups,
                    error: error.as_deref(),
                    failed: false,
                    now,
                };
                gauges::sync_ended(SyncOutcome::Completed);
                self.end_sync(&conn, &lease, &end, newest).await
            }
            Err(WorkError::LeaseLost) => {
                tracing::warn!(connection = %conn.id, "lease lost during sync");
                return;
            }
            Err(error @ WorkError::Graph(GraphError::Throttled(pause))) => {
                let until = now + millis(*pause);
                if let Ok(mut db) = self.db.pool.acquire().await
                    && let Err(e) = connections::pause_tenant(&mut db, &conn.tenant_id, until).await
                {
                    tracing::warn!(error = %e, "cannot pause the tenant");
                }
                tracing::info!(connection = %conn.id, pause_ms = millis(*pause), "Graph throttles; pausing the tenant");
                let text = error.describe();
                let end = SyncEnd {
                    claimed_due,
                    next_due: until,
                    delta_link: None,
                    followups: conn.followups,
                    error: Some(&text),
                    failed: false,
                    now,
                };
                gauges::sync_ended(SyncOutcome::Throttled);
                self.end_sync(&conn, &lease, &end, None).await
            }
            Err(error) => {
                let backoff = t
                    .retry_base
                    .saturating_mul(2_u32.saturating_pow(conn.failures.min(16)))
                    .min(t.retry_max);
                tracing::warn!(connection = %conn.id, %error, retry_ms = millis(backoff), "sync failed");
                let text = error.describe();
                let end = SyncEnd {
                    claimed_due,
                    next_due: now + millis(backoff),
                    delta_link: None,
                    followups: conn.followups,
                    error: Some(&text),
                    failed: true,
                    now,
                };
                gauges::sync_ended(SyncOutcome::Failed);
                self.end_sync(&conn, &lease, &end, None).await
            }
        };
        if let Err(error) = ended {
            tracing::warn!(connection = %conn.id, %error, "cannot record the end of a sync; its lease lapses");
        }
    }

    async fn end_sync(
        &self,
        conn: &Connection,
        lease: &Lease,
        end: &SyncEnd<'_>,
        newest: Option<i64>,
    ) -> Result<(), crate::error::Error> {
        let mut tx = self.db.pool.begin().await?;
        if connections::end_sync(&mut tx, conn.id, &lease.token, end).await? {
            let mut applied = None;
            if let (Some(newest), Some(_)) = (newest, end.delta_link) {
                applied = inbox::oldest_pending(&mut tx, conn.id, newest).await?;
                inbox::mark_processed(&mut tx, conn.id, newest, end.now).await?;
            }
            tx.commit().await?;
            if let Some(oldest) = applied {
                gauges::notifications_applied(oldest, end.now);
            }
        } else {
            tx.rollback().await?;
            tracing::warn!(connection = %conn.id, "lease lost before the sync was recorded");
        }
        Ok(())
    }

    /// One delta round: every page from the stored link to a new delta link,
    /// then the changes applied. Nothing is recorded unless all of it worked
    /// (the mapping of files already mirrored makes a rerun cheap).
    async fn sync(&self, conn: &Connection, lease: &Lease) -> Result<Outcome, WorkError> {
        let credentials = self.credentials(conn).await?;
        let mut link = if conn.resync {
            None
        } else {
            conn.delta_link.clone()
        };
        let mut full = link.is_none();
        let mut order: Vec<String> = Vec::new();
        let mut latest: HashMap<String, DriveItem> = HashMap::new();
        let mut restarts = 0;
        let delta_link = loop {
            match self
                .graph
                .delta(&credentials, &conn.drive_id, link.as_deref())
                .await
            {
                Ok(page) => {
                    for item in page.value {
                        if !latest.contains_key(&item.id) {
                            order.push(item.id.clone());
                        }
                        // An item may repeat: its last appearance wins.
                        latest.insert(item.id.clone(), item);
                    }
                    self.beat(lease)?;
                    match (page.next_link, page.delta_link) {
                        (Some(next), _) => link = Some(next),
                        (None, Some(delta)) => break delta,
                        (None, None) => {
                            return Err(GraphError::Malformed("delta page without links").into());
                        }
                    }
                }
                Err(GraphError::Gone { location }) => {
                    restarts += 1;
                    if restarts > MAX_RESTARTS {
                        return Err(GraphError::Gone { location }.into());
                    }
                    tracing::info!(connection = %conn.id, "delta answered 410 Gone; resyncing");
                    order.clear();
                    latest.clear();
                    full = true;
                    link = location;
                }
                Err(error) => return Err(error.into()),
            }
        };
        let items: Vec<DriveItem> = order
            .into_iter()
            .filter_map(|id| latest.remove(&id))
            .collect();
        let refused = self.apply(conn, &credentials, items, full, lease).await?;
        Ok(Outcome {
            delta_link,
            refused,
        })
    }

    /// Known folders of the drive: id → parent.
    async fn folder_tree(
        &self,
        conn: &Connection,
    ) -> Result<HashMap<String, Option<String>>, WorkError> {
        let mut db = self.db.pool.acquire().await?;
        let rows = sqlx::query(
            "SELECT item_id, parent_id FROM items WHERE org_id = ? AND drive_id = ? \
             AND is_folder = 1 AND deleted = 0",
        )
        .bind(conn.org_id.to_string())
        .bind(&conn.drive_id)
        .fetch_all(&mut *db)
        .await?;
        let mut tree = HashMap::new();
        for row in rows {
            use sqlx::Row;
            tree.insert(row.try_get("item_id")?, row.try_get("parent_id")?);
        }
        Ok(tree)
    }

    /// Whether a parent is the connected folder or below it; unknown
    /// folders are looked up in Graph (and remembered).
    async fn in_scope(
        &self,
        conn: &Connection,
        credentials: &Credentials,
        parent: Option<&str>,
        tree: &mut HashMap<String, Option<String>>,
    ) -> Result<bool, WorkError> {
        for _ in 0..32 {
            let mut missing = None;
            let answer = under_folder(parent, &conn.folder_id, |id| match tree.get(id) {
                Some(p) => Some(p.clone()),
                None => {
                    missing = Some(id.to_owned());
                    None
                }
            });
            if let Some(answer) = answer {
                return Ok(answer);
            }
            let Some(missing) = missing else {
                return Ok(false);
            };
            match self
                .graph
                .item(&credentials.clone(), &conn.drive_id, &missing)
                .await
            {
                Ok(folder) => {
                    let parent = folder.parent_id().map(str::to_owned);
                    let mut db = self.db.pool.acquire().await?;
                    let name = folder.name.clone().unwrap_or_default();
                    items::put(
                        &mut db,
                        conn.org_id,
                        &conn.drive_id,
                        &ItemFacts {
                            item_id: &missing,
                            parent_id: parent.as_deref(),
                            name: &name,
                            is_folder: true,
                            document_id: None,
                            ctag: None,
                            etag: None,
                        },
                        now_millis(),
                    )
                    .await?;
                    tree.insert(missing, parent);
                }
                // A folder that no longer exists holds nothing of ours.
                Err(GraphError::NotFound) => return Ok(false),
                Err(error) => return Err(error.into()),
            }
        }
        Ok(false)
    }

    /// Applies a delta round. Returns the names of files documents refused.
    async fn apply(
        &self,
        conn: &Connection,
        credentials: &Credentials,
        delta: Vec<DriveItem>,
        full: bool,
        lease: &Lease,
    ) -> Result<Vec<String>, WorkError> {
        let (org, drive) = (conn.org_id, conn.drive_id.as_str());
        let now = now_millis();
        let mut tree = self.folder_tree(conn).await?;
        let mut db = self.db.pool.acquire().await?;
        // Folders first: they decide what is under the connected folder.
        for item in &delta {
            if item.is_deleted() {
                tree.remove(&item.id);
            } else if item.is_folder() {
                let parent = item.parent_id().map(str::to_owned);
                items::put(
                    &mut db,
                    org,
                    drive,
                    &ItemFacts {
                        item_id: &item.id,
                        parent_id: parent.as_deref(),
                        name: item.name.as_deref().unwrap_or_default(),
                        is_folder: true,
                        document_id: None,
                        ctag: None,
                        etag: None,
                    },
                    now,
                )
                .await?;
                tree.insert(item.id.clone(), parent);
            }
        }
        let mut work = Vec::new();
        let mut seen = HashSet::new();
        for item in delta {
            seen.insert(item.id.clone());
            let known = items::get(&mut db, org, drive, &item.id).await?;
            let mapped = known
                .as_ref()
                .filter(|k| !k.deleted && !k.is_folder)
                .and_then(|k| k.document_id.map(|d| (k, d)));
            if item.is_deleted() {
                match mapped {
                    Some((_, document)) => work.push(Work::Remove {
                        item_id: item.id,
                        document,
                    }),
                    None if known.is_some() => {
                        items::mark_deleted(&mut db, org, drive, &item.id, now).await?;
                    }
                    None => {}
                }
                continue;
            }
            if item.is_folder() {
                continue;
            }
            let in_scope = self
                .in_scope(conn, credentials, item.parent_id(), &mut tree)
                .await?;
            match (in_scope, mapped) {
                (true, Some((row, _)))
                    if (row.ctag.is_some() && row.ctag == item.ctag)
                        || (row.etag.is_some() && row.etag == item.etag) =>
                {
                    // Same content (a rename, a move, our own upload's echo:
                    // an unchanged eTag means nothing at all changed).
                    if item.name.as_deref() != Some(row.name.as_str())
                        || item.parent_id() != row.parent_id.as_deref()
                    {
                        items::put(
                            &mut db,
                            org,
                            drive,
                            &ItemFacts {
                                item_id: &item.id,
                                parent_id: item.parent_id(),
                                name: item.name.as_deref().unwrap_or_default(),
                                is_folder: false,
                                document_id: row.document_id,
                                ctag: item.ctag.as_deref(),
                                etag: item.etag.as_deref(),
                            },
                            now,
                        )
                        .await?;
                    }
                }
                (true, mapped) => work.push(Work::Mirror {
                    document: mapped.map(|(_, d)| d),
                    item: Box::new(item),
                }),
                // Moved out of the connected folder: no longer mirrored.
                (false, Some((_, document))) => work.push(Work::Remove {
                    item_id: item.id,
                    document,
                }),
                (false, None) => {}
            }
        }
        if full {
            // A full enumeration lists everything that exists: what we
            // mirror and it does not list was deleted while we were away.
            for row in items::mirrored(&mut db, org, drive).await? {
                if let (false, Some(document)) = (seen.contains(&row.item_id), row.document_id) {
                    work.push(Work::Remove {
                        item_id: row.item_id,
                        document,
                    });
                }
            }
        }
        drop(db);

        let actor = Self::actor(conn);
        let mut results = stream::iter(work)
            .map(|w| self.execute(conn, credentials, &actor, w, lease))
            .buffer_unordered(PARALLEL_FILES);
        let mut refused = Vec::new();
        while let Some(result) = results.next().await {
            match result {
                Ok(None) => {}
                Ok(Some(name)) => refused.push(name),
                Err(error) => return Err(error),
            }
        }
        Ok(refused)
    }

    /// Carries out one change; `Some(name)` when documents refused the file.
    async fn execute(
        &self,
        conn: &Connection,
        credentials: &Credentials,
        actor: &Actor,
        work: Work,
        lease: &Lease,
    ) -> Result<Option<String>, WorkError> {
        self.beat(lease)?;
        let (org, drive) = (conn.org_id, conn.drive_id.as_str());
        match work {
            Work::Remove { item_id, document } => {
                self.documents.delete(actor, document).await?;
                let mut db = self.db.pool.acquire().await?;
                items::mark_deleted(&mut db, org, drive, &item_id, now_millis()).await?;
                tracing::info!(connection = %conn.id, %document, "OneDrive file gone; document deleted");
                Ok(None)
            }
            Work::Mirror { item, document } => {
                let name = item.name.clone().unwrap_or_else(|| item.id.clone());
                let media_type =
                    media_type_for(item.file.as_ref().and_then(|f| f.mime_type.as_deref()));
                let mut target = match document {
                    Some(id) => Target::Existing(id),
                    None => Target::New {
                        title: title_for(&name),
                    },
                };
                let uploaded = loop {
                    let content = self.graph.download(credentials, drive, &item.id).await;
                    let content = match content {
                        Ok(c) => c,
                        // Deleted since the delta: the next delta says so.
                        Err(GraphError::NotFound) => return Ok(None),
                        Err(e) => return Err(e.into()),
                    };
                    match self
                        .documents
                        .upload(
                            actor,
                            target.clone(),
                            &name,
                            &media_type,
                            item.size,
                            content,
                        )
                        .await
                    {
                        Ok(uploaded) => break uploaded,
                        // The document was deleted in Folio: start a new one.
                        Err(DocumentsError::NotFound) if matches!(target, Target::Existing(_)) => {
                            target = Target::New {
                                title: title_for(&name),
                            };
                        }
                        Err(DocumentsError::Refused(reason)) => {
                            tracing::warn!(connection = %conn.id, file = %name, %reason, "documents refused a file");
                            return Ok(Some(name));
                        }
                        Err(e) => return Err(e.into()),
                    }
                };
                let mut db = self.db.pool.acquire().await?;
                items::put(
                    &mut db,
                    org,
                    drive,
                    &ItemFacts {
                        item_id: &item.id,
                        parent_id: item.parent_id(),
                        name: &name,
                        is_folder: false,
                        document_id: Some(uploaded.document_id),
                        ctag: item.ctag.as_deref(),
                        etag: item.etag.as_deref(),
                    },
                    now_millis(),
                )
                .await?;
                tracing::info!(
                    connection = %conn.id,
                    document = %uploaded.document_id,
                    version = uploaded.number,
                    created = uploaded.created,
                    "mirrored a OneDrive file"
                );
                Ok(None)
            }
        }
    }
}
