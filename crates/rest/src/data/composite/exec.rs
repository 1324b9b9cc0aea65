//! One subrequest of `/composite` (or one node of `/composite/graph`) run inside an org
//! transaction under way: the sObject resources, `query`, `queryAll` and the sObject
//! collections, the resources Salesforce allows there (`data-apis.md` §4.1). Reads see the
//! transaction's own changes; nothing is committed here, the caller decides.
//!
//! The answers are those of the standalone resources: the same validation (in the org),
//! the same bodies (the shared renderers of `sobjects`, `describe`, `query` and
//! `collections`), the same errors.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value};

use forcebus_org::platform::{EventDef, PublishBehavior, ToPublish};
use forcebus_org::{Op, Outcome, RecordId, Work};

use crate::ctx::Call;
use crate::data::collections::{self, Prepared};
use crate::data::sobjects::{field_list, object};
use crate::error::ApiError;
use forcebus_http::shapes::SaveResult;

/// A subrequest's target: the API version of its URL, the path after it, its parameters.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `59.0`.
    pub(crate) version: String,
    /// Path segments after `/services/data/vXX.X/`, percent-decoded.
    pub(crate) segments: Vec<String>,
    /// Query parameters, decoded.
    pub(crate) params: HashMap<String, String>,
}

/// Reads a subrequest URL: `/services/data/vXX.X/...` with an optional query string.
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
    })
}

/// A subrequest's answer.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    /// `Location` of a created record.
    pub(crate) location: Option<String>,
    pub(crate) body: Value,
}

impl Reply {
    fn new(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            location: None,
            body,
        }
    }

    fn of(result: Result<Value, ApiError>) -> Self {
        result.map_or_else(Self::from, |body| Self::new(StatusCode::OK, body))
    }

    /// Whether it succeeded (2xx).
    pub(crate) fn ok(&self) -> bool {
        self.status.is_success()
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Self {
        let (status, body) = e.into_parts();
        Self::new(status, body)
    }
}

/// What running subrequests leaves to do once their transaction's fate is known:
/// platform events to publish if it commits, and the commits of events already published
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
}

/// The context of a run: the app, the caller, and what to do after the commit.
pub(crate) struct Run<'a> {
    pub(crate) app: &'a crate::AppState,
    pub(crate) call: &'a Call,
    pub(crate) after: &'a mut AfterCommit,
}

/// Runs one subrequest in `work`. `call` is the composite call with the subrequest's
/// version.
pub(crate) fn run(
    ctx: &mut Run<'_>,
    work: &mut Work<'_>,
    method: &Method,
    t: &Target,
    body: Option<Value>,
) -> Reply {
    let segs: Vec<&str> = t.segments.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["sobjects"] if *method == Method::GET => Reply::new(
            StatusCode::OK,
            crate::data::describe::global_json(ctx.app, ctx.call),
        ),
        ["sobjects", name] => sobject(ctx, work, method, name, body),
        ["sobjects", name, kind @ ("deleted" | "updated")] if *method == Method::GET => {
            let visit = |object: &str, f: &mut dyn FnMut(&forcebus_org::Record)| {
                work.scan(object).for_each(&mut *f);
            };
            Reply::of(if *kind == "deleted" {
                crate::data::sobjects::deleted_json(ctx.app, name, &t.params, &visit)
            } else {
                crate::data::sobjects::updated_json(ctx.app, name, &t.params, &visit)
            })
        }
        ["sobjects", name, "describe"] if *method == Method::GET => Reply::of(
            crate::data::describe::describe_json(ctx.app, ctx.call, name),
        ),
        ["sobjects", name, id] => record(ctx, work, method, name, id, t, body),
        ["sobjects", name, field, value] => {
            external(ctx, work, method, [name, field, value], t, body)
        }
        ["query" | "queryAll"] if *method == Method::GET => {
            Reply::of(query(ctx, work, t, segs[0] == "queryAll"))
        }
        ["composite", "sobjects", rest @ ..] => collection(ctx, work, method, rest, t, body),
        _ => ApiError::not_found().into(),
    }
}

/// 405 for a resource of the data API, naming the methods its route takes (as its route
/// table says).
fn not_allowed(app: &crate::AppState, method: &Method, resource: &str) -> Reply {
    let allowed = app.allowed(&format!("/services/data/{{v}}{resource}"));
    ApiError::method_not_allowed(method, allowed).into()
}

fn fields_of(body: Option<Value>) -> Result<Map<String, Value>, ApiError> {
    match body {
        Some(Value::Object(m)) => Ok(m),
        None | Some(Value::Null) => Ok(Map::new()),
        Some(other) => Err(ApiError::json_parser(format!(
            "Cannot deserialize instance of sObject from {} value",
            crate::body::token_name(&other)
        ))),
    }
}

fn apply(work: &mut Work<'_>, op: Op) -> Result<Outcome, ApiError> {
    work.apply(op).map_err(ApiError::from)
}

/// `/sobjects/{X}`: basic information, or a create (or a platform event publish).
fn sobject(
    ctx: &mut Run<'_>,
    work: &mut Work<'_>,
    method: &Method,
    name: &str,
    body: Option<Value>,
) -> Reply {
    if *method == Method::GET {
        return Reply::of(crate::data::describe::basic_json(ctx.app, ctx.call, name));
    }
    if *method != Method::POST {
        return not_allowed(ctx.app, method, "/sobjects/{o}");
    }
    let created = (|| {
        let fields = fields_of(body)?;
        if let Some(def) = ctx.app.org.platform_event(name) {
            return publish(ctx, def, fields).map(|v| (v, None));
        }
        let o = &*object(ctx.app, name)?;
        let id = apply(
            work,
            Op::Create {
                object: o.name.clone(),
                fields,
            },
        )?
        .id();
        let location = format!("{}/sobjects/{}/{}", ctx.call.base(), o.name, id.to18());
        Ok((SaveResult::ok(id).to_value(), Some(location)))
    })();
    match created {
        Ok((body, location)) => Reply {
            status: StatusCode::CREATED,
            location,
            body,
        },
        Err(e) => e.into(),
    }
}

/// A platform event: published now (`PublishImmediately`), or after the transaction
/// commits (`PublishAfterCommit`, dropped if it rolls back); validated now either way.
fn publish(
    ctx: &mut Run<'_>,
    def: Arc<EventDef>,
    fields: Map<String, Value>,
) -> Result<Value, ApiError> {
    let caller = ctx.call.caller();
    let created_by = caller.user_id.to18();
    let now = forcebus_org::clock::format_datetime(ctx.app.org.clock().now());
    let prepared = def.check(&fields, &created_by, &now)?;
    let uuid = prepared.uuid.clone();
    let item: ToPublish = (def.clone(), fields, Some(uuid.clone()));
    let published = if def.config.publish_behavior == PublishBehavior::PublishAfterCommit {
        ctx.after.events.push(item);
        Ok(forcebus_org::platform::Published { uuid, replay_id: 0 })
    } else {
        let (results, commit) = ctx
            .app
            .org
            .publish(&caller, &[item], true)
            .map_err(|e| ApiError::internal(&e))?
            .into_parts();
        ctx.after.published.push(commit);
        results.into_iter().next().expect("one event, one result")
    };
    let published = published.map_err(ApiError::from)?;
    Ok(crate::data::platform::result_json(&def, &Ok(published)))
}

/// `/sobjects/{X}/{id}`: retrieve, update, delete.
fn record(
    ctx: &mut Run<'_>,
    work: &mut Work<'_>,
    method: &Method,
    name: &str,
    id: &str,
    t: &Target,
    body: Option<Value>,
) -> Reply {
    let result = (|| {
        let o = &*object(ctx.app, name)?;
        let live = RecordId::parse(id)
            .and_then(|rid| work.get(rid))
            .filter(|r| r.object == o.name && !r.is_deleted);
        if *method == Method::GET {
            let fields = field_list(o, t.params.get("fields").map(String::as_str))?;
            let rec = live.ok_or_else(ApiError::not_found)?;
            return Ok(Reply::new(
                StatusCode::OK,
                crate::data::record::json(&rec, o, &t.version, fields.as_deref()),
            ));
        }
        if RecordId::parse(id).is_none() {
            return Err(ApiError::from(forcebus_org::OrgError::not_an_external_id(
                id,
            )));
        }
        let op = match *method {
            Method::PATCH => Op::Update {
                object: Some(o.name.clone()),
                id: id.to_owned(),
                fields: fields_of(body)?,
            },
            Method::DELETE => Op::Delete {
                object: Some(o.name.clone()),
                id: id.to_owned(),
            },
            _ => return Ok(not_allowed(ctx.app, method, "/sobjects/{o}/{id}")),
        };
        apply(work, op)?;
        Ok(Reply::new(StatusCode::NO_CONTENT, Value::Null))
    })();
    result.unwrap_or_else(Reply::from)
}

/// `/sobjects/{X}/{Field}/{value}`: retrieve, upsert, delete by an external id.
fn external(
    ctx: &mut Run<'_>,
    work: &mut Work<'_>,
    method: &Method,
    [name, field, value]: [&str; 3],
    t: &Target,
    body: Option<Value>,
) -> Reply {
    let result = (|| {
        let o = &*object(ctx.app, name)?;
        crate::data::sobjects::field_segment(o, field)?;
        let ids = work.find_by_external_id(&o.name, field, value)?;
        let found = match ids.as_slice() {
            [] => None,
            [one] => Some(*one),
            many => return Err(crate::data::sobjects::multiple_choices(ctx.call, o, many)),
        };
        match *method {
            Method::GET => {
                let fields = field_list(o, t.params.get("fields").map(String::as_str))?;
                let rec = found
                    .and_then(|id| work.get(id))
                    .ok_or_else(ApiError::not_found)?;
                Ok(Reply::new(
                    StatusCode::OK,
                    crate::data::record::json(&rec, o, &t.version, fields.as_deref()),
                ))
            }
            Method::DELETE => {
                let id = found.ok_or_else(ApiError::not_found)?;
                let op = Op::Delete {
                    object: Some(o.name.clone()),
                    id: id.to18(),
                };
                apply(work, op)?;
                Ok(Reply::new(StatusCode::NO_CONTENT, Value::Null))
            }
            Method::PATCH | Method::POST => {
                let op = Op::Upsert {
                    object: o.name.clone(),
                    field: field.to_owned(),
                    value: value.to_owned(),
                    fields: fields_of(body)?,
                };
                let Outcome::Upserted { id, created } = apply(work, op)? else {
                    return Err(ApiError::internal(&"upsert returned another outcome"));
                };
                let (status, body) = crate::data::sobjects::upsert_reply(&t.version, id, created);
                Ok(Reply::new(status, body.unwrap_or(Value::Null)))
            }
            _ => Ok(not_allowed(
                ctx.app,
                method,
                "/sobjects/{o}/{field}/{value}",
            )),
        }
    })();
    result.unwrap_or_else(Reply::from)
}

/// `query` and `queryAll`, seeing the transaction's changes.
fn query(ctx: &Run<'_>, work: &Work<'_>, t: &Target, all_rows: bool) -> Result<Value, ApiError> {
    let text = crate::data::query::query_text(&t.params)?;
    let viewer = Some(ctx.call.session.user_id);
    let qctx = ctx.app.org.query_context(viewer, &t.version, all_rows);
    let out = work.query(&text, &qctx, &|o| !o.tooling);
    crate::data::query::whole_result(ctx.app, ctx.call, &text, all_rows, out)
}

/// `/composite/sobjects[/{X}[/{Field}]]`: the collections, their records applied here.
fn collection(
    ctx: &mut Run<'_>,
    work: &mut Work<'_>,
    method: &Method,
    rest: &[&str],
    t: &Target,
    body: Option<Value>,
) -> Reply {
    let result = (|| {
        let prepared = match (method, rest) {
            (&Method::GET, [name]) | (&Method::POST, [name]) => {
                return retrieve(ctx, work, method, name, t, body);
            }
            (&Method::POST, []) => collections::prepare_create(request(body)?),
            (&Method::PATCH, []) => collections::prepare_update(request(body)?),
            (&Method::DELETE, []) => collections::prepare_delete(&t.params)?,
            (&Method::PATCH, [name, field]) => {
                let o = &*object(ctx.app, name)?;
                let exists = |v: &str| {
                    work.find_by_external_id(&o.name, field, v)
                        .is_ok_and(|ids| !ids.is_empty())
                };
                collections::prepare_upsert(o, field, request(body)?, &exists)
            }
            (_, []) => return Ok(not_allowed(ctx.app, method, "/composite/sobjects")),
            (_, [_]) => return Ok(not_allowed(ctx.app, method, "/composite/sobjects/{o}")),
            (_, [_, _]) => {
                return Ok(not_allowed(
                    ctx.app,
                    method,
                    "/composite/sobjects/{o}/{field}",
                ));
            }
            _ => return Err(ApiError::not_found()),
        };
        Ok(Reply::new(StatusCode::OK, apply_collection(work, prepared)))
    })();
    result.unwrap_or_else(Reply::from)
}

fn request(body: Option<Value>) -> Result<collections::Request, ApiError> {
    collections::request_from(fields_of(body)?)
}

/// A collection call's operations in `work`, rolled back together on a failure when the
/// call says `allOrNone` (a composite with `allOrNone` rolls everything back anyway).
fn apply_collection(work: &mut Work<'_>, prepared: Prepared) -> Value {
    let Prepared {
        ops,
        ids,
        all_or_none,
        created,
    } = prepared;
    let ops: Vec<Op> = ops
        .into_iter()
        .map(|p| p.unwrap_or_else(Op::Reject))
        .collect();
    let results = if all_or_none {
        work.apply_all_or_none(ops)
    } else {
        ops.into_iter().map(|op| work.apply(op)).collect()
    };
    collections::render_all(results, ids, created)
}

fn retrieve(
    ctx: &Run<'_>,
    work: &Work<'_>,
    method: &Method,
    name: &str,
    t: &Target,
    body: Option<Value>,
) -> Result<Reply, ApiError> {
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ids, fields) = if *method == Method::GET {
        let ids = t
            .params
            .get("ids")
            .map(|s| s.split(',').map(|i| i.trim().to_owned()).collect())
            .unwrap_or_default();
        (ids, t.params.get("fields").cloned())
    } else {
        let m = fields_of(body)?;
        let fields = strings(m.get("fields"));
        (
            strings(m.get("ids")),
            (!fields.is_empty()).then(|| fields.join(",")),
        )
    };
    let get = |id| work.get(id).cloned();
    let out =
        collections::retrieve_records(ctx.app, ctx.call, name, &ids, fields.as_deref(), &get)?;
    Ok(Reply::new(StatusCode::OK, out))
}
