//! The webhook Microsoft Graph posts to (`openapi/integration.yaml`):
//! the validation handshake, change notifications and lifecycle
//! notifications. Notifications are checked (known subscription, matching
//! `clientState` compared in constant time), stored durably, and answered
//! `202`; the delta work happens afterwards in the worker.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, RawQuery, State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use folio_platform::clock::now_millis;
use serde_json::Value;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::{
    engine::Engine,
    error::Error,
    store::{connections, inbox},
};

/// Graph's notification batches are small; anything near this is not Graph.
pub const MAX_BODY: usize = 256 * 1024;
/// At most this many notifications in one request.
const MAX_NOTIFICATIONS: usize = 1000;
const MAX_TOKEN: usize = 2048;
/// Distinct subscriptions looked up per request: Graph batches notifications
/// of a few subscriptions; more is someone making us query (the rest drop).
const MAX_LOOKUPS: usize = 8;
/// Dropped notifications are logged at most this often per reason.
const DROP_LOG_EVERY_MS: i64 = 10_000;

/// Counts dropped notifications and lets one log line through per period,
/// so a flood of forged or stale notifications cannot flood the logs.
struct DropLog {
    last: AtomicI64,
    since: AtomicU64,
}

impl DropLog {
    const fn new() -> Self {
        Self {
            last: AtomicI64::new(i64::MIN),
            since: AtomicU64::new(0),
        }
    }

    /// Notes `n` drops at `now`; `Some(count since the last line)` when a
    /// line is due.
    fn note(&self, n: u64, now: i64) -> Option<u64> {
        self.since.fetch_add(n, Ordering::Relaxed);
        let last = self.last.load(Ordering::Relaxed);
        let due = last == i64::MIN || now.saturating_sub(last) >= DROP_LOG_EVERY_MS;
        (due && self
            .last
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok())
        .then(|| self.since.swap(0, Ordering::Relaxed))
    }
}

static UNKNOWN_SUBSCRIPTION: DropLog = DropLog::new();
static WRONG_CLIENT_STATE: DropLog = DropLog::new();

/// Why notifications were dropped: a metric always, a log line now and then.
fn dropped(reason: &'static str, n: usize, subscription: &str) {
    if n == 0 {
        return;
    }
    metrics::counter!("folio_integration_notifications_dropped_total", "reason" => reason)
        .increment(n as u64);
    let log = if reason == "client_state" {
        &WRONG_CLIENT_STATE
    } else {
        &UNKNOWN_SUBSCRIPTION
    };
    if let Some(count) = log.note(n as u64, now_millis()) {
        if reason == "client_state" {
            tracing::warn!(%subscription, count, "notifications with a wrong clientState dropped");
        } else {
            tracing::info!(%subscription, count, reason, "notifications for unknown subscriptions dropped");
        }
    }
}

pub const NOTIFICATIONS_PATH: &str = "/api/v1/onedrive/notifications";
pub const LIFECYCLE_PATH: &str = "/api/v1/onedrive/lifecycle";

pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route(NOTIFICATIONS_PATH, post(notifications))
        .route(LIFECYCLE_PATH, post(lifecycle))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(engine)
}

/// Everything the webhook can answer other than 200/202, as problem documents.
#[derive(Debug, thiserror::Error)]
enum WebhookError {
    #[error("{0}")]
    Malformed(&'static str),
    #[error("the body is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    #[error("the notifications could not be stored; retry later")]
    Unavailable,
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        let (status, kind, title) = match self {
            Self::Malformed(_) => (
                StatusCode::BAD_REQUEST,
                "malformed-request",
                "Malformed request",
            ),
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Unavailable",
            ),
        };
        let body = serde_json::json!({
            "type": format!("https://folio.dev/problems/{kind}"),
            "title": title,
            "status": status.as_u16(),
            "detail": self.to_string(),
        });
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Notifications,
    Lifecycle,
}

async fn notifications(
    State(engine): State<Arc<Engine>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    receive(&engine, Endpoint::Notifications, query, &headers, body).await
}

/// Graph wants an answer within 3 s; what is not stored by then is stored
/// after the answer (docs/adr/0038).
const ACK_BUDGET: std::time::Duration = std::time::Duration::from_millis(1500);

/// `accept`, but never longer than [`ACK_BUDGET`]: a slow database finishes
/// storing in the background (and wakes the worker then) while Graph has
/// its `202`.
async fn accept_in_time(
    engine: &Arc<Engine>,
    endpoint: Endpoint,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<usize, WebhookError> {
    let (engine, headers) = (engine.clone(), headers.clone());
    let mut stored = tokio::spawn(async move {
        accept(&engine, endpoint, &headers, body)
            .await
            .map(|n| (n, engine))
    });
    match tokio::time::timeout(ACK_BUDGET, &mut stored).await {
        Ok(Ok(result)) => result.map(|(n, _)| n),
        Ok(Err(_)) => Err(WebhookError::Unavailable),
        Err(_) => {
            tracing::warn!("storing notifications is slow; acknowledged before it ended");
            tokio::spawn(async move {
                if let Ok(Ok((n, engine))) = stored.await
                    && n > 0
                {
                    engine.wake_sync();
                    engine.wake_reconcile();
                }
            });
            Ok(0)
        }
    }
}

async fn lifecycle(
    State(engine): State<Arc<Engine>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    receive(&engine, Endpoint::Lifecycle, query, &headers, body).await
}

fn validation_token(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "validationToken")
        .map(|(_, v)| v.into_owned())
}

async fn receive(
    engine: &Arc<Engine>,
    endpoint: Endpoint,
    query: Option<String>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Some(token) = validation_token(query.as_deref()) {
        if token.len() > MAX_TOKEN || token.chars().any(char::is_control) {
            return WebhookError::Malformed("validationToken is not a plausible token")
                .into_response();
        }
        // The handshake: echo the decoded token as plain text.
        return (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            token,
        )
            .into_response();
    }
    match accept_in_time(engine, endpoint, headers, body).await {
        Ok(stored) => {
            if stored > 0 {
                engine.wake_sync();
                if endpoint == Endpoint::Lifecycle {
                    engine.wake_reconcile();
                }
            }
            StatusCode::ACCEPTED.into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// One notification as far as we read it.
#[derive(Debug)]
struct Notification {
    subscription_id: String,
    client_state: String,
    resource: String,
    lifecycle_event: Option<String>,
}

fn field<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value.get(name).and_then(Value::as_str)
}

fn parse(body: &[u8]) -> Result<Vec<Option<Notification>>, WebhookError> {
    let envelope: Value = serde_json::from_slice(body)
        .map_err(|_| WebhookError::Malformed("the body is not JSON"))?;
    let Some(values) = envelope.get("value").and_then(Value::as_array) else {
        return Err(WebhookError::Malformed(
            "the body must be an object with a value array",
        ));
    };
    if values.len() > MAX_NOTIFICATIONS {
        return Err(WebhookError::Malformed(
            "too many notifications in one request",
        ));
    }
    // An entry without what we need is dropped, like one for an unknown subscription.
    Ok(values
        .iter()
        .map(|v| {
            Some(Notification {
                subscription_id: field(v, "subscriptionId")?.chars().take(255).collect(),
                client_state: field(v, "clientState")?.to_owned(),
                resource: field(v, "resource")
                    .unwrap_or_default()
                    .chars()
                    .take(1000)
                    .collect(),
                lifecycle_event: field(v, "lifecycleEvent").map(|e| e.chars().take(50).collect()),
            })
            // No `changeType` is needed: the OneDrive API's own notification
            // shape has none (a change on the drive is all it says).
            .filter(|n: &Notification| !n.subscription_id.is_empty())
        })
        .collect())
}

async fn accept(
    engine: &Engine,
    endpoint: Endpoint,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<usize, WebhookError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            WebhookError::TooLarge
        } else {
            WebhookError::Malformed("the body could not be read")
        }
    })?;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(WebhookError::UnsupportedMediaType);
    }
    let notifications = parse(&body)?;
    store(
        engine,
        endpoint,
        notifications.into_iter().flatten().collect(),
    )
    .await
    .map_err(|error| {
        tracing::error!(%error, "cannot store notifications");
        WebhookError::Unavailable
    })
}

/// Stores the notifications that belong to a connection and carry its
/// clientState, in one transaction; returns how many. A transaction that
/// lost a deadlock is tried again.
async fn store(
    engine: &Engine,
    endpoint: Endpoint,
    notifications: Vec<Notification>,
) -> Result<usize, Error> {
    if notifications.is_empty() {
        return Ok(0);
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match store_once(engine, endpoint, &notifications).await {
            Err(Error::Database(sqlx::Error::Database(e)))
                if attempt < 3 && e.code().is_some_and(|c| c == "40001" || c == "1213") =>
            {
                tracing::info!("notification transaction deadlocked; retrying");
            }
            other => return other,
        }
    }
}

async fn store_once(
    engine: &Engine,
    endpoint: Endpoint,
    notifications: &[Notification],
) -> Result<usize, Error> {
    let now = now_millis();
    // Look the subscriptions up first, so the transaction starts with a
    // write (on SQLite a read-then-write transaction can fail to upgrade).
    // At most MAX_LOOKUPS distinct ones; the others are not ours to ask about.
    let mut known: HashMap<&str, Option<(Uuid, String)>> = HashMap::new();
    // (connection, subscription, kind) already waiting for a sync that has
    // not started: a replay of it adds nothing (issue 12.7).
    let mut waiting: HashSet<(Uuid, &str, String)> = HashSet::new();
    // When a sync last took each connection's notifications.
    let mut claimed_at: HashMap<Uuid, Option<i64>> = HashMap::new();
    {
        let mut db = engine.database().pool.acquire().await?;
        for n in notifications {
            if known.contains_key(n.subscription_id.as_str()) || known.len() >= MAX_LOOKUPS {
                continue;
            }
            metrics::counter!("folio_integration_subscription_lookups_total").increment(1);
            let found = connections::by_subscription(&mut db, &n.subscription_id).await?;
            known.insert(&n.subscription_id, found);
        }
        for n in notifications {
            let (Some(Some((connection, _))), Some(kind)) =
                (known.get(n.subscription_id.as_str()), kind_of(n, endpoint))
            else {
                continue;
            };
            if !claimed_at.contains_key(connection) {
                claimed_at.insert(
                    *connection,
                    inbox::last_claimed(&mut db, *connection).await?,
                );
            }
            let key = (*connection, n.subscription_id.as_str(), kind);
            if !waiting.contains(&key)
                && inbox::unclaimed_exists(&mut db, key.0, key.1, &key.2).await?
            {
                waiting.insert(key);
            }
        }
    }
    let mut tx = None;
    let mut stored = 0;
    let mut coalesced = 0u64;
    for n in notifications {
        let Some(found) = known.get(n.subscription_id.as_str()) else {
            dropped("lookup_cap", 1, &n.subscription_id);
            continue;
        };
        let Some((connection, client_state)) = found else {
            dropped("unknown_subscription", 1, &n.subscription_id);
            continue;
        };
        let matches: bool = n
            .client_state
            .as_bytes()
            .ct_eq(client_state.as_bytes())
            .into();
        if !matches {
            dropped("client_state", 1, &n.subscription_id);
            continue;
        }
        let Some(kind) = kind_of(n, endpoint) else {
            continue;
        };
        let key = (*connection, n.subscription_id.as_str(), kind);
        if waiting.contains(&key) {
            coalesced += 1;
            continue;
        }
        // A transaction only when there is something to write: a flood of
        // replays costs reads only.
        let tx = match &mut tx {
            Some(tx) => tx,
            None => tx.insert(engine.database().pool.begin().await?),
        };
        // No sooner than the gap after the last sync took notifications.
        let at = match claimed_at.get(connection).copied().flatten() {
            Some(claimed) => now.max(claimed.saturating_add(engine.notification_gap_millis())),
            None => now,
        };
        // The connection row first, then the inbox: the order the worker
        // takes them in, so the two never deadlock.
        match n.lifecycle_event.as_deref() {
            Some("reauthorizationRequired") => {
                connections::request_renew(tx, *connection).await?;
            }
            Some("subscriptionRemoved") => {
                connections::forget_subscription(tx, *connection).await?;
                connections::request_sync(tx, *connection, at).await?;
            }
            // `missed`, a change, or an event we do not know: catch up.
            _ => connections::request_sync(tx, *connection, at).await?,
        }
        // Again under the connection row's lock: a concurrent request may
        // have stored the same notification since the look-up above.
        if inbox::unclaimed_exists(tx, key.0, key.1, &key.2).await? {
            waiting.insert(key);
            coalesced += 1;
            continue;
        }
        inbox::insert(
            tx,
            *connection,
            &n.subscription_id,
            &key.2,
            &n.resource,
            now,
        )
        .await?;
        waiting.insert(key);
        stored += 1;
    }
    if let Some(tx) = tx {
        tx.commit().await?;
    }
    if coalesced > 0 {
        metrics::counter!("folio_integration_notifications_coalesced_total").increment(coalesced);
    }
    Ok(stored)
}

/// The inbox kind of a notification received at `endpoint`; `None` for a
/// change notification posted to the lifecycle endpoint.
fn kind_of(n: &Notification, endpoint: Endpoint) -> Option<String> {
    match (&n.lifecycle_event, endpoint) {
        (Some(event), _) => Some(format!("lifecycle:{event}")),
        (None, Endpoint::Notifications) => Some("change".to_owned()),
        (None, Endpoint::Lifecycle) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_tokens_are_decoded() {
        assert_eq!(
            validation_token(Some("validationToken=Validation%3A+Testing%20a%2Bb")).as_deref(),
            Some("Validation: Testing a+b")
        );
        assert_eq!(validation_token(Some("other=1")), None);
        assert_eq!(validation_token(None), None);
    }

    #[test]
    fn drop_logs_are_rate_limited() {
        let log = DropLog::new();
        assert_eq!(log.note(1, 1_000), Some(1), "the first drop is logged");
        assert_eq!(log.note(5, 2_000), None);
        assert_eq!(log.note(994, 5_000), None);
        assert_eq!(
            log.note(1, 1_000 + DROP_LOG_EVERY_MS),
            Some(1000),
            "then one line a period with the count"
        );
        assert_eq!(log.note(1, 1_001 + DROP_LOG_EVERY_MS), None);
    }

    #[test]
    fn bodies_are_read_strictly() {
        assert!(matches!(parse(b"nope"), Err(WebhookError::Malformed(_))));
        assert!(matches!(
            parse(b"{\"value\": 3}"),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(parse(b"[]"), Err(WebhookError::Malformed(_))));
        let parsed = parse(
            br#"{"value":[{"subscriptionId":"s","clientState":"c","changeType":"updated","resource":"drives/d/root"},{"clientState":"c"},{"subscriptionId":"s","changeType":"updated"}]}"#,
        )
        .unwrap();
        assert!(parsed[0].is_some());
        assert!(parsed[1].is_none());
        assert!(parsed[2].is_none());
    }

    /// Microsoft's documented envelopes (tests/fixtures/graph) are read, the
    /// OneDrive API's own shape too: no `changeType`, `expirationDateTime`.
    #[test]
    fn the_documented_notifications_are_read() {
        for (name, raw, lifecycle) in [
            (
                "change",
                include_str!("../../tests/fixtures/graph/change-notification.json"),
                false,
            ),
            (
                "onedrive",
                include_str!("../../tests/fixtures/graph/onedrive-webhook-notification.json"),
                false,
            ),
            (
                "lifecycle",
                include_str!("../../tests/fixtures/graph/lifecycle-notification.json"),
                true,
            ),
            (
                "reauthorization",
                include_str!("../../tests/fixtures/graph/lifecycle-reauthorization-required.json"),
                true,
            ),
        ] {
            let parsed = parse(raw.as_bytes()).unwrap();
            let first = parsed[0]
                .as_ref()
                .unwrap_or_else(|| panic!("the {name} notification was dropped"));
            assert!(!first.client_state.is_empty(), "{name}");
            assert_eq!(first.lifecycle_event.is_some(), lifecycle, "{name}");
        }
    }
}
