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
use folio_proto::documents::v1 as docs;

use crate::{
    documents::{DocumentsError, Target},
    domain::{
        Connection, media_type_for, same_content, title_for, under_folder, unmirrorable, upload_key,
    },
    graph::{Credentials, DriveItem, GraphError},
    store::{
        conflicts,
        connections::{self, SyncEnd},
        inbox,
        items::{self, ItemFacts, ItemRow},
        pending_sends,
        progress::{self, Progress},
        skipped::{self, Skipped},
    },
};

/// Connections synced at once by one process.
const PARALLEL_CONNECTIONS: usize = 4;
/// Files transferred at once within one connection's sync.
const PARALLEL_FILES: usize = 4;
/// A delta that keeps answering 410 is given up after this many restarts.
const MAX_RESTARTS: u32 = 3;
/// Empty pages in a row after which a paging is taken not to end.
const MAX_EMPTY_PAGES: u32 = 100;
/// Files no longer listed by a full enumeration, handled a batch at a time.
const UNLISTED_BATCH: u32 = 200;

#[derive(Debug)]
enum Work {
    Mirror {
        item: Box<DriveItem>,
        document: Option<Uuid>,
        /// The document was unlinked when the file went away; it is back.
        relink: bool,
    },
    /// Back from the recycle bin with the content we have: link again only.
    Relink {
        item: Box<DriveItem>,
        document: Uuid,
    },
    Remove {
        item_id: String,
        document: Uuid,
    },
}

/// A folder's new facts, stored after its page's work.
#[derive(Debug)]
enum FolderWrite {
    Put {
        id: String,
        parent: Option<String>,
        name: String,
    },
    Deleted(String),
}

/// What carrying out one change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
    Nothing,
    Mirrored,
    Skipped,
}

/// Per page: files listed under the connected folder, up to date in Folio
/// after it (a version added, or already current), and skipped.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    seen: u64,
    mirrored: u64,
    skipped: u64,
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
                                Box::pin(engine.sync_claimed(conn, lease, claimed_due)).await;
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
        // Syncs end at their next page boundary (the page's files done, its
        // progress stored) and hand their lease back; one that does not
        // within a lease's time is cut, its lease lapses, and another
        // replica (or the next start) resumes from the stored page.
        self.draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let drained = tokio::time::timeout(self.timing.lease, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("syncs did not reach a page boundary in time; cut");
        }
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
            Err(WorkError::Stopping) => {
                tracing::info!(connection = %conn.id, "stopping; the sync resumes from the page reached");
                self.release(lease).await;
                if let Ok(mut db) = self.db.pool.acquire().await
                    && let Err(error) = connections::request_sync(&mut db, conn.id, now).await
                {
                    tracing::warn!(%error, "cannot ask for the rest of the sync");
                }
                return;
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
            return;
        }
        self.tell_sync_trouble(&conn, &result).await;
    }

    /// Puts a failing sync, or its recovery, in the organisation's event log
    /// for notifications (docs/adr/0068). A failure streak is named by the
    /// last sync that worked: every failed attempt of the streak sends the
    /// same key, so documents records it once and a lost call is made good
    /// by the next retry; the recovery is sent once, by the sync that ends it.
    async fn tell_sync_trouble(&self, conn: &Connection, result: &Result<Outcome, WorkError>) {
        let streak = format!(
            "{}/{}",
            conn.id,
            conn.last_sync_at.unwrap_or(conn.created_at)
        );
        let (kind, key, reason) = match result {
            Ok(_) if conn.failures > 0 => (
                docs::EventKind::OnedriveSyncRecovered,
                format!("onedrive/{streak}/recovered"),
                String::new(),
            ),
            // Not failures: a clean stop, another worker, Graph's throttling.
            Ok(_)
            | Err(
                WorkError::Stopping
                | WorkError::LeaseLost
                | WorkError::Graph(GraphError::Throttled(_)),
            ) => return,
            Err(error) => (
                docs::EventKind::OnedriveSyncFailed,
                format!("onedrive/{streak}/failed"),
                error.describe(),
            ),
        };
        if let Err(error) = self
            .documents
            .record_sync_event(&Self::actor(conn), kind, conn.id, &key, &reason)
            .await
        {
            tracing::warn!(connection = %conn.id, %error, "cannot record the sync's trouble in the event log");
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
                // The sync lag (docs/adr/0043): from the oldest notification
                // this delta covers to now, kept beside the delta link.
                applied = inbox::oldest_pending(&mut tx, conn.id, newest)
                    .await?
                    .map(|oldest| crate::domain::lag_millis(oldest, end.now));
                inbox::mark_processed(&mut tx, conn.id, newest, end.now).await?;
                if let Some(lag) = applied {
                    let lag = i64::try_from(lag).unwrap_or(i64::MAX);
                    connections::record_lag(&mut tx, conn.id, lag).await?;
                }
            }
            tx.commit().await?;
            if let Some(lag) = applied {
                gauges::notifications_applied(lag);
            }
        } else {
            tx.rollback().await?;
            tracing::warn!(connection = %conn.id, "lease lost before the sync was recorded");
        }
        Ok(())
    }

    /// One delta round: every page from the stored link (or the page a
    /// restart stopped at) to a new delta link. Each page is applied and its
    /// progress stored before the next is fetched, so the drive is never
    /// held in memory and a restart resumes from the page reached.
    async fn sync(&self, conn: &Connection, lease: &Lease) -> Result<Outcome, WorkError> {
        let credentials = self.credentials(conn).await?;
        let stored = {
            let mut db = self.db.pool.acquire().await?;
            progress::get(&mut db, conn.id).await?
        };
        let mut progress = match stored {
            Some(p) if p.page_link.is_some() && (p.full || !conn.resync) => {
                tracing::info!(connection = %conn.id, seen = p.seen, "resuming a delta paging");
                p
            }
            _ => {
                let link = if conn.resync {
                    None
                } else {
                    conn.delta_link.clone()
                };
                new_round(link)
            }
        };
        let mut link = progress.page_link.clone();
        let mut links = HashSet::new();
        let mut empty_pages = 0;
        let mut restarts = 0;
        let mut refused = Vec::new();
        let delta_link = loop {
            let page = match self
                .graph
                .delta(&credentials, &conn.drive_id, link.as_deref())
                .await
            {
                Ok(page) => page,
                Err(GraphError::Gone { location }) => {
                    restarts += 1;
                    if restarts > MAX_RESTARTS {
                        return Err(GraphError::Gone { location }.into());
                    }
                    // A Location on Graph is followed; one elsewhere (a token
                    // must never go there) or none means a fresh enumeration.
                    let location = location.filter(|l| self.graph.graph_link(l).is_ok());
                    tracing::info!(connection = %conn.id, follows = location.is_some(), "delta answered 410 Gone; resyncing");
                    progress = new_round(location.clone());
                    link = location;
                    links.clear();
                    empty_pages = 0;
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            self.beat(lease)?;
            empty_pages = if page.value.is_empty() {
                empty_pages + 1
            } else {
                0
            };
            let counts = self
                .apply(
                    conn,
                    &credentials,
                    page.value,
                    &progress,
                    lease,
                    &mut refused,
                )
                .await?;
            progress.seen += counts.seen;
            progress.mirrored += counts.mirrored;
            progress.skipped += counts.skipped;
            match (page.next_link, page.delta_link) {
                (Some(next), _) => {
                    let looping = !links.insert(next.clone());
                    if looping || empty_pages > MAX_EMPTY_PAGES {
                        // Start over next time rather than resume into the loop.
                        let mut db = self.db.pool.acquire().await?;
                        progress::delete_for(&mut db, conn.id).await?;
                        return Err(GraphError::Malformed(if looping {
                            "delta paging loops: a next link came back"
                        } else {
                            "delta paging does not end: empty pages without end"
                        })
                        .into());
                    }
                    progress.page_link = Some(next.clone());
                    self.save_progress(conn, lease, &progress).await?;
                    if self.draining.load(std::sync::atomic::Ordering::SeqCst) {
                        return Err(WorkError::Stopping);
                    }
                    link = Some(next);
                }
                (None, Some(delta)) => break delta,
                (None, None) => {
                    return Err(GraphError::Malformed("delta page without links").into());
                }
            }
        };
        if progress.full {
            self.remove_unlisted(conn, &credentials, &progress.round, lease)
                .await?;
        }
        progress.page_link = None;
        self.save_progress(conn, lease, &progress).await?;
        Ok(Outcome {
            delta_link,
            refused,
        })
    }

    async fn save_progress(
        &self,
        conn: &Connection,
        lease: &Lease,
        progress: &Progress,
    ) -> Result<(), WorkError> {
        let mut db = self.db.pool.acquire().await?;
        if progress::save(&mut db, conn.id, &lease.token, progress, now_millis()).await? {
            Ok(())
        } else {
            Err(WorkError::LeaseLost)
        }
    }

    /// After a full enumeration: what we mirror and it did not list was
    /// deleted (or moved out) while we were away.
    async fn remove_unlisted(
        &self,
        conn: &Connection,
        credentials: &Credentials,
        round: &str,
        lease: &Lease,
    ) -> Result<(), WorkError> {
        let actor = Self::actor(conn);
        loop {
            let batch = {
                let mut db = self.db.pool.acquire().await?;
                items::unlisted(&mut db, conn.org_id, &conn.drive_id, round, UNLISTED_BATCH).await?
            };
            if batch.is_empty() {
                return Ok(());
            }
            for row in batch {
                if let Some(document) = row.document_id {
                    let work = Work::Remove {
                        item_id: row.item_id,
                        document,
                    };
                    self.execute(conn, credentials, &actor, work, None, lease)
                        .await?;
                }
            }
        }
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
    /// folders are looked up in Graph (and remembered). No database
    /// connection is held while Graph answers.
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
            match self.graph.item(credentials, &conn.drive_id, &missing).await {
                Ok(folder) => {
                    let parent = folder.parent_id().map(str::to_owned);
                    let name = folder.name.clone().unwrap_or_default();
                    let mut db = self.db.pool.acquire().await?;
                    items::put(
                        &mut db,
                        conn.org_id,
                        &conn.drive_id,
                        &folder_facts(&missing, parent.as_deref(), &name),
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

    /// Mapped files (and folders) below `roots`, from what we know.
    async fn known_below(
        &self,
        conn: &Connection,
        roots: Vec<String>,
    ) -> Result<(Vec<ItemRow>, Vec<String>), WorkError> {
        let mut files = Vec::new();
        let mut folders = Vec::new();
        let mut level = roots;
        let mut db = self.db.pool.acquire().await?;
        for _ in 0..64 {
            if level.is_empty() {
                break;
            }
            let rows = items::children_of(&mut db, conn.org_id, &conn.drive_id, &level).await?;
            level = Vec::new();
            for row in rows {
                if row.is_folder {
                    level.push(row.item_id.clone());
                    folders.push(row.item_id);
                } else if row.document_id.is_some() {
                    files.push(row);
                }
            }
        }
        Ok((files, folders))
    }

    /// Everything below a folder that came into the connected folder (delta
    /// lists the folder alone): its sub-folders are recorded, its files returned.
    async fn enumerate(
        &self,
        conn: &Connection,
        credentials: &Credentials,
        folder: &str,
        tree: &mut HashMap<String, Option<String>>,
    ) -> Result<Vec<DriveItem>, WorkError> {
        let mut files = Vec::new();
        let mut pending = vec![folder.to_owned()];
        let mut visited = HashSet::new();
        while let Some(next) = pending.pop() {
            if !visited.insert(next.clone()) || visited.len() > 10_000 {
                continue;
            }
            let children = match self
                .graph
                .children(credentials, &conn.drive_id, &next)
                .await
            {
                Ok(c) => c,
                Err(GraphError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            };
            let mut db = self.db.pool.acquire().await?;
            for child in children {
                if child.is_folder() {
                    let parent = child.parent_id().map(str::to_owned).or(Some(next.clone()));
                    let name = child.name.clone().unwrap_or_default();
                    items::put(
                        &mut db,
                        conn.org_id,
                        &conn.drive_id,
                        &folder_facts(&child.id, parent.as_deref(), &name),
                        now_millis(),
                    )
                    .await?;
                    tree.insert(child.id.clone(), parent);
                    pending.push(child.id);
                } else {
                    files.push(child);
                }
            }
        }
        Ok(files)
    }

    /// Applies one delta page; returns what it counted.
    async fn apply(
        &self,
        conn: &Connection,
        credentials: &Credentials,
        page: Vec<DriveItem>,
        progress: &Progress,
        lease: &Lease,
        refused: &mut Vec<String>,
    ) -> Result<Counts, WorkError> {
        let (org, drive) = (conn.org_id, conn.drive_id.as_str());
        let round = progress.full.then_some(progress.round.as_str());
        // An item may repeat within a page: its last appearance wins.
        let mut order: Vec<String> = Vec::new();
        let mut latest: HashMap<String, DriveItem> = HashMap::new();
        for item in page {
            if !latest.contains_key(&item.id) {
                order.push(item.id.clone());
            }
            latest.insert(item.id.clone(), item);
        }
        let delta: Vec<DriveItem> = order.iter().filter_map(|id| latest.remove(id)).collect();
        let listed: Vec<String> = order;

        let mut tree = self.folder_tree(conn).await?;
        let scope_before = |tree: &HashMap<String, Option<String>>, id: &str| {
            under_folder(Some(id), &conn.folder_id, |f| tree.get(f).cloned()) == Some(true)
        };
        // Folders first: they decide what is under the connected folder.
        // What they are now is stored only once the page's work is done: a
        // rerun after a failure must still see a folder as moving (and
        // cascade again), not as already where it went.
        let mut folder_writes: Vec<FolderWrite> = Vec::new();
        let mut gone_folders = Vec::new();
        let mut arrived = Vec::new();
        let mut files = Vec::new();
        for item in delta {
            let known_folder = tree.contains_key(&item.id);
            if item.is_deleted() && known_folder {
                if scope_before(&tree, &item.id) {
                    gone_folders.push(item.id.clone());
                }
                tree.remove(&item.id);
                folder_writes.push(FolderWrite::Deleted(item.id));
                continue;
            }
            if !item.is_folder() {
                files.push(item);
                continue;
            }
            let was_in = known_folder && scope_before(&tree, &item.id);
            let parent = item.parent_id().map(str::to_owned);
            folder_writes.push(FolderWrite::Put {
                id: item.id.clone(),
                parent: parent.clone(),
                name: item.name.clone().unwrap_or_default(),
            });
            tree.insert(item.id.clone(), parent);
            let now_in = self
                .in_scope(conn, credentials, Some(&item.id), &mut tree)
                .await?;
            if was_in && !now_in {
                gone_folders.push(item.id);
            } else if !was_in && now_in && !progress.full && item.id != conn.folder_id {
                arrived.push(item.id);
            }
        }
        let mut work = Vec::new();
        // A folder deleted or moved out: each file below it, as if listed.
        if !gone_folders.is_empty() {
            let (below, folders) = self.known_below(conn, gone_folders.clone()).await?;
            for row in below {
                if let Some(document) = row.document_id
                    && !files.iter().any(|f| f.id == row.item_id)
                {
                    work.push(Work::Remove {
                        item_id: row.item_id,
                        document,
                    });
                }
            }
            // What was below a deleted folder is gone with it; below a
            // moved one it is simply out of scope now.
            for folder in folders {
                if !tree.contains_key(&folder) || gone_folders.contains(&folder) {
                    continue;
                }
                let still_in =
                    under_folder(Some(&folder), &conn.folder_id, |f| tree.get(f).cloned());
                if still_in.is_none() {
                    tree.remove(&folder);
                    folder_writes.push(FolderWrite::Deleted(folder));
                }
            }
        }
        // A folder moved or copied in: delta lists it alone; list what is inside.
        let mut listed_files: HashSet<String> = files.iter().map(|f| f.id.clone()).collect();
        for folder in arrived {
            let inside = self
                .enumerate(conn, credentials, &folder, &mut tree)
                .await?;
            tracing::info!(connection = %conn.id, files = inside.len(), "a folder came into the connected folder");
            for file in inside {
                if listed_files.insert(file.id.clone()) {
                    files.push(file);
                }
            }
        }

        let mut counts = Counts::default();
        // Sends run under the lease, so none starts during this page.
        let sends_pending = {
            let mut db = self.db.pool.acquire().await?;
            pending_sends::any(&mut db, conn.id).await?
        };
        for item in files {
            self.decide(
                conn,
                credentials,
                item,
                (round, sends_pending),
                &mut tree,
                &mut counts,
                &mut work,
            )
            .await?;
        }

        let actor = Self::actor(conn);
        let mut results = stream::iter(work)
            .map(|w| self.execute(conn, credentials, &actor, w, round, lease))
            .buffer_unordered(PARALLEL_FILES);
        while let Some(result) = results.next().await {
            match result? {
                (Done::Nothing, _) => {}
                (Done::Mirrored, _) => counts.mirrored += 1,
                (Done::Skipped, name) => {
                    counts.skipped += 1;
                    if let Some(name) = name {
                        refused.push(name);
                    }
                }
            }
        }
        drop(results);
        if !folder_writes.is_empty() {
            let mut db = self.db.pool.acquire().await?;
            for write in folder_writes {
                match write {
                    FolderWrite::Put { id, parent, name } => {
                        items::put(
                            &mut db,
                            org,
                            drive,
                            &folder_facts(&id, parent.as_deref(), &name),
                            now_millis(),
                        )
                        .await?;
                    }
                    FolderWrite::Deleted(id) => {
                        items::mark_deleted(&mut db, org, drive, &id, now_millis()).await?;
                    }
                }
            }
        }
        if let Some(round) = round {
            let ids: Vec<&str> = listed.iter().map(String::as_str).collect();
            let mut db = self.db.pool.acquire().await?;
            items::mark_listed(&mut db, org, drive, &ids, round).await?;
        }
        Ok(counts)
    }

    /// Decides what one listed file needs.
    #[allow(clippy::too_many_arguments)]
    async fn decide(
        &self,
        conn: &Connection,
        credentials: &Credentials,
        item: DriveItem,
        (round, sends_pending): (Option<&str>, bool),
        tree: &mut HashMap<String, Option<String>>,
        counts: &mut Counts,
        work: &mut Vec<Work>,
    ) -> Result<(), WorkError> {
        let (org, drive) = (conn.org_id, conn.drive_id.as_str());
        let now = now_millis();
        let known = {
            let mut db = self.db.pool.acquire().await?;
            items::get(&mut db, org, drive, &item.id).await?
        };
        let known = known.filter(|k| !k.is_folder);
        let live_doc = known
            .as_ref()
            .filter(|k| !k.deleted)
            .and_then(|k| k.document_id);
        if item.is_deleted() {
            let mut db = self.db.pool.acquire().await?;
            skipped::clear(&mut db, org, drive, &item.id).await?;
            match live_doc {
                Some(document) => work.push(Work::Remove {
                    item_id: item.id,
                    document,
                }),
                None if known.is_some() => {
                    items::mark_deleted(&mut db, org, drive, &item.id, now).await?;
                }
                None => {}
            }
            return Ok(());
        }
        let in_scope = self
            .in_scope(conn, credentials, item.parent_id(), tree)
            .await?;
        if !in_scope {
            if let Some(document) = live_doc {
                // Moved out of the connected folder: no longer mirrored.
                work.push(Work::Remove {
                    item_id: item.id,
                    document,
                });
            }
            return Ok(());
        }
        counts.seen += 1;
        let hash = item.content_hash();
        let name = item.name.clone().unwrap_or_else(|| item.id.clone());
        let mut db = self.db.pool.acquire().await?;
        if let Some(reason) = unmirrorable(
            item.file.is_some(),
            item.package.is_some(),
            item.remote_item.is_some(),
        ) {
            let skip = Skipped {
                item_id: item.id.clone(),
                name,
                reason: reason.to_owned(),
                version_key: version_key(&item),
                skipped_at: now,
            };
            skipped::record(&mut db, org, drive, &skip).await?;
            counts.skipped += 1;
            return Ok(());
        }
        let unchanged = known.as_ref().is_some_and(|k| {
            same_content(
                k.content_hash.as_deref(),
                k.ctag.as_deref(),
                hash.as_deref(),
                item.ctag.as_deref(),
            )
        });
        let unmapped = known.as_ref().and_then(|k| k.document_id).is_none();
        if unmapped
            && sends_pending
            && self
                .adopt_pending_send(conn, &item, hash.as_deref(), round, &mut db)
                .await?
        {
            counts.mirrored += 1;
            return Ok(());
        }
        match (known, live_doc) {
            (Some(row), Some(document)) if unchanged => {
                // Same content (a rename, a move, a sharing change, our own
                // upload's echo): remember the new facts, download nothing.
                counts.mirrored += 1;
                // A new eTag alone (sharing, properties) is kept too: a send
                // uploads under `If-Match` with it (docs/adr/0035).
                let moved = item.name.as_deref() != Some(row.name.as_str())
                    || item.parent_id() != row.parent_id.as_deref()
                    || (row.content_hash.is_none() && hash.is_some())
                    || (item.etag.is_some() && item.etag != row.etag);
                if item.etag.is_some() && item.etag != row.etag {
                    // A send refused for this eTag found no content change.
                    conflicts::came_in(&mut db, org, document, None, now).await?;
                }
                if moved {
                    items::put(
                        &mut db,
                        org,
                        drive,
                        &ItemFacts {
                            item_id: &item.id,
                            parent_id: item.parent_id(),
                            name: item.name.as_deref().unwrap_or(&row.name),
                            is_folder: false,
                            document_id: Some(document),
                            ctag: item.ctag.as_deref().or(row.ctag.as_deref()),
                            etag: item.etag.as_deref(),
                            content_hash: hash.as_deref().or(row.content_hash.as_deref()),
                            round,
                        },
                        now,
                    )
                    .await?;
                }
            }
            (Some(row), None) if row.document_id.is_some() && unchanged => {
                // Restored from the recycle bin (or moved back) as it was.
                work.push(Work::Relink {
                    document: row.document_id.unwrap_or_default(),
                    item: Box::new(item),
                });
            }
            (known, live) => {
                let skipped_before = skipped::get(&mut db, org, drive, &item.id).await?;
                if let Some(skip) = skipped_before
                    && skip.version_key.is_some()
                    && skip.version_key == version_key(&item)
                {
                    // Skipped as it is now; tried again once it changes.
                    counts.skipped += 1;
                    return Ok(());
                }
                let relink =
                    live.is_none() && known.as_ref().is_some_and(|k| k.document_id.is_some());
                work.push(Work::Mirror {
                    document: live.or(known.and_then(|k| k.document_id)),
                    relink,
                    item: Box::new(item),
                });
            }
        }
        Ok(())
    }

    /// Maps an unmapped file to the document a pending send was uploading
    /// when it is that send's file (its answer was lost): no download, no
    /// document, no version (a SharePoint rewrite is none; docs/adr/0034,
    /// 0036). `true` when it did.
    async fn adopt_pending_send(
        &self,
        conn: &Connection,
        item: &DriveItem,
        hash: Option<&str>,
        round: Option<&str>,
        db: &mut sqlx::AnyConnection,
    ) -> Result<bool, WorkError> {
        let (Some(parent), Some(name)) = (item.parent_id(), item.name.as_deref()) else {
            return Ok(false);
        };
        let now = now_millis();
        let pending = pending_sends::named(db, conn.id, parent, name).await?;
        let Some(send) = pending
            .into_iter()
            .find(|p| p.is_listed_as(Some(parent), name, item.size, hash, now))
        else {
            return Ok(false);
        };
        let mut tx = sqlx::Connection::begin(&mut *db).await?;
        items::put(
            &mut tx,
            conn.org_id,
            &conn.drive_id,
            &file_facts(item, name, send.document_id, hash, round),
            now,
        )
        .await?;
        pending_sends::clear(&mut tx, conn.id, send.document_id).await?;
        tx.commit().await?;
        tracing::info!(connection = %conn.id, document = %send.document_id, item = %item.id, "a sent file whose answer was lost adopted");
        Ok(true)
    }

    /// Carries out one change. `Skipped` carries the file's name when
    /// documents refused it.
    async fn execute(
        &self,
        conn: &Connection,
        credentials: &Credentials,
        actor: &Actor,
        work: Work,
        round: Option<&str>,
        lease: &Lease,
    ) -> Result<(Done, Option<String>), WorkError> {
        self.beat(lease)?;
        let (org, drive) = (conn.org_id, conn.drive_id.as_str());
        match work {
            Work::Remove { item_id, document } => {
                // Never deleted: unlinked and marked, its history stays (docs/adr/0032).
                self.documents.mark_removed(actor, document, true).await?;
                let mut db = self.db.pool.acquire().await?;
                items::mark_deleted(&mut db, org, drive, &item_id, now_millis()).await?;
                skipped::clear(&mut db, org, drive, &item_id).await?;
                tracing::info!(connection = %conn.id, %document, "OneDrive file gone; document unlinked");
                Ok((Done::Nothing, None))
            }
            Work::Relink { item, document } => {
                self.documents.mark_removed(actor, document, false).await?;
                let hash = item.content_hash();
                let name = item.name.clone().unwrap_or_else(|| item.id.clone());
                let mut db = self.db.pool.acquire().await?;
                items::put(
                    &mut db,
                    org,
                    drive,
                    &file_facts(&item, &name, document, hash.as_deref(), round),
                    now_millis(),
                )
                .await?;
                tracing::info!(connection = %conn.id, %document, "OneDrive file back; document linked again");
                Ok((Done::Mirrored, None))
            }
            Work::Mirror {
                item,
                document,
                relink,
            } => {
                let name = item.name.clone().unwrap_or_else(|| item.id.clone());
                let media_type =
                    media_type_for(item.file.as_ref().and_then(|f| f.mime_type.as_deref()));
                let mut target = match document {
                    Some(id) => Target::Existing(id),
                    None => Target::New {
                        title: title_for(&name),
                    },
                };
                let skip = |reason: String| Skipped {
                    item_id: item.id.clone(),
                    name: name.clone(),
                    reason,
                    version_key: version_key(&item),
                    skipped_at: now_millis(),
                };
                // A retry of this change after a lost answer gets documents'
                // first result, not a second document or version (docs/adr/0033).
                let upload_key = upload_key(
                    conn.id,
                    &item.id,
                    item.etag.as_deref(),
                    item.content_hash().as_deref(),
                );
                let uploaded = loop {
                    let (length, content) = match self
                        .graph
                        .download(credentials, drive, &item.id)
                        .await
                    {
                        Ok(c) => c,
                        // Deleted since the delta: the next delta says so.
                        Err(GraphError::NotFound) => return Ok((Done::Nothing, None)),
                        // This file only (malware, access, a lock): recorded, not fatal.
                        Err(GraphError::Refused { status, code }) => {
                            let reason = if code == "malwareDetected" {
                                "OneDrive detected malware in this file; it is not downloaded"
                                    .to_owned()
                            } else {
                                format!("OneDrive refused the download ({status} {code})")
                            };
                            tracing::warn!(connection = %conn.id, file = %name, %reason, "file skipped");
                            let mut db = self.db.pool.acquire().await?;
                            skipped::record(&mut db, org, drive, &skip(reason)).await?;
                            return Ok((Done::Skipped, None));
                        }
                        Err(e) => return Err(e.into()),
                    };
                    if length.is_some() && length != item.size {
                        // Sensitivity labels change the bytes: what is served is the truth.
                        tracing::info!(connection = %conn.id, file = %name, listed = ?item.size, served = ?length, "served size differs from the listed size");
                    }
                    match self
                        .documents
                        .upload(
                            actor,
                            target.clone(),
                            &name,
                            &media_type,
                            length,
                            upload_key.as_deref(),
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
                            let mut db = self.db.pool.acquire().await?;
                            skipped::record(
                                &mut db,
                                org,
                                drive,
                                &skip(format!("documents refused the file: {reason}")),
                            )
                            .await?;
                            return Ok((Done::Skipped, Some(name)));
                        }
                        Err(e) => return Err(e.into()),
                    }
                };
                if relink && uploaded.document_id == document.unwrap_or_default() {
                    self.documents
                        .mark_removed(actor, uploaded.document_id, false)
                        .await?;
                }
                let hash = item.content_hash();
                let mut db = self.db.pool.acquire().await?;
                items::put(
                    &mut db,
                    org,
                    drive,
                    &file_facts(&item, &name, uploaded.document_id, hash.as_deref(), round),
                    now_millis(),
                )
                .await?;
                skipped::clear(&mut db, org, drive, &item.id).await?;
                conflicts::came_in(
                    &mut db,
                    org,
                    uploaded.document_id,
                    Some(uploaded.number),
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
                Ok((Done::Mirrored, None))
            }
        }
    }
}

/// A new paging: a full enumeration when there is no link to start from.
fn new_round(link: Option<String>) -> Progress {
    Progress {
        full: link.is_none(),
        page_link: link,
        round: Uuid::new_v4().to_string(),
        ..Progress::default()
    }
}

/// What a file is now, to tell whether a skipped file changed since.
fn version_key(item: &DriveItem) -> Option<String> {
    item.content_hash()
        .or_else(|| item.ctag.clone())
        .or_else(|| item.etag.clone())
}

fn folder_facts<'a>(id: &'a str, parent: Option<&'a str>, name: &'a str) -> ItemFacts<'a> {
    ItemFacts {
        item_id: id,
        parent_id: parent,
        name,
        is_folder: true,
        document_id: None,
        ctag: None,
        etag: None,
        content_hash: None,
        round: None,
    }
}

fn file_facts<'a>(
    item: &'a DriveItem,
    name: &'a str,
    document: Uuid,
    hash: Option<&'a str>,
    round: Option<&'a str>,
) -> ItemFacts<'a> {
    ItemFacts {
        item_id: &item.id,
        parent_id: item.parent_id(),
        name,
        is_folder: false,
        document_id: Some(document),
        ctag: item.ctag.as_deref(),
        etag: item.etag.as_deref(),
        content_hash: hash,
        round,
    }
}
