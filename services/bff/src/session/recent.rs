//! A short in-process memory of answers another process vouched for (a
//! session Redis returned, a user the users service returned), so that a
//! burst of requests with one cookie costs one round trip per
//! [`RECENT_FOR`] instead of one per request (docs/adr/0075).
//!
//! What this bff changes it forgets at once; a change made through another
//! replica or service (a logout, a disable, a role change) is seen here
//! within [`RECENT_FOR`]. An answer read while something was forgotten is
//! not kept (it may predate the change). The map is bounded: past [`RECENT_CAPACITY`]
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
const RECENT_CAPACITY: usize = 100_000;

#[derive(Debug)]
pub struct Recent<K, V> {
    entries: Mutex<Entries<K, V>>,
    ttl: Duration,
    capacity: usize,
}

#[derive(Debug)]
struct Entries<K, V> {
    map: HashMap<K, (V, Instant)>,
    /// Counts forgetting: an answer asked for before the count moved may
    /// be older than what was forgotten.
    generation: u64,
}

impl<K: Eq + Hash, V: Clone> Default for Recent<K, V> {
    fn default() -> Self {
        Self::new(RECENT_FOR, RECENT_CAPACITY)
    }
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                generation: 0,
            }),
            ttl,
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries<K, V>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value kept for `key`, if it was vouched for within the TTL.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entries = self.lock();
        let (value, at) = entries.map.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    /// What to hand back to [`Recent::put`]: taken before asking for the
    /// answer to keep.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Keeps `value`, unless something was forgotten since `generation`.
    pub fn put(&self, key: K, value: V, generation: u64) {
        let mut entries = self.lock();
        if entries.generation != generation {
            return;
        }
        let map = &mut entries.map;
        if map.len() >= self.capacity {
            let ttl = self.ttl;
            map.retain(|_, (_, at)| at.elapsed() < ttl);
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        map.insert(key, (value, Instant::now()));
    }

    pub fn forget<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let mut entries = self.lock();
        entries.generation += 1;
        entries.map.remove(key);
    }

    /// Forgets every entry whose value `matches`.
    pub fn forget_where(&self, matches: impl Fn(&V) -> bool) {
        let mut entries = self.lock();
        entries.generation += 1;
        entries.map.retain(|_, (value, _)| !matches(value));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_kept_for_its_ttl_only() {
        let recent = Recent::new(Duration::from_millis(50), 10);
        recent.put("a".to_owned(), 1, recent.generation());
        assert_eq!(recent.get("a"), Some(1));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(recent.get("a"), None);
    }

    #[test]
    fn forgetting_is_immediate() {
        let recent = Recent::new(Duration::from_secs(60), 10);
        recent.put("a".to_owned(), 1, recent.generation());
        recent.put("b".to_owned(), 2, recent.generation());
        recent.forget("a");
        recent.forget_where(|v| *v == 2);
        assert_eq!((recent.get("a"), recent.get("b")), (None, None));
    }

    #[test]
    fn an_answer_asked_for_before_a_forget_is_not_kept() {
        let recent = Recent::new(Duration::from_secs(60), 10);
        let before = recent.generation();
        recent.forget("a");
        recent.put("a".to_owned(), 1, before);
        assert_eq!(recent.get("a"), None);
    }

    #[test]
    fn the_map_never_grows_past_its_capacity() {
        let recent = Recent::new(Duration::from_secs(60), 3);
        for i in 0..10 {
            recent.put(i, i, recent.generation());
            assert!(recent.len() <= 3);
        }
        assert_eq!(recent.get(&9), Some(9));
    }
}
