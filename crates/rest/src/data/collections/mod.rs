//! sObject collections, `/composite/sobjects` (`org-rest-cdc.md` §2.6): up to 200 records
//! per call, one transaction, per-record results in request order; `allOrNone` rolls
//! the call's records back together on a failure. A create may carry platform events
//! among its records: they are published once the records commit (none when
//! `allOrNone` fails).
//!
//! - `prepare`: a call's body read, its records turned into operations, its results;
//! - `events`: a create with platform events among its records;
//! - `retrieve`: records by id, as a retrieve answers them.

mod events;
mod prepare;
mod retrieve;

use axum::http::Method;
use serde_json::{Map, Value};

use forcebus_org::{Op, Work};

use crate::data::dispatch::{Reply, Run, Sub};
use crate::error::ApiError;
use prepare::{Prepared, Request, record_type, render_all};

fn request(sub: &Sub) -> Result<Request, ApiError> {
    prepare::request_from(sub.body.object()?)
}

/// The call's operations in `work`, rolled back together on a failure when it says
/// `allOrNone`.
fn apply(run: &Run<'_>, work: &mut Work<'_>, prepared: Prepared) -> Value {
    let Prepared {
        ops,
        ids,
        all_or_none,
        created,
    } = prepared;
    let schema = run.app.org.schema();
    let ops: Vec<Op> = ops
        .into_iter()
        .map(|p| p.map_or_else(Op::Reject, |op| data_api_only(&schema, op)))
        .collect();
    let results = if all_or_none {
        work.apply_all_or_none(ops)
    } else {
        ops.into_iter().map(|op| work.apply(op)).collect()
    };
    render_all(results, ids, created)
}

/// `op`, or its refusal when it names a Tooling API object (`DebugLevel`), which the data
/// API does not serve.
fn data_api_only(schema: &forcebus_org::Schema, op: Op) -> Op {
    let named = match &op {
        Op::Create { object, .. } | Op::Upsert { object, .. } => schema.object(object),
        Op::Update { object, id, .. } | Op::Delete { object, id } => match object {
            Some(o) => schema.object(o),
            None => {
                forcebus_org::RecordId::parse(id).and_then(|i| schema.object_by_prefix(i.prefix()))
            }
        },
        _ => None,
    };
    match named {
        Some(o) if o.tooling => Op::Reject(forcebus_org::OrgError::new(
            forcebus_org::Code::InvalidType,
            format!("sObject type '{}' is not supported.", o.name),
        )),
        _ => op,
    }
}

fn answer(result: Result<Value, ApiError>) -> Reply {
    Reply::of(result)
}

/// `POST /composite/sobjects`: create.
pub(crate) fn create(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    answer((|| {
        let req = request(sub)?;
        let is_event = |r: &Map<String, Value>| {
            record_type(r).is_some_and(|t| run.app.org.platform_event(&t).is_some())
        };
        if req.records.iter().any(is_event) {
            return Ok(events::create_with_events(run, work, req));
        }
        Ok(apply(run, work, prepare::create(req)))
    })())
}

/// `PATCH /composite/sobjects`: update; each record carries `attributes.type` and `id`.
pub(crate) fn update(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    answer(request(sub).map(|req| apply(run, work, prepare::update(req))))
}

/// `DELETE /composite/sobjects?ids=a,b[&allOrNone=true]`.
pub(crate) fn delete(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    answer(prepare::delete(&sub.target.params).map(|p| apply(run, work, p)))
}

/// `PATCH /composite/sobjects/{X}/{ExtField}`: upsert by an external-id field.
pub(crate) fn upsert(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    answer((|| {
        let o = &*sub.object(run, sub.segment(2))?;
        let field = sub.segment(3);
        let req = request(sub)?;
        let exists = |v: &str| {
            work.find_by_external_id(&o.name, field, v)
                .is_ok_and(|ids| !ids.is_empty())
        };
        let prepared = prepare::upsert(o, field, req, &exists);
        Ok(apply(run, work, prepared))
    })())
}

/// `GET /composite/sobjects/{X}?ids=..&fields=..`, and `POST` with `{"ids", "fields"}`
/// (jsforce): the records, `null` for each not found.
pub(crate) fn retrieve(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    answer((|| {
        let (ids, fields) = if sub.method == Method::GET || sub.method == Method::HEAD {
            let ids = sub
                .param("ids")
                .map(|s| s.split(',').map(|i| i.trim().to_owned()).collect())
                .unwrap_or_default();
            (ids, sub.param("fields").map(str::to_owned))
        } else {
            let m = sub.body.object()?;
            let strings = |key: &str| -> Vec<String> {
                m.get(key)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let fields = strings("fields");
            (
                strings("ids"),
                (!fields.is_empty()).then(|| fields.join(",")),
            )
        };
        let get = |id| work.read(id);
        retrieve::retrieve_records(
            run.app,
            run.call,
            sub.segment(2),
            &ids,
            fields.as_deref(),
            &get,
        )
    })())
}
