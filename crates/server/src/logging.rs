//! How the server logs: lines on stderr (human or JSON, the level from `RUST_LOG`, colours
//! only on a terminal) and, with an OTLP endpoint, the spans a write is followed by.

use clap::ValueEnum;

/// The format of the log lines on stderr.
#[derive(Debug, Default, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    #[default]
    Human,
    Json,
}

/// Logs on stderr (the level from RUST_LOG, info by default) and, with `otlp` (a
/// collector's OTLP/HTTP endpoint), the request, commit and delivery spans exported there;
/// what keeps them exporting.
pub(crate) fn init(
    format: LogFormat,
    otlp: Option<&str>,
) -> anyhow::Result<Option<forcebus_trace::Exporting>> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
    };
    let (spans, exporting) = match otlp {
        Some(endpoint) => {
            let (layer, exporting) =
                forcebus_trace::layer(endpoint, "forcebus").map_err(anyhow::Error::msg)?;
            // The spans a write is followed by, whatever the log level: the request (its
            // org's), its commit, each delivery.
            let only = tracing_subscriber::filter::filter_fn(|m| {
                m.is_span() && matches!(m.name(), "org" | "request" | "commit" | "deliver")
            });
            (Some(layer.with_filter(only)), Some(exporting))
        }
        None => (None, None),
    };
    // Colours only on a terminal (and not under `NO_COLOR`): a log file, a pipe or a
    // container's log would keep the escape codes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let registry = tracing_subscriber::registry().with(spans);
    let human = tracing_subscriber::fmt::format();
    match format {
        LogFormat::Human => registry
            .with(
                logs.event_format(forcebus_host::logline::WithNode::new(human, false))
                    .with_filter(filter()),
            )
            .init(),
        LogFormat::Json => registry
            .with(
                logs.json()
                    .event_format(forcebus_host::logline::WithNode::new(human.json(), true))
                    .with_filter(filter()),
            )
            .init(),
    }
    Ok(exporting)
}
