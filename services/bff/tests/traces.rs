#![allow(unreachable_pub)]
//! One portal action is one trace across services: the bff, users and
//! documents in process (as in the API tests) export to an in-process OTLP
//! receiver, and a request that brings a `traceparent` comes back as one
//! tree of spans under it, hop by hop.
//!
//! Metrics go to the same receiver over OTLP: the counters of those requests
//! arrive there too.
//!
//! Its own test binary: the tracer is installed once per process.

#[allow(dead_code)]
#[path = "api/contract.rs"]
mod contract;
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::time::Duration;

use folio_platform::{
    db::Backend,
    telemetry::{self, LogFormat, MetricExport, Sampling, Telemetry, TelemetryConfig, TraceExport},
};
use folio_testkit::otlp::{Collector, ReceivedSpan};
use helpers::TestSystem;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// A `traceparent` as a browser (or the ingress) would send it: the trace id
/// and the caller's span id.
fn caller() -> (String, String, String) {
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let span_id = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
    let header = format!("00-{trace_id}-{span_id}-01");
    (trace_id, span_id, header)
}

/// The spans of `trace_id` once `done` holds for them (a batch may lag).
async fn collected(
    telemetry: &Telemetry,
    collector: &Collector,
    trace_id: &str,
    done: impl Fn(&[ReceivedSpan]) -> bool,
) -> Vec<ReceivedSpan> {
    for _ in 0..50 {
        telemetry.flush().await;
        let spans = collector.trace(trace_id);
        if done(&spans) {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "trace {trace_id} incomplete: {:#?}",
        collector.trace(trace_id)
    );
}

fn one<'a>(
    spans: &'a [ReceivedSpan],
    service: &str,
    kind: SpanKind,
    name: &str,
) -> &'a ReceivedSpan {
    let found: Vec<_> = spans
        .iter()
        .filter(|s| s.attribute("service") == Some(service) && s.kind == kind && s.name == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {service} {kind:?} span {name}: {spans:#?}"
    );
    found[0]
}

fn has(spans: &[ReceivedSpan], service: &str, kind: SpanKind, name: &str) -> bool {
    spans
        .iter()
        .any(|s| s.attribute("service") == Some(service) && s.kind == kind && s.name == name)
}

/// Every span hangs off the caller's span or another span of the trace.
fn assert_one_tree(spans: &[ReceivedSpan], caller_span: &str) {
    for span in spans {
        assert!(
            span.parent_span_id == caller_span
                || spans.iter().any(|p| p.span_id == span.parent_span_id),
            "{} has a parent outside the trace: {spans:#?}",
            span.name
        );
        assert_eq!(span.resource_service, "folio-test");
    }
    let roots = spans
        .iter()
        .filter(|s| s.parent_span_id == caller_span)
        .count();
    assert_eq!(roots, 1, "one span answers the caller: {spans:#?}");
}

const UPLOAD: &str = "folio.documents.v1.DocumentsService/UploadVersion";
const CREATE_TASK: &str = "folio.documents.v1.DocumentsService/CreateTask";
const GET_USER: &str = "folio.users.v1.UsersService/GetUser";
const SEND: &str = "folio.integration.v1.IntegrationService/SendToOneDrive";
const DOWNLOAD: &str = "folio.documents.v1.DocumentsService/DownloadVersion";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_portal_action_is_one_trace_across_services() {
    let collector = Collector::start().await;
    let telemetry = telemetry::install(&TelemetryConfig {
        log_format: LogFormat::Text,
        traces: Some(TraceExport {
            endpoint: collector.endpoint(),
            service_name: "folio-test".into(),
            sampling: Sampling::ParentBasedAlwaysOn,
        }),
        metrics: Some(MetricExport {
            endpoint: collector.endpoint(),
            service_name: "folio-test".into(),
            interval: Duration::from_millis(200),
        }),
    })
    .expect("the first subscriber of this process");
    assert!(telemetry.tracing() && telemetry::tracing_enabled());

    let system = TestSystem::spawn_with(
        Backend::Sqlite,
        helpers::Options {
            onedrive: true,
            ..helpers::Options::default()
        },
    )
    .await;
    let admin = system.signed_in("admin@acme.example").await;
    let created = admin.add_document("Plan", "plan.txt", b"first").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();

    // A new version, uploaded by a browser that sends its trace context.
    let (trace_id, caller_span, traceparent) = caller();
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
        .header("traceparent", &traceparent)
        .multipart(form);
    let reply = admin.send(request, &Method::POST, &path).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());

    let spans = collected(&telemetry, &collector, &trace_id, |spans| {
        has(
            spans,
            "bff",
            SpanKind::Server,
            "POST /api/v1/documents/{document_id}/versions",
        ) && has(spans, "bff", SpanKind::Client, UPLOAD)
            && has(spans, "documents", SpanKind::Server, UPLOAD)
    })
    .await;
    let request_span = one(
        &spans,
        "bff",
        SpanKind::Server,
        "POST /api/v1/documents/{document_id}/versions",
    );
    assert_eq!(request_span.parent_span_id, caller_span);
    assert_eq!(
        request_span.attribute("http.response.status_code"),
        Some("201")
    );
    assert_eq!(
        request_span.attribute("http.route"),
        Some("/api/v1/documents/{document_id}/versions")
    );
    let bff_call = one(&spans, "bff", SpanKind::Client, UPLOAD);
    assert_eq!(bff_call.parent_span_id, request_span.span_id);
    let documents = one(&spans, "documents", SpanKind::Server, UPLOAD);
    assert_eq!(documents.parent_span_id, bff_call.span_id);
    assert_eq!(documents.attribute("rpc.method"), Some("UploadVersion"));
    assert_eq!(documents.attribute("rpc.grpc.status_code"), None);
    assert_one_tree(&spans, &caller_span);

    // Every hop: a task for a user, which documents checks with users.
    let (trace_id, caller_span, traceparent) = caller();
    let path = format!("/api/v1/documents/{id}/tasks");
    let request = admin
        .request(Method::POST, &path)
        .header("traceparent", &traceparent)
        .json(&json!({"title": "Review", "assignee_id": system.acme_admin.id}));
    let reply = admin.send(request, &Method::POST, &path).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let spans = collected(&telemetry, &collector, &trace_id, |spans| {
        has(spans, "users", SpanKind::Server, GET_USER)
            && has(spans, "documents", SpanKind::Server, CREATE_TASK)
            && has(
                spans,
                "bff",
                SpanKind::Server,
                "POST /api/v1/documents/{document_id}/tasks",
            )
    })
    .await;
    let users = one(&spans, "users", SpanKind::Server, GET_USER);
    let documents_call = one(&spans, "documents", SpanKind::Client, GET_USER);
    let documents = one(&spans, "documents", SpanKind::Server, CREATE_TASK);
    let bff_call = one(&spans, "bff", SpanKind::Client, CREATE_TASK);
    let request_span = one(
        &spans,
        "bff",
        SpanKind::Server,
        "POST /api/v1/documents/{document_id}/tasks",
    );
    assert_eq!(users.parent_span_id, documents_call.span_id);
    assert_eq!(documents_call.parent_span_id, documents.span_id);
    assert_eq!(documents.parent_span_id, bff_call.span_id);
    assert_eq!(bff_call.parent_span_id, request_span.span_id);
    assert_eq!(request_span.parent_span_id, caller_span);
    assert_one_tree(&spans, &caller_span);

    // Send to OneDrive: bff → integration → documents, and on to Graph,
    // whose requests carry the same trace.
    admin.connect_onedrive().await;
    let (trace_id, caller_span, traceparent) = caller();
    let path = format!("/api/v1/documents/{id}/versions/2/send-to-onedrive");
    let request = admin
        .request(Method::POST, &path)
        .header("traceparent", &traceparent);
    let reply = admin.send(request, &Method::POST, &path).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let spans = collected(&telemetry, &collector, &trace_id, |spans| {
        has(spans, "integration", SpanKind::Server, SEND)
            && has(spans, "integration", SpanKind::Client, DOWNLOAD)
            && has(spans, "documents", SpanKind::Server, DOWNLOAD)
    })
    .await;
    let request_span = one(
        &spans,
        "bff",
        SpanKind::Server,
        "POST /api/v1/documents/{document_id}/versions/{number}/send-to-onedrive",
    );
    let bff_call = one(&spans, "bff", SpanKind::Client, SEND);
    let integration = one(&spans, "integration", SpanKind::Server, SEND);
    let integration_call = one(&spans, "integration", SpanKind::Client, DOWNLOAD);
    let documents = one(&spans, "documents", SpanKind::Server, DOWNLOAD);
    assert_eq!(request_span.parent_span_id, caller_span);
    assert_eq!(bff_call.parent_span_id, request_span.span_id);
    assert_eq!(integration.parent_span_id, bff_call.span_id);
    assert_eq!(integration_call.parent_span_id, integration.span_id);
    assert_eq!(documents.parent_span_id, integration_call.span_id);
    let graph = &system.onedrive.as_ref().unwrap().graph;
    let to_graph: Vec<String> = graph
        .traceparents()
        .into_iter()
        .filter(|t| t.contains(&trace_id))
        .collect();
    assert!(
        !to_graph.is_empty(),
        "the Graph calls of the upload carry the trace: {:?}",
        graph.traceparents()
    );
    assert!(
        to_graph.iter().all(|t| !t.contains(&caller_span)),
        "Graph calls hang under the integration's spans, not the caller's"
    );

    // A request without a traceparent starts its own trace.
    let before = collector.spans().len();
    assert_eq!(admin.get("/api/v1/documents").await.status, StatusCode::OK);
    let mut roots = Vec::new();
    for _ in 0..50 {
        telemetry.flush().await;
        roots = collector.spans()[before..]
            .iter()
            .filter(|s| s.name == "GET /api/v1/documents")
            .cloned()
            .collect();
        if !roots.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(roots.len(), 1, "{roots:#?}");
    assert!(roots[0].parent_span_id.is_empty(), "{roots:#?}");

    // The same requests, counted, reach the collector as OTLP metrics (with
    // the labels Prometheus shows), pushed every 200 ms.
    let uploads = |points: &[folio_testkit::otlp::ReceivedPoint]| {
        points
            .iter()
            .filter(|p| {
                p.metric == "http_requests_total"
                    && p.resource_service == "folio-test"
                    && p.attributes.get("service").map(String::as_str) == Some("bff")
                    && p.attributes.get("route").map(String::as_str)
                        == Some("/api/v1/documents/{document_id}/versions")
                    && p.attributes.get("method").map(String::as_str) == Some("POST")
            })
            .map(|p| p.value)
            .fold(0.0, f64::max)
    };
    let mut counted = 0.0;
    for _ in 0..50 {
        telemetry.flush().await;
        counted = uploads(&collector.points());
        if counted >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(counted >= 1.0, "the version upload is counted over OTLP");
    let points = collector.points();
    assert!(
        points.iter().any(|p| p.metric == "grpc_requests_total"
            && p.attributes.get("service").map(String::as_str) == Some("documents")),
        "gRPC metrics are exported too"
    );
    assert!(
        points
            .iter()
            .any(|p| p.metric == "http_request_duration_seconds" && p.value >= 1.0),
        "histograms are exported with their counts"
    );

    drop(system);
    telemetry.shutdown().await;
}
