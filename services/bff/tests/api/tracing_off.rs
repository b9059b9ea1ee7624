//! Without a collector configured, tracing is off: no tracer, no request
//! spans, nothing sent anywhere, and requests that bring a `traceparent`
//! are served as any other. (Tracing on is `tests/traces.rs`.)

use std::time::Duration;

use folio_platform::{
    db::Backend,
    telemetry::{self, TelemetryConfig, TelemetryError},
};
use folio_testkit::otlp::Collector;
use reqwest::{Method, StatusCode};

use super::helpers::TestSystem;

#[tokio::test]
async fn with_tracing_off_nothing_is_exported_and_requests_work() {
    let collector = Collector::start().await;
    // The usual OTEL_* variables, but no OTEL_EXPORTER_OTLP_ENDPOINT.
    let config = TelemetryConfig::from_lookup("folio-bff", |var| match var {
        "OTEL_SERVICE_NAME" => Some("folio-bff".into()),
        "OTEL_TRACES_SAMPLER" => Some("always_on".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(config.traces, None);
    let telemetry = match telemetry::install(&config) {
        Ok(telemetry) => Some(telemetry),
        // Under plain `cargo test` another test of this binary may have
        // installed its (logs-only) subscriber first.
        Err(TelemetryError::AlreadyInstalled) => None,
        Err(error) => panic!("{error}"),
    };
    assert!(
        !telemetry
            .as_ref()
            .is_some_and(telemetry::Telemetry::tracing)
    );
    assert!(!telemetry::tracing_enabled());

    let system = TestSystem::spawn(Backend::Sqlite).await;
    let admin = system.signed_in("admin@acme.example").await;
    let created = admin.add_document("Plan", "plan.txt", b"first").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/documents/{id}/versions");
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"second".to_vec())
            .file_name("plan.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let request = admin
        .request(Method::POST, &path)
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .multipart(form);
    let reply = admin.send(request, &Method::POST, &path).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let content = admin
        .get_with(
            &format!("/api/v1/documents/{id}/content"),
            &[(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )],
        )
        .await;
    assert_eq!(content.status, StatusCode::OK);
    assert_eq!(content.body, b"second");

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(collector.export_count(), 0);
    assert!(collector.spans().is_empty());
    if let Some(telemetry) = telemetry {
        telemetry.shutdown().await;
    }
}
