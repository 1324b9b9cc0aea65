//! Events (`standard-objects.md` §4.7): one that is not all-day has a start
//! (`StartDateTime` or `ActivityDateTime`) and a `DurationInMinutes` or an `EndDateTime`,
//! and the org keeps the four consistent, with `ActivityDate` and `EndDate` the start's
//! and end's dates; an all-day event without either lasts a day. Tasks and events alike
//! get the `AccountId` they belong to (§4.8): their `WhatId` when it is an account, else
//! its record's account, else their `WhoId` contact's.

use chrono::Duration;
use serde_json::Value;

use crate::error::{Code, OrgError};
use crate::record::Record;
use crate::txn::Txn;
use crate::value::parse_datetime;

pub(super) const EVENT: &str = "Event";
pub(super) const TASK: &str = "Task";
const DAY_MINUTES: i64 = 24 * 60;

fn missing(field: &str) -> OrgError {
    OrgError {
        code: Code::RequiredFieldMissing,
        message: format!("Required fields are missing: [{field}]"),
        fields: vec![field.to_owned()],
        also: Vec::new(),
    }
}

fn changed(event: &Record, before: Option<&Record>, field: &str) -> bool {
    before.is_none_or(|b| b.get(field) != event.get(field))
}

/// The account an activity belongs to, from its `WhatId`, else its `WhoId`.
pub(super) fn activity_account(txn: &Txn<'_>, activity: &mut Record) {
    let mut account = Value::Null;
    for field in ["WhatId", "WhoId"] {
        let Some(target) = txn.live(activity.get_str(field)) else {
            continue;
        };
        if target.object == "Account" {
            account = Value::from(target.id.to18());
            break;
        }
        if let Some(a) = target.get_str("AccountId") {
            account = Value::from(a);
            break;
        }
    }
    activity.fields.insert("AccountId".into(), account);
}

/// An event before it is written: its start, end and duration made consistent.
pub(super) fn check_event(event: &mut Record, before: Option<&Record>) -> Result<(), OrgError> {
    let start_field =
        if changed(event, before, "ActivityDateTime") && !changed(event, before, "StartDateTime") {
            "ActivityDateTime"
        } else {
            "StartDateTime"
        };
    let start = event
        .get_str(start_field)
        .or_else(|| event.get_str("ActivityDateTime"))
        .and_then(parse_datetime);
    let all_day = event.get("IsAllDayEvent") == true;
    let end = event.get_str("EndDateTime").and_then(parse_datetime);
    let duration = event.get("DurationInMinutes").as_i64();
    let Some(start) = start else {
        if all_day && event.get("ActivityDate").is_string() {
            if duration.is_none() {
                event
                    .fields
                    .insert("DurationInMinutes".into(), Value::from(DAY_MINUTES));
            }
            return Ok(());
        }
        return Err(missing("ActivityDateTime"));
    };
    let end_changed = changed(event, before, "EndDateTime") && end.is_some();
    let (end, duration) = match (end, duration) {
        (Some(end), _) if end_changed || duration.is_none() => (end, (end - start).num_minutes()),
        (_, Some(minutes)) => (start + Duration::minutes(minutes), minutes),
        (Some(end), None) => (end, (end - start).num_minutes()),
        (None, None) if all_day => (start + Duration::minutes(DAY_MINUTES), DAY_MINUTES),
        (None, None) => return Err(missing("DurationInMinutes")),
    };
    if duration < 0 {
        return Err(OrgError::field(
            Code::FieldIntegrityException,
            "EndDateTime: End Date/Time must be after Start Date/Time",
            "EndDateTime",
        ));
    }
    let stamp = |t: chrono::DateTime<chrono::Utc>| Value::from(crate::clock::format_datetime(t));
    let date = |t: chrono::DateTime<chrono::Utc>| Value::from(t.format("%Y-%m-%d").to_string());
    for (field, value) in [
        ("StartDateTime", stamp(start)),
        ("ActivityDateTime", stamp(start)),
        ("EndDateTime", stamp(end)),
        ("DurationInMinutes", Value::from(duration)),
        ("ActivityDate", date(start)),
        ("EndDate", date(end)),
    ] {
        event.fields.insert(field.into(), value);
    }
    Ok(())
}
