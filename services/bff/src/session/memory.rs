use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use uuid::Uuid;

use super::{Lifetimes, Session, now_secs};

/// Sessions in this process: the embedded default for one replica.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    lifetimes: Lifetimes,
    sessions: Arc<Mutex<HashMap<String, Session>>>,
    /// One-use values with their expiry (Unix seconds).
    pending: Arc<Mutex<HashMap<String, (String, u64)>>>,
}

impl MemoryStore {
    pub fn new(lifetimes: Lifetimes) -> Self {
        Self {
            lifetimes,
            sessions: Arc::default(),
            pending: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn insert(&self, key: &str, session: Session) {
        let now = now_secs();
        let mut sessions = self.lock();
        sessions.retain(|_, s| self.lifetimes.remaining(s, now).is_some());
        sessions.insert(key.to_owned(), session);
    }

    pub(super) fn len(&self) -> usize {
        let now = now_secs();
        self.lock()
            .values()
            .filter(|s| self.lifetimes.remaining(s, now).is_some())
            .count()
    }

    pub(super) fn get(&self, key: &str) -> Option<Session> {
        let now = now_secs();
        let mut sessions = self.lock();
        let live = sessions
            .get(key)
            .is_some_and(|s| self.lifetimes.remaining(s, now).is_some());
        if !live {
            sessions.remove(key);
            return None;
        }
        let session = sessions.get_mut(key)?;
        session.last_seen = now;
        Some(session.clone())
    }

    pub(super) fn stash(&self, key: &str, value: &str, ttl: u64) {
        let now = now_secs();
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pending.retain(|_, (_, until)| *until > now);
        pending.insert(key.to_owned(), (value.to_owned(), now + ttl));
    }

    pub(super) fn take(&self, key: &str) -> Option<String> {
        let now = now_secs();
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key)
            .filter(|(_, until)| *until > now)
            .map(|(value, _)| value)
    }

    pub(super) fn remove(&self, key: &str) {
        self.lock().remove(key);
    }

    pub(super) fn end_user(&self, user_id: Uuid, keep: Option<&str>) {
        self.lock()
            .retain(|key, s| s.user_id != user_id || Some(key.as_str()) == keep);
    }

    pub(super) fn set_role(&self, user_id: Uuid, role: &str) {
        for session in self.lock().values_mut() {
            if session.user_id == user_id {
                role.clone_into(&mut session.role);
            }
        }
    }
}
