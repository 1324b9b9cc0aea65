//! Optional OpenTelemetry export of forcebus's spans over OTLP/HTTP (protobuf), off by
//! default (`otlp_endpoint`): each HTTP request's span, the commit span of each write
//! under it, and each delivery's span, linked to the commit of every event it carries,
//! so one write can be followed from the REST call to each subscriber that got it.
//!
//! An event carries its commit's trace context ([`current`], taken when the event log
//! appends it) in memory to its deliveries ([`link`]). With export off both do nothing:
//! a relaxed atomic load on the hot path.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::{SpanContext, TraceContextExt as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Whether spans are exported.
static ON: AtomicBool = AtomicBool::new(false);

/// Most links one delivery span carries (a batch of events from as many commits).
pub const MAX_LINKS: usize = 32;

/// How long spans wait to be sent: a batch goes at least this often.
const EXPORT_EVERY: Duration = Duration::from_millis(500);

/// A span's trace context, as an event carries it from its commit to its deliveries.
#[derive(Debug, Clone, PartialEq)]
pub struct Context(SpanContext);

impl Context {
    /// The trace id, as 32 hex digits.
    pub fn trace_id(&self) -> String {
        self.0.trace_id().to_string()
    }
}

/// The current span's trace context, when spans are exported.
pub fn current() -> Option<Context> {
    if !ON.load(Ordering::Relaxed) {
        return None;
    }
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| Context(sc.clone()))
}

/// Links `span` to each of `contexts` (each once, at most [`MAX_LINKS`]).
pub fn link<'a>(span: &tracing::Span, contexts: impl IntoIterator<Item = &'a Context>) {
    if !ON.load(Ordering::Relaxed) {
        return;
    }
    let mut seen: Vec<&Context> = Vec::new();
    for c in contexts {
        if seen.len() == MAX_LINKS {
            break;
        }
        if !seen.contains(&c) {
            seen.push(c);
            span.add_link(c.0.clone());
        }
    }
}

/// What exports spans while it lives; dropping it sends what is left.
#[derive(Debug)]
pub struct Exporting(opentelemetry_sdk::trace::SdkTracerProvider);

impl Drop for Exporting {
    fn drop(&mut self) {
        ON.store(false, Ordering::Relaxed);
        if let Err(e) = self.0.shutdown() {
            eprintln!("forcebus: the last spans could not be exported: {e}");
        }
    }
}

/// A tracing layer exporting spans to the OTLP/HTTP collector at `endpoint`
/// (`http://127.0.0.1:4318`: spans go to `{endpoint}/v1/traces`) as `service`, and what
/// keeps it exporting.
pub fn layer<S>(
    endpoint: &str,
    service: &str,
) -> Result<(impl tracing_subscriber::Layer<S>, Exporting), String>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url)
        .with_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| format!("cannot export spans to {endpoint}: {e}"))?;
    let batches = opentelemetry_sdk::trace::BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            opentelemetry_sdk::trace::BatchConfigBuilder::default()
                .with_scheduled_delay(EXPORT_EVERY)
                .build(),
        )
        .build();
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service.to_owned())
        .build();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_span_processor(batches)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("forcebus");
    ON.store(true, Ordering::Relaxed);
    Ok((
        tracing_opentelemetry::layer().with_tracer(tracer),
        Exporting(provider),
    ))
}
