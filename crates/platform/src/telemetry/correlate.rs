//! Log lines that name the trace they belong to: the current span's
//! `trace_id` and `span_id`, added to what the usual formatter writes.

use std::fmt::{self, Write as _};

use opentelemetry::trace::TraceContextExt as _;
use tracing::{Event, Subscriber};
use tracing_subscriber::{
    fmt::{
        FmtContext, FormatEvent, FormatFields,
        format::{Format, Json, Writer},
    },
    registry::LookupSpan,
};

/// Wraps an event formatter; outside a traced span it writes exactly what
/// the wrapped one writes.
pub(super) struct Correlated<F> {
    plain: F,
    /// The same formatter with colours, for writers that want them.
    ansi: Option<F>,
    json: bool,
}

impl Correlated<Format> {
    pub(super) fn text() -> Self {
        Self {
            plain: Format::default(),
            ansi: Some(Format::default().with_ansi(true)),
            json: false,
        }
    }
}

impl Correlated<Format<Json>> {
    pub(super) fn json(format: Format<Json>) -> Self {
        Self {
            plain: format,
            ansi: None,
            json: true,
        }
    }
}

/// The ids of the span the current thread is in, as a traced span
/// activates its OpenTelemetry context while entered.
fn current_ids() -> Option<(String, String)> {
    let cx = opentelemetry::Context::current();
    let span = cx.span();
    let ids = span.span_context();
    ids.is_valid()
        .then(|| (ids.trace_id().to_string(), ids.span_id().to_string()))
}

impl<S, N, F> FormatEvent<S, N> for Correlated<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some((trace_id, span_id)) = current_ids() else {
            return self.plain.format_event(ctx, writer, event);
        };
        let format = match &self.ansi {
            Some(ansi) if writer.has_ansi_escapes() => ansi,
            _ => &self.plain,
        };
        let mut line = String::new();
        format.format_event(ctx, Writer::new(&mut line), event)?;
        let body = line.strip_suffix('\n').unwrap_or(&line);
        let body = if self.json {
            match body.strip_suffix('}') {
                Some(open) => {
                    let mut line = open.to_owned();
                    let _ = write!(line, r#","trace_id":"{trace_id}","span_id":"{span_id}"}}"#);
                    line
                }
                None => body.to_owned(),
            }
        } else {
            format!("{body} trace_id={trace_id} span_id={span_id}")
        };
        writer.write_str(&body)?;
        writer.write_char('\n')
    }
}
