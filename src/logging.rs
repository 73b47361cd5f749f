//! Logs in the shape upstream's users query: one JSON object a line with `level` (lower
//! case), `ts` (RFC 3339, UTC, milliseconds), `logger`, `msg`, the event's fields, and the
//! fields of every span the event is inside (a reconcile's `controller`, `name`,
//! `namespace`, `reconcileID`), as controller-runtime's zap logger writes them.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;

/// A `--log-level` or `--log-encoding` value that is none of the allowed ones.
#[derive(Debug, thiserror::Error)]
pub enum LogFlagError {
    #[error(
        "invalid log level {:?}: must be one of trace, debug, info, warn, error",
        crate::text::shorten(value)
    )]
    Level { value: String },
    #[error("invalid log encoding {:?}: must be json or console", crate::text::shorten(value))]
    Encoding { value: String },
}

/// `--log-level`: upstream's values (`trace`, `debug`, `info`, `error`) and `warn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLevel(Level);

impl FromStr for LogLevel {
    type Err = LogFlagError;

    fn from_str(text: &str) -> Result<Self, LogFlagError> {
        let level = match text {
            "trace" => Level::TRACE,
            "debug" => Level::DEBUG,
            "info" => Level::INFO,
            "warn" => Level::WARN,
            "error" => Level::ERROR,
            other => {
                return Err(LogFlagError::Level {
                    value: other.to_string(),
                });
            }
        };
        Ok(Self(level))
    }
}

impl LogLevel {
    pub fn level(self) -> Level {
        self.0
    }
}

/// `--log-encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogEncoding {
    Json,
    Console,
}

impl FromStr for LogEncoding {
    type Err = LogFlagError;

    fn from_str(text: &str) -> Result<Self, LogFlagError> {
        match text {
            "json" => Ok(Self::Json),
            "console" => Ok(Self::Console),
            other => Err(LogFlagError::Encoding {
                value: other.to_string(),
            }),
        }
    }
}

/// Installs the process-wide subscriber; logs go to stderr.
pub fn init(level: LogLevel, encoding: LogEncoding) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = tracing_subscriber::filter::LevelFilter::from_level(level.level());
    let registry = tracing_subscriber::registry().with(filter);
    match encoding {
        LogEncoding::Json => registry
            .with(SpanFieldsLayer)
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(JsonLine)
                    .with_writer(std::io::stderr),
            )
            .init(),
        LogEncoding::Console => registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .init(),
    }
}

/// A span's fields as JSON, kept in its extensions for [`JsonLine`].
struct SpanFields(Map<String, Value>);

/// Records every span's fields as JSON when the span is created or recorded into.
pub struct SpanFieldsLayer;

impl<S> Layer<S> for SpanFieldsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = JsonVisitor::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(SpanFields(fields.0));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(map)) = extensions.get_mut::<SpanFields>() {
            let mut fields = JsonVisitor(std::mem::take(map));
            values.record(&mut fields);
            *map = fields.0;
        }
    }
}

/// One JSON object per event.
pub struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut line = Map::new();
        let meta = event.metadata();
        line.insert("level".into(), Value::from(level_name(*meta.level())));
        line.insert("ts".into(), Value::from(timestamp()));
        line.insert("logger".into(), Value::from(logger_name(meta.target())));
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    line.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        let mut fields = JsonVisitor::default();
        event.record(&mut fields);
        let msg = fields.0.remove("message").unwrap_or_else(|| Value::from(""));
        line.insert("msg".into(), msg);
        line.extend(fields.0);
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// zap's lower-case level names; zap has no trace level, controller-runtime logs it as debug.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        _ => "debug",
    }
}

/// `flux_operator_rs::controller::run` -> `controller.run`: the module, as a logger name.
fn logger_name(target: &str) -> String {
    target
        .strip_prefix("flux_operator_rs::")
        .unwrap_or(target)
        .replace("::", ".")
}

fn timestamp() -> String {
    let now = k8s_openapi::jiff::Timestamp::now();
    format!("{:.3}", now)
}

/// Collects fields as JSON values; numbers and booleans stay typed.
#[derive(Default)]
struct JsonVisitor(Map<String, Value>);

impl Visit for JsonVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), Value::from(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), Value::from(value.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_carries_upstream_keys_and_the_span_fields() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(SpanFieldsLayer).with(
            tracing_subscriber::fmt::layer()
                .event_format(JsonLine)
                .with_writer(move || writer.clone()),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "reconcile",
                controller = "fluxinstance",
                name = "flux",
                namespace = "flux-system",
                reconcileID = tracing::field::Empty
            );
            span.record("reconcileID", "abc");
            let _entered = span.enter();
            tracing::warn!(retries = 3, "reconciliation failed");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["level"], "warn");
        assert_eq!(line["msg"], "reconciliation failed");
        assert_eq!(line["controller"], "fluxinstance");
        assert_eq!(line["name"], "flux");
        assert_eq!(line["namespace"], "flux-system");
        assert_eq!(line["reconcileID"], "abc");
        assert_eq!(line["retries"], 3);
        let ts = line["ts"].as_str().unwrap();
        assert!(
            ts.ends_with('Z') && ts.len() == "2026-12-01T09:54:26.170Z".len(),
            "{ts}"
        );
    }

    #[test]
    fn levels_are_upstreams_and_others_are_refused() {
        for ok in ["trace", "debug", "info", "warn", "error"] {
            assert!(ok.parse::<LogLevel>().is_ok(), "{ok}");
        }
        let err = "verbose".parse::<LogLevel>().unwrap_err().to_string();
        assert!(
            err.contains("\"verbose\"") && err.contains("trace, debug, info"),
            "{err}"
        );
        let err = "yaml".parse::<LogEncoding>().unwrap_err().to_string();
        assert!(err.contains("\"yaml\""), "{err}");
    }
}
