//! What the listener counts: connections by the path that serves them, and requests
//! passed on to another node. [`describe`] writes their `# HELP` lines and zeros; the
//! binary calls it once the recorder is installed.

/// The `# HELP` lines of this crate's metrics, and zeros for the series a quiet server
/// has not touched yet (so a dashboard shows 0, not "no data").
pub fn describe() {
    use metrics::describe_counter;
    describe_counter!(
        "forcebus_http_connections_total",
        "HTTP connections by what serves them: lean (plain HTTP/1.1, as they open) and hyper (TLS, and plain ones handed over at a HEAD, a chunked or large body or HTTP/1.0)."
    );
    for path in ["lean", "hyper"] {
        metrics::counter!("forcebus_http_connections_total", "served_by" => path).absolute(0);
    }
    describe_counter!(
        "forcebus_forwarded_requests_total",
        "Requests this node passed on to the node serving their org, by protocol (http, grpc) and outcome (passed, unavailable: that node could not be reached)."
    );
    for protocol in ["http", "grpc"] {
        for outcome in ["passed", "unavailable"] {
            metrics::counter!("forcebus_forwarded_requests_total", "protocol" => protocol, "outcome" => outcome)
                .absolute(0);
        }
    }
}

/// Counts an HTTP connection by what serves it: `lean` for a plain one as it opens,
/// `hyper` for a TLS one and for a plain one handed over at a request the lean path does
/// not take (that one is counted twice).
pub(crate) fn connection_served_by(path: &'static str) {
    metrics::counter!("forcebus_http_connections_total", "served_by" => path).increment(1);
}

/// Counts a request passed on to another node, or that could not be.
pub(crate) fn forwarded(protocol: &'static str, passed: bool) {
    let outcome = if passed { "passed" } else { "unavailable" };
    metrics::counter!("forcebus_forwarded_requests_total", "protocol" => protocol, "outcome" => outcome)
        .increment(1);
}
