//! sObject collections, `/composite/sobjects` (`org-rest-cdc.md` §2.6): up to 200 records
//! per call, one transaction, per-record results in request order; `allOrNone` rolls
//! the call's records back together on a failure. A create may carry platform events
//! among its records: they are published once the records commit (none when
//! `allOrNone` fails).

use axum::http::Method;
use serde_json::{Map, Value};

use forcebus_org::platform::{EventDef, Published};
use forcebus_org::{Op, OrgError, Outcome, Work};

use super::{Reply, Run, Sub};
use crate::data::collections::{
    self, Prepared, Request, missing_type, record_type, render, render_all,
};
use crate::error::ApiError;

fn request(sub: &Sub) -> Result<Request, ApiError> {
    collections::request_from(sub.body.object()?)
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
pub(super) fn create(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    answer((|| {
        let req = request(sub)?;
        let is_event = |r: &Map<String, Value>| {
            record_type(r).is_some_and(|t| run.app.org.platform_event(&t).is_some())
        };
        if req.records.iter().any(is_event) {
            return Ok(create_with_events(run, work, req));
        }
        Ok(apply(run, work, collections::prepare_create(req)))
    })())
}

/// `PATCH /composite/sobjects`: update; each record carries `attributes.type` and `id`.
pub(super) fn update(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    answer(request(sub).map(|req| apply(run, work, collections::prepare_update(req))))
}

/// `DELETE /composite/sobjects?ids=a,b[&allOrNone=true]`.
pub(super) fn delete(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    answer(collections::prepare_delete(&sub.target.params).map(|p| apply(run, work, p)))
}

/// `PATCH /composite/sobjects/{X}/{ExtField}`: upsert by an external-id field.
pub(super) fn upsert(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    answer((|| {
        let o = &*sub.object(run.app, sub.segment(2))?;
        let field = sub.segment(3);
        let req = request(sub)?;
        let exists = |v: &str| {
            work.find_by_external_id(&o.name, field, v)
                .is_ok_and(|ids| !ids.is_empty())
        };
        let prepared = collections::prepare_upsert(o, field, req, &exists);
        Ok(apply(run, work, prepared))
    })())
}

/// `GET /composite/sobjects/{X}?ids=..&fields=..`, and `POST` with `{"ids", "fields"}`
/// (jsforce): the records, `null` for each not found.
pub(super) fn retrieve(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
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
        let get = |id| work.get(id).cloned();
        collections::retrieve_records(
            run.app,
            run.call,
            sub.segment(2),
            &ids,
            fields.as_deref(),
            &get,
        )
    })())
}

/// A create with platform events among its records: the records applied in `work`, the
/// events published once it commits, each result in request order. With `allOrNone`,
/// events are checked before anything is written, and a failed record publishes no
/// event.
fn create_with_events(run: &mut Run<'_>, work: &mut Work<'_>, req: Request) -> Value {
    let mut events = Vec::new();
    let mut ops = Vec::new();
    // Where each request entry went: Ok(index into events) or Err(index into ops).
    let mut slots = Vec::new();
    for mut r in req.records {
        let t = record_type(&r);
        match t.as_deref().and_then(|t| run.app.org.platform_event(t)) {
            Some(def) => {
                r.remove("attributes");
                slots.push(Ok(events.len()));
                events.push((def, r));
            }
            None => {
                slots.push(Err(ops.len()));
                ops.push(match t {
                    None => Op::Reject(missing_type()),
                    Some(object) => Op::Create { object, fields: r },
                });
            }
        }
    }
    let caller = run.call.caller();
    let created_by = caller.user_id.to18();
    let now = forcebus_org::clock::format_datetime(run.app.org.clock().now());
    let checked: Vec<Result<String, OrgError>> = events
        .iter()
        .map(|(def, fields)| def.check(fields, &created_by, &now).map(|p| p.uuid))
        .collect();
    let invalid_event = req.all_or_none && checked.iter().any(Result::is_err);
    let record_results: Vec<Result<Outcome, OrgError>> = if invalid_event {
        ops.iter()
            .map(|_| Err(forcebus_org::commit::rolled_back()))
            .collect()
    } else if req.all_or_none {
        work.apply_all_or_none(ops)
    } else {
        ops.into_iter().map(|op| work.apply(op)).collect()
    };
    let records_failed = record_results.iter().any(Result::is_err);
    let event_results: Vec<Result<Published, OrgError>> =
        if req.all_or_none && (records_failed || invalid_event) {
            checked
                .into_iter()
                .map(|c| c.and_then(|_| Err(forcebus_org::commit::rolled_back())))
                .collect()
        } else {
            events
                .iter()
                .zip(checked)
                .map(|((def, fields), uuid)| {
                    let uuid = uuid?;
                    run.after
                        .events
                        .push((def.clone(), fields.clone().into(), Some(uuid.clone())));
                    Ok(Published { uuid, replay_id: 0 })
                })
                .collect()
        };
    let out = slots
        .into_iter()
        .map(|s| match s {
            Ok(i) => event_result(&events[i].0, &event_results[i]),
            Err(i) => render(record_results[i].clone(), None).to_value(),
        })
        .collect();
    Value::Array(out)
}

/// An event's result in a collection: its save result with the `OPERATION_ENQUEUED`
/// entry.
fn event_result(def: &EventDef, r: &Result<Published, OrgError>) -> Value {
    crate::data::platform::result_json(def, r)
}
