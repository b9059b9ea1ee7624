//! Webhooks as a client system sees them: Standard Webhooks signatures
//! checked by the `standardwebhooks` library, retries, the delivery log,
//! redelivery, disabling, refused addresses; and who may manage them.

use std::time::Duration;

use folio_notifications::Timing;
use folio_platform::db::Backend;
use folio_proto::notifications::v1::{self as pb, DeliveryState};
use folio_testkit::receivers::{Received, SmtpOptions, SmtpServer, WebhookReceiver};
use tonic::Code;

use crate::{
    helpers::{World, eventually},
    mail,
};

async fn received(receiver: &WebhookReceiver, at_least: usize) -> Vec<Received> {
    eventually(Duration::from_secs(20), "deliveries", || async {
        let got = receiver.received().await;
        (got.len() >= at_least).then_some(got)
    })
    .await
}

async fn deliveries_are_signed_and_verified_by_the_reference_library(backend: Backend) {
    let world = World::start(backend).await;
    let receiver = WebhookReceiver::start();
    let created = world
        .create_webhook(&receiver.url("/folio"), &["document.created"])
        .await;
    assert!(created.secret.starts_with("whsec_"));
    receiver.set_secret(&created.secret).await;
    let hook = created.webhook.unwrap();
    // The secret is shown once: never again.
    let listed = world
        .client()
        .list_webhooks(world.admin().request(pb::ListWebhooksRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(!format!("{listed:?}").contains(&created.secret));

    let document = world.upload(&world.admin(), "offer").await;
    let got = received(&receiver, 1).await;
    let delivery = &got[0];
    assert!(delivery.verified, "{:?}", delivery.error);
    assert_eq!(delivery.body["type"], "document.created");
    assert_eq!(delivery.body["data"]["document_id"], document.id);
    assert_eq!(
        delivery.body["data"]["organisation_id"],
        world.admin().org_id.to_string()
    );
    assert!(delivery.body["timestamp"].as_str().unwrap().ends_with('Z'));
    let log = eventually(Duration::from_secs(10), "the log", || async {
        let log = world.deliveries(&hook.id).await;
        (log.first()
            .is_some_and(|d| d.state == i32::from(DeliveryState::Delivered)))
        .then_some(log)
    })
    .await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].id, delivery.id);
    assert_eq!(log[0].last_status, 204);
    assert_eq!(log[0].attempts, 1);

    // A receiver holding another secret refuses the signature: the check can fail.
    receiver
        .set_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .await;
    world
        .client()
        .redeliver(world.admin().request(pb::RedeliverRequest {
            webhook_id: hook.id.clone(),
            delivery_id: delivery.id.clone(),
        }))
        .await
        .unwrap();
    let got = received(&receiver, 2).await;
    assert!(!got[1].verified);
    // Redelivered under the same webhook-id.
    assert_eq!(got[1].id, delivery.id);
    assert!(
        received(&receiver, 2).await.len() == 2,
        "one event, one delivery (plus the redelivery)"
    );
}

async fn failures_are_retried_with_backoff_and_then_given_up(backend: Backend) {
    let timing = Timing {
        retry_base: Duration::from_millis(200),
        retry_max: Duration::from_secs(2),
        retry_window: Duration::from_secs(2),
        ..Timing::brisk()
    };
    let world = World::start_with(backend, timing).await;
    let receiver = WebhookReceiver::start();
    receiver.answer(503).await;
    let created = world
        .create_webhook(&receiver.url("/hook"), &["version.created"])
        .await;
    receiver.set_secret(&created.secret).await;
    let hook = created.webhook.unwrap();
    world.upload(&world.admin(), "draft").await;
    let failed = eventually(Duration::from_secs(20), "given up", || async {
        let log = world.deliveries(&hook.id).await;
        log.into_iter()
            .find(|d| d.state == i32::from(DeliveryState::Failed))
    })
    .await;
    assert_eq!(failed.last_status, 503);
    assert!(failed.attempts >= 3, "{failed:?}");
    let got = receiver.received().await;
    assert_eq!(got.len(), failed.attempts as usize);
    // Every attempt under the same id, each verified.
    assert!(got.iter().all(|r| r.id == failed.id && r.verified));
    // The pauses grow.
    let stamps: Vec<i64> = got.iter().map(|r| r.timestamp.parse().unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[1] >= w[0]));

    // Redelivered once the endpoint is well again.
    receiver.answer(200).await;
    world
        .client()
        .redeliver(world.admin().request(pb::RedeliverRequest {
            webhook_id: hook.id.clone(),
            delivery_id: failed.id.clone(),
        }))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "redelivered", || async {
        let log = world.deliveries(&hook.id).await;
        log.into_iter()
            .find(|d| d.state == i32::from(DeliveryState::Delivered) && d.last_status == 200)
    })
    .await;
}

async fn an_endpoint_failing_too_long_is_disabled(backend: Backend) {
    let timing = Timing {
        disable_after: Duration::from_millis(500),
        retry_base: Duration::from_millis(100),
        retry_max: Duration::from_millis(200),
        ..Timing::brisk()
    };
    let smtp = SmtpServer::start(&SmtpOptions::default());
    let world = World::start_full(
        backend,
        timing,
        mail::smtp(&format!("smtp://127.0.0.1:{}", smtp.port()), None, None),
    )
    .await;
    let receiver = WebhookReceiver::start();
    receiver.answer(500).await;
    let hook = world
        .create_webhook(&receiver.url("/"), &["document.created"])
        .await
        .webhook
        .unwrap();
    world.upload(&world.admin(), "one").await;
    let disabled = eventually(Duration::from_secs(20), "disabled", || async {
        let hook = world
            .client()
            .get_webhook(world.admin().request(pb::GetWebhookRequest {
                id: hook.id.clone(),
            }))
            .await
            .unwrap()
            .into_inner();
        (!hook.enabled).then_some(hook)
    })
    .await;
    assert_eq!(disabled.disabled_reason, "failing");
    let log = world.deliveries(&disabled.id).await;
    assert!(
        log.iter()
            .all(|d| d.state == i32::from(DeliveryState::Failed))
    );
    // The organisation's admin is told, once, with the link to the endpoint.
    let got = mail::mails(&smtp, 1).await;
    assert_eq!(got[0].to, ["admin@acme.example"]);
    assert!(
        got[0]
            .subject
            .starts_with("[acme] Webhook disabled: http://127.0.0.1:"),
        "{}",
        got[0].subject
    );
    let link = format!("{}#/webhooks/{}", mail::PORTAL, disabled.id);
    assert!(got[0].text.as_deref().unwrap().contains(&link));
    assert!(
        got[0]
            .html
            .as_deref()
            .unwrap()
            .contains(&format!("href=\"{link}\""))
    );
    // Nothing more is sent to it.
    let count = receiver.received().await.len();
    world.upload(&world.admin(), "two").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.received().await.len(), count);
    assert_eq!(smtp.received().len(), 1, "{:#?}", smtp.received());
}

async fn internal_addresses_are_refused_at_registration_and_delivery(backend: Backend) {
    let world = World::start(backend).await;
    let receiver = WebhookReceiver::start();
    // Registered while the deployment allows loopback…
    let hook = world
        .create_webhook(&receiver.url("/"), &["document.created"])
        .await
        .webhook
        .unwrap();
    world.notifications_stop_and_wait().await;
    // …then a deployment that does not.
    let mut settings = world.settings();
    settings.allow_private_webhooks = false;
    let strict = World::spawn(settings).await;
    let client = || {
        pb::notifications_service_client::NotificationsServiceClient::new(
            world.pki.channel("bff", strict.port),
        )
    };
    for url in [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "http://93.184.216.34/hook",
        "https://no-such-host.invalid/hook",
    ] {
        let refused = client()
            .create_webhook(world.admin().request(pb::CreateWebhookRequest {
                url: url.into(),
                events: vec!["document.created".into()],
            }))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{url}");
    }
    world.upload(&world.admin(), "secret plans").await;
    let refused = eventually(Duration::from_secs(20), "an attempt", || async {
        let log = world.deliveries_via(strict.port, &hook.id).await;
        log.into_iter().find(|d| d.attempts > 0)
    })
    .await;
    assert!(
        refused.last_error.contains("internal address"),
        "{refused:?}"
    );
    assert_eq!(refused.last_status, 0);
    assert!(receiver.received().await.is_empty());
    let listed = client()
        .list_webhooks(world.admin().request(pb::ListWebhooksRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.webhooks.len(), 1);
}

async fn only_admins_of_the_organisation_manage_webhooks(backend: Backend) {
    let world = World::start(backend).await;
    let hook = world
        .create_webhook("http://127.0.0.1:9/", &["task.created"])
        .await
        .webhook
        .unwrap();
    let mut client = world.client();
    for actor in [world.org.editor, world.org.viewer] {
        let status = client
            .create_webhook(actor.request(pb::CreateWebhookRequest {
                url: "http://127.0.0.1:9/".into(),
                events: vec!["task.created".into()],
            }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        let status = client
            .list_webhooks(actor.request(pb::ListWebhooksRequest {}))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        let status = client
            .delete_webhook(actor.request(pb::DeleteWebhookRequest {
                id: hook.id.clone(),
            }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    // Another organisation's admin does not see it, cannot change it.
    let stranger = world.stranger;
    let codes = [
        client
            .get_webhook(stranger.request(pb::GetWebhookRequest {
                id: hook.id.clone(),
            }))
            .await
            .unwrap_err()
            .code(),
        client
            .update_webhook(stranger.request(pb::UpdateWebhookRequest {
                id: hook.id.clone(),
                enabled: Some(false),
                ..Default::default()
            }))
            .await
            .unwrap_err()
            .code(),
        client
            .delete_webhook(stranger.request(pb::DeleteWebhookRequest {
                id: hook.id.clone(),
            }))
            .await
            .unwrap_err()
            .code(),
        client
            .list_deliveries(stranger.request(pb::ListDeliveriesRequest {
                webhook_id: hook.id.clone(),
                limit: 0,
            }))
            .await
            .unwrap_err()
            .code(),
        client
            .redeliver(stranger.request(pb::RedeliverRequest {
                webhook_id: hook.id.clone(),
                delivery_id: "msg_x".into(),
            }))
            .await
            .unwrap_err()
            .code(),
    ];
    assert!(codes.iter().all(|c| *c == Code::NotFound), "{codes:?}");
    let theirs = client
        .list_webhooks(stranger.request(pb::ListWebhooksRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(theirs.webhooks.is_empty());
    // Services other than the bff may not call it at all.
    let mut documents = pb::notifications_service_client::NotificationsServiceClient::new(
        world.pki.channel("documents", world.notifications.port),
    );
    let status = documents
        .list_webhooks(world.admin().request(pb::ListWebhooksRequest {}))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let mut anonymous = pb::notifications_service_client::NotificationsServiceClient::new(
        world.pki.anonymous_channel(world.notifications.port),
    );
    let status = anonymous
        .list_webhooks(world.admin().request(pb::ListWebhooksRequest {}))
        .await
        .unwrap_err();
    assert!(matches!(
        status.code(),
        Code::Unauthenticated | Code::Unavailable | Code::Unknown
    ));
    // Still there, unchanged.
    let still = world
        .client()
        .get_webhook(world.admin().request(pb::GetWebhookRequest {
            id: hook.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(still.enabled);
}

async fn bad_input_is_refused_and_changes_nothing(backend: Backend) {
    let world = World::start(backend).await;
    let mut client = world.client();
    let admin = world.admin();
    let long_url = format!("http://127.0.0.1:9/{}", "a".repeat(3000));
    let many: Vec<String> = (0..60).map(|_| "task.created".to_owned()).collect();
    for (url, events) in [
        (long_url.as_str(), vec!["task.created".to_owned()]),
        ("http://127.0.0.1:9/", many),
        ("http://127.0.0.1:9/", vec!["task.exploded".to_owned()]),
        ("http://127.0.0.1:9/", vec![]),
        ("ftp://127.0.0.1/", vec!["task.created".to_owned()]),
        (
            "http://user:pw@127.0.0.1:9/",
            vec!["task.created".to_owned()],
        ),
        ("", vec!["task.created".to_owned()]),
    ] {
        let status = client
            .create_webhook(admin.request(pb::CreateWebhookRequest {
                url: url.into(),
                events,
            }))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{}",
            &url[..url.len().min(40)]
        );
    }
    let hook = world
        .create_webhook("http://127.0.0.1:9/", &["task.created"])
        .await
        .webhook
        .unwrap();
    let status = client
        .update_webhook(admin.request(pb::UpdateWebhookRequest {
            id: hook.id.clone(),
            url: Some(long_url.clone()),
            events: Some(pb::EventTypes {
                events: vec!["document.created".into()],
            }),
            enabled: None,
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    for id in ["", "not-a-uuid", &"9".repeat(5000)] {
        let status = client
            .get_webhook(admin.request(pb::GetWebhookRequest { id: id.into() }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
    }
    let status = client
        .list_deliveries(admin.request(pb::ListDeliveriesRequest {
            webhook_id: hook.id.clone(),
            limit: 1000,
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = client
        .redeliver(admin.request(pb::RedeliverRequest {
            webhook_id: hook.id.clone(),
            delivery_id: "x".repeat(10_000),
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    // Nothing changed: one endpoint, as registered.
    let after = client
        .get_webhook(admin.request(pb::GetWebhookRequest {
            id: hook.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.url, "http://127.0.0.1:9/");
    assert_eq!(after.events, ["task.created"]);
    let listed = client
        .list_webhooks(admin.request(pb::ListWebhooksRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.webhooks.len(), 1);
}

folio_testkit::backend_tests!(
    deliveries_are_signed_and_verified_by_the_reference_library,
    failures_are_retried_with_backoff_and_then_given_up,
    an_endpoint_failing_too_long_is_disabled,
    internal_addresses_are_refused_at_registration_and_delivery,
    only_admins_of_the_organisation_manage_webhooks,
    bad_input_is_refused_and_changes_nothing,
);
