//! Webhook rules: endpoint URLs, event lists, secrets, the Standard
//! Webhooks signature, delivery ids and the retry schedule.

use std::{collections::BTreeSet, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use url::Url;
use uuid::Uuid;

use super::EventType;
use crate::error::Error;

const SECRET_PREFIX: &str = "whsec_";
pub(crate) const MAX_URL: usize = 2000;

/// A signing secret: `whsec_` and base64 of 32 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub(crate) fn generate() -> Self {
        let mut key = [0_u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
    }

    pub(crate) fn from_stored(text: String) -> Self {
        Self(text)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The HMAC key: the bytes after the prefix.
    fn key(&self) -> Result<Vec<u8>, Error> {
        let encoded = self
            .0
            .strip_prefix(SECRET_PREFIX)
            .ok_or(Error::Corrupt("webhook secret"))?;
        STANDARD
            .decode(encoded)
            .map_err(|_| Error::Corrupt("webhook secret"))
    }
}

/// The `webhook-signature` header: `v1,` and base64 of
/// HMAC-SHA256(key, "{id}.{timestamp}.{body}").
pub(crate) fn signature(
    secret: &Secret,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, Error> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret.key()?)
        .map_err(|_| Error::Corrupt("webhook secret"))?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-id` of one event for one endpoint: the same however often
/// the event is read or the delivery attempted.
pub(crate) fn delivery_id(webhook: Uuid, org: Uuid, sequence: u64, event: EventType) -> String {
    let digest = Sha256::digest(format!("{webhook}/{org}/{sequence}/{}", event.as_str()));
    format!("msg_{}", hex::encode(&digest[..16]))
}

/// An endpoint URL as registered: http(s), a host, no credentials.
/// Whether its addresses are allowed is decided when it is resolved.
pub(crate) fn parse_url(raw: &str, allow_plain_http: bool) -> Result<Url, Error> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > MAX_URL {
        return Err(Error::invalid(
            "url",
            "must be an https:// URL of at most 2000 characters",
        ));
    }
    let url = Url::parse(raw).map_err(|_| Error::invalid("url", "is not a URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_plain_http => {}
        _ => return Err(Error::invalid("url", "must be an https:// URL")),
    }
    if url.host().is_none() {
        return Err(Error::invalid("url", "must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid("url", "must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(Error::invalid("url", "must not have a fragment"));
    }
    Ok(url)
}

/// A non-empty list of catalogue event types, without repeats, sorted.
pub(crate) fn parse_events(raw: &[String]) -> Result<Vec<EventType>, Error> {
    if raw.is_empty() || raw.len() > 50 {
        return Err(Error::invalid(
            "events",
            "must list between 1 and 50 event types",
        ));
    }
    let mut set = BTreeSet::new();
    for name in raw {
        let event = EventType::parse(name).ok_or_else(|| {
            Error::invalid("events", "names an event type that is not in the catalogue")
        })?;
        set.insert(event);
    }
    Ok(set.into_iter().collect())
}

/// When to try a failed delivery again, and when to stop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    /// The pause after the first failure; it doubles after each.
    pub base: Duration,
    /// The longest pause.
    pub max: Duration,
    /// Attempts continue for this long after the first one.
    pub window: Duration,
}

impl Backoff {
    /// The pause after `attempts` failed attempts (1 or more).
    pub(crate) fn pause(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        self.base.saturating_mul(1 << doublings).min(self.max)
    }

    /// Whether, `elapsed` after the first attempt, there is any retry left.
    pub(crate) fn exhausted(&self, elapsed: Duration) -> bool {
        elapsed >= self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_specification_example() {
        // The example from the Standard Webhooks specification.
        let secret = Secret::from_stored("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_random_and_prefixed() {
        let (a, b) = (Secret::generate(), Secret::generate());
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("whsec_"));
        assert_eq!(a.key().unwrap().len(), 32);
        assert!(!format!("{a:?}").contains("whsec"));
    }

    #[test]
    fn delivery_ids_are_stable_per_event_and_endpoint() {
        let (w, o) = (Uuid::now_v7(), Uuid::now_v7());
        let id = delivery_id(w, o, 5, EventType::TaskCreated);
        assert_eq!(id, delivery_id(w, o, 5, EventType::TaskCreated));
        assert_ne!(id, delivery_id(w, o, 6, EventType::TaskCreated));
        assert_ne!(id, delivery_id(w, o, 5, EventType::TaskAssigned));
        assert_ne!(
            id,
            delivery_id(Uuid::now_v7(), o, 5, EventType::TaskCreated)
        );
    }

    #[test]
    fn urls_and_events_are_checked() {
        assert!(parse_url("https://hooks.example.com/folio", false).is_ok());
        for bad in [
            "",
            "ftp://x.example/",
            "http://x.example/",
            "https://user:pw@x.example/",
            "https://x.example/#f",
            "not a url",
        ] {
            assert!(parse_url(bad, false).is_err(), "{bad}");
        }
        assert!(parse_url("http://127.0.0.1:9/", true).is_ok());
        assert!(parse_url(&format!("https://x.example/{}", "a".repeat(2000)), false).is_err());
        let events = parse_events(&[
            "task.created".into(),
            "document.created".into(),
            "task.created".into(),
        ])
        .unwrap();
        assert_eq!(events, [EventType::DocumentCreated, EventType::TaskCreated]);
        assert!(parse_events(&[]).is_err());
        assert!(parse_events(&["nope".into()]).is_err());
    }

    #[test]
    fn backoff_doubles_to_a_cap_and_lasts_the_window() {
        let b = Backoff {
            base: Duration::from_secs(30),
            max: Duration::from_secs(3600),
            window: Duration::from_secs(24 * 3600),
        };
        assert_eq!(b.pause(1), Duration::from_secs(30));
        assert_eq!(b.pause(2), Duration::from_secs(60));
        assert_eq!(b.pause(4), Duration::from_secs(240));
        assert_eq!(b.pause(40), Duration::from_secs(3600));
        assert!(!b.exhausted(Duration::from_secs(23 * 3600)));
        assert!(b.exhausted(Duration::from_secs(24 * 3600)));
    }
}
