//! A collection create with platform events among its records.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use forcebus_org::{Op, OrgError, Outcome};

use super::{Request, missing_type, record_type, render};
use crate::ctx::Call;
use crate::error::{ApiError, json_response};

/// `POST /composite/sobjects` with platform events among the records: records are
/// written in one transaction and events published, each result in request order. With
/// `allOrNone`, events are checked before anything is written, and a failed record
/// publishes no event.
pub(super) async fn create_with_events(
    app: &crate::State,
    call: &Call,
    req: Request,
) -> Result<Response, ApiError> {
    let mut events = Vec::new();
    let mut ops = Vec::new();
    // Where each request entry went: Ok(index into events) or Err(index into ops).
    let mut slots = Vec::new();
    for mut r in req.records {
        let t = record_type(&r);
        match t.as_deref().and_then(|t| app.org.platform_event(t)) {
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
    let caller = call.caller();
    let invalid_event = req.all_or_none
        && events.iter().any(|(def, fields)| {
            def.check(
                fields,
                &caller.user_id.to18(),
                "2000-01-01T00:00:00.000+0000",
            )
            .is_err()
        });
    let record_results: Vec<Result<Outcome, OrgError>> = if invalid_event {
        ops.iter()
            .map(|_| Err(forcebus_org::commit::rolled_back()))
            .collect()
    } else if ops.is_empty() {
        Vec::new()
    } else {
        crate::transact(&app.org, caller, ops, req.all_or_none, call.bulk_load)
            .await?
            .map_err(|e| ApiError::internal(&e))?
            .results
    };
    let records_failed = record_results.iter().any(Result::is_err);
    let event_results = if req.all_or_none && records_failed && !invalid_event {
        events
            .iter()
            .map(|_| Err(forcebus_org::commit::rolled_back()))
            .collect()
    } else {
        crate::data::platform::publish(app, call, events.clone(), req.all_or_none).await?
    };
    let out = slots
        .into_iter()
        .map(|s| match s {
            Ok(i) => crate::data::platform::result_json(&events[i].0, &event_results[i]),
            Err(i) => render(record_results[i].clone(), None).to_value(),
        })
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(out)))
}
