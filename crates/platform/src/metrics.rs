//! Metrics in Prometheus text at `GET /metrics` on every HTTP listener:
//! requests, errors and latency per HTTP route and per RPC, plus what each
//! service records itself (bytes moved, sessions, pool state).
//!
//! One recorder per process: under `folio up` every service reports through
//! it, told apart by the `service` label. With OTLP configured
//! (`crate::telemetry`) every metric is also pushed to the collector.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, OnceLock, PoisonError},
    task::{Context, Poll},
    time::Instant,
};

use axum::{
    Router,
    extract::{MatchedPath, Request},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_util::layers::FanoutBuilder;
use tower::{Layer, Service};

use crate::telemetry::OtelRecorder;

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// A second recorder every metric also goes to (OTLP export), set by
/// `telemetry::install` before the first metric is recorded.
static ALSO: Mutex<Option<OtelRecorder>> = Mutex::new(None);

/// Sends every metric to `recorder` as well. False when the process's
/// recorder is already installed: install telemetry before anything else.
pub(crate) fn record_also(recorder: OtelRecorder) -> bool {
    if HANDLE.get().is_some() {
        return false;
    }
    *ALSO.lock().unwrap_or_else(PoisonError::into_inner) = Some(recorder);
    true
}

/// The process's recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        let also = ALSO.lock().unwrap_or_else(PoisonError::into_inner).take();
        // Another recorder already installed (a test harness) keeps its place.
        let _installed = match also {
            Some(also) => metrics::set_global_recorder(
                FanoutBuilder::default()
                    .add_recorder(recorder)
                    .add_recorder(also)
                    .build(),
            )
            .is_ok(),
            None => metrics::set_global_recorder(recorder).is_ok(),
        };
        handle
    })
}

/// Something to refresh just before a scrape (pool gauges, session counts).
pub type Collector = Arc<dyn Fn() + Send + Sync>;

/// `GET /metrics` for a router, running `collectors` first.
pub fn route<S: Clone + Send + Sync + 'static>(collectors: Vec<Collector>) -> Router<S> {
    handle();
    Router::new().route(
        "/metrics",
        get(move || {
            let collectors = collectors.clone();
            async move {
                for collect in &collectors {
                    collect();
                }
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    handle().render(),
                )
                    .into_response()
            }
        }),
    )
}

/// axum middleware: count and time every request by its route template.
pub async fn track_http(service: &'static str, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [
        ("service", service.to_owned()),
        ("route", route),
        ("method", method),
        ("status", status),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    if response.status().is_server_error() {
        metrics::counter!("http_server_errors_total", &labels[..3]).increment(1);
    }
    metrics::histogram!("http_request_duration_seconds", &labels[..3])
        .record(started.elapsed().as_secs_f64());
    response
}

/// A tower layer for gRPC servers: count and time every RPC by method and code.
#[derive(Debug, Clone, Copy)]
pub struct GrpcMetricsLayer {
    service: &'static str,
}

impl GrpcMetricsLayer {
    pub fn new(service: &'static str) -> Self {
        Self { service }
    }
}

impl<S> Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;
    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics {
            inner,
            service: self.service,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
    service: &'static str,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> Service<http::Request<B>> for GrpcMetrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request
            .uri()
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let service = self.service;
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let started = Instant::now();
        let call = inner.call(request);
        Box::pin(async move {
            let response = call.await?;
            // Errors answered before any message carry their code in the
            // headers; streams that fail later report it in trailers.
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("0")
                .to_owned();
            let labels = [("service", service.to_owned()), ("method", method)];
            metrics::counter!(
                "grpc_requests_total",
                &[labels[0].clone(), labels[1].clone(), ("code", code.clone()),]
            )
            .increment(1);
            if code != "0" {
                metrics::counter!("grpc_errors_total", &labels).increment(1);
            }
            metrics::histogram!("grpc_request_duration_seconds", &labels)
                .record(started.elapsed().as_secs_f64());
            Ok(response)
        })
    }
}

/// Pool gauges for a database, refreshed at scrape time.
pub fn pool_collector(service: &'static str, db: crate::db::Database) -> Collector {
    Arc::new(move || {
        let size = f64::from(db.pool.size());
        let idle = f64::from(u32::try_from(db.pool.num_idle()).unwrap_or(u32::MAX));
        metrics::gauge!("db_pool_connections", "service" => service, "state" => "idle").set(idle);
        metrics::gauge!("db_pool_connections", "service" => service, "state" => "in_use")
            .set(size - idle);
    })
}
