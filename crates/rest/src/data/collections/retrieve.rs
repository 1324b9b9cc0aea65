//! Retrieving records by id through a collection: `POST /composite/sobjects/{X}` with
//! `{"ids", "fields"}` (jsforce), `GET /composite/sobjects/{X}?ids=..&fields=..`, and the
//! same inside a composite request.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use forcebus_org::{RecordId, StatusCode as Code};

use super::too_many;
use crate::body;
use crate::ctx::Call;
use crate::data::sobjects::{field_list, object};
use crate::error::{ApiError, json_response};

/// The records `ids` of `name` with `fields`, `null` for each not found; `get` reads a
/// record (from the org, or from a composite request's transaction).
pub(crate) fn retrieve_records(
    app: &crate::AppState,
    call: &Call,
    name: &str,
    ids: &[String],
    fields: Option<&str>,
    get: &dyn Fn(RecordId) -> Option<forcebus_org::Record>,
) -> Result<Value, ApiError> {
    let o = &*object(app, name)?;
    let fields = field_list(o, fields)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::MissingArgument,
            "fields parameter must be specified",
        )
    })?;
    if ids.len() > 2000 {
        return Err(too_many());
    }
    let out: Vec<Value> = ids
        .iter()
        .map(|id| {
            RecordId::parse(id)
                .and_then(get)
                .filter(|r| r.object == o.name && !r.is_deleted)
                .map_or(Value::Null, |r| {
                    crate::data::record::json(&r, o, &call.version, Some(&fields))
                })
        })
        .collect();
    Ok(Value::Array(out))
}

/// `POST /composite/sobjects/{X}` with `{"ids": [...], "fields": [...]}` (jsforce).
pub(crate) async fn retrieve(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let m = body::object(&headers, &bytes)?;
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
    let (ids, fields) = (strings("ids"), strings("fields"));
    let fields = (!fields.is_empty()).then(|| fields.join(","));
    let get = |id| app.org.get(id);
    let out = retrieve_records(&app, &call, &name, &ids, fields.as_deref(), &get)?;
    Ok(json_response(StatusCode::OK, &out))
}

/// `GET /composite/sobjects/{X}?ids=..&fields=..`.
pub(crate) async fn retrieve_get(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let ids: Vec<String> = q
        .get("ids")
        .map(|s| s.split(',').map(|i| i.trim().to_owned()).collect())
        .unwrap_or_default();
    let get = |id| app.org.get(id);
    let fields = q.get("fields").map(String::as_str);
    let out = retrieve_records(&app, &call, &name, &ids, fields, &get)?;
    Ok(json_response(StatusCode::OK, &out))
}
