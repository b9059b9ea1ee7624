use std::{collections::BTreeMap, sync::Arc};

use folio_platform::{actor::Actor, clock::rfc3339};
use folio_proto::notifications::v1::{
    self as pb, notifications_service_server::NotificationsService,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{
    domain::{Choice, Kind},
    engine::{Engine, WebhookChanges},
    error::Error,
    store::{
        deliveries::{Delivery, State},
        webhooks::Webhook,
    },
};

#[derive(Debug, Clone)]
pub(crate) struct NotificationsApi {
    engine: Arc<Engine>,
}

impl NotificationsApi {
    pub(crate) fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }
}

fn actor<T>(request: &Request<T>) -> Result<Actor, Error> {
    Ok(Actor::from_metadata(request.metadata())?)
}

fn parse_id(field: &'static str, raw: &str) -> Result<Uuid, Error> {
    raw.trim()
        .parse()
        .map_err(|_| Error::invalid(field, "must be a UUID"))
}

fn preferences(all: &[(Kind, Choice)]) -> pb::Preferences {
    pb::Preferences {
        choices: all
            .iter()
            .map(|(k, c)| (k.as_str().to_owned(), c.as_str().to_owned()))
            .collect(),
    }
}

fn webhook(w: &Webhook) -> pb::Webhook {
    pb::Webhook {
        id: w.id.to_string(),
        url: w.url.clone(),
        events: w.events.iter().map(|e| e.as_str().to_owned()).collect(),
        enabled: w.enabled,
        disabled_reason: w.disabled_reason.clone(),
        created_at: rfc3339(w.created_at),
        updated_at: rfc3339(w.updated_at),
    }
}

fn delivery(d: &Delivery) -> pb::Delivery {
    let state = match d.state {
        State::Pending => pb::DeliveryState::Pending,
        State::Delivered => pb::DeliveryState::Delivered,
        State::Failed => pb::DeliveryState::Failed,
    };
    pb::Delivery {
        id: d.id.clone(),
        webhook_id: d.webhook_id.to_string(),
        event_type: d.event_type.clone(),
        state: state.into(),
        attempts: d.attempts,
        last_attempt_at: d.last_attempt_at.map(rfc3339).unwrap_or_default(),
        last_status: u32::from(d.last_status),
        last_duration_ms: d.last_duration_ms,
        last_error: d.last_error.clone(),
        next_attempt_at: match d.state {
            State::Pending => d.next_attempt_at.map(rfc3339).unwrap_or_default(),
            State::Delivered | State::Failed => String::new(),
        },
        created_at: rfc3339(d.created_at),
    }
}

#[tonic::async_trait]
impl NotificationsService for NotificationsApi {
    async fn create_webhook(
        &self,
        request: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::CreatedWebhook>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let created = self
            .engine
            .create_webhook(&actor, &req.url, &req.events)
            .await?;
        Ok(Response::new(pb::CreatedWebhook {
            webhook: Some(webhook(&created.webhook)),
            secret: created.secret.as_str().to_owned(),
        }))
    }

    async fn list_webhooks(
        &self,
        request: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        let actor = actor(&request)?;
        let hooks = self.engine.webhooks(&actor).await?;
        Ok(Response::new(pb::ListWebhooksResponse {
            webhooks: hooks.iter().map(webhook).collect(),
        }))
    }

    async fn get_webhook(
        &self,
        request: Request<pb::GetWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let actor = actor(&request)?;
        let id = parse_id("id", &request.get_ref().id)?;
        Ok(Response::new(webhook(
            &self.engine.webhook(&actor, id).await?,
        )))
    }

    async fn update_webhook(
        &self,
        request: Request<pb::UpdateWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let id = parse_id("id", &req.id)?;
        let changes = WebhookChanges {
            url: req.url,
            events: req.events.map(|e| e.events),
            enabled: req.enabled,
        };
        let hook = self.engine.update_webhook(&actor, id, changes).await?;
        Ok(Response::new(webhook(&hook)))
    }

    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        let actor = actor(&request)?;
        let id = parse_id("id", &request.get_ref().id)?;
        self.engine.delete_webhook(&actor, id).await?;
        Ok(Response::new(pb::DeleteWebhookResponse {}))
    }

    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> Result<Response<pb::ListDeliveriesResponse>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let id = parse_id("webhook_id", &req.webhook_id)?;
        let found = self.engine.deliveries(&actor, id, req.limit).await?;
        Ok(Response::new(pb::ListDeliveriesResponse {
            deliveries: found.iter().map(delivery).collect(),
        }))
    }

    async fn redeliver(
        &self,
        request: Request<pb::RedeliverRequest>,
    ) -> Result<Response<pb::Delivery>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let id = parse_id("webhook_id", &req.webhook_id)?;
        let found = self.engine.redeliver(&actor, id, &req.delivery_id).await?;
        Ok(Response::new(delivery(&found)))
    }

    async fn get_preferences(
        &self,
        request: Request<pb::GetPreferencesRequest>,
    ) -> Result<Response<pb::Preferences>, Status> {
        let actor = actor(&request)?;
        let all = self.engine.preferences(&actor).await?;
        Ok(Response::new(preferences(&all)))
    }

    async fn update_preferences(
        &self,
        request: Request<pb::UpdatePreferencesRequest>,
    ) -> Result<Response<pb::Preferences>, Status> {
        let actor = actor(&request)?;
        let choices: BTreeMap<String, String> = request.into_inner().choices.into_iter().collect();
        let all = self.engine.update_preferences(&actor, &choices).await?;
        Ok(Response::new(preferences(&all)))
    }

    async fn list_mail_problems(
        &self,
        request: Request<pb::ListMailProblemsRequest>,
    ) -> Result<Response<pb::ListMailProblemsResponse>, Status> {
        let actor = actor(&request)?;
        let found = self.engine.mail_problems(&actor).await?;
        Ok(Response::new(pb::ListMailProblemsResponse {
            problems: found
                .iter()
                .map(|m| pb::MailProblem {
                    id: m.id.clone(),
                    recipient_id: m.user_id.to_string(),
                    address: m.to_address.clone(),
                    subject: m.subject.clone(),
                    state: m.state.clone(),
                    reason: m.last_error.clone(),
                    attempts: m.attempts,
                    created_at: rfc3339(m.created_at),
                })
                .collect(),
        }))
    }
}
