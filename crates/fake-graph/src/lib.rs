//! A stateful fake of the parts of Microsoft Graph that Folio's OneDrive
//! integration uses, faithful to Graph's documented behaviour:
//!
//! - a token endpoint per tenant (client credentials, `.default` scope);
//! - drives with folders and files, `GET …/root/delta` with `@odata.nextLink`
//!   and `@odata.deltaLink`, `410 Gone` with a `Location` to resync from;
//! - `GET …/items/{id}/content` answering `302` to a pre-authenticated URL on
//!   another host (port) that refuses an `Authorization` header;
//! - simple uploads (≤ 4 MiB) and upload sessions whose fragments must be
//!   multiples of 320 KiB, each under 60 MiB, in order, with `Content-Range`;
//! - subscriptions on a drive root only (`changeType: updated`, at most
//!   42,300 minutes), validated against the webhook at creation, renewed with
//!   `PATCH`, and notifications POSTed (with the subscription's clientState)
//!   whenever something in the drive changes;
//! - faults on demand: throttling with `Retry-After`, 410 in mid-paging,
//!   delta lag, duplicated and delayed notifications, dropped subscriptions,
//!   failing upload fragments, upload answers lost after the commit.
//!
//! Tests start it in-process on port 0 and steer it through [`FakeGraph`].

mod api;
mod content;
pub mod demo;
mod local_folder;
mod notify;
mod profile;
pub mod quickxor;
mod state;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use bytes::Bytes;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio::net::TcpListener;
use tokio_util_free::Shutdown;

pub use local_folder::LocalFolder;
pub use profile::Profile;
pub use state::{
    Delivery, FRAGMENT_UNIT, Fragment, GoneLocation, Host, LinkFault, MAX_FRAGMENT,
    MAX_SIMPLE_UPLOAD, MAX_SUBSCRIPTION_MINUTES, Oddity, Refusal, TokenRequest, Upload,
};
use state::{Drive, State};

/// `GRAPH` scope a client-credentials request must ask for.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

mod tokio_util_free {
    //! A tiny shutdown signal (the crate avoids a tokio-util dependency).
    use tokio::sync::watch;

    #[derive(Debug, Clone)]
    pub(crate) struct Shutdown(pub(crate) watch::Sender<bool>);

    impl Shutdown {
        pub(crate) fn new() -> Self {
            Self(watch::channel(false).0)
        }
        pub(crate) async fn wait(&self) {
            let mut rx = self.0.subscribe();
            let _ = rx.wait_for(|stop| *stop).await;
        }
        pub(crate) fn trigger(&self) {
            self.0.send_replace(true);
        }
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) api_base: String,
    pub(crate) content_base: String,
    pub(crate) http: reqwest::Client,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Keeps the W3C `traceparent` a request carries, as a tracing backend would.
pub(crate) async fn record_traceparent(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(value) = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
    {
        shared.lock().stats.traceparents.push(value.to_owned());
    }
    next.run(request).await
}

/// Facts about one item, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemInfo {
    pub id: String,
    pub name: String,
    pub parent: Option<String>,
    pub folder: bool,
    pub size: u64,
    pub ctag: String,
    pub etag: String,
}

/// A live subscription, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionInfo {
    pub id: String,
    pub resource: String,
    pub notification_url: String,
    pub lifecycle_url: Option<String>,
    pub expires: OffsetDateTime,
}

/// A running fake Graph. Dropping it stops its listeners.
#[derive(Debug)]
pub struct FakeGraph {
    shared: Arc<Shared>,
    api_addr: SocketAddr,
    shutdown: Shutdown,
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

impl FakeGraph {
    /// Starts the fake on two loopback ports: the Graph API (and token
    /// endpoint), and the "content host" of pre-authenticated URLs.
    pub async fn start() -> std::io::Result<Self> {
        let api = TcpListener::bind(("127.0.0.1", 0)).await?;
        let content = TcpListener::bind(("127.0.0.1", 0)).await?;
        let api_addr = api.local_addr()?;
        let content_addr = content.local_addr()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new()),
            api_base: format!("http://{api_addr}"),
            content_base: format!("http://{content_addr}"),
            http,
        });
        let shutdown = Shutdown::new();
        for (listener, router) in [
            (api, api::router(shared.clone())),
            (content, content::router(shared.clone())),
        ] {
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async move { stop.wait().await })
                    .await;
            });
        }
        Ok(Self {
            shared,
            api_addr,
            shutdown,
        })
    }

    /// The Graph endpoint, e.g. `http://127.0.0.1:1234/v1.0`.
    pub fn graph_url(&self) -> String {
        format!("http://{}/v1.0", self.api_addr)
    }

    /// The token endpoint template, with `{tenant}` for the tenant.
    pub fn token_url(&self) -> String {
        format!("http://{}/{{tenant}}/oauth2/v2.0/token", self.api_addr)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    /// Plays Graph in a national cloud: tokens must be asked for with this
    /// scope (e.g. `https://graph.microsoft.us/.default`) instead of global
    /// Graph's.
    pub fn expect_scope(&self, scope: &str) {
        self.lock().faults.scope = Some(scope.to_owned());
    }

    /// Registers an app registration in a tenant.
    pub fn add_app(&self, tenant: &str, client_id: &str, secret: &str) {
        self.lock().apps.push(state::App {
            tenant: tenant.to_owned(),
            client_id: client_id.to_owned(),
            secret: secret.to_owned(),
        });
    }

    /// Deletes one client secret of an app (Entra ID keeps several during a
    /// rotation); tokens are then refused for it.
    pub fn revoke_secret(&self, tenant: &str, client_id: &str, secret: &str) {
        self.lock()
            .apps
            .retain(|a| !(a.tenant == tenant && a.client_id == client_id && a.secret == secret));
    }

    /// Creates a drive in a tenant; returns its root's item id.
    pub fn add_drive(&self, tenant: &str, drive: &str) -> String {
        let mut state = self.lock();
        let new = Drive::new(drive, tenant, state.profile);
        let root = new.root.clone();
        state.drives.insert(drive.to_owned(), new);
        root
    }

    /// Which OneDrive drives added from now on behave like (default:
    /// [`Profile::Business`]).
    pub fn set_profile(&self, profile: Profile) {
        self.lock().profile = profile;
    }

    /// Adds a file that is awkward in the way `oddity` says.
    pub fn add_odd_file(
        &self,
        drive: &str,
        parent: &str,
        name: &str,
        content: impl Into<Bytes>,
        oddity: Oddity,
    ) -> String {
        let content = content.into();
        self.change(drive, |d| {
            let id = d.create(parent, name, false, content);
            if let Some(item) = d.items.get_mut(&id) {
                item.oddity = oddity;
            }
            id
        })
    }

    /// Makes an existing file awkward (or ordinary again with
    /// [`Oddity::None`]) and changes its content, as a new upload would.
    pub fn set_odd_content(
        &self,
        drive: &str,
        id: &str,
        content: impl Into<Bytes>,
        oddity: Oddity,
    ) {
        let content = content.into();
        assert!(
            self.change(drive, |d| {
                if let Some(item) = d.items.get_mut(id) {
                    item.oddity = oddity;
                }
                d.set_content(id, content)
            }),
            "fake file {id} exists"
        );
    }

    /// Restores a deleted item from the recycle bin (same id, same folder).
    pub fn restore(&self, drive: &str, id: &str) {
        assert!(
            self.change(drive, |d| d.restore(id)),
            "fake item {id} is in the recycle bin"
        );
    }

    /// Copies an item (a folder with everything below it) into `parent`;
    /// returns the copy's id.
    pub fn copy_item(&self, drive: &str, id: &str, parent: &str) -> String {
        self.change(drive, |d| d.copy(id, parent))
            .expect("fake item to copy exists")
    }

    fn change<T>(&self, drive: &str, f: impl FnOnce(&mut Drive) -> T) -> T {
        let out = {
            let mut state = self.lock();
            let drive = state.drives.get_mut(drive).expect("fake drive exists");
            f(drive)
        };
        notify::changed(&self.shared, drive);
        out
    }

    pub fn add_folder(&self, drive: &str, parent: &str, name: &str) -> String {
        self.change(drive, |d| d.create(parent, name, true, Bytes::new()))
    }

    pub fn add_file(
        &self,
        drive: &str,
        parent: &str,
        name: &str,
        content: impl Into<Bytes>,
    ) -> String {
        let content = content.into();
        self.change(drive, |d| d.create(parent, name, false, content))
    }

    /// Adds many files in one change (one notification), for bulk set-ups.
    pub fn add_files(&self, drive: &str, parent: &str, files: Vec<(String, Bytes)>) -> Vec<String> {
        self.change(drive, |d| {
            files
                .into_iter()
                .map(|(name, content)| d.create(parent, &name, false, content))
                .collect()
        })
    }

    /// New content for a file (a new cTag).
    pub fn set_content(&self, drive: &str, id: &str, content: impl Into<Bytes>) {
        let content = content.into();
        assert!(
            self.change(drive, |d| d.set_content(id, content)),
            "fake file {id} exists"
        );
    }

    /// A new name (a new eTag, the same cTag).
    pub fn rename(&self, drive: &str, id: &str, name: &str) {
        assert!(
            self.change(drive, |d| d.rename(id, name)),
            "fake item {id} exists"
        );
    }

    /// Renames many items in one change (one notification), for bulk tests.
    pub fn rename_many(&self, drive: &str, renames: &[(String, String)]) {
        assert!(
            self.change(drive, |d| renames
                .iter()
                .all(|(id, name)| d.rename(id, name))),
            "fake items exist"
        );
    }

    pub fn move_item(&self, drive: &str, id: &str, parent: &str) {
        assert!(
            self.change(drive, |d| d.move_to(id, parent)),
            "fake item {id} and folder {parent} exist"
        );
    }

    pub fn delete(&self, drive: &str, id: &str) {
        assert!(
            self.change(drive, |d| d.delete(id)),
            "fake item {id} exists"
        );
    }

    pub fn item(&self, drive: &str, id: &str) -> Option<ItemInfo> {
        let state = self.lock();
        let d = state.drives.get(drive)?;
        d.live(id).map(info)
    }

    pub fn content(&self, drive: &str, id: &str) -> Option<Bytes> {
        let state = self.lock();
        state
            .drives
            .get(drive)?
            .live(id)
            .filter(|i| !i.folder)
            .map(|i| i.content.clone())
    }

    /// The live children of a folder, by name.
    pub fn children(&self, drive: &str, parent: &str) -> Vec<ItemInfo> {
        let state = self.lock();
        let Some(d) = state.drives.get(drive) else {
            return Vec::new();
        };
        let mut items: Vec<ItemInfo> = d
            .items
            .values()
            .filter(|i| !i.deleted && i.parent.as_deref() == Some(parent))
            .map(info)
            .collect();
        items.sort_by(|a, b| a.name.cmp(&b.name));
        items
    }

    pub fn subscriptions(&self) -> Vec<SubscriptionInfo> {
        let now = OffsetDateTime::now_utc();
        let state = self.lock();
        let mut subs: Vec<SubscriptionInfo> = state
            .subscriptions
            .values()
            .filter(|s| s.expires > now)
            .map(|s| SubscriptionInfo {
                id: s.id.clone(),
                resource: s.resource.clone(),
                notification_url: s.notification_url.clone(),
                lifecycle_url: s.lifecycle_url.clone(),
                expires: s.expires,
            })
            .collect();
        subs.sort_by(|a, b| a.id.cmp(&b.id));
        subs
    }

    /// Removes a subscription without telling anyone (Graph sends no
    /// `subscriptionRemoved` for drives).
    pub fn drop_subscription(&self, id: &str) -> bool {
        self.lock().subscriptions.remove(id).is_some()
    }

    /// Sends a lifecycle notification (`reauthorizationRequired`, …).
    pub fn send_lifecycle(&self, subscription: &str, event: &str) {
        notify::lifecycle(&self.shared, subscription, event);
    }

    // ---- faults ----

    /// The next delta paging of `drive` answers `410 Gone` at page `page` (0 = first).
    pub fn gone_at_page(&self, drive: &str, page: usize) {
        self.gone_at_page_to(drive, page, GoneLocation::Graph);
    }

    /// Like [`Self::gone_at_page`], with the `Location` the answer carries.
    pub fn gone_at_page_to(&self, drive: &str, page: usize, location: GoneLocation) {
        self.lock()
            .faults
            .gone_at_page
            .insert(drive.to_owned(), (page, location));
    }

    /// Delta paging of `drive` misbehaves this way from now on (`None`: stops).
    pub fn set_link_fault(&self, drive: &str, fault: Option<LinkFault>) {
        let mut state = self.lock();
        match fault {
            Some(f) => state.faults.link_faults.insert(drive.to_owned(), f),
            None => state.faults.link_faults.remove(drive),
        };
    }

    /// The next `requests` requests to `host` answer 429 with this
    /// `Retry-After` value as is (`"2.128"`, or an HTTP date).
    pub fn throttle_host(&self, host: Host, requests: u32, retry_after: &str) {
        self.lock()
            .faults
            .throttle_raw
            .insert(host, (requests, retry_after.to_owned()));
    }

    /// Every token issued so far stops working now (as when Entra revokes
    /// them, or they expire before the client expected).
    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    /// The next `requests` Graph API requests answer `status` (429 or 503)
    /// with `Retry-After: retry_after_secs`.
    pub fn throttle(&self, requests: u32, retry_after_secs: u64, status: u16) {
        self.lock().faults.throttle = Some((requests, retry_after_secs, status));
    }

    /// The next `requests` Graph API requests answer `status` with the
    /// error `code`, e.g. 507 `quotaLimitReached` or 500 `generalException`.
    pub fn refuse_next_requests(&self, requests: u32, status: u16, code: &str) {
        self.lock().faults.refuse = Some((requests, status, code.to_owned()));
    }

    /// Changes younger than `lag` do not show in delta yet.
    pub fn set_delta_lag(&self, lag: Duration) {
        self.lock().faults.delta_lag = lag;
    }

    /// Each notification is POSTed this many times.
    pub fn set_notification_copies(&self, copies: u32) {
        self.lock().faults.copies = copies.max(1);
    }

    /// Notifications are POSTed this long after the change.
    pub fn set_notification_delay(&self, delay: Duration) {
        self.lock().faults.notify_delay = delay;
    }

    /// The next `n` upload fragments are refused with 500 (nothing stored).
    pub fn fail_next_fragments(&self, n: u32) {
        self.lock().faults.fail_fragments = n;
    }

    /// The next upload fragment arrives only in part: its first `keep` bytes
    /// are stored and the PUT fails with 500, as when a connection breaks
    /// mid-body; with `forget`, the session also loses that byte range of
    /// what it had, so its `nextExpectedRanges` lists several, unaligned ranges.
    pub fn cut_next_fragment(&self, keep: u64, forget: Option<(u64, u64)>) {
        self.lock().faults.cut_fragment = Some((keep, forget));
    }

    /// Uploads are stored (and notified) at once but answered only after
    /// `delay`: a slow upload whose file OneDrive already shows.
    pub fn set_upload_answer_delay(&self, delay: Duration) {
        self.lock().faults.upload_answer_delay = delay;
    }

    /// The next `n` uploads that complete (a simple PUT, or an upload
    /// session's last fragment) create or change the file and notify as
    /// usual, then answer `504 Gateway Timeout`: the answer is lost after
    /// OneDrive committed, as when a gateway times out on a slow commit.
    pub fn lose_next_upload_answers(&self, n: u32) {
        self.lock().faults.lose_upload_answers = n;
    }

    /// Every Graph API request is answered `delay` later (a slow Graph).
    pub fn set_api_delay(&self, delay: Duration) {
        self.lock().faults.api_delay = delay;
    }

    /// Items per delta page (default 200).
    pub fn set_page_size(&self, size: usize) {
        self.lock().faults.page_size = size.max(1);
    }

    /// `expires_in` of issued tokens (default 3599 s).
    pub fn set_token_lifetime(&self, secs: u64) {
        self.lock().faults.token_lifetime = secs;
    }

    // ---- what happened ----

    /// The `traceparent` headers requests carried, oldest first.
    pub fn traceparents(&self) -> Vec<String> {
        self.lock().stats.traceparents.clone()
    }

    /// Content requests (`…/content`) for one item.
    pub fn downloads_of(&self, item: &str) -> u64 {
        self.lock().stats.downloads.get(item).copied().unwrap_or(0)
    }

    /// Content requests for all items.
    pub fn downloads(&self) -> u64 {
        self.lock().stats.downloads.values().sum()
    }

    /// Delta requests that started a full enumeration (no token).
    pub fn full_enumerations(&self) -> u64 {
        self.lock().stats.full_enumerations
    }

    pub fn children_requests(&self) -> u64 {
        self.lock().stats.children_requests
    }

    /// API requests refused with 401 for a bad or expired token.
    pub fn unauthorized_requests(&self) -> u64 {
        self.lock().stats.unauthorized
    }

    pub fn token_requests(&self) -> u64 {
        self.lock().stats.token_requests
    }

    /// Every token request with the client secret it carried, oldest first.
    pub fn token_grants(&self) -> Vec<TokenRequest> {
        self.lock().stats.token_grants.clone()
    }

    pub fn delta_requests(&self) -> u64 {
        self.lock().stats.delta_requests
    }

    pub fn throttled_requests(&self) -> u64 {
        self.lock().stats.throttled
    }

    pub fn gone_answers(&self) -> u64 {
        self.lock().stats.gone
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().stats.deliveries.clone()
    }

    pub fn fragments(&self) -> Vec<Fragment> {
        self.lock().stats.fragments.clone()
    }

    /// Every upload that completed, as the fake received it, oldest first.
    pub fn uploads(&self) -> Vec<Upload> {
        self.lock().stats.uploads.clone()
    }

    /// Uploads refused with 412 because their `If-Match` was stale.
    pub fn refusals(&self) -> Vec<Refusal> {
        self.lock().stats.refusals.clone()
    }

    /// `GET /subscriptions/{id}` requests (also those answered 404).
    pub fn subscription_reads(&self) -> u64 {
        self.lock().stats.subscription_reads
    }

    pub fn simple_uploads(&self) -> u64 {
        self.lock().stats.simple_uploads
    }

    /// Requests to pre-authenticated URLs that wrongly carried `Authorization`.
    pub fn preauthenticated_with_authorization(&self) -> u64 {
        self.lock().stats.preauthenticated_with_authorization
    }

    /// POSTs every change notification sent so far again, newest first (a
    /// late, reordered redelivery); returns the webhook's status codes.
    pub async fn replay_notifications(&self) -> Vec<u16> {
        let sent = self.lock().stats.sent.clone();
        let mut statuses = Vec::new();
        for (url, body) in sent.into_iter().rev() {
            let status = self
                .shared
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .map_or(0, |r| r.status().as_u16());
            statuses.push(status);
        }
        statuses
    }

    /// Successful webhook validation handshakes.
    pub fn validations(&self) -> u64 {
        self.lock().stats.validations
    }
}

fn info(i: &state::Item) -> ItemInfo {
    ItemInfo {
        id: i.id.clone(),
        name: i.name.clone(),
        parent: i.parent.clone(),
        folder: i.folder,
        size: i.content.len() as u64,
        ctag: i.ctag(),
        etag: i.etag(),
    }
}
