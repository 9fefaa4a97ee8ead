//! Logs and traces. Logs go to stdout, human-readable or JSON. Spans are
//! OpenTelemetry spans, exported over OTLP/gRPC when an endpoint is set; W3C
//! trace context travels in gRPC metadata and Kafka headers either way, so a
//! trace follows a vendor registration from the API call to every consumer.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::settings::{SettingsError, is_http_url, require};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("telemetry.otlp_endpoint: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("telemetry.log_filter: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    #[error("telemetry is already initialised in this process")]
    AlreadyInitialised,
}

/// Keeps the tracer provider alive; dropping it flushes pending spans.
#[must_use = "dropping the guard shuts tracing export down"]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("telemetry: flushing spans failed: {e}");
        }
    }
}

static INITIALISED: OnceLock<()> = OnceLock::new();

/// Installs the global subscriber. Call once per process, from `main`.
pub fn init(service: &str, settings: &TelemetrySettings) -> Result<TelemetryGuard, TelemetryError> {
    if INITIALISED.set(()).is_err() {
        return Err(TelemetryError::AlreadyInitialised);
    }
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(format!("blangkon-{service}"))
        .build();
    let mut provider = SdkTracerProvider::builder().with_resource(resource);
    if !settings.otlp_endpoint.is_empty() {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(settings.otlp_endpoint.clone())
            .build()?;
        provider = provider.with_batch_exporter(exporter);
    }
    let provider = provider.build();
    let tracer = provider.tracer(format!("blangkon-{service}"));
    opentelemetry::global::set_tracer_provider(provider.clone());

    let filter = EnvFilter::try_new(&settings.log_filter)?;
    let fmt = match settings.log_format {
        LogFormat::Human => tracing_subscriber::fmt::layer()
            .with_target(true)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInitialised)?;
    Ok(TelemetryGuard { provider })
}

/// The current span's trace context as carrier headers (`traceparent`, and
/// `tracestate` when there is one). Empty when no trace is active.
pub fn current_trace_headers() -> HashMap<String, String> {
    let cx = tracing::Span::current().context();
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier
}

/// Makes `span` a child of the trace context found in `headers`, if any.
pub fn set_parent_from<'a>(
    span: &tracing::Span,
    headers: impl Iterator<Item = (&'a str, &'a str)>,
) {
    let map: HashMap<String, String> = headers
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    if !map.contains_key("traceparent") {
        return;
    }
    let cx = TraceContextPropagator::new().extract(&map);
    // Fails only when the span is disabled; then there is nothing to link.
    let _ = span.set_parent(cx);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `human`: readable lines for a terminal; `json`: one object per
    /// line, for log collectors.
    pub log_format: LogFormat,
    /// `tracing` filter directives, e.g. `info,blangkon_vendor=debug`.
    pub log_filter: String,
    /// OTLP/gRPC collector, e.g. `http://otel-collector:4317`. Empty: traces
    /// stay in-process (trace context is still propagated).
    pub otlp_endpoint: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Human,
            log_filter: "info".into(),
            otlp_endpoint: String::new(),
        }
    }
}

impl TelemetrySettings {
    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log_filter) {
            return Err(SettingsError::invalid(
                format!("{section}.log_filter"),
                e.to_string(),
            ));
        }
        require(
            self.otlp_endpoint.is_empty() || is_http_url(&self.otlp_endpoint),
            section,
            "otlp_endpoint",
            "must be an http:// or https:// URL",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incoming_trace_context_is_carried_to_outgoing_headers() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("grpc");
            let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
            set_parent_from(&span, [("traceparent", incoming)].into_iter());
            let _entered = span.enter();
            let outgoing = current_trace_headers();
            let traceparent = outgoing.get("traceparent").expect("traceparent");
            // Same trace, a new span of our own as the parent of the next hop.
            assert!(
                traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                "{traceparent}"
            );
            assert!(!traceparent.contains("00f067aa0ba902b7"), "{traceparent}");
        });
    }

    #[test]
    fn without_a_trace_nothing_is_injected() {
        assert!(current_trace_headers().is_empty());
    }
}
