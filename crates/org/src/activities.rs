//! The activity objects without rows of their own (`standard-objects.md` §4.9):
//! `ActivityHistory` (closed tasks, events that have ended) and `OpenActivity` (open
//! tasks, events to come), read only as a parent's `ActivityHistories` and
//! `OpenActivities`. Each row is a task or an event seen through the virtual object, with
//! `IsTask` and the account it belongs to (its own, else its `WhatId`'s, else its
//! `WhoId`'s).

use crate::fields::FieldRef;
use chrono::{DateTime, Utc};
use serde_json::Value;

use forcebus_soql::Source;

use crate::record::Record;
use crate::value::parse_datetime;

/// The virtual objects.
pub(crate) const OBJECTS: [&str; 2] = ["ActivityHistory", "OpenActivity"];

/// Whether `object` is one of them.
pub(crate) fn is_virtual(object: &str) -> bool {
    OBJECTS.contains(&object)
}

/// The rows of `object` (one of [`OBJECTS`]) over the tasks and events of `view`, as of
/// `now` (an event that ended before it is history).
pub(crate) fn rows(
    view: &impl Source<Rec = Record>,
    object: &str,
    now: DateTime<Utc>,
) -> Vec<Record> {
    let history = object == OBJECTS[0];
    let mut out = Vec::new();
    for source in ["Task", "Event"] {
        for r in view.scan(source) {
            let closed = if source == "Task" {
                r.get("IsClosed") == true
            } else {
                r.get_str("EndDateTime")
                    .or_else(|| r.get_str("ActivityDateTime"))
                    .and_then(parse_datetime)
                    .is_some_and(|end| end < now)
            };
            if closed != history {
                continue;
            }
            let mut fields = r.fields.clone();
            fields.insert("IsTask".into(), Value::Bool(source == "Task"));
            fields.insert("ActivityType".into(), Value::from(source));
            if fields.get("AccountId").is_none_or(FieldRef::is_null) {
                fields.insert("AccountId".into(), account_of(view, r));
            }
            out.push(Record {
                id: r.id,
                object: object.into(),
                fields,
                is_deleted: r.is_deleted,
                deleted: None,
            });
        }
    }
    out
}

/// The account an activity belongs to: its `WhatId` when that is an account, else the
/// account of its `WhatId` or `WhoId` record.
fn account_of(view: &impl Source<Rec = Record>, activity: &Record) -> Value {
    for field in ["WhatId", "WhoId"] {
        let Some(id) = activity.get_str(field).and_then(crate::RecordId::parse) else {
            continue;
        };
        let Some(target) = view.get(id) else {
            continue;
        };
        if target.object == "Account" {
            return Value::from(target.id.to18());
        }
        if let Some(account) = target.get_str("AccountId") {
            return Value::from(account);
        }
    }
    Value::Null
}
