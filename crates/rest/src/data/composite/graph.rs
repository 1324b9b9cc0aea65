//! `POST /composite/graph` (`data-apis.md` §4.4): graphs of composite subrequests on the
//! sObject resources. Each graph is one transaction, kept whole or rolled back whole;
//! graphs are independent of each other. After 14 failed graphs the rest are not run.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use forcebus_org::Code;

use super::request::{Subrequest, parse_subrequests, run_atomic};
use super::{ROLLED_BACK, halted, malformed, refs, response_entry};
use crate::ctx::Call;
use crate::data::dispatch::{Reply, Target};
use crate::error::ApiError;
use crate::shapes::composite::{CompositeGraphResponse, CompositeResponse, GraphResponse};
use crate::shapes::respond;

/// Most graphs in one call.
pub(crate) const MAX_GRAPHS: usize = 75;
/// Most nodes in a graph, and in the whole call.
pub(crate) const MAX_NODES: usize = 500;
/// Most levels of references in a graph.
pub(crate) const MAX_DEPTH: usize = 15;
/// Failed graphs after which the others are not run.
pub(crate) const MAX_FAILED: usize = 14;
/// Longest graph id.
const MAX_GRAPH_ID: usize = 40;

struct Graph {
    id: String,
    nodes: Vec<(Subrequest, Target)>,
}

fn limit(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, Code::LimitExceeded, message)
}

/// How deep the references of a graph go: a node referring to nothing is at depth 1.
fn depth(nodes: &[(Subrequest, Target)]) -> usize {
    let mut depths: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut deepest = 0;
    for (sub, _) in nodes {
        let mut text = sub.url.clone();
        if let Some(b) = &sub.body {
            text.push_str(&b.to_string());
        }
        let d = 1 + refs::referenced(&text)
            .iter()
            .filter_map(|r| depths.get(r.as_str()))
            .max()
            .copied()
            .unwrap_or(0);
        depths.insert(&sub.reference_id, d);
        deepest = deepest.max(d);
    }
    deepest
}

fn graph(v: Value, latest: u32) -> Result<Graph, ApiError> {
    let Value::Object(mut m) = v else {
        return Err(malformed("Each graph must be a JSON object"));
    };
    let id = m
        .get("graphId")
        .and_then(Value::as_str)
        .filter(|id| refs::valid_reference_id(id) && id.len() < MAX_GRAPH_ID)
        .ok_or_else(|| {
            malformed("Each graph needs a graphId that starts with a letter or a number and contains only letters, numbers and underscores")
        })?
        .to_owned();
    let Some(Value::Array(items)) = m.remove("compositeRequest") else {
        return Err(malformed(format!(
            "Graph {id} needs a compositeRequest array"
        )));
    };
    let nodes = parse_subrequests(items, MAX_NODES, latest, None)?;
    if let Some((sub, _)) = nodes
        .iter()
        .find(|(_, t)| t.segments.first().is_none_or(|s| s != "sobjects"))
    {
        return Err(malformed(format!(
            "Graph {id}: node {} is not an sObject resource",
            sub.reference_id
        )));
    }
    if depth(&nodes) > MAX_DEPTH {
        return Err(limit(format!(
            "Graph {id} is deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(Graph { id, nodes })
}

fn parse(headers: &HeaderMap, bytes: &[u8], latest: u32) -> Result<Vec<Graph>, ApiError> {
    let mut m = crate::body::object(headers, bytes)?;
    let Some(Value::Array(items)) = m.remove("graphs") else {
        return Err(malformed("The graphs array is required"));
    };
    if items.is_empty() || items.len() > MAX_GRAPHS {
        return Err(limit(format!(
            "A request must contain between 1 and {MAX_GRAPHS} graphs"
        )));
    }
    let graphs: Vec<Graph> = items
        .into_iter()
        .map(|g| graph(g, latest))
        .collect::<Result<_, _>>()?;
    if graphs.iter().map(|g| g.nodes.len()).sum::<usize>() > MAX_NODES {
        return Err(limit(format!(
            "A request can contain at most {MAX_NODES} nodes"
        )));
    }
    let mut ids = HashSet::new();
    if let Some(g) = graphs.iter().find(|g| !ids.insert(g.id.clone())) {
        return Err(malformed(format!("Duplicate graphId: {}", g.id)));
    }
    Ok(graphs)
}

/// Runs every graph: each one's replies, and whether it was kept.
fn run_all(
    app: &crate::AppState,
    call: &Call,
    graphs: &[Graph],
) -> Result<Vec<(Vec<Reply>, bool)>, ApiError> {
    let mut failed = 0;
    let mut out = Vec::with_capacity(graphs.len());
    for g in graphs {
        let (replies, ok) = if failed >= MAX_FAILED {
            (g.nodes.iter().map(|_| halted(ROLLED_BACK)).collect(), false)
        } else {
            run_atomic(app, call, &g.nodes)?
        };
        failed += usize::from(!ok);
        out.push((replies, ok));
    }
    Ok(out)
}

/// A graph's answer.
fn response<'a>(g: &'a Graph, replies: &'a [Reply], ok: bool) -> GraphResponse<'a> {
    let composite_response = replies
        .iter()
        .zip(&g.nodes)
        .map(|(r, (sub, _))| response_entry(r, &sub.reference_id))
        .collect();
    GraphResponse {
        graph_id: &g.id,
        graph_response: CompositeResponse { composite_response },
        is_successful: ok,
    }
}

/// `POST /composite/graph`.
pub(crate) async fn graph_call(
    call: Call,
    State(app): State<crate::State>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let graphs = parse(&headers, &bytes, app.config.latest_version)?;
    let (graphs, out) =
        crate::blocking(move || run_all(&app, &call, &graphs).map(|out| (graphs, out))).await??;
    let body = CompositeGraphResponse {
        graphs: graphs
            .iter()
            .zip(&out)
            .map(|(g, (replies, ok))| response(g, replies, *ok))
            .collect(),
    };
    Ok(respond(StatusCode::OK, &body))
}
