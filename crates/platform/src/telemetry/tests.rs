use std::sync::{Arc, Mutex};

use opentelemetry::trace::TraceContextExt as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::*;

fn config(lookup: fn(&str) -> Option<String>) -> Result<TelemetryConfig, ConfigError> {
    TelemetryConfig::from_lookup("folio-test", lookup)
}

fn invalid_var(result: Result<TelemetryConfig, ConfigError>) -> String {
    match result {
        Err(ConfigError::Invalid { var, .. }) => var,
        other => panic!("expected an invalid variable, got {other:?}"),
    }
}

#[test]
fn tracing_is_off_without_an_endpoint() {
    let config = config(|var| match var {
        "OTEL_SERVICE_NAME" => Some("bff".into()),
        "OTEL_TRACES_SAMPLER" => Some("always_on".into()),
        "FOLIO_LOG_FORMAT" => Some("json".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(config.traces, None);
    assert_eq!(config.log_format, LogFormat::Json);
    // An empty endpoint is unset.
    let config = config_with_empty_endpoint().unwrap();
    assert_eq!(config.traces, None);
}

fn config_with_empty_endpoint() -> Result<TelemetryConfig, ConfigError> {
    config(|var| (var == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| " ".into()))
}

#[test]
fn an_endpoint_turns_tracing_on_with_the_standard_defaults() {
    let config = config(|var| {
        (var == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "http://collector:4317".into())
    })
    .unwrap();
    assert_eq!(
        config.traces,
        Some(TraceExport {
            endpoint: "http://collector:4317".into(),
            service_name: "folio-test".into(),
            sampling: Sampling::ParentBasedAlwaysOn,
        })
    );
    assert_eq!(config.log_format, LogFormat::Text);
}

#[test]
fn standard_variables_are_honoured() {
    let traces = config(|var| match var {
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://ignored:4317".into()),
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" => Some("http://traces:4317".into()),
        "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("grpc".into()),
        "OTEL_SERVICE_NAME" => Some("folio-eu".into()),
        "OTEL_TRACES_SAMPLER" => Some("parentbased_traceidratio".into()),
        "OTEL_TRACES_SAMPLER_ARG" => Some("0.25".into()),
        _ => None,
    })
    .unwrap()
    .traces
    .unwrap();
    assert_eq!(traces.endpoint, "http://traces:4317");
    assert_eq!(traces.service_name, "folio-eu");
    assert_eq!(traces.sampling, Sampling::ParentBasedTraceIdRatio(0.25));

    let ratio = config(|var| match var {
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://c:4317".into()),
        "OTEL_TRACES_SAMPLER" => Some("traceidratio".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(ratio.traces.unwrap().sampling, Sampling::TraceIdRatio(1.0));

    for disabled in [
        config(|var| match var {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://c:4317".into()),
            "OTEL_SDK_DISABLED" => Some("true".into()),
            _ => None,
        }),
        config(|var| match var {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://c:4317".into()),
            "OTEL_TRACES_EXPORTER" => Some("none".into()),
            _ => None,
        }),
    ] {
        assert_eq!(disabled.unwrap().traces, None);
    }
}

#[test]
fn metrics_follow_their_own_variables() {
    let both = config(|var| {
        (var == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "http://collector:4317".into())
    })
    .unwrap();
    assert_eq!(
        both.metrics,
        Some(MetricExport {
            endpoint: "http://collector:4317".into(),
            service_name: "folio-test".into(),
            interval: std::time::Duration::from_secs(60),
        })
    );
    let metrics_only = config(|var| match var {
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT" => Some("http://metrics:4317".into()),
        "OTEL_METRIC_EXPORT_INTERVAL" => Some("15000".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(metrics_only.traces, None);
    let metrics = metrics_only.metrics.unwrap();
    assert_eq!(metrics.endpoint, "http://metrics:4317");
    assert_eq!(metrics.interval, std::time::Duration::from_secs(15));
    let traces_only = config(|var| match var {
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://c:4317".into()),
        "OTEL_METRICS_EXPORTER" => Some("none".into()),
        _ => None,
    })
    .unwrap();
    assert!(traces_only.traces.is_some() && traces_only.metrics.is_none());
    let never = invalid_var(config(|var| match var {
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://c:4317".into()),
        "OTEL_METRIC_EXPORT_INTERVAL" => Some("0".into()),
        _ => None,
    }));
    assert_eq!(never, "OTEL_METRIC_EXPORT_INTERVAL");
    let wrong = invalid_var(config(|var| match var {
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://c:4317".into()),
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL" => Some("http/protobuf".into()),
        _ => None,
    }));
    assert_eq!(wrong, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL");
}

#[test]
fn bad_values_name_their_variable() {
    assert_eq!(
        invalid_var(config(|var| {
            (var == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "collector:4317".into())
        })),
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    );
    assert_eq!(
        invalid_var(config(|var| {
            (var == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "https://collector:4317".into())
        })),
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    );
    assert_eq!(
        invalid_var(config(|var| match var {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://c:4317".into()),
            "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("http/protobuf".into()),
            _ => None,
        })),
        "OTEL_EXPORTER_OTLP_PROTOCOL"
    );
    assert_eq!(
        invalid_var(config(|var| match var {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://c:4317".into()),
            "OTEL_TRACES_SAMPLER" => Some("sometimes".into()),
            _ => None,
        })),
        "OTEL_TRACES_SAMPLER"
    );
    assert_eq!(
        invalid_var(config(|var| match var {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://c:4317".into()),
            "OTEL_TRACES_SAMPLER" => Some("traceidratio".into()),
            "OTEL_TRACES_SAMPLER_ARG" => Some("1.5".into()),
            _ => None,
        })),
        "OTEL_TRACES_SAMPLER_ARG"
    );
    assert_eq!(
        invalid_var(config(|var| {
            (var == "FOLIO_LOG_FORMAT").then(|| "xml".into())
        })),
        "FOLIO_LOG_FORMAT"
    );
}

/// Collects what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Logs `inside` within a span and `outside` after it; the span's ids.
fn log_in_a_span(
    format: LogFormat,
    provider: Option<&SdkTracerProvider>,
) -> (Captured, String, String) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = subscriber(format, EnvFilter::new("info"), provider, move || {
        writer.clone()
    });
    let (trace_id, span_id) = tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("work");
        let ids = span.in_scope(|| {
            tracing::info!(answer = 42, "inside");
            let cx = span.context();
            let ids = cx.span().span_context().clone();
            (ids.trace_id().to_string(), ids.span_id().to_string())
        });
        tracing::info!("outside");
        ids
    });
    (captured, trace_id, span_id)
}

#[test]
fn json_logs_carry_the_trace_and_span_ids_when_tracing() {
    let provider = SdkTracerProvider::builder().build();
    let (captured, trace_id, span_id) = log_in_a_span(LogFormat::Json, Some(&provider));
    assert_eq!(trace_id.len(), 32);
    let lines: Vec<serde_json::Value> = captured
        .lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["message"], "inside");
    assert_eq!(lines[0]["answer"], 42);
    assert_eq!(lines[0]["trace_id"], trace_id.as_str());
    assert_eq!(lines[0]["span_id"], span_id.as_str());
    assert_eq!(lines[1]["message"], "outside");
    assert!(lines[1].get("trace_id").is_none(), "{}", lines[1]);
}

#[test]
fn text_logs_carry_the_ids_too_and_untraced_logs_are_unchanged() {
    let provider = SdkTracerProvider::builder().build();
    let (captured, trace_id, span_id) = log_in_a_span(LogFormat::Text, Some(&provider));
    let lines = captured.lines();
    assert!(lines[0].contains("inside"), "{lines:?}");
    assert!(
        lines[0].ends_with(&format!("42 trace_id={trace_id} span_id={span_id}")),
        "{lines:?}"
    );
    assert!(!lines[1].contains("trace_id"), "{lines:?}");

    // Without tracing, there are no ids to show.
    let (captured, trace_id, _) = log_in_a_span(LogFormat::Json, None);
    assert_eq!(trace_id, opentelemetry::trace::TraceId::INVALID.to_string());
    assert!(captured.lines().iter().all(|l| !l.contains("trace_id")));
}

#[test]
fn trace_context_round_trips_through_headers() {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "traceparent",
        http::HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    );
    let cx = extract_context(&headers);
    let span = cx.span();
    let ids = span.span_context();
    assert!(ids.is_remote() && ids.is_sampled());
    assert_eq!(
        ids.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    let mut out = http::HeaderMap::new();
    inject_context(&cx, &mut out);
    assert_eq!(out["traceparent"], headers["traceparent"]);

    // Garbage is no context, and nothing is injected for it.
    headers.insert("traceparent", http::HeaderValue::from_static("00-nonsense"));
    let cx = extract_context(&headers);
    let mut out = http::HeaderMap::new();
    inject_context(&cx, &mut out);
    assert!(out.is_empty());
}
