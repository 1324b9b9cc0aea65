//! What the sObject collections' resources build on: a call's body read, its records
//! turned into operations (each rejected at the edge where it must be), and its
//! per-record results in request order with `statusCode` errors.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use forcebus_org::{Code, Op, OrgError, Outcome, RecordId};

use crate::body;
use crate::error::ApiError;
use forcebus_http::shapes::SaveResult;

const MAX_RECORDS: usize = 200;

/// A collection call's body: `allOrNone` and the records.
pub(crate) struct Request {
    pub(crate) all_or_none: bool,
    pub(crate) records: Vec<Map<String, Value>>,
}

/// A collection call's operations, ready to run in one transaction: each entry's
/// operation or its rejection at the edge, the id each result echoes, and `allOrNone`.
pub(crate) struct Prepared {
    pub(crate) ops: Vec<Result<Op, OrgError>>,
    pub(crate) ids: Vec<Option<String>>,
    pub(crate) all_or_none: bool,
    /// For upserts, whether each record would be inserted (its external id matched
    /// nothing): a failed upsert's result says so in `created`, as Salesforce's do.
    pub(crate) created: Vec<Option<bool>>,
}

impl Prepared {
    fn new(ops: Vec<Result<Op, OrgError>>, ids: Vec<Option<String>>, all_or_none: bool) -> Self {
        Self {
            created: vec![None; ops.len()],
            ops,
            ids,
            all_or_none,
        }
    }
}

pub(crate) fn too_many() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        Code::ExceededIdLimit,
        "record limit reached. cannot submit more than 200 records into this call",
    )
}

/// Reads a collection call's body.
pub(crate) fn request_from(mut m: Map<String, Value>) -> Result<Request, ApiError> {
    let all_or_none = match m.remove("allOrNone") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(other) => {
            return Err(ApiError::json_parser(format!(
                "Cannot deserialize instance of boolean from {} value",
                body::token_name(&other)
            )));
        }
    };
    let records = match m.remove("records") {
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::Object(o) => Ok(o),
                other => Err(ApiError::json_parser(format!(
                    "Cannot deserialize instance of sObject from {} value",
                    body::token_name(&other)
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                Code::InvalidField,
                "records is required",
            ));
        }
    };
    if let Some(k) = m.keys().next() {
        return Err(ApiError::json_parser(format!("Unrecognized field \"{k}\"")));
    }
    if records.len() > MAX_RECORDS {
        return Err(too_many());
    }
    Ok(Request {
        all_or_none,
        records,
    })
}

pub(crate) fn record_type(r: &Map<String, Value>) -> Option<String> {
    r.get("attributes")?
        .get("type")?
        .as_str()
        .map(str::to_owned)
}

/// The results of a collection call, in request order.
pub(crate) fn render_all(
    results: Vec<Result<Outcome, OrgError>>,
    ids: Vec<Option<String>>,
    created: Vec<Option<bool>>,
) -> Value {
    Value::Array(
        results
            .into_iter()
            .zip(ids)
            .zip(created)
            .map(|((r, id), created)| {
                let mut result = render(r, id);
                result.created = result.created.or(created);
                result.to_value()
            })
            .collect(),
    )
}

pub(crate) fn render(result: Result<Outcome, OrgError>, given_id: Option<String>) -> SaveResult {
    match result {
        Ok(Outcome::Upserted { id, created }) => SaveResult::upserted(id, created),
        Ok(o) => SaveResult::ok(o.id()),
        Err(e) => {
            let id = given_id.map(|id| RecordId::parse(&id).map_or(id, |i| i.to18()));
            SaveResult::failed(&e, id)
        }
    }
}

pub(crate) fn missing_type() -> OrgError {
    OrgError::new(
        Code::InvalidType,
        "Must specify a type in attributes for each record",
    )
}

/// The operations of a create call.
pub(crate) fn create(req: Request) -> Prepared {
    let ops: Vec<_> = req
        .records
        .into_iter()
        .map(|r| {
            let object = record_type(&r).ok_or_else(missing_type)?;
            if r.keys().any(|k| k.eq_ignore_ascii_case("id")) {
                return Err(OrgError::field(
                    Code::InvalidFieldForInsertUpdate,
                    "cannot specify Id in an insert call",
                    "Id",
                ));
            }
            Ok(Op::Create { object, fields: r })
        })
        .collect();
    let ids = vec![None; ops.len()];
    Prepared::new(ops, ids, req.all_or_none)
}

fn record_id(r: &Map<String, Value>) -> Option<String> {
    r.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("id"))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_owned)
}

/// The operations of an update call.
pub(crate) fn update(req: Request) -> Prepared {
    let ids: Vec<Option<String>> = req.records.iter().map(record_id).collect();
    let ops = req
        .records
        .into_iter()
        .map(|r| {
            let object = record_type(&r).ok_or_else(missing_type)?;
            let id = record_id(&r).ok_or_else(|| {
                OrgError::new(Code::InvalidId, "Id not specified in an update call")
            })?;
            Ok(Op::Update {
                object: Some(object),
                id,
                fields: r,
            })
        })
        .collect();
    Prepared::new(ops, ids, req.all_or_none)
}

/// The operations of a delete call (`ids=a,b[&allOrNone=true]`).
pub(crate) fn delete(q: &HashMap<String, String>) -> Result<Prepared, ApiError> {
    let ids: Vec<String> = q
        .get("ids")
        .map(|s| {
            s.split(',')
                .map(|i| i.trim().to_owned())
                .filter(|i| !i.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::MissingArgument,
            "ids parameter must be specified",
        ));
    }
    if ids.len() > MAX_RECORDS {
        return Err(too_many());
    }
    let all_or_none = q
        .get("allOrNone")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let ops = ids
        .iter()
        .map(|id| match RecordId::parse(id) {
            Some(_) => Ok(Op::Delete {
                object: None,
                id: id.clone(),
            }),
            None => Err(OrgError::new(
                Code::MalformedId,
                format!("malformed id {id}"),
            )),
        })
        .collect();
    Ok(Prepared::new(
        ops,
        ids.into_iter().map(Some).collect(),
        all_or_none,
    ))
}

/// The operations of an upsert call by the external-id `field` of `o`; `exists` says
/// whether a record has an external id value already.
pub(crate) fn upsert(
    o: &forcebus_org::ObjectDef,
    field: &str,
    req: Request,
    exists: &dyn Fn(&str) -> bool,
) -> Prepared {
    let ops: Vec<_> = req
        .records
        .into_iter()
        .map(|mut r| {
            if record_type(&r).is_some_and(|t| !t.eq_ignore_ascii_case(&o.name)) {
                return Err(OrgError::new(
                    Code::InvalidType,
                    format!("record type does not match {}", o.name),
                ));
            }
            let key = r.keys().find(|k| k.eq_ignore_ascii_case(field)).cloned();
            let value = key.and_then(|k| r.remove(&k)).and_then(|v| match v {
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
            let value = value.ok_or_else(|| {
                OrgError::field(
                    Code::RequiredFieldMissing,
                    format!("Required fields are missing: [{field}]"),
                    field,
                )
            })?;
            Ok(Op::Upsert {
                object: o.name.clone(),
                field: field.to_owned(),
                value,
                fields: r,
            })
        })
        .collect();
    let ids = vec![None; ops.len()];
    let mut prepared = Prepared::new(ops, ids, req.all_or_none);
    prepared.created = prepared
        .ops
        .iter()
        .map(|op| match op {
            Ok(Op::Upsert { value, .. }) => Some(!exists(value)),
            _ => None,
        })
        .collect();
    prepared
}
