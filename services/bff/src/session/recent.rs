//! A short in-process memory of answers another process vouched for (a
//! session Redis returned, a user the users service returned), so that a
//! burst of requests with one cookie costs one round trip per
//! [`RECENT_FOR`] instead of one per request (docs/adr/0075).
//!
//! What this bff changes it forgets at once; a change made through another
//! replica or service (a logout, a disable, a role change) is seen here
//! within [`RECENT_FOR`]. The map is bounded: past [`RECENT_CAPACITY`]
//! entries the stale ones go, and if none are stale, all of them.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

/// How long an answer is used without asking again: the bound on how late
/// this replica sees a change made elsewhere.
pub const RECENT_FOR: Duration = Duration::from_secs(1);
/// Entries kept at most (a session is a few hundred bytes).
pub const RECENT_CAPACITY: usize = 100_000;

#[derive(Debug)]
pub struct Recent<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
    ttl: Duration,
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> Default for Recent<K, V> {
    fn default() -> Self {
        Self::new(RECENT_FOR, RECENT_CAPACITY)
    }
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ttl,
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, (V, Instant)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value kept for `key`, if it was vouched for within the TTL.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entries = self.lock();
        let (value, at) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub fn put(&self, key: K, value: V) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            let ttl = self.ttl;
            entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (value, Instant::now()));
    }

    pub fn forget<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.lock().remove(key);
    }

    /// Forgets every entry whose value `matches`.
    pub fn forget_where(&self, matches: impl Fn(&V) -> bool) {
        self.lock().retain(|_, (value, _)| !matches(value));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_kept_for_its_ttl_only() {
        let recent = Recent::new(Duration::from_millis(50), 10);
        recent.put("a".to_owned(), 1);
        assert_eq!(recent.get("a"), Some(1));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(recent.get("a"), None);
    }

    #[test]
    fn forgetting_is_immediate() {
        let recent = Recent::new(Duration::from_secs(60), 10);
        recent.put("a".to_owned(), 1);
        recent.put("b".to_owned(), 2);
        recent.forget("a");
        recent.forget_where(|v| *v == 2);
        assert_eq!((recent.get("a"), recent.get("b")), (None, None));
    }

    #[test]
    fn the_map_never_grows_past_its_capacity() {
        let recent = Recent::new(Duration::from_secs(60), 3);
        for i in 0..10 {
            recent.put(i, i);
            assert!(recent.len() <= 3);
        }
        assert_eq!(recent.get(&9), Some(9));
    }
}
