//! Document list pages this replica has answered, each kept with the library
//! revision it shows (docs/adr/0081). A kept page is answered again only once
//! the documents service has said, in a check that began after the request
//! arrived, that the organisation's revision is still the page's: a change
//! committed before a request is never missed, whichever replica served the
//! change. Requests share checks: one that arrives while its organisation's
//! check is under way waits for the next one rather than starting its own,
//! so the service sees about one check per organisation per round trip,
//! however many requests there are.

use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use bytes::Bytes;
use tokio::sync::watch;
use tracing::Instrument as _;
use uuid::Uuid;

/// At most this many bytes of pages are kept, and a page larger than
/// [`MAX_PAGE_BYTES`] is not kept at all.
const MAX_BYTES: usize = 16 * 1024 * 1024;
const MAX_PAGE_BYTES: usize = 512 * 1024;
const MAX_PAGES: usize = 4096;

/// What selects a page: the organisation and everything the request names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PageKey {
    pub org_id: Uuid,
    pub query: String,
    pub tag: String,
    pub task_status: i32,
    pub cursor: String,
    pub limit: u32,
}

/// A page as the client receives it, and the revision it shows.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub revision: u64,
    pub body: Bytes,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct LibraryPages {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    pages: Mutex<Pages>,
    checks: Mutex<HashMap<Uuid, Arc<Checks>>>,
    /// One fetch at a time per page that moved: there while anyone holds or
    /// waits for its turn.
    fetches: Mutex<HashMap<PageKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl LibraryPages {
    /// The page for `key`: the kept one while `check` confirms its revision,
    /// else a fresh one from `fetch` (then kept). A failed check is a miss,
    /// so the caller sees `fetch`'s own error when the service is down.
    pub(crate) async fn page<E, C, F>(
        &self,
        key: PageKey,
        check: impl FnOnce() -> C,
        fetch: impl FnOnce() -> F,
    ) -> Result<Bytes, E>
    where
        C: Future<Output = Result<u64, E>> + Send + 'static,
        F: Future<Output = Result<Page, E>>,
    {
        let checks = self.checks(key.org_id);
        // Taken before anything else: only a check begun after this counts.
        let arrived = checks.begun.load(Ordering::SeqCst);
        let Some(kept) = self.kept(&key) else {
            return self.fetch(key, fetch).await;
        };
        let Some(revision) = checks.current(arrived, check).await else {
            return self.fetch(key, fetch).await;
        };
        if kept.revision >= revision {
            return Ok(kept.body);
        }
        // The page moved. The requests that saw it move take turns to fetch
        // it, and one that finds a page kept meanwhile showing at least
        // `revision` takes that: it shows every change its check saw, so
        // after a change the service sees about one fetch, not one per
        // request in flight.
        let _turn = self.turn(&key).await;
        match self.kept(&key) {
            Some(kept) if kept.revision >= revision => Ok(kept.body),
            _ => self.fetch(key, fetch).await,
        }
    }

    async fn fetch<E, F>(&self, key: PageKey, fetch: impl FnOnce() -> F) -> Result<Bytes, E>
    where
        F: Future<Output = Result<Page, E>>,
    {
        let page = fetch().await?;
        let body = page.body.clone();
        lock(&self.inner.pages).keep(key, page);
        Ok(body)
    }

    async fn turn(&self, key: &PageKey) -> Turn {
        let fetches = Arc::clone(lock(&self.inner.fetches).entry(key.clone()).or_default());
        Turn {
            held: Some(fetches.lock_owned().await),
            key: key.clone(),
            pages: self.clone(),
        }
    }

    fn kept(&self, key: &PageKey) -> Option<Page> {
        lock(&self.inner.pages).map.get(key).cloned()
    }

    fn checks(&self, org_id: Uuid) -> Arc<Checks> {
        Arc::clone(lock(&self.inner.checks).entry(org_id).or_default())
    }
}

/// A request's turn to fetch a page. Given back when dropped, however the
/// request ends; the last to give a page's turn back removes it.
struct Turn {
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
    key: PageKey,
    pages: LibraryPages,
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.held.take());
        let mut fetches = lock(&self.pages.inner.fetches);
        // Only the map holds it: no one has or waits for this turn, and no
        // one can take it while the map is locked.
        if fetches
            .get(&self.key)
            .is_some_and(|turn| Arc::strong_count(turn) == 1)
        {
            fetches.remove(&self.key);
        }
    }
}

/// A panic elsewhere leaves the maps consistent: every change is one call.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One organisation's revision checks: how many have begun, and the latest
/// outcome with the number of the check that produced it.
#[derive(Debug)]
struct Checks {
    begun: AtomicU64,
    leader: Arc<tokio::sync::Mutex<()>>,
    outcome: watch::Sender<(u64, Option<u64>)>,
}

impl Default for Checks {
    fn default() -> Self {
        Self {
            begun: AtomicU64::new(0),
            leader: Arc::default(),
            outcome: watch::Sender::new((0, None)),
        }
    }
}

impl Checks {
    /// The revision, from a check begun after `arrived` checks had begun.
    /// The check runs as its own task, so a request that goes away while
    /// leading one leaves it to finish for those waiting on it.
    async fn current<E, C>(&self, arrived: u64, check: impl FnOnce() -> C) -> Option<u64>
    where
        C: Future<Output = Result<u64, E>> + Send + 'static,
    {
        let mut check = Some(check);
        let mut outcomes = self.outcome.subscribe();
        loop {
            let (number, revision) = *outcomes.borrow_and_update();
            if number > arrived {
                return revision;
            }
            if let Ok(leading) = Arc::clone(&self.leader).try_lock_owned() {
                let number = self.begun.fetch_add(1, Ordering::SeqCst) + 1;
                let asked = check.take()?();
                let outcome = self.outcome.clone();
                // In the leader's span: the check is traced as its call.
                let task = tokio::spawn(
                    async move {
                        let revision = asked.await.ok();
                        // Released before the outcome is sent: a waiter that
                        // sees the old outcome then finds the lock free.
                        drop(leading);
                        outcome.send_replace((number, revision));
                        revision
                    }
                    .in_current_span(),
                );
                return task.await.ok().flatten();
            }
            // The lock is held: its holder sends an outcome after this.
            if outcomes.changed().await.is_err() {
                return None;
            }
        }
    }
}

/// The kept pages, the oldest kept first out when the bounds are reached.
#[derive(Debug, Default)]
struct Pages {
    map: HashMap<PageKey, Page>,
    order: VecDeque<PageKey>,
    bytes: usize,
}

impl Pages {
    fn keep(&mut self, key: PageKey, page: Page) {
        if page.body.len() > MAX_PAGE_BYTES {
            return;
        }
        match self.map.get_mut(&key) {
            // Two fetches raced: keep the one that shows more.
            Some(kept) if kept.revision > page.revision => return,
            Some(kept) => {
                self.bytes = self.bytes - kept.body.len() + page.body.len();
                *kept = page;
            }
            None => {
                self.bytes += page.body.len();
                self.order.push_back(key.clone());
                self.map.insert(key, page);
            }
        }
        while self.bytes > MAX_BYTES || self.map.len() > MAX_PAGES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(gone) = self.map.remove(&oldest) {
                self.bytes -= gone.body.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::atomic::AtomicUsize, time::Duration};

    use super::*;

    fn key(org_id: Uuid, query: &str) -> PageKey {
        PageKey {
            org_id,
            query: query.to_owned(),
            tag: String::new(),
            task_status: 0,
            cursor: String::new(),
            limit: 0,
        }
    }

    fn page(revision: u64, body: &str) -> Page {
        Page {
            revision,
            body: Bytes::from(body.to_owned()),
        }
    }

    type Outcome = Result<Bytes, &'static str>;

    async fn serve(pages: &LibraryPages, key: PageKey, revision: u64, body: &str) -> Outcome {
        let fresh = page(revision, body);
        pages
            .page(
                key,
                move || async move { Ok(revision) },
                move || async move { Ok(fresh) },
            )
            .await
    }

    /// A request for `org`'s page in a task of its own, checked by `check`
    /// and fetched by `fetch`.
    fn spawn_page<C, F>(
        pages: &LibraryPages,
        org: Uuid,
        check: impl FnOnce() -> C + Send + 'static,
        fetch: impl FnOnce() -> F + Send + 'static,
    ) -> tokio::task::JoinHandle<Outcome>
    where
        C: Future<Output = Result<u64, &'static str>> + Send + 'static,
        F: Future<Output = Result<Page, &'static str>> + Send,
    {
        let pages = pages.clone();
        tokio::spawn(async move { pages.page(key(org, ""), check, fetch).await })
    }

    /// [`spawn_page`] with a fetch that answers "fetched".
    fn spawn_request<C>(
        pages: &LibraryPages,
        org: Uuid,
        check: impl FnOnce() -> C + Send + 'static,
    ) -> tokio::task::JoinHandle<Outcome>
    where
        C: Future<Output = Result<u64, &'static str>> + Send + 'static,
    {
        spawn_page(pages, org, check, || async { Ok(page(0, "fetched")) })
    }

    #[tokio::test]
    async fn a_kept_page_is_served_while_its_revision_holds_and_fetched_when_it_moves() {
        let pages = LibraryPages::default();
        let org = Uuid::now_v7();
        assert_eq!(
            serve(&pages, key(org, ""), 3, "first").await.unwrap(),
            "first"
        );
        // Same revision: the kept page, not the fetcher's.
        assert_eq!(
            serve(&pages, key(org, ""), 3, "second").await.unwrap(),
            "first"
        );
        // The revision moved: fetched again, and kept.
        assert_eq!(
            serve(&pages, key(org, ""), 4, "third").await.unwrap(),
            "third"
        );
        assert_eq!(
            serve(&pages, key(org, ""), 4, "fourth").await.unwrap(),
            "third"
        );
    }

    #[tokio::test]
    async fn pages_are_kept_per_organisation_and_per_request() {
        let pages = LibraryPages::default();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        serve(&pages, key(a, ""), 1, "a").await.unwrap();
        assert_eq!(serve(&pages, key(b, ""), 1, "b").await.unwrap(), "b");
        assert_eq!(serve(&pages, key(a, "q"), 1, "a-q").await.unwrap(), "a-q");
        assert_eq!(serve(&pages, key(a, ""), 1, "x").await.unwrap(), "a");
    }

    #[tokio::test]
    async fn a_failed_check_fetches_and_a_failed_fetch_keeps_nothing() {
        let pages = LibraryPages::default();
        let org = Uuid::now_v7();
        serve(&pages, key(org, ""), 1, "kept").await.unwrap();
        let fresh = page(1, "fresh");
        let got = pages
            .page(
                key(org, ""),
                || async { Err("documents is down") },
                move || async move { Ok(fresh) },
            )
            .await;
        assert_eq!(got.unwrap(), "fresh");
        let other = key(org, "other");
        let failed: Outcome = pages
            .page(
                other.clone(),
                || async { Ok(1) },
                || async { Err("documents is down") },
            )
            .await;
        assert_eq!(failed.unwrap_err(), "documents is down");
        assert!(pages.kept(&other).is_none());
    }

    /// The race the shared checks must not lose: a change commits while a
    /// check is under way, and a request arrives after the commit. The
    /// check under way may have read the old revision; the request must not
    /// take its answer.
    #[tokio::test]
    async fn a_check_begun_before_a_request_arrived_does_not_answer_it() {
        let pages = LibraryPages::default();
        let org = Uuid::now_v7();
        serve(&pages, key(org, ""), 1, "old").await.unwrap();

        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let first = spawn_request(&pages, org, move || async move {
            // Read the old revision, then stall.
            let _ = released.await;
            Ok(1)
        });
        // The first check is under way; the change commits (revision 2);
        // then the second request arrives.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second = {
            let pages = pages.clone();
            tokio::spawn(async move { serve(&pages, key(org, ""), 2, "new").await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), "old");
        assert_eq!(second.await.unwrap().unwrap(), "new");
    }

    #[tokio::test]
    async fn many_requests_at_once_share_a_few_checks() {
        let pages = LibraryPages::default();
        let org = Uuid::now_v7();
        serve(&pages, key(org, ""), 7, "kept").await.unwrap();
        let checks = Arc::new(AtomicUsize::new(0));
        let requests: Vec<_> = (0..64)
            .map(|_| {
                let checks = Arc::clone(&checks);
                spawn_request(&pages, org, move || async move {
                    checks.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(7)
                })
            })
            .collect();
        for request in requests {
            assert_eq!(request.await.unwrap().unwrap(), "kept");
        }
        let checks = checks.load(Ordering::SeqCst);
        assert!((1..=2).contains(&checks), "{checks} checks for 64 requests");
    }

    /// After a change, every request in flight sees the page move; they
    /// share one fetch instead of each asking for the page.
    #[tokio::test]
    async fn requests_that_see_a_page_move_share_its_fetch() {
        let pages = LibraryPages::default();
        let org = Uuid::now_v7();
        serve(&pages, key(org, ""), 7, "old").await.unwrap();
        let fetches = Arc::new(AtomicUsize::new(0));
        let requests: Vec<_> = (0..64)
            .map(|_| {
                let fetches = Arc::clone(&fetches);
                spawn_page(
                    &pages,
                    org,
                    || async { Ok(8) },
                    move || async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(page(8, "new"))
                    },
                )
            })
            .collect();
        for request in requests {
            assert_eq!(request.await.unwrap().unwrap(), "new");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert!(
            lock(&pages.inner.fetches).is_empty(),
            "turns are given back"
        );
    }

    /// A request whose check saw a later revision than the page another
    /// request is fetching does not take that page: it fetches its own.
    #[tokio::test]
    async fn a_fetch_that_shows_less_than_a_request_saw_does_not_answer_it() {
        let pages = LibraryPages::default();
        let org = Uuid::now_v7();
        serve(&pages, key(org, ""), 1, "one").await.unwrap();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let first = spawn_page(
            &pages,
            org,
            || async { Ok(2) },
            move || async move {
                let _ = released.await;
                Ok(page(2, "two"))
            },
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Revision 3 commits; a request arrives while revision 2's page is
        // being fetched.
        let second = {
            let pages = pages.clone();
            tokio::spawn(async move { serve(&pages, key(org, ""), 3, "three").await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), "two");
        assert_eq!(second.await.unwrap().unwrap(), "three");
    }

    /// A request that goes away during its turn gives the turn back.
    #[tokio::test]
    async fn a_request_that_goes_away_mid_fetch_gives_its_turn_back() {
        let pages = LibraryPages::default();
        let org = Uuid::now_v7();
        serve(&pages, key(org, ""), 1, "one").await.unwrap();
        let stalled = spawn_page(&pages, org, || async { Ok(2) }, std::future::pending);
        tokio::time::sleep(Duration::from_millis(50)).await;
        stalled.abort();
        let _ = stalled.await;
        let served = tokio::time::timeout(
            Duration::from_secs(5),
            serve(&pages, key(org, ""), 2, "two"),
        )
        .await
        .expect("the turn was given back");
        assert_eq!(served.unwrap(), "two");
        assert!(lock(&pages.inner.fetches).is_empty());
    }

    #[tokio::test]
    async fn a_leader_that_goes_away_leaves_its_check_to_those_waiting() {
        let pages = LibraryPages::default();
        let org = Uuid::now_v7();
        serve(&pages, key(org, ""), 5, "kept").await.unwrap();
        let leader = spawn_request(&pages, org, || async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(5)
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let waiter = {
            let pages = pages.clone();
            tokio::spawn(async move { serve(&pages, key(org, ""), 5, "fetched").await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        leader.abort();
        let served = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter is not left hanging");
        assert_eq!(served.unwrap().unwrap(), "kept");
    }

    #[test]
    fn the_bounds_hold_the_oldest_go_first_and_a_stale_fetch_does_not_replace_a_newer_page() {
        let mut pages = Pages::default();
        let org = Uuid::now_v7();
        pages.keep(key(org, "big"), page(1, &"x".repeat(MAX_PAGE_BYTES + 1)));
        assert!(pages.map.is_empty());
        for n in 0..=MAX_PAGES {
            pages.keep(key(org, &n.to_string()), page(1, "p"));
        }
        assert_eq!(pages.map.len(), MAX_PAGES);
        assert!(!pages.map.contains_key(&key(org, "0")));
        assert!(pages.map.contains_key(&key(org, &MAX_PAGES.to_string())));
        let big = "y".repeat(MAX_PAGE_BYTES);
        for n in 0..(MAX_BYTES / MAX_PAGE_BYTES + 4) {
            pages.keep(key(org, &format!("big{n}")), page(1, &big));
        }
        assert!(pages.bytes <= MAX_BYTES);
        assert_eq!(
            pages.bytes,
            pages.map.values().map(|p| p.body.len()).sum::<usize>()
        );
        pages.keep(key(org, "r"), page(9, "newer"));
        pages.keep(key(org, "r"), page(8, "older"));
        assert_eq!(pages.map[&key(org, "r")].body, "newer");
    }
}
