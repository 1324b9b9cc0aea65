//! `GET /recent[?limit=n]` (`data-apis.md` §6.1): the records the user most recently
//! viewed or referenced, newest first, as `{"attributes", "Id", "Name"}`. As on
//! Salesforce, only SOQL `FOR VIEW` and `FOR REFERENCE` add to the list through the API
//! (there is no UI to view records in); creating or changing a record does not.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::ctx::Call;
use crate::error::ApiError;
use crate::shapes::respond;

/// Most records `/recent` returns, and its default (Salesforce's 200 in total).
pub(crate) const MAX_RECENT: usize = 200;

/// `GET /recent`.
pub(crate) async fn recent(
    call: Call,
    State(app): State<crate::State>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let limit = match q.get("limit") {
        None => MAX_RECENT,
        Some(s) => s.trim().parse::<usize>().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                forcebus_org::Code::InvalidInput,
                format!("limit must be a number: {s}"),
            )
        })?,
    }
    .min(MAX_RECENT);
    Ok(respond(StatusCode::OK, &items(&app, &call, None, limit)))
}

/// The user's recently viewed records (of `object` only, if given), at most `limit`,
/// each with its `Id` and name field.
pub(crate) fn items(
    app: &crate::AppState,
    call: &Call,
    object: Option<&str>,
    limit: usize,
) -> Vec<Value> {
    let schema = app.org.schema();
    app.org
        .recently_seen(call.session.user_id, object, limit, |r| {
            let o = schema.object(&r.object)?;
            let name = o.name_field().map(|f| f.name.clone());
            let fields: Vec<String> = ["Id".to_owned()].into_iter().chain(name).collect();
            Some(crate::shapes::record::json(
                r,
                o,
                &call.version,
                Some(&fields),
            ))
        })
        .into_iter()
        .flatten()
        .collect()
}
