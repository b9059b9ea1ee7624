//! W3C trace context (`traceparent`, `tracestate`) in HTTP headers, which
//! are also gRPC metadata, and the span every traced HTTP request runs in.

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator as _},
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::{Instrument as _, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The caller's trace context, if its headers carry a valid one.
pub fn extract_context(headers: &HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// Writes `cx` as `traceparent` (and `tracestate`) into `headers`,
/// replacing any there; nothing when `cx` has no valid span.
pub fn inject_context(cx: &Context, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(cx, &mut HeaderInjector(headers));
}

/// `traceparent` (and `tracestate`) of the current span, for an outgoing
/// HTTP call (Microsoft Graph); empty when tracing is off or no span runs.
pub fn current_trace_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    if super::tracing_enabled() {
        inject_context(&tracing::Span::current().context(), &mut headers);
    }
    headers
}

/// Requests that probes and scrapers make all the time: not traced.
fn is_probe(route: &str) -> bool {
    matches!(route, "/healthz" | "/readyz" | "/metrics")
}

/// axum middleware (as a `route_layer`, so the route template is known):
/// runs the request in a server span named `METHOD /route/{param}`, child of
/// the caller's `traceparent` when it sends one. Does nothing when tracing
/// is off.
pub async fn trace_http(service: &'static str, request: Request, next: Next) -> Response {
    if !super::tracing_enabled() {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    if is_probe(&route) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let span = tracing::info_span!(
        "http.request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = Empty,
        service,
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = Empty,
    );
    let _ = span.set_parent(extract_context(request.headers()));
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
    response
}
