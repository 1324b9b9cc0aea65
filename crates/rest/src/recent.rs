//! `GET /recent[?limit=n]` (`data-apis.md` §6.1): the records the user worked with most
//! recently, newest first, as `{"attributes", "Id", "Name"}`. forcebus keeps no view
//! history, so "worked with" is "last changed by this user".

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::ctx::Call;
use crate::error::{ApiError, json_response};

/// Most records `/recent` returns, and its default.
pub const MAX_RECENT: usize = 200;

/// `GET /recent`.
pub async fn recent(
    call: Call,
    State(app): State<crate::State>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let limit = match q.get("limit") {
        None => MAX_RECENT,
        Some(s) => s.trim().parse::<usize>().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                forcebus_org::StatusCode::InvalidInput,
                format!("limit must be a number: {s}"),
            )
        })?,
    }
    .min(MAX_RECENT);
    let me = call.session.user_id.to18();
    let mut touched: Vec<(String, Value)> = Vec::new();
    for o in app.org.schema().objects() {
        if o.tooling || o.name == "Organization" {
            continue;
        }
        let name = o.name_field().map(|f| f.name.clone());
        let fields: Vec<String> = ["Id".to_owned()].into_iter().chain(name).collect();
        touched.extend(app.org.scan(&o.name, |r| {
            if r.is_deleted || r.get_str("LastModifiedById") != Some(me.as_str()) {
                return None;
            }
            let at = r.get_str("LastModifiedDate")?.to_owned();
            Some((at, r.to_rest(o, &call.version, Some(&fields))))
        }));
    }
    touched.sort_by(|a, b| b.0.cmp(&a.0));
    let out: Vec<Value> = touched.into_iter().take(limit).map(|(_, v)| v).collect();
    Ok(json_response(StatusCode::OK, &json!(out)))
}
