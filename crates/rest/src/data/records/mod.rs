//! The record resources, each declared once in [`TABLE`]: `/sobjects/{X}`,
//! `/sobjects/{X}/{id}`, `/sobjects/{X}/{field}/{value}` and the sObject collections under
//! `/composite/sobjects`. A resource is one function over a transaction's [`Work`]; the
//! route table takes its routes from [`TABLE`], where a request of its own runs the
//! function in a transaction of its own (a write) or over a view of the org (a read), and
//! a composite subrequest is matched against the same patterns and runs in the
//! transaction its composite request shares. The methods a 405 names come from the same
//! entries.
//!
//! - [`sobject`]: a record's create (or a platform event's publish), read, update,
//!   delete, and the same by an external id;
//! - [`collection`]: the collections' create, update, upsert, delete and retrieve;
//! - `reply`: a resource's answer (JSON, or a blob's bytes).

mod collection;
mod reply;
mod sobject;

pub(crate) use reply::{Blob, Reply};

use std::collections::HashMap;
use std::sync::Mutex;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use serde_json::{Map, Value};

use forcebus_org::platform::ToPublish;
use forcebus_org::{Committing, Mode, Uploaded, Work};
use forcebus_sync::prelude::*;

use crate::ctx::Call;
use crate::error::ApiError;

/// A record resource's function: what it answers to a request, in a transaction's work.
pub(crate) type Handler = fn(&mut Run<'_>, &mut Work<'_>, &Sub) -> Reply;

/// A resource: its path after `/services/data/vXX.X` and the function of each method.
pub(crate) struct Resource {
    pub(crate) pattern: &'static str,
    pub(crate) methods: &'static [(Method, Handler)],
}

/// Every record resource.
pub(crate) const TABLE: &[Resource] = &[
    Resource {
        pattern: "/sobjects/{o}",
        methods: &[
            (Method::GET, sobject::basic),
            (Method::POST, sobject::create),
        ],
    },
    Resource {
        pattern: "/sobjects/{o}/{id}",
        methods: &[
            (Method::GET, sobject::retrieve),
            (Method::PATCH, sobject::update),
            (Method::DELETE, sobject::delete),
        ],
    },
    Resource {
        pattern: "/sobjects/{o}/{field}/{value}",
        methods: &[
            (Method::GET, sobject::retrieve_by_external_id),
            (Method::PATCH, sobject::upsert),
            (Method::DELETE, sobject::delete_by_external_id),
            (Method::POST, sobject::upsert),
        ],
    },
    Resource {
        pattern: "/composite/sobjects",
        methods: &[
            (Method::POST, collection::create),
            (Method::PATCH, collection::update),
            (Method::DELETE, collection::delete),
        ],
    },
    Resource {
        pattern: "/composite/sobjects/{o}",
        methods: &[
            (Method::GET, collection::retrieve),
            (Method::POST, collection::retrieve),
        ],
    },
    Resource {
        pattern: "/composite/sobjects/{o}/{field}",
        methods: &[(Method::PATCH, collection::upsert)],
    },
];

impl Resource {
    /// Whether `segments` (after the version) fall under this pattern.
    fn matches(&self, segments: &[String]) -> bool {
        let parts: Vec<&str> = self.pattern.split('/').filter(|s| !s.is_empty()).collect();
        parts.len() == segments.len()
            && parts
                .iter()
                .zip(segments)
                .all(|(p, s)| p.starts_with('{') || p == s)
    }

    /// The methods it answers, as a 405 and axum's `Allow` name them (`GET,HEAD,POST`).
    fn allowed(&self) -> String {
        let names: Vec<&str> = self
            .methods
            .iter()
            .flat_map(|(m, _)| {
                if *m == Method::GET {
                    vec!["GET", "HEAD"]
                } else {
                    vec![m.as_str()]
                }
            })
            .collect();
        names.join(",")
    }

    fn handler(&self, method: &Method) -> Option<Handler> {
        let wanted = if *method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.methods
            .iter()
            .find(|(m, _)| m == wanted)
            .map(|(_, h)| *h)
    }
}

/// The resource `segments` name, if it is a record resource.
pub(crate) fn find(segments: &[String]) -> Option<&'static Resource> {
    TABLE.iter().find(|r| r.matches(segments))
}

/// Runs a composite subrequest for `resource` in `work`: its function, or a 405 naming
/// the methods the resource takes.
pub(crate) fn run(run: &mut Run<'_>, work: &mut Work<'_>, resource: &Resource, sub: &Sub) -> Reply {
    match resource.handler(&sub.method) {
        Some(handler) => handler(run, work, sub),
        None => ApiError::method_not_allowed(&sub.method, &resource.allowed()).into(),
    }
}

/// The routes of [`TABLE`], each method answered by [`serve`].
pub(crate) fn routes(mut router: Router<crate::State>) -> Router<crate::State> {
    for resource in TABLE {
        let mut on = MethodRouter::new();
        for (method, handler) in resource.methods {
            let handler = *handler;
            let h = move |call: Call, State(app): State<crate::State>, req: Request| {
                serve(handler, call, app, req)
            };
            on = match method.as_str() {
                "GET" => on.get(h),
                "POST" => on.post(h),
                "PATCH" => on.patch(h),
                _ => on.delete(h),
            };
        }
        router = router.route(&format!("/services/data/{{v}}{}", resource.pattern), on);
    }
    router
}

/// A request a resource answers: its method, its target, and its body.
#[derive(Debug)]
pub(crate) struct Sub {
    pub(crate) method: Method,
    pub(crate) target: Target,
    pub(crate) body: Body,
    /// Files its request uploaded with it (a multipart write of its own; none in a
    /// composite subrequest), for its transaction to take.
    pub(crate) uploads: forcebus_http::upload::Uploads,
}

impl Sub {
    /// The path segment `i` after the version (`sobjects` is 0).
    pub(crate) fn segment(&self, i: usize) -> &str {
        self.target.segments.get(i).map_or("", String::as_str)
    }

    /// A query parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.target.params.get(name).map(String::as_str)
    }

    /// The object named in its path, as its API serves it: the data API's, or the Tooling
    /// API's too when it came that way.
    pub(crate) fn object(
        &self,
        app: &crate::AppState,
        name: &str,
    ) -> Result<std::sync::Arc<forcebus_org::ObjectDef>, ApiError> {
        app.org
            .schema()
            .object_shared(name)
            .filter(|o| !o.tooling || self.target.tooling)
            .ok_or_else(ApiError::not_found)
    }
}

/// A request's body as record fields, read by its front door's rules before the
/// resource runs (so no JSON is parsed under the org's writer lock), and taken by the
/// resource when it comes to it (so an earlier check's error still wins).
#[derive(Debug)]
pub(crate) struct Body(Mutex<Option<Result<Map<String, Value>, ApiError>>>);

impl Body {
    /// A request of its own: its bytes, read by the JSON rules of a REST body, with each
    /// file it uploaded named in its field.
    pub(crate) fn http(headers: &HeaderMap, bytes: &[u8], uploads: &[Uploaded]) -> Self {
        Self::of(
            crate::body::record_fields(headers, bytes).map(|mut fields| {
                for upload in uploads {
                    fields.insert(upload.field.clone(), Value::from(upload.marker()));
                }
                fields
            }),
        )
    }

    /// A composite subrequest's `body`, already JSON (absent when not given).
    pub(crate) fn json(body: Option<Value>) -> Self {
        Self::of(match body {
            Some(Value::Object(m)) => Ok(m),
            None | Some(Value::Null) => Ok(Map::new()),
            Some(other) => Err(ApiError::json_parser(format!(
                "Cannot deserialize instance of sObject from {} value",
                crate::body::token_name(&other)
            ))),
        })
    }

    /// No body (a read).
    pub(crate) fn none() -> Self {
        Self::of(Ok(Map::new()))
    }

    fn of(read: Result<Map<String, Value>, ApiError>) -> Self {
        Self(Mutex::new(Some(read)))
    }

    /// The body as record fields (a JSON object), taken: a resource reads it once.
    pub(crate) fn object(&self) -> Result<Map<String, Value>, ApiError> {
        self.0.locked().take().unwrap_or_else(|| Ok(Map::new()))
    }
}

/// A subrequest's target: the API version of its URL, the path after it, its parameters.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `59.0`.
    pub(crate) version: String,
    /// Path segments after `/services/data/vXX.X/`, percent-decoded.
    pub(crate) segments: Vec<String>,
    /// Query parameters, decoded.
    pub(crate) params: HashMap<String, String>,
    /// Reached through the Tooling API (`/tooling/sobjects/DebugLevel`): its own objects
    /// are served too.
    pub(crate) tooling: bool,
}

/// Reads a URL: `/services/data/vXX.X/...` with an optional query string.
pub(crate) fn parse_url(url: &str, latest: u32) -> Option<Target> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let rest = path.strip_prefix("/services/data/")?;
    let mut parts = rest.split('/').filter(|s| !s.is_empty());
    let version = crate::ctx::parse_version(parts.next()?, latest)?;
    let mut segments: Vec<String> = parts
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    // Salesforce's graph examples sometimes spell it `sobject/`; both are read.
    if segments.first().is_some_and(|s| s == "sobject") {
        segments[0] = "sobjects".into();
    }
    let params = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    Some(Target {
        version,
        segments,
        params,
        tooling: false,
    })
}

/// What running resources leaves to do once their transaction's fate is known: platform
/// events to publish if it commits, and the commits of events already published
/// (`PublishImmediately`), to wait for outside the transaction, whose writer lock must not
/// wait on the disk.
#[derive(Debug, Default)]
pub(crate) struct AfterCommit {
    pub(crate) events: Vec<ToPublish>,
    pub(crate) published: Vec<forcebus_eventlog::Commit>,
}

impl AfterCommit {
    /// Waits for the events published immediately, then publishes the rest if the
    /// transaction was `kept`.
    pub(crate) fn finish(
        self,
        app: &crate::AppState,
        call: &Call,
        kept: bool,
    ) -> Result<(), ApiError> {
        for commit in self.published {
            commit.wait().map_err(|e| ApiError::internal(&e))?;
        }
        if !kept || self.events.is_empty() {
            return Ok(());
        }
        app.org
            .publish(&call.caller(), &self.events, false)
            .and_then(forcebus_org::Committing::wait)
            .map(drop)
            .map_err(|e| ApiError::internal(&e))
    }

    fn is_empty(&self) -> bool {
        self.events.is_empty() && self.published.is_empty()
    }
}

/// The context of a run: the app, the caller, and what to do after the commit.
pub(crate) struct Run<'a> {
    pub(crate) app: &'a crate::AppState,
    pub(crate) call: &'a Call,
    pub(crate) after: &'a mut AfterCommit,
}

/// A record resource's request of its own: a read over a view of the org, a write in a
/// transaction of its own (kept when it succeeds), durable before it is answered.
async fn serve(handler: Handler, call: Call, app: crate::State, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let target = Target {
        tooling: false,
        version: call.version.clone(),
        segments: segments_of(parts.uri.path()),
        params: parts
            .uri
            .query()
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let uploads = parts
        .extensions
        .get::<forcebus_http::upload::Uploads>()
        .cloned()
        .unwrap_or_default();
    let sub = Sub {
        method: parts.method,
        target,
        body: Body::http(&parts.headers, &bytes, uploads.files()),
        uploads,
    };
    answer(handler, call, app, sub).await
}

/// The record resource `segments` name, for a request that reaches it under another path
/// (the Tooling API's data objects, `/tooling/sobjects/PushTopic`): `segments` as the
/// resource sees them (`["sobjects", "PushTopic"]`).
pub(crate) async fn delegate(
    call: Call,
    app: crate::State,
    method: Method,
    segments: Vec<String>,
    params: HashMap<String, String>,
    body: Body,
    tooling: bool,
) -> Response {
    let Some(resource) = find(&segments) else {
        return ApiError::not_found().into_response();
    };
    let Some(handler) = resource.handler(&method) else {
        return ApiError::method_not_allowed(&method, &resource.allowed()).into_response();
    };
    let target = Target {
        version: call.version.clone(),
        segments,
        params,
        tooling,
    };
    let sub = Sub {
        method,
        target,
        body,
        uploads: forcebus_http::upload::Uploads::default(),
    };
    answer(handler, call, app, sub).await
}

/// Answers `sub` with `handler` as a request of its own.
async fn answer(handler: Handler, call: Call, app: crate::State, sub: Sub) -> Response {
    if sub.method == Method::GET || sub.method == Method::HEAD {
        let mut after = AfterCommit::default();
        let reply = app.org.view(&call.caller(), |work| {
            let mut run = Run {
                app: &app,
                call: &call,
                after: &mut after,
            };
            handler(&mut run, work, &sub)
        });
        return reply.into_response();
    }
    write(handler, call, app, sub)
        .await
        .unwrap_or_else(Reply::from)
        .into_response()
}

/// Runs a write resource in a transaction of its own, off the async workers; waits
/// (without a thread) until it is durable, then publishes what waits for the commit.
async fn write(
    handler: Handler,
    call: Call,
    app: crate::State,
    sub: Sub,
) -> Result<Reply, ApiError> {
    let mode = Mode {
        all_or_none: true,
        bulk_load: call.bulk_load,
        seed: false,
    };
    let (a, c) = (app.clone(), call.clone());
    let (committing, after): (Committing<_>, AfterCommit) = crate::blocking(move || {
        let mut after = AfterCommit::default();
        let uploads = sub.uploads.clone();
        let committing = a
            .org
            .transaction_with(&c.caller(), mode, uploads.files(), |work| {
                let mut run = Run {
                    app: &a,
                    call: &c,
                    after: &mut after,
                };
                let reply = handler(&mut run, work, &sub);
                let keep = reply.ok();
                (reply, keep)
            });
        committing.map(|c| (c, after))
    })
    .await?
    .map_err(|e| ApiError::internal(&e))?;
    let (reply, _) = committing
        .wait_async()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    if !after.is_empty() {
        let kept = reply.ok();
        crate::blocking(move || after.finish(&app, &call, kept)).await??;
    }
    Ok(reply)
}

/// The path segments after `/services/data/vXX.X/`, percent-decoded.
fn segments_of(path: &str) -> Vec<String> {
    path.strip_prefix("/services/data/")
        .unwrap_or(path)
        .split('/')
        .filter(|s| !s.is_empty())
        .skip(1)
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}
