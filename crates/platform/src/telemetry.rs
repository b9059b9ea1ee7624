//! Logs and traces, set up once per process.
//!
//! Logs: readable text locally, JSON in the cluster (`FOLIO_LOG_FORMAT=json`);
//! `RUST_LOG` filters them as usual.
//!
//! Traces: OpenTelemetry spans exported over OTLP/gRPC when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is
//! set, following the standard `OTEL_*` variables (see [`TraceExport`]). A
//! request's W3C `traceparent` is honoured at the bff's HTTP edge
//! ([`trace_http`]) and carried on every gRPC hop (`crate::grpc`), so one
//! portal action is one trace across services; log lines written inside a
//! traced request carry its `trace_id` and `span_id`. With no endpoint
//! nothing is exported and no request spans are opened at all.
//!
//! Metrics: besides Prometheus at `/metrics` (`crate::metrics`), pushed over
//! OTLP/gRPC when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`) is set (see [`MetricExport`]).
//!
//! One tracer provider per process: under `folio up` the services share it
//! and tell their spans apart by the `service` attribute, as metrics do.

mod correlate;
mod metrics_export;
mod propagation;

use std::{
    fmt::Display,
    str::FromStr,
    sync::atomic::{AtomicBool, Ordering},
};

use opentelemetry::{metrics::MeterProvider as _, trace::TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::{
    Resource,
    metrics::{PeriodicReader, SdkMeterProvider},
    trace::{Sampler, SdkTracerProvider},
};
use tracing::{Level, Subscriber};
use tracing_subscriber::{
    EnvFilter, Layer, Registry,
    filter::filter_fn,
    fmt::{self, MakeWriter},
    layer::SubscriberExt as _,
    util::SubscriberInitExt as _,
};

use crate::config::{ConfigError, Env, Flag};

pub(crate) use metrics_export::OtelRecorder;
pub use propagation::{current_trace_headers, extract_context, inject_context, trace_http};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("expected text or json".to_owned()),
        }
    }
}

/// What a process logs and whether it exports traces.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    pub log_format: LogFormat,
    /// `None`: tracing is off (no exporter, no request spans).
    pub traces: Option<TraceExport>,
    /// `None`: metrics are only scraped from `/metrics`.
    pub metrics: Option<MetricExport>,
}

/// Where and how often metrics are pushed: OTLP over gRPC.
///
/// Read from `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` or
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (unset: off), `OTEL_EXPORTER_OTLP_PROTOCOL`
/// (only `grpc`), `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds, default
/// 60000) and `OTEL_SERVICE_NAME`; `OTEL_SDK_DISABLED=true` or
/// `OTEL_METRICS_EXPORTER=none` turn it off.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricExport {
    pub endpoint: String,
    pub service_name: String,
    pub interval: std::time::Duration,
}

/// Where and how spans are exported: OTLP over gRPC, batched.
///
/// Read from the standard variables: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (unset: off), `OTEL_EXPORTER_OTLP_PROTOCOL`
/// (only `grpc`), `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER` and
/// `OTEL_TRACES_SAMPLER_ARG`; `OTEL_SDK_DISABLED=true` or
/// `OTEL_TRACES_EXPORTER=none` turn tracing off. The exporter itself reads
/// `OTEL_EXPORTER_OTLP_HEADERS`, `…_TIMEOUT` and `OTEL_BSP_*`, and the
/// resource `OTEL_RESOURCE_ATTRIBUTES`.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceExport {
    /// The collector, `http://host:4317` (plain gRPC).
    pub endpoint: String,
    /// `service.name` of the process (each span also names its service).
    pub service_name: String,
    pub sampling: Sampling,
}

/// `OTEL_TRACES_SAMPLER` (with `OTEL_TRACES_SAMPLER_ARG` for the ratios).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
    /// The default: follow the caller's decision, sample every new trace.
    ParentBasedAlwaysOn,
    ParentBasedAlwaysOff,
    ParentBasedTraceIdRatio(f64),
}

impl Sampling {
    fn sampler(self) -> Sampler {
        let parent_based = |root: Sampler| Sampler::ParentBased(Box::new(root));
        match self {
            Self::AlwaysOn => Sampler::AlwaysOn,
            Self::AlwaysOff => Sampler::AlwaysOff,
            Self::TraceIdRatio(ratio) => Sampler::TraceIdRatioBased(ratio),
            Self::ParentBasedAlwaysOn => parent_based(Sampler::AlwaysOn),
            Self::ParentBasedAlwaysOff => parent_based(Sampler::AlwaysOff),
            Self::ParentBasedTraceIdRatio(ratio) => parent_based(Sampler::TraceIdRatioBased(ratio)),
        }
    }

    fn read(env: &Env) -> Result<Self, ConfigError> {
        let Some(name) = env.optional_exact::<String>("OTEL_TRACES_SAMPLER")? else {
            return Ok(Self::ParentBasedAlwaysOn);
        };
        let ratio = || -> Result<f64, ConfigError> {
            let ratio = env
                .optional_exact::<Ratio>("OTEL_TRACES_SAMPLER_ARG")?
                .map_or(1.0, |r| r.0);
            Ok(ratio)
        };
        Ok(match name.to_ascii_lowercase().as_str() {
            "always_on" => Self::AlwaysOn,
            "always_off" => Self::AlwaysOff,
            "traceidratio" => Self::TraceIdRatio(ratio()?),
            "parentbased_always_on" => Self::ParentBasedAlwaysOn,
            "parentbased_always_off" => Self::ParentBasedAlwaysOff,
            "parentbased_traceidratio" => Self::ParentBasedTraceIdRatio(ratio()?),
            _ => {
                return Err(invalid(
                    "OTEL_TRACES_SAMPLER",
                    "expected always_on, always_off, traceidratio, parentbased_always_on, \
                     parentbased_always_off or parentbased_traceidratio",
                ));
            }
        })
    }
}

/// A sampling probability between 0 and 1.
struct Ratio(f64);

impl FromStr for Ratio {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse::<f64>() {
            Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(Self(ratio)),
            _ => Err("expected a number between 0 and 1"),
        }
    }
}

/// An OTLP/gRPC endpoint: `http://host:port`.
struct Endpoint(String);

impl FromStr for Endpoint {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let uri: http::Uri = s.parse().map_err(|_| "expected http://host:port")?;
        match uri.scheme_str() {
            Some("http") if uri.host().is_some() => Ok(Self(s.to_owned())),
            Some("https") => Err(
                "TLS to the collector is not built in; use http:// (a collector in the cluster or beside the pod)",
            ),
            _ => Err("expected http://host:port"),
        }
    }
}

fn invalid(var: &str, reason: impl Display) -> ConfigError {
    ConfigError::Invalid {
        var: var.to_owned(),
        reason: reason.to_string(),
    }
}

impl TelemetryConfig {
    /// Text or JSON logs, no traces.
    pub fn logs_only(log_format: LogFormat) -> Self {
        Self {
            log_format,
            traces: None,
            metrics: None,
        }
    }

    /// From `FOLIO_LOG_FORMAT` and the `OTEL_*` variables; spans name the
    /// process `default_service_name` unless `OTEL_SERVICE_NAME` is set.
    pub fn from_env(default_service_name: &str) -> Result<Self, ConfigError> {
        Self::read(&Env::new(""), default_service_name)
    }

    /// Like [`TelemetryConfig::from_env`] from a given lookup (tests).
    pub fn from_lookup(
        default_service_name: &str,
        lookup: fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::read(&Env::with_lookup("", lookup), default_service_name)
    }

    fn read(env: &Env, default_service_name: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            log_format: env
                .optional_exact::<LogFormat>("FOLIO_LOG_FORMAT")?
                .unwrap_or_default(),
            traces: TraceExport::read(env, default_service_name)?,
            metrics: MetricExport::read(env, default_service_name)?,
        })
    }
}

/// Whether the `OTEL_<SIGNAL>S_EXPORTER` variable leaves OTLP on, and the
/// endpoint for that signal (its own variable first, then the shared one).
fn otlp_endpoint(env: &Env, signal: &str) -> Result<Option<Endpoint>, ConfigError> {
    if env
        .optional_exact::<Flag>("OTEL_SDK_DISABLED")?
        .is_some_and(|disabled| disabled.0)
    {
        return Ok(None);
    }
    let exporter_var = format!("OTEL_{signal}_EXPORTER");
    match env
        .optional_exact::<String>(&exporter_var)?
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("otlp") => {}
        Some("none") => return Ok(None),
        Some(_) => return Err(invalid(&exporter_var, "expected otlp or none")),
    }
    let endpoint =
        match env.optional_exact::<Endpoint>(&format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"))? {
            Some(endpoint) => endpoint,
            None => match env.optional_exact::<Endpoint>("OTEL_EXPORTER_OTLP_ENDPOINT")? {
                Some(endpoint) => endpoint,
                None => return Ok(None),
            },
        };
    for var in [
        format!("OTEL_EXPORTER_OTLP_{signal}_PROTOCOL"),
        "OTEL_EXPORTER_OTLP_PROTOCOL".to_owned(),
    ] {
        if let Some(protocol) = env.optional_exact::<String>(&var)? {
            if protocol != "grpc" {
                return Err(invalid(&var, "only grpc is supported"));
            }
            break;
        }
    }
    Ok(Some(endpoint))
}

fn service_name(env: &Env, default_service_name: &str) -> Result<String, ConfigError> {
    Ok(env
        .optional_exact::<String>("OTEL_SERVICE_NAME")?
        .unwrap_or_else(|| default_service_name.to_owned()))
}

impl MetricExport {
    fn read(env: &Env, default_service_name: &str) -> Result<Option<Self>, ConfigError> {
        let Some(endpoint) = otlp_endpoint(env, "METRICS")? else {
            return Ok(None);
        };
        let interval = match env.optional_exact::<u64>("OTEL_METRIC_EXPORT_INTERVAL")? {
            Some(0) => return Err(invalid("OTEL_METRIC_EXPORT_INTERVAL", "must be above 0")),
            Some(millis) => std::time::Duration::from_millis(millis),
            None => std::time::Duration::from_secs(60),
        };
        Ok(Some(Self {
            endpoint: endpoint.0,
            service_name: service_name(env, default_service_name)?,
            interval,
        }))
    }

    /// The meter provider pushing to the collector every `interval`.
    fn provider(&self) -> Result<SdkMeterProvider, TelemetryError> {
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(self.endpoint.clone())
            .build()
            .map_err(|e| TelemetryError::Exporter {
                what: "metrics",
                endpoint: self.endpoint.clone(),
                reason: e.to_string(),
            })?;
        Ok(SdkMeterProvider::builder()
            .with_reader(
                PeriodicReader::builder(exporter)
                    .with_interval(self.interval)
                    .build(),
            )
            .with_resource(
                Resource::builder()
                    .with_service_name(self.service_name.clone())
                    .build(),
            )
            .build())
    }
}

impl TraceExport {
    fn read(env: &Env, default_service_name: &str) -> Result<Option<Self>, ConfigError> {
        let Some(endpoint) = otlp_endpoint(env, "TRACES")? else {
            return Ok(None);
        };
        Ok(Some(Self {
            endpoint: endpoint.0,
            service_name: service_name(env, default_service_name)?,
            sampling: Sampling::read(env)?,
        }))
    }

    /// The batching provider exporting to the collector. Needs a Tokio
    /// runtime: the exporter's channel runs on it.
    fn provider(&self) -> Result<SdkTracerProvider, TelemetryError> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(self.endpoint.clone())
            .build()
            .map_err(|e| TelemetryError::Exporter {
                what: "traces",
                endpoint: self.endpoint.clone(),
                reason: e.to_string(),
            })?;
        Ok(SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(self.sampling.sampler())
            .with_resource(
                Resource::builder()
                    .with_service_name(self.service_name.clone())
                    .build(),
            )
            .build())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot export {what} to {endpoint}: {reason}")]
    Exporter {
        what: &'static str,
        endpoint: String,
        reason: String,
    },
    #[error("a tracing subscriber is already installed in this process")]
    AlreadyInstalled,
    #[error("metrics were recorded before telemetry was installed")]
    MetricsAlreadyRecording,
}

static TRACING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports traces; when not, the HTTP and gRPC layers
/// open no spans and propagate nothing.
pub fn tracing_enabled() -> bool {
    TRACING.load(Ordering::Relaxed)
}

/// The installed telemetry; [`Telemetry::shutdown`] flushes spans not yet
/// exported, so call it once the services have stopped.
#[must_use = "call shutdown() when the process stops, or spans are lost"]
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    meters: Option<SdkMeterProvider>,
}

impl Telemetry {
    pub fn tracing(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports every finished span, and the metrics as they stand, now.
    pub async fn flush(&self) {
        if let Some(meters) = self.meters.clone() {
            let flushed = tokio::task::spawn_blocking(move || meters.force_flush()).await;
            if let Ok(Err(error)) = flushed {
                tracing::warn!(%error, "flushing metrics failed");
            }
        }
        if let Some(provider) = self.provider.clone() {
            // The exporter needs this runtime to make progress, so the
            // blocking flush must not hold one of its threads.
            let flushed = tokio::task::spawn_blocking(move || provider.force_flush()).await;
            if let Ok(Err(error)) = flushed {
                tracing::warn!(%error, "flushing traces failed");
            }
        }
    }

    /// Flushes and stops the exporters.
    pub async fn shutdown(self) {
        if let Some(meters) = self.meters {
            let stopped = tokio::task::spawn_blocking(move || meters.shutdown()).await;
            if let Ok(Err(error)) = stopped {
                tracing::warn!(%error, "stopping the metrics exporter failed");
            }
        }
        if let Some(provider) = self.provider {
            let stopped = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(error)) = stopped {
                tracing::warn!(%error, "stopping the trace exporter failed");
            }
        }
    }
}

/// Installs logs and, when configured, the trace exporter as this process's
/// global subscriber. Must run inside a Tokio runtime when tracing is on.
pub fn install(config: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    let provider = config
        .traces
        .as_ref()
        .map(TraceExport::provider)
        .transpose()?;
    let subscriber = subscriber(
        config.log_format,
        env_filter(),
        provider.as_ref(),
        std::io::stdout,
    );
    if subscriber.try_init().is_err() {
        if let Some(provider) = provider {
            let _ = provider.shutdown();
        }
        return Err(TelemetryError::AlreadyInstalled);
    }
    if provider.is_some() {
        TRACING.store(true, Ordering::Relaxed);
    }
    let meters = config
        .metrics
        .as_ref()
        .map(MetricExport::provider)
        .transpose()?;
    if let Some(meters) = &meters
        && !crate::metrics::record_also(OtelRecorder::new(meters.meter("folio")))
    {
        return Err(TelemetryError::MetricsAlreadyRecording);
    }
    Ok(Telemetry { provider, meters })
}

/// Logs only; a second call (tests, the launcher) is a no-op.
pub fn init(format: LogFormat) {
    let _ = install(&TelemetryConfig::logs_only(format));
}

fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Log lines filtered by `RUST_LOG`; with a provider, spans at INFO and up
/// (and warnings and errors inside them, as span events) go to it whatever
/// `RUST_LOG` says, and log lines carry the current trace and span ids.
fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    provider: Option<&SdkTracerProvider>,
    writer: W,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let correlate = provider.is_some();
    let logs: Box<dyn Layer<Registry> + Send + Sync> = match (format, correlate) {
        (LogFormat::Text, false) => fmt::layer().with_writer(writer).boxed(),
        (LogFormat::Json, false) => fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(writer)
            .boxed(),
        (LogFormat::Text, true) => fmt::layer()
            .event_format(correlate::Correlated::text())
            .with_writer(writer)
            .boxed(),
        (LogFormat::Json, true) => fmt::layer()
            .json()
            .flatten_event(true)
            .map_event_format(correlate::Correlated::json)
            .with_writer(writer)
            .boxed(),
    };
    let spans = provider.map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("folio"))
            .with_location(false)
            .with_threads(false)
            .with_filter(filter_fn(|meta| {
                if meta.is_span() {
                    *meta.level() <= Level::INFO
                } else {
                    *meta.level() <= Level::WARN && !meta.target().starts_with("opentelemetry")
                }
            }))
    });
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(spans)
}

#[cfg(test)]
mod tests;
