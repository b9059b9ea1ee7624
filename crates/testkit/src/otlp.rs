//! An OTLP/gRPC receiver on loopback, standing in for a collector: it keeps
//! the spans and metric points services export, so tests can look at whole
//! traces and at what metrics said.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use opentelemetry_proto::tonic::{
    collector::{
        metrics::v1::{
            ExportMetricsServiceRequest, ExportMetricsServiceResponse,
            metrics_service_server::{MetricsService, MetricsServiceServer},
        },
        trace::v1::{
            ExportTraceServiceRequest, ExportTraceServiceResponse,
            trace_service_server::{TraceService, TraceServiceServer},
        },
    },
    common::v1::{AnyValue, KeyValue, any_value::Value},
    metrics::v1::{metric::Data, number_data_point},
    trace::v1::span::SpanKind,
};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

/// One exported span, ids in lowercase hex.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// The exporting process's `service.name`.
    pub resource_service: String,
    pub name: String,
    pub kind: SpanKind,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub attributes: BTreeMap<String, String>,
}

impl ReceivedSpan {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// One exported metric point: a counter's or gauge's value, or a
/// histogram's count.
#[derive(Debug, Clone)]
pub struct ReceivedPoint {
    pub resource_service: String,
    pub metric: String,
    pub value: f64,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct Received {
    keep: bool,
    spans: Mutex<Vec<ReceivedSpan>>,
    points: Mutex<Vec<ReceivedPoint>>,
    count: AtomicUsize,
    exports: AtomicUsize,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attributes(values: &[KeyValue]) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
        .collect()
}

/// The gRPC service, sharing what it receives with its [`Collector`].
struct Receiver(Arc<Received>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let this = &self.0;
        this.exports.fetch_add(1, Ordering::Relaxed);
        let mut received = Vec::new();
        for resource_spans in request.into_inner().resource_spans {
            let resource = resource_spans
                .resource
                .map(|r| attributes(&r.attributes))
                .unwrap_or_default();
            let service = resource.get("service.name").cloned().unwrap_or_default();
            for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                this.count.fetch_add(1, Ordering::Relaxed);
                if this.keep {
                    received.push(ReceivedSpan {
                        resource_service: service.clone(),
                        kind: SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified),
                        name: span.name,
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: hex(&span.parent_span_id),
                        attributes: attributes(&span.attributes),
                    });
                }
            }
        }
        if let Ok(mut spans) = this.spans.lock() {
            spans.extend(received);
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let mut received = Vec::new();
        for resource_metrics in request.into_inner().resource_metrics {
            let resource = resource_metrics
                .resource
                .map(|r| attributes(&r.attributes))
                .unwrap_or_default();
            let service = resource.get("service.name").cloned().unwrap_or_default();
            for metric in resource_metrics
                .scope_metrics
                .into_iter()
                .flat_map(|s| s.metrics)
            {
                let point = |value: f64, attrs: &[KeyValue]| ReceivedPoint {
                    resource_service: service.clone(),
                    metric: metric.name.clone(),
                    value,
                    attributes: attributes(attrs),
                };
                let number = |v: Option<number_data_point::Value>| match v {
                    Some(number_data_point::Value::AsDouble(d)) => d,
                    #[allow(clippy::cast_precision_loss)] // test counts are small
                    Some(number_data_point::Value::AsInt(i)) => i as f64,
                    None => 0.0,
                };
                match &metric.data {
                    Some(Data::Sum(sum)) => received.extend(
                        sum.data_points
                            .iter()
                            .map(|p| point(number(p.value), &p.attributes)),
                    ),
                    Some(Data::Gauge(gauge)) => received.extend(
                        gauge
                            .data_points
                            .iter()
                            .map(|p| point(number(p.value), &p.attributes)),
                    ),
                    #[allow(clippy::cast_precision_loss)]
                    Some(Data::Histogram(histogram)) => received.extend(
                        histogram
                            .data_points
                            .iter()
                            .map(|p| point(p.count as f64, &p.attributes)),
                    ),
                    Some(Data::ExponentialHistogram(_) | Data::Summary(_)) | None => {}
                }
            }
        }
        if let Ok(mut points) = self.0.points.lock() {
            points.extend(received);
        }
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

/// The receiver; it stops when dropped.
#[derive(Debug)]
pub struct Collector {
    addr: SocketAddr,
    received: Arc<Received>,
    server: JoinHandle<()>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Collector {
    /// Listens on a free loopback port and keeps every span.
    pub async fn start() -> Self {
        Self::serve(SocketAddr::from(([127, 0, 0, 1], 0)), true).await
    }

    /// Listens on `addr` and only counts spans (load tests).
    pub async fn counting(addr: SocketAddr) -> Self {
        Self::serve(addr, false).await
    }

    async fn serve(addr: SocketAddr, keep: bool) -> Self {
        let listener = TcpListener::bind(addr).await.expect("receiver binds");
        let addr = listener.local_addr().expect("receiver address");
        let received = Arc::new(Received {
            keep,
            ..Received::default()
        });
        let service = TraceServiceServer::new(Receiver(Arc::clone(&received)));
        let metrics = MetricsServiceServer::new(Receiver(Arc::clone(&received)));
        let server = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .add_service(metrics)
                .serve_with_incoming(TcpListenerStream::new(listener))
                .await;
        });
        Self {
            addr,
            received,
            server,
        }
    }

    /// Where exporters send: `http://127.0.0.1:port`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span kept so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.received
            .spans
            .lock()
            .map(|spans| spans.clone())
            .unwrap_or_default()
    }

    /// Spans of one trace.
    pub fn trace(&self, trace_id: &str) -> Vec<ReceivedSpan> {
        self.spans()
            .into_iter()
            .filter(|s| s.trace_id == trace_id)
            .collect()
    }

    /// Every metric point received so far, oldest first.
    pub fn points(&self) -> Vec<ReceivedPoint> {
        self.received
            .points
            .lock()
            .map(|points| points.clone())
            .unwrap_or_default()
    }

    /// How many spans arrived, kept or not.
    pub fn span_count(&self) -> usize {
        self.received.count.load(Ordering::Relaxed)
    }

    /// How many export calls arrived.
    pub fn export_count(&self) -> usize {
        self.received.exports.load(Ordering::Relaxed)
    }
}
