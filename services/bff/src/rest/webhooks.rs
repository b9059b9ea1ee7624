//! Webhook endpoints in the REST API: request bodies and answers.

use folio_proto::notifications::v1 as pb;
use serde::{Deserialize, Serialize};

use super::forms::{Checks, present};
use crate::error::ApiError;

const MAX_URL: usize = 2000;
const MAX_EVENTS: usize = 50;

fn check_events(checks: &mut Checks, events: &[String]) {
    if events.is_empty() || events.len() > MAX_EVENTS {
        checks.fail(
            "events",
            format!("events must list 1 to {MAX_EVENTS} event types"),
        );
    } else if events.iter().any(|e| e.is_empty() || e.len() > 64) {
        checks.fail(
            "events",
            "events must be event type names from the catalogue",
        );
    }
}

/// `POST /api/v1/webhooks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookCreate {
    pub url: String,
    pub events: Vec<String>,
}

impl WebhookCreate {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        checks.line("url", &self.url, MAX_URL);
        check_events(&mut checks, &self.events);
        checks.finish()
    }
}

/// `PATCH /api/v1/webhooks/{webhook_id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookPatch {
    #[serde(default, deserialize_with = "present")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub enabled: Option<bool>,
}

impl WebhookPatch {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        if let Some(url) = &self.url {
            checks.line("url", url, MAX_URL);
        }
        if let Some(events) = &self.events {
            check_events(&mut checks, events);
        }
        checks.finish()
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<pb::Webhook> for Webhook {
    fn from(w: pb::Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url,
            events: w.events,
            enabled: w.enabled,
            disabled_reason: (!w.disabled_reason.is_empty()).then_some(w.disabled_reason),
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// The creation answer: the endpoint and, this once, its signing secret.
#[derive(Debug, Serialize)]
pub(crate) struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    pub secret: String,
}

impl TryFrom<pb::CreatedWebhook> for CreatedWebhook {
    type Error = ApiError;

    fn try_from(created: pb::CreatedWebhook) -> Result<Self, ApiError> {
        let webhook = created.webhook.ok_or_else(|| {
            ApiError::Internal("notifications answered without the webhook".into())
        })?;
        Ok(Self {
            webhook: Webhook::from(webhook),
            secret: created.secret,
        })
    }
}

/// A delivery's id in a path: what the notifications service issues.
pub(crate) fn delivery_id(raw: &str) -> Result<&str, ApiError> {
    let valid = raw.len() <= 64 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(raw)
    } else {
        Err(ApiError::invalid(
            "delivery_id",
            "delivery_id must be a delivery's id",
        ))
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Delivery {
    pub id: String,
    pub event_type: String,
    pub state: &'static str,
    pub attempts: u32,
    pub last_attempt_at: Option<String>,
    pub last_status: Option<u32>,
    pub last_duration_ms: Option<u32>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
}

impl From<pb::Delivery> for Delivery {
    fn from(d: pb::Delivery) -> Self {
        let attempted = d.attempts > 0;
        Self {
            state: match pb::DeliveryState::try_from(d.state) {
                Ok(pb::DeliveryState::Delivered) => "delivered",
                Ok(pb::DeliveryState::Failed) => "failed",
                Ok(pb::DeliveryState::Pending | pb::DeliveryState::Unspecified) | Err(_) => {
                    "pending"
                }
            },
            id: d.id,
            event_type: d.event_type,
            attempts: d.attempts,
            last_attempt_at: attempted.then_some(d.last_attempt_at),
            last_status: (attempted && d.last_status > 0).then_some(d.last_status),
            last_duration_ms: attempted.then_some(d.last_duration_ms),
            last_error: (!d.last_error.is_empty()).then_some(d.last_error),
            next_attempt_at: (!d.next_attempt_at.is_empty()).then_some(d.next_attempt_at),
            created_at: d.created_at,
        }
    }
}

/// A mail that could not be delivered, for admins.
#[derive(Debug, Serialize)]
pub(crate) struct MailProblem {
    pub id: String,
    pub recipient_id: String,
    pub address: String,
    pub subject: String,
    pub state: String,
    pub reason: String,
    pub attempts: u32,
    pub created_at: String,
}

impl From<pb::MailProblem> for MailProblem {
    fn from(p: pb::MailProblem) -> Self {
        Self {
            id: p.id,
            recipient_id: p.recipient_id,
            address: p.address,
            subject: p.subject,
            state: p.state,
            reason: p.reason,
            attempts: p.attempts,
            created_at: p.created_at,
        }
    }
}
