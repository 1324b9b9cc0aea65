//! A collection's create with platform events among its records: the records applied in
//! the transaction, the events published once it commits.

use serde_json::Value;

use forcebus_org::platform::{EventDef, Published};
use forcebus_org::{Op, OrgError, Outcome, Work};

use super::prepare::{Request, missing_type, record_type, render};
use crate::data::dispatch::Run;

/// A create with platform events among its records: the records applied in `work`, the
/// events published once it commits, each result in request order. With `allOrNone`,
/// events are checked before anything is written, and a failed record publishes no
/// event.
pub(super) fn create_with_events(run: &mut Run<'_>, work: &mut Work<'_>, req: Request) -> Value {
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
