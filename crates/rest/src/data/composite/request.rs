//! `POST /composite` (`data-apis.md` §4.1): up to 25 subrequests run in order, later ones
//! referring to earlier results with `@{refId.path}`.
//!
//! With `allOrNone: true` every subrequest runs in one org transaction: one failure rolls
//! all of them back, the failing one keeps its error and every other one answers
//! `PROCESSING_HALTED`. Without it each subrequest is a transaction of its own; one whose
//! reference cannot be resolved (its referent failed) answers `PROCESSING_HALTED` and the
//! independent ones still run. The call itself answers 200 either way.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

use forcebus_org::{Committing, Mode};

use super::refs::{self, Results};
use super::{ROLLED_BACK, halted, malformed, response_entry};
use crate::ctx::Call;
use crate::data::dispatch::{self, AfterCommit, Reply, Run, Target};
use crate::data::shared;
use crate::error::ApiError;
use crate::shapes::composite::CompositeResponse;
use crate::shapes::respond;

/// Most subrequests in one call.
pub(crate) const MAX_SUBREQUESTS: usize = 25;
/// Most of them that may be queries or sObject collection calls.
pub(crate) const MAX_QUERIES: usize = 5;

/// Headers a subrequest may not set: they are the composite call's own.
const INHERITED: [&str; 3] = ["accept", "authorization", "content-type"];

/// One subrequest as sent.
#[derive(Debug, Clone)]
pub(crate) struct Subrequest {
    pub(crate) method: Method,
    pub(crate) url: String,
    pub(crate) reference_id: String,
    pub(crate) body: Option<Value>,
}

fn text<'a>(m: &'a Map<String, Value>, key: &str) -> Result<&'a str, ApiError> {
    m.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(format!("Composite subrequest is missing the {key}")))
}

/// Reads one subrequest, checking what the whole call fails on.
pub(crate) fn subrequest(v: Value) -> Result<Subrequest, ApiError> {
    let Value::Object(mut m) = v else {
        return Err(malformed("Each composite subrequest must be a JSON object"));
    };
    let method = match text(&m, "method")?.to_ascii_uppercase().as_str() {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        other => return Err(malformed(format!("Unsupported HTTP method: {other}"))),
    };
    let url = text(&m, "url")?.to_owned();
    let reference_id = text(&m, "referenceId")?.to_owned();
    if !refs::valid_reference_id(&reference_id) {
        return Err(malformed(format!(
            "Provided referenceId ('{reference_id}') must start with a letter or a number, and it \
             can contain only letters, numbers and underscores ('_')."
        )));
    }
    if let Some(Value::Object(h)) = m.get("httpHeaders")
        && let Some(k) = h
            .keys()
            .find(|k| INHERITED.contains(&k.to_ascii_lowercase().as_str()))
    {
        return Err(malformed(format!(
            "The {k} header is not allowed in a composite subrequest"
        )));
    }
    Ok(Subrequest {
        method,
        url,
        reference_id,
        body: m.remove("body"),
    })
}

/// Whether a subrequest counts against [`MAX_QUERIES`].
fn is_query_or_collection(t: &Target) -> bool {
    matches!(
        t.segments.first().map(String::as_str),
        Some("query" | "queryAll")
    ) || t
        .segments
        .starts_with(&["composite".to_owned(), "sobjects".to_owned()])
}

struct Request {
    all_or_none: bool,
    subrequests: Vec<(Subrequest, Target)>,
}

fn parse(headers: &HeaderMap, bytes: &[u8], latest: u32) -> Result<Request, ApiError> {
    let mut m = crate::body::object(headers, bytes)?;
    let all_or_none = m
        .remove("allOrNone")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    m.remove("collateSubrequests");
    let Some(Value::Array(items)) = m.remove("compositeRequest") else {
        return Err(malformed("The compositeRequest array is required"));
    };
    if let Some(k) = m.keys().next() {
        return Err(ApiError::json_parser(format!("Unrecognized field \"{k}\"")));
    }
    parse_subrequests(items, MAX_SUBREQUESTS, latest, Some(MAX_QUERIES)).map(|subrequests| {
        Request {
            all_or_none,
            subrequests,
        }
    })
}

/// Reads and checks a list of subrequests: at most `max`, at most `max_queries` of them
/// queries or collections, unique reference ids, URLs under `/services/data/vXX.X/`.
pub(crate) fn parse_subrequests(
    items: Vec<Value>,
    max: usize,
    latest: u32,
    max_queries: Option<usize>,
) -> Result<Vec<(Subrequest, Target)>, ApiError> {
    if items.is_empty() {
        return Err(malformed("The compositeRequest array must not be empty"));
    }
    if items.len() > max {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            forcebus_org::Code::LimitExceeded,
            format!("A composite request can contain at most {max} subrequests"),
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let sub = subrequest(item)?;
        if !seen.insert(sub.reference_id.clone()) {
            return Err(malformed(format!(
                "Duplicate referenceId provided in the request: {}",
                sub.reference_id
            )));
        }
        // References are resolved before the URL is read; a reference in the version
        // part is not allowed.
        let probe = sub.url.replace("@{", "x").replace('}', "");
        let target = dispatch::parse_url(&probe, latest).ok_or_else(|| {
            malformed(format!(
                "The url of subrequest {} must start with /services/data/vXX.X/",
                sub.reference_id
            ))
        })?;
        out.push((sub, target));
    }
    let queries = out
        .iter()
        .filter(|(_, t)| is_query_or_collection(t))
        .count();
    if let Some(most) = max_queries
        && queries > most
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            forcebus_org::Code::LimitExceeded,
            format!(
                "A composite request can contain at most {most} query or sObject collection \
                 subrequests"
            ),
        ));
    }
    Ok(out)
}

/// A subrequest with its references resolved against earlier results.
pub(crate) fn resolve(
    sub: &Subrequest,
    results: &Results,
    latest: u32,
) -> Result<(Target, Option<Value>), Reply> {
    let unresolved = |e: refs::Unresolved| halted(e.message());
    let url = refs::substitute(&sub.url, results, true).map_err(unresolved)?;
    let body = match &sub.body {
        Some(b) => Some(refs::substitute_json(b, results).map_err(unresolved)?),
        None => None,
    };
    let target =
        dispatch::parse_url(&url, latest).ok_or_else(|| Reply::from(ApiError::not_found()))?;
    Ok((target, body))
}

/// The composite call as a subrequest makes it: the subrequest's API version.
fn sub_call(call: &Call, target: &Target) -> Call {
    Call {
        version: target.version.clone(),
        ..call.clone()
    }
}

/// Runs `subs` in order inside `work`, stopping at the first failure when `stop_on_error`.
/// Returns each reply with its reference id, and whether all succeeded.
pub(crate) fn run_in(
    app: &crate::AppState,
    call: &Call,
    work: &mut forcebus_org::Work<'_>,
    subs: &[(Subrequest, Target)],
    after: &mut AfterCommit,
) -> (Vec<Reply>, bool) {
    let latest = app.config.latest_version;
    let mut results = Results::new();
    let mut replies = Vec::with_capacity(subs.len());
    for (sub, _) in subs {
        let reply = match resolve(sub, &results, latest) {
            Err(reply) => reply,
            Ok((target, body)) => {
                let call = sub_call(call, &target);
                let mut ctx = Run {
                    app,
                    call: &call,
                    after,
                };
                shared::subrequest(&mut ctx, work, &sub.method, &target, body)
            }
        };
        let ok = reply.ok();
        results.insert(sub.reference_id.clone(), ok.then(|| reply.body.clone()));
        replies.push(reply);
        if !ok {
            // Everything else is rolled back or never runs.
            let failed = replies.len() - 1;
            let mut out: Vec<Reply> = (0..subs.len()).map(|_| halted(ROLLED_BACK)).collect();
            out[failed] = replies.pop().expect("just pushed");
            return (out, false);
        }
    }
    (replies, true)
}

/// Runs `subs` in one transaction, kept whole or rolled back whole: the replies, and
/// whether it was kept. Its `PublishAfterCommit` events go out only if it was.
pub(crate) fn run_atomic(
    app: &crate::AppState,
    call: &Call,
    subs: &[(Subrequest, Target)],
) -> Result<(Vec<Reply>, bool), ApiError> {
    let mut after = AfterCommit::default();
    let (out, _) = app
        .org
        .transaction(&call.caller(), mode(call), |work| {
            let out = run_in(app, call, work, subs, &mut after);
            let kept = out.1;
            (out, kept)
        })
        .and_then(Committing::wait)
        .map_err(|e| ApiError::internal(&e))?;
    after.finish(app, call, out.1)?;
    Ok(out)
}

/// Each subrequest in a transaction of its own, durable before the next one runs.
fn one_by_one(
    app: &crate::AppState,
    call: &Call,
    subs: &[(Subrequest, Target)],
) -> Result<Vec<Reply>, ApiError> {
    let latest = app.config.latest_version;
    let mut results = Results::new();
    let mut replies = Vec::with_capacity(subs.len());
    for (sub, _) in subs {
        let reply = match resolve(sub, &results, latest) {
            Err(reply) => reply,
            Ok((target, body)) => {
                let call = sub_call(call, &target);
                let mut after = AfterCommit::default();
                let (reply, _) = app
                    .org
                    .transaction(&call.caller(), mode(&call), |work| {
                        let mut ctx = Run {
                            app,
                            call: &call,
                            after: &mut after,
                        };
                        let reply = shared::subrequest(&mut ctx, work, &sub.method, &target, body);
                        let ok = reply.ok();
                        (reply, ok)
                    })
                    .and_then(Committing::wait)
                    .map_err(|e| ApiError::internal(&e))?;
                after.finish(app, &call, reply.ok())?;
                reply
            }
        };
        results.insert(
            sub.reference_id.clone(),
            reply.ok().then(|| reply.body.clone()),
        );
        replies.push(reply);
    }
    Ok(replies)
}

pub(crate) fn mode(call: &Call) -> Mode {
    Mode {
        all_or_none: true,
        bulk_load: call.bulk_load,
        seed: false,
    }
}

/// `POST /composite`.
pub(crate) async fn composite(
    call: Call,
    State(app): State<crate::State>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let req = parse(&headers, &bytes, app.config.latest_version)?;
    let ids: Vec<String> = req
        .subrequests
        .iter()
        .map(|(s, _)| s.reference_id.clone())
        .collect();
    let replies = crate::blocking(move || {
        if req.all_or_none {
            run_atomic(&app, &call, &req.subrequests).map(|(replies, _)| replies)
        } else {
            one_by_one(&app, &call, &req.subrequests)
        }
    })
    .await??;
    let body = CompositeResponse {
        composite_response: replies
            .iter()
            .zip(&ids)
            .map(|(r, id)| response_entry(r, id))
            .collect(),
    };
    Ok(respond(StatusCode::OK, &body))
}
