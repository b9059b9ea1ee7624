//! Endpoints as admins manage them.

use folio_platform::{actor::Actor, actor::ActorRole, clock::now_millis};
use url::Url;
use uuid::Uuid;

use super::{Engine, resolve};
use crate::{
    domain::{EventType, Secret, webhook},
    error::Error,
    store::{
        deliveries::{self, Delivery},
        webhooks::{self, Webhook},
    },
};

/// Endpoints per organisation.
const MAX_WEBHOOKS: u64 = 20;

/// A new endpoint and its secret, shown this once.
#[derive(Debug)]
pub(crate) struct Created {
    pub webhook: Webhook,
    pub secret: Secret,
}

fn admin(actor: &Actor) -> Result<(), Error> {
    match actor.role {
        ActorRole::Admin => Ok(()),
        ActorRole::Editor | ActorRole::Viewer => {
            Err(Error::Forbidden("only admins manage webhooks"))
        }
    }
}

/// Changes to an endpoint, already parsed.
#[derive(Debug, Default)]
pub(crate) struct WebhookChanges {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

impl Engine {
    async fn checked_url(&self, raw: &str) -> Result<Url, Error> {
        let url = webhook::parse_url(raw, self.allow_private)?;
        resolve::addresses(&url, self.allow_private)
            .await
            .map_err(|e| Error::invalid("url", &e.to_string()))?;
        Ok(url)
    }

    pub(crate) async fn create_webhook(
        &self,
        actor: &Actor,
        url: &str,
        events: &[String],
    ) -> Result<Created, Error> {
        admin(actor)?;
        let events = webhook::parse_events(events)?;
        let url = self.checked_url(url).await?;
        let secret = Secret::generate();
        let now = now_millis();
        let hook = Webhook {
            id: Uuid::now_v7(),
            org_id: actor.org_id,
            url: url.to_string(),
            events,
            secret: secret.clone(),
            enabled: true,
            disabled_reason: String::new(),
            failing_since: None,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.pool.begin().await?;
        if webhooks::count(&mut tx, actor.org_id).await? >= MAX_WEBHOOKS {
            return Err(Error::invalid(
                "url",
                "the organisation has the most endpoints allowed (20)",
            ));
        }
        webhooks::insert(&mut tx, &hook).await?;
        tx.commit().await?;
        Ok(Created {
            webhook: hook,
            secret,
        })
    }

    pub(crate) async fn webhooks(&self, actor: &Actor) -> Result<Vec<Webhook>, Error> {
        admin(actor)?;
        let mut conn = self.db.reader().acquire().await?;
        webhooks::list(&mut conn, actor.org_id).await
    }

    pub(crate) async fn webhook(&self, actor: &Actor, id: Uuid) -> Result<Webhook, Error> {
        admin(actor)?;
        let mut conn = self.db.reader().acquire().await?;
        webhooks::get(&mut conn, actor.org_id, id)
            .await?
            .ok_or(Error::NotFound("webhook"))
    }

    pub(crate) async fn update_webhook(
        &self,
        actor: &Actor,
        id: Uuid,
        changes: WebhookChanges,
    ) -> Result<Webhook, Error> {
        admin(actor)?;
        let url = match &changes.url {
            Some(raw) => Some(self.checked_url(raw).await?),
            None => None,
        };
        let events: Option<Vec<EventType>> = changes
            .events
            .as_deref()
            .map(webhook::parse_events)
            .transpose()?;
        let mut tx = self.db.pool.begin().await?;
        let mut hook = webhooks::get(&mut tx, actor.org_id, id)
            .await?
            .ok_or(Error::NotFound("webhook"))?;
        if let Some(url) = url {
            hook.url = url.to_string();
        }
        if let Some(events) = events {
            hook.events = events;
        }
        match changes.enabled {
            Some(true) => {
                hook.enabled = true;
                hook.disabled_reason.clear();
                hook.failing_since = None;
            }
            Some(false) if hook.enabled => {
                hook.enabled = false;
                "admin".clone_into(&mut hook.disabled_reason);
            }
            Some(false) | None => {}
        }
        hook.updated_at = now_millis();
        // Deliveries before the endpoint, the order a delivery attempt
        // locks them in: the two never wait for each other in a circle.
        if !hook.enabled {
            deliveries::fail_pending(&mut tx, hook.id).await?;
        }
        webhooks::update(&mut tx, &hook).await?;
        tx.commit().await?;
        Ok(hook)
    }

    pub(crate) async fn delete_webhook(&self, actor: &Actor, id: Uuid) -> Result<(), Error> {
        admin(actor)?;
        let mut tx = self.db.pool.begin().await?;
        if !webhooks::delete(&mut tx, actor.org_id, id).await? {
            return Err(Error::NotFound("webhook"));
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn deliveries(
        &self,
        actor: &Actor,
        id: Uuid,
        limit: u32,
    ) -> Result<Vec<Delivery>, Error> {
        let hook = self.webhook(actor, id).await?;
        let limit = match limit {
            0 => 50,
            1..=100 => limit,
            _ => return Err(Error::invalid("limit", "must be between 1 and 100")),
        };
        let mut conn = self.db.reader().acquire().await?;
        deliveries::list(&mut conn, hook.id, limit).await
    }

    pub(crate) async fn redeliver(
        &self,
        actor: &Actor,
        id: Uuid,
        delivery: &str,
    ) -> Result<Delivery, Error> {
        let hook = self.webhook(actor, id).await?;
        if delivery.len() > 64 {
            return Err(Error::NotFound("delivery"));
        }
        let mut tx = self.db.pool.begin().await?;
        let found = deliveries::redeliver(&mut tx, hook.id, delivery, now_millis())
            .await?
            .ok_or(Error::NotFound("delivery"))?;
        tx.commit().await?;
        Ok(found)
    }
}
