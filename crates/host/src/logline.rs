//! Every log line of a node on a shared database names the node. The requests, the
//! connections and the server's own work run inside the `node` span ([`crate::app::run`]);
//! what a task spawned elsewhere logs (a tokio task starts outside every span) gets the
//! node added here: ` node=ID` at the end of a human line, `"node":"ID"` in a JSON one.

use std::fmt::{self, Write as _};
use std::sync::OnceLock;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// This process's node id, once it serves on a shared database.
static NODE: OnceLock<String> = OnceLock::new();

/// From now on, lines logged outside the `node` span name `id`.
pub(crate) fn name_node(id: &str) {
    let _ = NODE.set(id.to_owned());
}

/// An event format that adds the node to lines logged outside its span.
#[derive(Debug)]
pub struct WithNode<F> {
    inner: F,
    json: bool,
}

impl<F> WithNode<F> {
    /// `inner`'s lines with the node added, as a JSON field when `json`.
    pub fn new(inner: F, json: bool) -> Self {
        Self { inner, json }
    }
}

impl<S, N, F> FormatEvent<S, N> for WithNode<F>
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
        let in_node_span = ctx
            .event_scope()
            .is_some_and(|mut scope| scope.any(|span| span.name() == "node"));
        let Some(node) = NODE.get().filter(|_| !in_node_span) else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        writer.write_str(&with_node(&line, node, self.json))
    }
}

/// `line` (one formatted log line, ending in a newline or not) naming `node`.
fn with_node(line: &str, node: &str, json: bool) -> String {
    let (body, end) = match line.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (line, ""),
    };
    let mut out = String::with_capacity(line.len() + node.len() + 12);
    match body.strip_prefix('{') {
        Some(rest) if json => {
            let quoted = serde_json::Value::from(node).to_string();
            let _ = write!(out, "{{\"node\":{quoted}");
            if rest.trim_start() != "}" {
                out.push(',');
            }
            out.push_str(rest);
        }
        _ => {
            let _ = write!(out, "{body} node={node}");
        }
    }
    out.push_str(end);
    out
}

#[cfg(test)]
mod tests {
    use super::with_node;

    #[test]
    fn a_human_line_ends_with_the_node() {
        assert_eq!(
            with_node("2026 INFO x: Took an org. org=default\n", "n-1", false),
            "2026 INFO x: Took an org. org=default node=n-1\n"
        );
        assert_eq!(with_node("no newline", "n", false), "no newline node=n");
    }

    #[test]
    fn a_json_line_gets_the_node_as_its_first_field() {
        let line = with_node("{\"level\":\"INFO\",\"fields\":{}}\n", "n\"1", true);
        assert_eq!(
            line,
            "{\"node\":\"n\\\"1\",\"level\":\"INFO\",\"fields\":{}}\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["node"], "n\"1");
        assert_eq!(with_node("{}", "n", true), "{\"node\":\"n\"}");
    }
}
