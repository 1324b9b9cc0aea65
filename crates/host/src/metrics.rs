//! `GET /metrics`: Prometheus's text format, through the `metrics` facade and its
//! Prometheus exporter. The crates count what they do (`forcebus_store_*` commits and
//! group-commit flushes, `forcebus_events_appended_total`, `forcebus_deliveries_total`
//! and `forcebus_subscribers` by protocol, `forcebus_bulk_rows_total`); this module adds
//! the HTTP requests (by route family and status, with latency) and, at each scrape,
//! what is read rather than counted: orgs open and resting, the event logs' size, the
//! process's memory and CPU. Every label set is bounded: no org id, path or user.
//!
//! [`DASHBOARD`] is a Grafana dashboard over these names; a test checks that every
//! metric it queries is served.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use http_body::Body as _;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::tenants::Tenants;

/// The Grafana dashboard in the repository (`deploy/grafana/forcebus.json`).
#[cfg(test)]
pub(crate) const DASHBOARD: &str = include_str!("../../../deploy/grafana/forcebus.json");

/// Latency buckets, in seconds: 100 µs to 2 min (long polls park for up to 110 s).
const BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
    30.0, 120.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder (once per process); every `metrics::` call records from then on.
pub(crate) fn install() -> anyhow::Result<()> {
    if HANDLE.get().is_some() {
        return Ok(());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets(&BUCKETS)?
        .install_recorder()?;
    let _ = HANDLE.set(handle);
    describe();
    Ok(())
}

/// Records the async runtime's worker count (`forcebus_runtime_workers`): the runtime
/// the caller runs on.
pub(crate) fn runtime_workers() {
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    metrics::gauge!("forcebus_runtime_workers").set(workers as f64);
}

/// Each metric's `# HELP` line, and zeros for the series a quiet server has not touched
/// yet (so a dashboard shows 0, not "no data").
fn describe() {
    use metrics::{describe_counter, describe_histogram};
    describe_counter!(
        "forcebus_http_requests_total",
        "HTTP requests by route family and status."
    );
    describe_histogram!(
        "forcebus_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route family (CometD connects park up to 110 s)."
    );
    forcebus_store::describe_metrics();
    forcebus_eventlog::describe_metrics();
    forcebus_bulk::describe_metrics();
    describe_events();
    describe_cluster();
}

/// The `# HELP` lines of a node's part in a cluster (`--store`), and their zeros.
fn describe_cluster() {
    use metrics::describe_gauge;
    describe_gauge!(
        "forcebus_cluster_orgs",
        "Orgs this node serves (on a shared database; every org otherwise)."
    );
    forcebus_listener::metrics::describe();
}

/// The `# HELP` lines of the event, subscriber, org and process metrics, and their zeros.
fn describe_events() {
    use metrics::{describe_counter, describe_gauge};
    describe_counter!(
        "forcebus_deliveries_total",
        "Events delivered to subscribers, by protocol."
    );
    describe_gauge!(
        "forcebus_subscribers",
        "Streaming API sessions and Pub/Sub API streams open."
    );
    describe_gauge!(
        "forcebus_event_log_oldest_seconds",
        metrics::Unit::Seconds,
        "Age of the oldest retained event, every open org: what retention keeps."
    );
    describe_gauge!(
        "forcebus_subscriber_lag_events",
        "Events the furthest-behind subscriber has yet to receive, by protocol."
    );
    describe_gauge!(
        "forcebus_subscriber_lag_seconds",
        metrics::Unit::Seconds,
        "Age of the oldest event a subscriber has yet to receive, by protocol."
    );
    describe_gauge!(
        "forcebus_orgs",
        "Orgs open (in memory) and resting (unloaded while idle)."
    );
    describe_gauge!(
        "forcebus_event_log_bytes",
        metrics::Unit::Bytes,
        "Retained event payload bytes, every open org."
    );
    describe_gauge!(
        "forcebus_event_log_events",
        "Retained events, every open org."
    );
    describe_gauge!(
        "forcebus_runtime_workers",
        "Threads running connections and their protocols: the async runtime's workers (worker_threads)."
    );
    describe_gauge!(
        "process_resident_memory_bytes",
        metrics::Unit::Bytes,
        "Resident memory."
    );
    describe_gauge!(
        "process_cpu_seconds_total",
        metrics::Unit::Seconds,
        "CPU time used, user and system."
    );
    for protocol in ["cometd", "pubsub"] {
        metrics::counter!("forcebus_deliveries_total", "protocol" => protocol).absolute(0);
        metrics::gauge!("forcebus_subscribers", "protocol" => protocol).increment(0.0);
    }
    metrics::counter!("forcebus_bulk_rows_total").absolute(0);
}

/// The route family of a path: a bounded label.
fn family(path: &str) -> &'static str {
    const FAMILIES: [(&str, &str); 14] = [
        ("/services/data/v", "rest"),
        ("/services/async/", "bulk1"),
        ("/services/Soap/m/", "metadata"),
        ("/services/Soap/", "soap"),
        ("/services/oauth2/", "oauth"),
        ("/services/apexrest/", "apexrest"),
        ("/cometd/", "cometd"),
        ("/forcebus/v1/orgs", "admin"),
        ("/forcebus/v1/control", "control"),
        ("/forcebus/v1/events", "inspector"),
        ("/forcebus/health", "health"),
        ("/forcebus/ready", "health"),
        ("/metrics", "metrics"),
        ("/id/", "oauth"),
    ];
    if path.starts_with("/services/data/v") {
        if path.contains("/jobs/") {
            return "bulk2";
        }
        if path.contains("/tooling/") {
            return "tooling";
        }
        if path.contains("/composite") {
            return "composite";
        }
    }
    FAMILIES
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map_or("other", |(_, f)| f)
}

/// Counts and times every HTTP request: to its response, or for a body of unknown length
/// (a stream, or a connect's reply ready later on the lean path) to the body's end. A
/// request dropped first (the client left) is not counted.
pub(crate) async fn count(req: Request, next: Next) -> Response {
    let family = family(req.uri().path());
    let started = Instant::now();
    let response = next.run(req).await;
    let done = (family, response.status().as_u16(), started);
    let body = response.body();
    if body.is_end_stream() || body.size_hint().exact().is_some() {
        record(done);
        return response;
    }
    response.map(|body| {
        axum::body::Body::new(Timed {
            body,
            done: Some(done),
        })
    })
}

/// Counts and times a request of `family` answered with `status`, begun at `started`.
pub(crate) fn record((family, status, started): (&'static str, u16, Instant)) {
    let (counter, histogram) = request_metrics(family, status);
    counter.increment(1);
    histogram.record(started.elapsed());
}

/// A response body that records its request once it has ended.
struct Timed {
    body: axum::body::Body,
    done: Option<(&'static str, u16, Instant)>,
}

impl http_body::Body for Timed {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, axum::Error>>> {
        let polled = std::pin::Pin::new(&mut self.body).poll_frame(cx);
        let ended = matches!(polled, std::task::Poll::Ready(None)) || self.body.is_end_stream();
        if ended && let Some(done) = self.done.take() {
            record(done);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The request counter and duration histogram of a family and status, looked up in the
/// registry once per worker thread (the lookup hashes the labels and allocated the status
/// text, at every request).
fn request_metrics(family: &'static str, status: u16) -> (metrics::Counter, metrics::Histogram) {
    type Handles =
        std::collections::HashMap<(&'static str, u16), (metrics::Counter, metrics::Histogram)>;
    thread_local! {
        static HANDLES: std::cell::RefCell<Handles> = std::cell::RefCell::default();
    }
    HANDLES.with_borrow_mut(|handles| {
        handles
            .entry((family, status))
            .or_insert_with(|| {
                (
                    metrics::counter!("forcebus_http_requests_total", "family" => family, "status" => status.to_string()),
                    metrics::histogram!("forcebus_http_request_duration_seconds", "family" => family),
                )
            })
            .clone()
    })
}

/// `GET /metrics`.
pub(crate) async fn serve(State(tenants): State<Arc<Tenants>>) -> Response {
    let Some(handle) = HANDLE.get() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    read_now(&tenants);
    render(handle)
}

/// Everything recorded, in Prometheus's text format.
fn render(handle: &PrometheusHandle) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// What is read at each scrape rather than counted.
fn read_now(tenants: &Tenants) {
    let here: Vec<_> = tenants
        .all()
        .into_iter()
        .filter(|m| m.ownership.is_here())
        .collect();
    let open: Vec<_> = here.iter().filter_map(|m| m.current()).collect();
    metrics::gauge!("forcebus_orgs", "state" => "open").set(open.len() as f64);
    metrics::gauge!("forcebus_orgs", "state" => "resting").set((here.len() - open.len()) as f64);
    metrics::gauge!("forcebus_cluster_orgs").set(here.len() as f64);
    let logs = open.iter().map(|t| t.org.log().clone());
    let (mut bytes, mut events) = (0u64, 0usize);
    for log in logs {
        bytes += log.retained_bytes();
        events += log.retained();
    }
    metrics::gauge!("forcebus_event_log_bytes").set(bytes as f64);
    metrics::gauge!("forcebus_event_log_events").set(events as f64);
    let tenants_open = open.iter();
    let mut lag: std::collections::HashMap<&'static str, (u64, f64)> =
        [("cometd", (0, 0.0)), ("pubsub", (0, 0.0))].into();
    let mut oldest = 0.0f64;
    for t in tenants_open {
        let now = t.org.clock().now().timestamp_millis();
        if let Some(first) = t.org.log().oldest_time_ms() {
            oldest = oldest.max((now - first).max(0) as f64 / 1000.0);
        }
        for s in crate::tenant::subscribers(t) {
            let protocol = if s.protocol == "cometd" {
                "cometd"
            } else {
                "pubsub"
            };
            let entry = lag.entry(protocol).or_default();
            entry.0 = entry.0.max(s.lag.events);
            let age = s
                .lag
                .oldest_ms
                .map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0);
            entry.1 = entry.1.max(age);
        }
    }
    metrics::gauge!("forcebus_event_log_oldest_seconds").set(oldest);
    for (protocol, (events, secs)) in lag {
        metrics::gauge!("forcebus_subscriber_lag_events", "protocol" => protocol)
            .set(events as f64);
        metrics::gauge!("forcebus_subscriber_lag_seconds", "protocol" => protocol).set(secs);
    }
    read_process();
}

/// The process's memory and CPU, as gauges.
fn read_process() {
    if let Some((rss, cpu)) = crate::process::usage() {
        metrics::gauge!("process_resident_memory_bytes").set(rss);
        metrics::gauge!("process_cpu_seconds_total").set(cpu);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_in_bounded_families() {
        for (path, want) in [
            ("/services/data/v62.0/sobjects/Account", "rest"),
            ("/services/data/v62.0/jobs/ingest/750x", "bulk2"),
            ("/services/data/v62.0/tooling/query", "tooling"),
            ("/services/data/v62.0/composite/sobjects", "composite"),
            ("/services/async/62.0/job", "bulk1"),
            ("/services/Soap/u/62.0", "soap"),
            ("/services/Soap/m/62.0", "metadata"),
            ("/cometd/62.0", "cometd"),
            ("/services/oauth2/token", "oauth"),
            ("/forcebus/v1/orgs/00D", "admin"),
            ("/nothing", "other"),
        ] {
            assert_eq!(family(path), want, "{path}");
        }
    }

    /// Every metric the dashboard queries is one the server serves (or Prometheus derives:
    /// a histogram's `_bucket`, `_sum`, `_count`).
    #[test]
    fn the_dashboard_queries_only_served_metrics() {
        let served = [
            "forcebus_http_requests_total",
            "forcebus_http_request_duration_seconds",
            "forcebus_store_commits_total",
            "forcebus_store_flush_seconds",
            "forcebus_store_group_commit_size",
            "forcebus_events_appended_total",
            "forcebus_deliveries_total",
            "forcebus_subscribers",
            "forcebus_subscriber_lag_events",
            "forcebus_subscriber_lag_seconds",
            "forcebus_bulk_rows_total",
            "forcebus_orgs",
            "forcebus_event_log_bytes",
            "forcebus_event_log_events",
            "forcebus_event_log_oldest_seconds",
            "process_resident_memory_bytes",
            "process_cpu_seconds_total",
        ];
        let dashboard: serde_json::Value = serde_json::from_str(DASHBOARD).unwrap();
        let mut queried = Vec::new();
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                    if word.starts_with("forcebus_") || word.starts_with("process_") {
                        queried.push(word.to_owned());
                    }
                }
            }
        }
        assert!(queried.len() >= served.len(), "{queried:?}");
        for q in &queried {
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| q.strip_suffix(s))
                .unwrap_or(q);
            assert!(
                served.contains(&base),
                "the dashboard queries {q}, which nothing serves"
            );
        }
        for s in served {
            assert!(
                queried.iter().any(|q| q.starts_with(s)),
                "the dashboard shows nothing of {s}"
            );
        }
    }
}
