//! The replication lists of an object (`org-rest-cdc.md` §2.4):
//! `/sobjects/{X}/deleted?start=..&end=..`, the records deleted within the window (with
//! the earliest deletion the Recycle Bin still shows), and
//! `/sobjects/{X}/updated?start=..&end=..`, the live records changed within it. Both read
//! the records as the transaction they run in sees them, so a composite request's
//! earlier writes count.

use std::collections::HashMap;

use axum::http::StatusCode;

use forcebus_org::clock::format_datetime;
use forcebus_org::value::parse_datetime;
use forcebus_org::{Code, Record, Work};

use crate::data::dispatch::{Reply, Run, Sub};
use crate::data::sobject::object;
use crate::error::ApiError;
use crate::shapes::sobject::{DeletedRecord, GetDeletedResult, GetUpdatedResult};
use crate::shapes::to_value;

/// `GET /sobjects/{X}/deleted` and `GET /sobjects/{X}/updated`, told apart by the last
/// segment of the path.
pub(crate) fn changes(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    Reply::of((|| {
        let o = &*object(run.app, run.call, sub.segment(1))?;
        let window = Window::of(run.app, &sub.target.params)?;
        // Only the records the caller may read (sharing), as every read.
        let records = work
            .scan(&o.name)
            .filter(|r| work.level(r) >= forcebus_org::access::sharing::Level::Read);
        let body = if sub.segment(2) == "deleted" {
            to_value(&window.deleted(records))
        } else {
            to_value(&window.updated(records))
        };
        Ok(body)
    })())
}

/// The `start` and `end` of a replication call, in Salesforce's datetime form; `end` no
/// later than now.
struct Window {
    start: String,
    end: String,
}

impl Window {
    fn of(app: &crate::AppState, q: &HashMap<String, String>) -> Result<Self, ApiError> {
        let parse = |key: &str| {
            let raw = q.get(key).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    Code::MissingArgument,
                    format!("{key} parameter must be specified"),
                )
            })?;
            parse_datetime(raw).map(format_datetime).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    Code::InvalidDateFormat,
                    format!("{key}: invalid date/time format: {raw}"),
                )
            })
        };
        let (start, end) = (parse("start")?, parse("end")?);
        if start > end {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                Code::InvalidReplicationDate,
                "start date must be before end date",
            ));
        }
        let now = format_datetime(app.org.clock().now());
        Ok(Self {
            start,
            end: end.min(now),
        })
    }

    fn holds(&self, at: &str) -> bool {
        at >= self.start.as_str() && at <= self.end.as_str()
    }

    /// The records deleted within the window, and the earliest deletion of any.
    fn deleted<'r>(self, records: impl Iterator<Item = &'r Record>) -> GetDeletedResult {
        let mut earliest: Option<&str> = None;
        let mut deleted_records = Vec::new();
        for r in records {
            let Some(at) = r.deleted_at().filter(|_| r.is_deleted) else {
                continue;
            };
            if earliest.is_none_or(|e| at < e) {
                earliest = Some(at);
            }
            if self.holds(at) {
                deleted_records.push(DeletedRecord {
                    id: r.id.to18(),
                    deleted_date: at.to_owned(),
                });
            }
        }
        GetDeletedResult {
            deleted_records,
            earliest_date_available: earliest.map_or(self.start, str::to_owned),
            latest_date_covered: self.end,
        }
    }

    /// The live records last changed within the window.
    fn updated<'r>(self, records: impl Iterator<Item = &'r Record>) -> GetUpdatedResult {
        let ids = records
            .filter(|r| {
                !r.is_deleted && r.get_str("SystemModstamp").is_some_and(|at| self.holds(at))
            })
            .map(|r| r.id.to18())
            .collect();
        GetUpdatedResult {
            ids,
            latest_date_covered: self.end,
        }
    }
}
