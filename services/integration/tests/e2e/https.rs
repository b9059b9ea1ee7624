//! The webhook listener in the cluster (docs/adr/0069): Graph's
//! notifications arrive over HTTPS from the load balancer, never as plain
//! HTTP.

use folio_platform::{db::Backend, https::HttpsFiles};

use super::helpers::World;

async fn the_webhook_answers_graph_over_https_only(backend: Backend) {
    let world = World::start(backend).await;
    let files = world.pki.files("integration");
    let instance = world
        .spawn_integration_configured(World::database_secrets(), |settings| {
            settings.platform.http_tls = Some(HttpsFiles {
                cert: files.cert.clone(),
                key: files.key.clone(),
            });
        })
        .await;
    let ca = std::fs::read(world.pki.pki.ca_cert_path()).expect("CA");
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("CA"))
        .build()
        .expect("client");
    let url = format!(
        "https://127.0.0.1:{}/api/v1/onedrive/notifications?validationToken=reachable",
        instance.http_port
    );
    let response = client
        .post(&url)
        .header("content-type", "text/plain")
        .send()
        .await
        .expect("HTTPS");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "reachable");
    let ready = client
        .get(format!("https://127.0.0.1:{}/readyz", instance.http_port))
        .send()
        .await
        .expect("HTTPS");
    assert_eq!(ready.status(), 200, "the health check is HTTPS too");

    let plain = url.replace("https://", "http://");
    assert!(
        reqwest::Client::new().post(plain).send().await.is_err(),
        "plain HTTP was answered"
    );
}

folio_testkit::backend_tests!(the_webhook_answers_graph_over_https_only);
