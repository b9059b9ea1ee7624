//! Sending due deliveries: Standard Webhooks headers, HMAC-SHA256
//! signature, a 5 s limit, back-off, and disabling endpoints that keep failing.

use std::{sync::Arc, time::Instant};

use folio_platform::clock::now_millis;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::{Engine, millis, resolve};
use crate::{
    domain::{mail::Notice, signature},
    error::Error,
    store::{
        deliveries::{self, Attempt, Delivery, State},
        webhooks::{self, Webhook},
    },
};

const BATCH: u32 = 20;

impl Engine {
    pub(crate) async fn run_sender(self: Arc<Self>, stop: CancellationToken) {
        loop {
            if let Err(error) = self.deliver_due().await {
                tracing::warn!(%error, "delivering webhooks failed; trying again");
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.timing.poll_interval) => {}
            }
        }
    }

    /// Attempts every due delivery once; how many were attempted.
    pub(crate) async fn deliver_due(&self) -> Result<u32, Error> {
        let now = now_millis();
        let due = {
            let mut conn = self.db.pool.acquire().await?;
            deliveries::due(&mut conn, now, BATCH).await?
        };
        let mut attempted = 0;
        for id in due {
            let claimed = {
                let mut conn = self.db.pool.acquire().await?;
                let until = now_millis() + millis(self.timing.lease);
                deliveries::claim(&mut conn, &id, now_millis(), until).await?
            };
            if let Some(delivery) = claimed {
                self.attempt(delivery).await?;
                attempted += 1;
            }
        }
        Ok(attempted)
    }

    async fn attempt(&self, delivery: Delivery) -> Result<(), Error> {
        let hook = {
            let mut conn = self.db.reader().acquire().await?;
            webhooks::get(&mut conn, delivery.org_id, delivery.webhook_id).await?
        };
        let started = Instant::now();
        let at = now_millis();
        let outcome = match &hook {
            Some(hook) if hook.enabled => self.post(hook, &delivery).await,
            Some(_) | None => Err("the endpoint is disabled".to_owned()),
        };
        let duration_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let (status, error) = match outcome {
            Ok(status @ 200..=299) => (status, String::new()),
            Ok(status) => (status, format!("the endpoint answered HTTP {status}")),
            Err(error) => (0, error),
        };
        let success = error.is_empty();
        let attempts = delivery.attempts + 1;
        let backoff = self.backoff();
        let elapsed = std::time::Duration::from_millis(
            u64::try_from(at - delivery.window_started_at).unwrap_or(0),
        );
        let endpoint_usable = hook.as_ref().is_some_and(|h| h.enabled);
        let (state, next) = if success {
            (State::Delivered, None)
        } else if !endpoint_usable || backoff.exhausted(elapsed) {
            (State::Failed, None)
        } else {
            (State::Pending, Some(at + millis(backoff.pause(attempts))))
        };
        let attempt = Attempt {
            at,
            status,
            duration_ms,
            error,
        };
        let cutoff = at - millis(self.timing.disable_after);
        // This failure disables the endpoint: its admins are looked up
        // before the transaction that disables it and tells them.
        let disabling = hook
            .as_ref()
            .and_then(|h| h.failing_since)
            .filter(|since| !success && endpoint_usable && *since <= cutoff);
        let admins = match disabling {
            Some(_) => self.people(Some(delivery.org_id)).await?.pop(),
            None => None,
        };
        let mut tx = self.db.pool.begin().await?;
        deliveries::record_attempt(&mut tx, &delivery.id, &attempt, state, next).await?;
        if endpoint_usable {
            webhooks::record_outcome(&mut tx, delivery.webhook_id, success, at).await?;
            if !success
                && webhooks::disable_if_failing_since(&mut tx, delivery.webhook_id, cutoff, at)
                    .await?
            {
                deliveries::fail_pending(&mut tx, delivery.webhook_id).await?;
                tracing::warn!(webhook = %delivery.webhook_id, "endpoint disabled: failing for too long");
                if let (Some(people), Some(hook), Some(since)) = (&admins, &hook, disabling) {
                    self.tell_admins(
                        &mut tx,
                        people,
                        &Notice::WebhookDisabled {
                            url: hook.url.chars().take(200).collect(),
                        },
                        &self.portal_link(&format!("webhooks/{}", hook.id)),
                        // Once per failing streak that disabled it.
                        &format!("webhook/{}/disabled/{since}", hook.id),
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        let result = if success { "delivered" } else { "failed" };
        metrics::counter!("folio_notifications_webhook_attempts_total", "result" => result)
            .increment(1);
        Ok(())
    }

    /// One POST; the HTTP status, or why there was none.
    async fn post(&self, hook: &Webhook, delivery: &Delivery) -> Result<u16, String> {
        let url = Url::parse(&hook.url).map_err(|_| "the endpoint URL is not valid".to_owned())?;
        // Resolved here and connected to exactly these addresses, so the
        // name cannot point elsewhere between the check and the connection.
        let addresses = resolve::addresses(&url, self.allow_private)
            .await
            .map_err(|e| e.to_string())?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timing.delivery_timeout)
            .resolve_to_addrs(&host, &addresses)
            .build()
            .map_err(|_| "no HTTP client".to_owned())?;
        let timestamp = now_millis() / 1000;
        let signed = signature(
            &hook.secret,
            &delivery.id,
            timestamp,
            delivery.payload.as_bytes(),
        )
        .map_err(|e| e.to_string())?;
        let answer = client
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "Folio-Webhooks/1")
            .header("webhook-id", &delivery.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signed)
            .body(delivery.payload.clone())
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "the endpoint did not answer within the time limit".to_owned()
                } else {
                    "the endpoint could not be reached".to_owned()
                }
            })?;
        Ok(answer.status().as_u16())
    }
}
