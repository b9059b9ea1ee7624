//! The integration's use cases: connecting, the delta sync worker, the
//! subscription reconciler, and sending documents to OneDrive. Every piece of
//! Graph work on a connection happens under that connection's lease, so two
//! replicas never run two deltas of one drive at once (docs/adr/0022).

mod conflicts;
mod connect;
mod gauges;
mod reconcile;
mod send;
mod sync;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use folio_platform::{
    actor::{Actor, ActorRole},
    clock::now_millis,
    db::Database,
};
use tokio::sync::Notify;
use url::Url;
use uuid::Uuid;

pub(crate) use send::Sent;

/// What a connection mirrors, for people: documents mirrored, the delta
/// paging's progress and the files it skips.
#[derive(Debug, Clone, Default)]
pub struct MirrorStatus {
    pub mirrored: u64,
    pub progress: crate::store::progress::Progress,
    pub skipped: Vec<crate::store::skipped::Skipped>,
    pub skipped_total: u64,
    /// When the oldest notification still waiting arrived (epoch ms).
    pub oldest_waiting: Option<i64>,
    pub open_conflicts: u64,
}

use crate::{
    documents::{Documents, DocumentsError},
    domain::Connection,
    error::Error,
    graph::{Credentials, Graph, GraphError},
    secrets::{ClientSecretError, ClientSecrets},
    settings::Timing,
    store::connections,
};

/// Everything the use cases need; shared by the API, the worker and the reconciler.
#[derive(Debug)]
pub struct Engine {
    db: Database,
    graph: Graph,
    documents: Documents,
    client_secrets: ClientSecrets,
    timing: Timing,
    notification_url: Url,
    lifecycle_url: Url,
    wake_sync: Notify,
    wake_reconcile: Notify,
    /// Set when the process stops: syncs end at the next page boundary.
    draining: AtomicBool,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// What went wrong in background work, described for `last_error` without
/// internal detail or secrets.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WorkError {
    #[error("{0}")]
    Graph(#[from] GraphError),
    #[error("{0}")]
    Documents(#[from] DocumentsError),
    #[error("{0}")]
    Store(#[from] Error),
    #[error("{0}")]
    Secret(#[from] ClientSecretError),
    #[error("another worker took over this connection")]
    LeaseLost,
    /// The process stops; the sync ended at a page boundary, progress kept.
    #[error("stopping")]
    Stopping,
}

impl From<sqlx::Error> for WorkError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(Error::Database(e))
    }
}

impl WorkError {
    /// A short text for people (stored as the connection's last error).
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Graph(GraphError::Credentials(_)) => {
                "Microsoft Graph refused the app credentials".to_owned()
            }
            Self::Graph(GraphError::Throttled(d)) => {
                format!(
                    "Microsoft Graph is throttling requests; paused for {} s",
                    d.as_secs()
                )
            }
            Self::Graph(GraphError::Unauthorized) => {
                "Microsoft Graph refused a new access token".to_owned()
            }
            Self::Graph(GraphError::Unavailable(_)) => "Microsoft Graph is unreachable".to_owned(),
            Self::Graph(GraphError::NotFound) => "the drive or folder no longer exists".to_owned(),
            Self::Graph(GraphError::Refused { status, code }) => {
                format!("Microsoft Graph refused a request ({status} {code})")
            }
            Self::Graph(GraphError::Gone { .. }) => {
                "Microsoft Graph kept asking for a resync".to_owned()
            }
            Self::Graph(GraphError::Malformed(what)) => {
                format!("Microsoft Graph answered unexpectedly ({what})")
            }
            Self::Documents(DocumentsError::Unavailable) => {
                "the documents service is unavailable".to_owned()
            }
            Self::Documents(e) => e.to_string(),
            Self::Store(_) => "internal error".to_owned(),
            Self::Secret(ClientSecretError::Missing | ClientSecretError::Sealed) => {
                "the client secret cannot be used; an admin must enter it again".to_owned()
            }
            Self::Secret(ClientSecretError::Store(_)) => {
                "the client secret store is unavailable".to_owned()
            }
            Self::LeaseLost | Self::Stopping => "interrupted".to_owned(),
        }
    }
}

/// A claim on a connection; renewed in the background while work goes on.
#[derive(Debug)]
pub(crate) struct Lease {
    id: Uuid,
    token: String,
    duration: Duration,
    lost: Arc<AtomicBool>,
}

/// Renews a lease every third of its duration until dropped.
#[derive(Debug)]
pub(crate) struct KeepAlive(tokio::task::JoinHandle<()>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Lease {
    fn new(id: Uuid, duration: Duration) -> Self {
        Self {
            id,
            token: Uuid::new_v4().to_string(),
            duration,
            lost: Arc::new(AtomicBool::new(false)),
        }
    }

    fn until(&self, now: i64) -> i64 {
        now + millis(self.duration)
    }
}

impl Engine {
    pub fn new(
        db: Database,
        graph: Graph,
        documents: Documents,
        client_secrets: ClientSecrets,
        timing: Timing,
        public_url: &Url,
    ) -> Result<Self, url::ParseError> {
        let base = public_url.as_str().trim_end_matches('/').to_owned();
        Ok(Self {
            db,
            graph,
            documents,
            client_secrets,
            timing,
            notification_url: Url::parse(&format!("{base}/api/v1/onedrive/notifications"))?,
            lifecycle_url: Url::parse(&format!("{base}/api/v1/onedrive/lifecycle"))?,
            wake_sync: Notify::new(),
            wake_reconcile: Notify::new(),
            draining: AtomicBool::new(false),
        })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// See [`Timing::notification_gap`].
    pub(crate) fn notification_gap_millis(&self) -> i64 {
        millis(self.timing.notification_gap)
    }

    /// Something is due: the worker of this process looks now.
    pub fn wake_sync(&self) {
        self.wake_sync.notify_one();
    }

    pub fn wake_reconcile(&self) {
        self.wake_reconcile.notify_one();
    }

    async fn credentials(&self, conn: &Connection) -> Result<Credentials, WorkError> {
        // By the connection's organisation only: nothing a request says
        // can point at another organisation's secret.
        let secret = self.client_secrets.get(&self.db, conn.org_id).await?;
        Ok(Credentials {
            tenant: conn.tenant_id.clone(),
            app_id: conn.app_id.clone(),
            secret,
        })
    }

    /// The user the integration acts as in documents: whoever connected,
    /// with no more than editor rights (docs/adr/0020).
    fn actor(conn: &Connection) -> Actor {
        Actor {
            user_id: conn.actor_id,
            org_id: conn.org_id,
            role: ActorRole::Editor,
        }
    }

    /// Takes the lease of a connection if nobody holds it.
    async fn try_lease(&self, id: Uuid, sync: bool) -> Result<Option<(Lease, i64)>, Error> {
        let lease = Lease::new(id, self.timing.lease);
        let now = now_millis();
        let until = lease.until(now);
        let mut db = self.db.pool.acquire().await?;
        Ok(
            connections::claim(&mut db, id, &lease.token, until, now, sync)
                .await?
                .then_some((lease, until)),
        )
    }

    /// Waits up to `wait` for the lease of a connection.
    async fn lease(&self, id: Uuid, wait: Duration) -> Result<Lease, Error> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some((lease, _)) = self.try_lease(id, false).await? {
                return Ok(lease);
            }
            if Instant::now() >= deadline {
                return Err(Error::Busy);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Keeps the lease alive while the returned guard lives; marks it lost
    /// when another worker has it.
    fn keep_alive(&self, lease: &Lease) -> KeepAlive {
        let (db, id, token, duration, lost) = (
            self.db.clone(),
            lease.id,
            lease.token.clone(),
            lease.duration,
            lease.lost.clone(),
        );
        KeepAlive(tokio::spawn(async move {
            loop {
                tokio::time::sleep(duration / 3).await;
                let until = now_millis() + millis(duration);
                let renewed = match db.pool.acquire().await {
                    Ok(mut conn) => connections::heartbeat(&mut conn, id, &token, until).await,
                    Err(e) => Err(e.into()),
                };
                match renewed {
                    Ok(true) => {}
                    Ok(false) => {
                        lost.store(true, Ordering::SeqCst);
                        return;
                    }
                    // A database hiccup: try again; the lease outlives it.
                    Err(error) => tracing::warn!(%error, "cannot renew a lease"),
                }
            }
        }))
    }

    /// Fails when the lease was lost, so the work stops before recording anything.
    fn beat(&self, lease: &Lease) -> Result<(), WorkError> {
        if lease.lost.load(Ordering::SeqCst) {
            Err(WorkError::LeaseLost)
        } else {
            Ok(())
        }
    }

    async fn release(&self, lease: Lease) {
        let released = async {
            let mut db = self.db.pool.acquire().await?;
            connections::release(&mut db, lease.id, &lease.token).await
        }
        .await;
        if let Err(error) = released {
            tracing::warn!(%error, "could not release a lease; it lapses by itself");
        }
    }
}
