//! The notifications service's contract (`folio.notifications.v1`).

use folio_proto::notifications::v1::{
    self as pb, notifications_service_client::NotificationsServiceClient,
};

use crate::call::{client, unary};

/// What a call to the notifications service failed with.
pub type NotificationsError = crate::CallError<pb::ErrorReason>;

client!(
    /// The notifications service: webhooks, their deliveries, mail preferences.
    NotificationsClient,
    NotificationsServiceClient
);

unary!(NotificationsClient, NotificationsError, {
    write create_webhook(pb::CreateWebhookRequest) -> pb::CreatedWebhook;
    read list_webhooks(pb::ListWebhooksRequest) -> pb::ListWebhooksResponse;
    read get_webhook(pb::GetWebhookRequest) -> pb::Webhook;
    write update_webhook(pb::UpdateWebhookRequest) -> pb::Webhook;
    write delete_webhook(pb::DeleteWebhookRequest) -> pb::DeleteWebhookResponse;
    read list_deliveries(pb::ListDeliveriesRequest) -> pb::ListDeliveriesResponse;
    write redeliver(pb::RedeliverRequest) -> pb::Delivery;
    read get_preferences(pb::GetPreferencesRequest) -> pb::Preferences;
    write update_preferences(pb::UpdatePreferencesRequest) -> pb::Preferences;
    read list_mail_problems(pb::ListMailProblemsRequest) -> pb::ListMailProblemsResponse;
});
