//! Single-record endpoints under `/sobjects/{X}` (`org-rest-cdc.md` §2.4).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use forcebus_org::clock::format_datetime;
use forcebus_org::value::parse_datetime;
use forcebus_org::{ObjectDef, Op, Outcome, Record, RecordId, StatusCode as Code, TxnResult};

use crate::body;
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

/// Runs one operation as its own transaction and returns its outcome.
pub(crate) async fn run_one(app: &crate::State, call: &Call, op: Op) -> Result<Outcome, ApiError> {
    let TxnResult { results, .. } =
        crate::transact(&app.org, call.caller(), vec![op], true, call.bulk_load)
            .await?
            .map_err(|e| ApiError::internal(&e))?;
    results
        .into_iter()
        .next()
        .expect("one op, one result")
        .map_err(ApiError::from)
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

fn live_record(app: &crate::AppState, o: &ObjectDef, id: &str) -> Result<Record, ApiError> {
    let rid = RecordId::parse(id)
        .ok_or_else(|| ApiError::from(forcebus_org::OrgError::not_an_external_id(id)))?;
    app.org
        .get(rid)
        .filter(|r| r.object == o.name && !r.is_deleted)
        .ok_or_else(ApiError::not_found)
}

/// `POST /sobjects/{X}`: 201 `{"id", "success", "errors"}`.
pub(crate) async fn create(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    if let Some(def) = app.org.platform_event(&name) {
        let fields = body::object(&headers, &bytes)?;
        return crate::data::platform::create(&app, &call, def, fields).await;
    }
    let o = &*object(&app, &name)?;
    let fields = body::object(&headers, &bytes)?;
    let id = run_one(
        &app,
        &call,
        Op::Create {
            object: o.name.clone(),
            fields,
        },
    )
    .await?
    .id();
    Ok(json_response(
        StatusCode::CREATED,
        &SaveResult::ok(id).to_value(),
    ))
}

/// `GET /sobjects/{X}/{id}[?fields=A,B]`.
pub(crate) async fn retrieve(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, id)): Path<(String, String, String)>,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &name)?;
    let fields = field_list(o, q.get("fields").map(String::as_str))?;
    let rec = live_record(&app, o, &id)?;
    Ok(json_response(
        StatusCode::OK,
        &crate::data::record::json(&rec, o, &call.version, fields.as_deref()),
    ))
}

/// `PATCH /sobjects/{X}/{id}`: 204.
pub(crate) async fn update(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &name)?;
    let fields = body::object(&headers, &bytes)?;
    if RecordId::parse(&id).is_none() {
        return Err(live_record(&app, o, &id).expect_err("unparsable ids are never live"));
    }
    run_one(
        &app,
        &call,
        Op::Update {
            object: Some(o.name.clone()),
            id,
            fields,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /sobjects/{X}/{id}`: 204; the record goes to the Recycle Bin.
pub(crate) async fn delete(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &name)?;
    if RecordId::parse(&id).is_none() {
        return Err(live_record(&app, o, &id).expect_err("unparsable ids are never live"));
    }
    run_one(
        &app,
        &call,
        Op::Delete {
            object: Some(o.name.clone()),
            id,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
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

fn by_external_id(
    app: &crate::AppState,
    call: &Call,
    o: &ObjectDef,
    field: &str,
    value: &str,
) -> Result<Option<RecordId>, ApiError> {
    field_segment(o, field)?;
    let ids = app.org.find_by_external_id(&o.name, field, value)?;
    match ids.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(multiple_choices(call, o, many)),
    }
}

/// `GET /sobjects/{X}/{Field}/{value}`.
pub(crate) async fn retrieve_by_external_id(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, field, value)): Path<(String, String, String, String)>,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &name)?;
    let fields = field_list(o, q.get("fields").map(String::as_str))?;
    let id = by_external_id(&app, &call, o, &field, &value)?.ok_or_else(ApiError::not_found)?;
    let rec = app.org.get(id).ok_or_else(ApiError::not_found)?;
    Ok(json_response(
        StatusCode::OK,
        &crate::data::record::json(&rec, o, &call.version, fields.as_deref()),
    ))
}

/// `DELETE /sobjects/{X}/{Field}/{value}`.
pub(crate) async fn delete_by_external_id(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, field, value)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &name)?;
    let id = by_external_id(&app, &call, o, &field, &value)?.ok_or_else(ApiError::not_found)?;
    run_one(
        &app,
        &call,
        Op::Delete {
            object: Some(o.name.clone()),
            id: id.to18(),
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PATCH /sobjects/{X}/{Field}/{value}`: 201 on insert; on update 200 from API 46.0
/// (204 before), both with `created`.
pub(crate) async fn upsert(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, field, value)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &name)?;
    let fields = body::object(&headers, &bytes)?;
    by_external_id(&app, &call, o, &field, &value)?;
    let outcome = run_one(
        &app,
        &call,
        Op::Upsert {
            object: o.name.clone(),
            field,
            value,
            fields,
        },
    )
    .await?;
    let Outcome::Upserted { id, created } = outcome else {
        return Err(ApiError::internal(&"upsert returned another outcome"));
    };
    Ok(match upsert_reply(&call.version, id, created) {
        (status, Some(body)) => json_response(status, &body),
        (status, None) => status.into_response(),
    })
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
        let Some(at) = r.deleted_at.as_ref().filter(|_| r.is_deleted) else {
            return;
        };
        if earliest.as_ref().is_none_or(|e| at < e) {
            earliest = Some(at.clone());
        }
        if *at >= start && *at <= end {
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
