//! Traces across gRPC hops: clients open a span per call and send its
//! context as `traceparent` metadata; servers open theirs as its child.
//! Both do nothing when tracing is off.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use futures::future::Either;
use tonic::{body::Body, transport::Channel};
use tower::{Layer, Service};
use tracing::{Instrument as _, Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::telemetry::{extract_context, inject_context, tracing_enabled};

const HEALTH_SERVICE: &str = "/grpc.health.v1.Health/";

/// `/package.Service/Method` → (`package.Service`, `Method`).
fn rpc_names(path: &str) -> (&str, &str) {
    let path = path.trim_start_matches('/');
    path.rsplit_once('/').unwrap_or((path, ""))
}

/// Records the code of an answer that failed before any message (its
/// `grpc-status` is then in the headers; streams report later ones in
/// trailers, which this does not see).
fn record_status<B>(span: &Span, response: &http::Response<B>) {
    let code = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    if let Some(code) = code {
        span.record("rpc.grpc.status_code", code);
        if code != 0 {
            span.record("otel.status_code", "error");
        }
    }
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// A tower layer for gRPC servers: each RPC runs in a server span named
/// `package.Service/Method`, child of the caller's `traceparent`.
#[derive(Debug, Clone, Copy)]
pub struct GrpcTraceLayer {
    service: &'static str,
}

impl GrpcTraceLayer {
    pub fn new(service: &'static str) -> Self {
        Self { service }
    }
}

impl<S> Layer<S> for GrpcTraceLayer {
    type Service = GrpcTrace<S>;
    fn layer(&self, inner: S) -> Self::Service {
        GrpcTrace {
            inner,
            service: self.service,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GrpcTrace<S> {
    inner: S,
    service: &'static str,
}

impl<S, B, R> Service<http::Request<B>> for GrpcTrace<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<S::Future, BoxFuture<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = request.uri().path();
        if !tracing_enabled() || path.starts_with(HEALTH_SERVICE) {
            return Either::Left(inner.call(request));
        }
        let (rpc_service, rpc_method) = rpc_names(path);
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "server",
            otel.status_code = Empty,
            service = self.service,
            rpc.system = "grpc",
            rpc.service = rpc_service,
            rpc.method = rpc_method,
            rpc.grpc.status_code = Empty,
        );
        let _ = span.set_parent(extract_context(request.headers()));
        let call = span.in_scope(|| inner.call(request));
        Either::Right(Box::pin(
            async move {
                let response = call.await?;
                record_status(&Span::current(), &response);
                Ok(response)
            }
            .instrument(span),
        ))
    }
}

/// A channel to another service that carries the trace: each call runs in a
/// client span (`package.Service/Method`, attributed to `caller`) whose
/// context goes along as `traceparent` metadata.
#[derive(Debug, Clone)]
pub struct TracedChannel {
    inner: Channel,
    caller: &'static str,
}

impl TracedChannel {
    pub fn new(inner: Channel, caller: &'static str) -> Self {
        Self { inner, caller }
    }
}

impl Service<http::Request<Body>> for TracedChannel {
    type Response = http::Response<Body>;
    type Error = <Channel as Service<http::Request<Body>>>::Error;
    type Future = Either<
        <Channel as Service<http::Request<Body>>>::Future,
        BoxFuture<Self::Response, Self::Error>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let path = request.uri().path();
        if !tracing_enabled() || path.starts_with(HEALTH_SERVICE) {
            return Either::Left(self.inner.call(request));
        }
        let (rpc_service, rpc_method) = rpc_names(path);
        let span = tracing::info_span!(
            "grpc.client",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "client",
            otel.status_code = Empty,
            service = self.caller,
            rpc.system = "grpc",
            rpc.service = rpc_service,
            rpc.method = rpc_method,
            rpc.grpc.status_code = Empty,
        );
        inject_context(&span.context(), request.headers_mut());
        let call = span.in_scope(|| self.inner.call(request));
        Either::Right(Box::pin(
            async move {
                let span = Span::current();
                match call.await {
                    Ok(response) => {
                        record_status(&span, &response);
                        Ok(response)
                    }
                    Err(error) => {
                        span.record("otel.status_code", "error");
                        Err(error)
                    }
                }
            }
            .instrument(span),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::rpc_names;

    #[test]
    fn splits_rpc_paths() {
        assert_eq!(
            rpc_names("/folio.documents.v1.DocumentsService/UploadVersion"),
            ("folio.documents.v1.DocumentsService", "UploadVersion")
        );
        assert_eq!(rpc_names("/odd"), ("odd", ""));
    }
}
