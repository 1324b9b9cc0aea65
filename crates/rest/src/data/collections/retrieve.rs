//! Records by id, as a collection's retrieve answers them.

use axum::http::StatusCode;
use serde_json::Value;

use forcebus_org::access::sharing::Level;
use forcebus_org::{Code, RecordId};

use super::prepare::too_many;
use crate::ctx::Call;
use crate::data::sobject::{field_list, object};
use crate::error::ApiError;

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
    let o = &*object(app, call, name)?;
    let access = app.org.access(call.session.user_id);
    let fields = field_list(o, fields, &access)?.ok_or_else(|| {
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
                .filter(|r| app.org.level_of(&access, r.id) >= Level::Read)
                .map_or(Value::Null, |r| {
                    crate::shapes::record::json(&r, o, &call.version, Some(&fields))
                })
        })
        .collect();
    Ok(Value::Array(out))
}
