//! Outgoing calls to the webhook: the validation handshake at subscription
//! creation, change notifications and lifecycle notifications.

use std::{sync::Arc, time::Duration};

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::{Shared, rfc3339, state::Delivery};

/// Graph's handshake: POST `url?validationToken=…`, expecting 200, text/plain
/// and the decoded token as the body within 10 s.
pub(crate) async fn validate(shared: &Arc<Shared>, url: &str) -> bool {
    let token = format!(
        "Validation: Testing client application reachability for subscription Request-Id: {}",
        uuid::Uuid::new_v4()
    );
    let Ok(mut target) = url::Url::parse(url) else {
        return false;
    };
    target
        .query_pairs_mut()
        .append_pair("validationToken", &token);
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        shared
            .http
            .post(target)
            .header("content-type", "text/plain; charset=utf-8")
            .send(),
    )
    .await;
    let Ok(Ok(response)) = answer else {
        return false;
    };
    let text_plain = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let ok = response.status() == reqwest::StatusCode::OK;
    let body = response.text().await.unwrap_or_default();
    let valid = ok && text_plain && body == token;
    if valid {
        shared.lock().stats.validations += 1;
    }
    valid
}

/// Tells every live subscription on `drive` that something changed.
pub(crate) fn changed(shared: &Arc<Shared>, drive: &str) {
    let now = OffsetDateTime::now_utc();
    let (targets, copies, delay) = {
        let state = shared.lock();
        let targets: Vec<(String, String, Value)> = state
            .subscriptions
            .values()
            .filter(|s| s.drive == drive && s.expires > now)
            .map(|s| {
                let body = json!({ "value": [{
                    "subscriptionId": s.id,
                    "clientState": s.client_state,
                    "changeType": "updated",
                    "resource": s.resource,
                    "tenantId": s.tenant,
                    "subscriptionExpirationDateTime": rfc3339(s.expires),
                    "resourceData": null,
                }]});
                (s.id.clone(), s.notification_url.clone(), body)
            })
            .collect();
        (targets, state.faults.copies, state.faults.notify_delay)
    };
    if !targets.is_empty() {
        let mut state = shared.lock();
        for (_, url, body) in &targets {
            state.stats.sent.push((url.clone(), body.clone()));
        }
    }
    for (id, url, body) in targets {
        for _ in 0..copies {
            deliver(
                shared.clone(),
                id.clone(),
                url.clone(),
                body.clone(),
                delay,
                false,
            );
        }
    }
}

pub(crate) fn lifecycle(shared: &Arc<Shared>, subscription: &str, event: &str) {
    let target = {
        let state = shared.lock();
        state.subscriptions.get(subscription).and_then(|s| {
            let url = s.lifecycle_url.clone()?;
            let body = json!({ "value": [{
                "subscriptionId": s.id,
                "clientState": s.client_state,
                "lifecycleEvent": event,
                "resource": s.resource,
                "tenantId": s.tenant,
                "subscriptionExpirationDateTime": rfc3339(s.expires),
            }]});
            Some((url, body))
        })
    };
    if let Some((url, body)) = target {
        deliver(
            shared.clone(),
            subscription.to_owned(),
            url,
            body,
            Duration::ZERO,
            true,
        );
    }
}

/// POSTs in the background, retrying a few times on failure as Graph does.
fn deliver(
    shared: Arc<Shared>,
    id: String,
    url: String,
    body: Value,
    delay: Duration,
    lifecycle: bool,
) {
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        for attempt in 0..4u32 {
            let sent = shared
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await;
            let status = sent.as_ref().ok().map(|r| r.status().as_u16());
            shared.lock().stats.deliveries.push(Delivery {
                subscription_id: id.clone(),
                status,
                lifecycle,
            });
            if status.is_some_and(|s| (200..300).contains(&s)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300 * 2u64.pow(attempt))).await;
        }
    });
}
