//! What the record resources ([`crate::data::records`]) share: an object by name, a
//! `fields=` list, an external id's 300 and its upsert's answer; and the `deleted` and
//! `updated` lists under `/sobjects/{X}` (`org-rest-cdc.md` §2.4).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use forcebus_org::clock::format_datetime;
use forcebus_org::value::parse_datetime;
use forcebus_org::{Code, ObjectDef, Record, RecordId};

use crate::ctx::Call;
use crate::error::{ApiError, json_response};
use forcebus_http::shapes::SaveResult;

type Params = HashMap<String, String>;

/// A data object by name, any case (not a tooling one): `NOT_FOUND` otherwise.
pub(crate) fn object(app: &crate::AppState, name: &str) -> Result<Arc<ObjectDef>, ApiError> {
    app.org
        .schema()
        .object_shared(name)
        .filter(|o| !o.tooling)
        .ok_or_else(ApiError::not_found)
}

/// Checks a `fields=` list against the object; `None` when absent.
pub(crate) fn field_list(
    o: &ObjectDef,
    raw: Option<&str>,
) -> Result<Option<Vec<String>>, ApiError> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(None);
    };
    raw.split(',')
        .map(str::trim)
        .map(|name| {
            o.field(name).map(|f| f.name.clone()).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    Code::InvalidField,
                    format!(
                        "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                        o.name
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// 300 with the record URLs, when an external id matches several records.
pub(crate) fn multiple_choices(call: &Call, o: &ObjectDef, ids: &[RecordId]) -> ApiError {
    let urls: Vec<String> = ids
        .iter()
        .map(|id| format!("{}/sobjects/{}/{}", call.base(), o.name, id.to18()))
        .collect();
    ApiError::raw(StatusCode::MULTIPLE_CHOICES, json!(urls))
}

/// `/sobjects/{X}/{a}/{b}` names a resource only when `a` is a field of `X`: otherwise it is
/// an unknown sub-resource, `NOT_FOUND` (a field that is not an external id gets
/// Salesforce's "Provided external ID field does not exist" instead).
pub(crate) fn field_segment(o: &ObjectDef, field: &str) -> Result<(), ApiError> {
    match o.field(field) {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found()),
    }
}

/// An upsert's status and body: 201 on insert; on update 200 from API 46.0, 204 (no body)
/// before; `created` from 46.0.
pub(crate) fn upsert_reply(
    version: &str,
    id: RecordId,
    created: bool,
) -> (StatusCode, Option<Value>) {
    let new_shape = version.parse::<f32>().unwrap_or(59.0) >= 46.0;
    match (created, new_shape) {
        (true, true) => (
            StatusCode::CREATED,
            Some(SaveResult::upserted(id, true).to_value()),
        ),
        (true, false) => (StatusCode::CREATED, Some(SaveResult::ok(id).to_value())),
        (false, true) => (
            StatusCode::OK,
            Some(SaveResult::upserted(id, false).to_value()),
        ),
        (false, false) => (StatusCode::NO_CONTENT, None),
    }
}

fn window(app: &crate::AppState, q: &Params) -> Result<(String, String), ApiError> {
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
    Ok((start, end.min(now)))
}

/// Calls its argument with every record of an object (the org's, or a composite
/// request's transaction's).
pub(crate) type Visit<'a> = dyn Fn(&str, &mut dyn FnMut(&Record)) + 'a;

/// Every record of `object` in the org, for [`Visit`].
fn visit_org(app: &crate::AppState) -> impl Fn(&str, &mut dyn FnMut(&Record)) + '_ {
    move |object, f| {
        app.org.scan(object, |r| {
            f(r);
            None::<()>
        });
    }
}

/// `GET /sobjects/{X}/deleted?start=..&end=..`.
pub(crate) async fn deleted(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    let body = deleted_json(&app, &name, &q, &visit_org(&app))?;
    Ok(json_response(StatusCode::OK, &body))
}

/// The body of `/sobjects/{X}/deleted`.
pub(crate) fn deleted_json(
    app: &crate::AppState,
    name: &str,
    q: &Params,
    visit: &Visit<'_>,
) -> Result<Value, ApiError> {
    let o = &*object(app, name)?;
    let (start, end) = window(app, q)?;
    let mut earliest: Option<String> = None;
    let mut records = Vec::new();
    visit(&o.name, &mut |r| {
        let Some(at) = r.deleted_at().filter(|_| r.is_deleted) else {
            return;
        };
        if earliest.as_deref().is_none_or(|e| at < e) {
            earliest = Some(at.to_owned());
        }
        if at >= start.as_str() && at <= end.as_str() {
            records.push(json!({"id": r.id.to18(), "deletedDate": at}));
        }
    });
    Ok(
        json!({"deletedRecords": records, "earliestDateAvailable": earliest.unwrap_or(start), "latestDateCovered": end}),
    )
}

/// `GET /sobjects/{X}/updated?start=..&end=..`.
pub(crate) async fn updated(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    let body = updated_json(&app, &name, &q, &visit_org(&app))?;
    Ok(json_response(StatusCode::OK, &body))
}

/// The body of `/sobjects/{X}/updated`.
pub(crate) fn updated_json(
    app: &crate::AppState,
    name: &str,
    q: &Params,
    visit: &Visit<'_>,
) -> Result<Value, ApiError> {
    let o = &*object(app, name)?;
    let (start, end) = window(app, q)?;
    let mut ids = Vec::new();
    visit(&o.name, &mut |r| {
        if let Some(at) = r.get_str("SystemModstamp")
            && !r.is_deleted
            && at >= start.as_str()
            && at <= end.as_str()
        {
            ids.push(r.id.to18());
        }
    });
    Ok(json!({"ids": ids, "latestDateCovered": end}))
}
