//! Event schemas over REST (`org-rest-cdc.md` §5: `/sobjects/{Event}/eventSchema` and
//! `/event/eventSchema/{schemaId}`, COMPACT or EXPANDED), and forcebus's own read-only view
//! of the event log at `/forcebus/v1/events`, for tests and debugging.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use forcebus_events::change::{self, ChangeEvent};
use forcebus_org::Code;

use crate::ctx::{Call, bearer};
use crate::error::{ApiError, json_response};
use crate::shapes::forcebus::{EventLog, LoggedEvent};
use crate::shapes::respond;

fn render(schema: Value, id: &str, format: Option<&str>, version: &str) -> Result<Value, ApiError> {
    let expanded_default = version.parse::<f32>().unwrap_or(59.0) >= 43.0;
    let format = match format {
        None if expanded_default => "EXPANDED",
        None => "COMPACT",
        Some(f) if version.parse::<f32>().unwrap_or(59.0) < 43.0 => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                Code::InvalidInput,
                format!("payloadFormat is not supported before API 43.0: {f}"),
            ));
        }
        Some(f) => f,
    };
    match format.to_ascii_uppercase().as_str() {
        "COMPACT" => {
            let mut s = schema;
            s["uuid"] = Value::from(id);
            Ok(s)
        }
        "EXPANDED" => Ok(json!({
            "name": schema["name"],
            "namespace": schema["namespace"],
            "type": "expanded-record",
            "fields": [
                {"name": "data", "type": {"type": "record", "name": "Data", "namespace": "", "fields": [
                    {"name": "schema", "type": "string"},
                    {"name": "payload", "type": {"type": "record", "name": "Payload", "doc": "", "fields": schema["fields"]}},
                    {"name": "event", "type": {"type": "record", "name": "Event", "fields": [{"name": "replayId", "type": "long"}]}},
                ]}},
                {"name": "channel", "type": "string"},
            ],
            "uuid": id,
        })),
        other => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::InvalidInput,
            format!("Invalid payloadFormat: {other}. Valid values are EXPANDED and COMPACT."),
        )),
    }
}

/// `GET /sobjects/{Event}/eventSchema[?payloadFormat=...]`.
pub(crate) async fn by_event(
    call: Call,
    State(app): State<crate::State>,
    Path((_, entity)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = match app.org.platform_event(&entity) {
        Some(def) => def.schema_id.clone(),
        None => {
            let object = app
                .org
                .change_event_object(&entity)
                .ok_or_else(ApiError::not_found)?;
            app.org
                .change_schema_id(&object.name)
                .ok_or_else(ApiError::not_found)?
                .to_owned()
        }
    };
    let schema = app
        .org
        .schemas()
        .json(&id)
        .ok_or_else(ApiError::not_found)?;
    Ok(json_response(
        StatusCode::OK,
        &render(
            schema,
            &id,
            q.get("payloadFormat").map(String::as_str),
            &call.version,
        )?,
    ))
}

/// `GET /event/eventSchema/{schemaId}[?payloadFormat=...]`.
pub(crate) async fn by_id(
    call: Call,
    State(app): State<crate::State>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let schema = app
        .org
        .schemas()
        .json(&id)
        .ok_or_else(ApiError::not_found)?;
    Ok(json_response(
        StatusCode::OK,
        &render(
            schema,
            &id,
            q.get("payloadFormat").map(String::as_str),
            &call.version,
        )?,
    ))
}

/// `GET /forcebus/v1/events?after=N&limit=M[&channel=/data/…]`: events after a replay id
/// (on one channel, enriched for it, when asked), each with its stored document and, for
/// change events, its Avro payload (base64).
pub(crate) async fn inspect(
    State(app): State<crate::State>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    bearer(&headers)
        .and_then(|t| app.auth.verify(t))
        .ok_or_else(ApiError::invalid_session)?;
    let after: u64 = q.get("after").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: usize = q
        .get("limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
        .min(1000);
    let log = app.org.log().clone();
    let name = q.get("channel").cloned();
    let channel = match &name {
        Some(n) => app.org.change_channel(n).ok_or_else(ApiError::not_found)?,
        None => forcebus_org::channels::all_change_events(&app.org.schema()),
    };
    let start = if after < log.earliest(channel.class) {
        forcebus_eventlog::Start::Earliest
    } else {
        forcebus_eventlog::Start::After(after)
    };
    let mut cursor = log.subscribe(channel, start).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::InvalidReplayId,
            e.to_string(),
        )
    })?;
    let events = cursor.poll(limit).map_err(|e| ApiError::internal(&e))?;
    let out: Vec<LoggedEvent> = events
        .iter()
        .map(|e| {
            let mut doc: Value = serde_json::from_slice(&e.payload).unwrap_or(Value::Null);
            if let Some(custom) = name
                .as_deref()
                .and_then(forcebus_org::channels::custom_data_channel)
                && let Ok(ce) = serde_json::from_value::<ChangeEvent>(doc.clone())
            {
                doc = serde_json::to_value(ce.for_channel(custom)).unwrap_or(doc);
            }
            let avro = serde_json::from_value::<ChangeEvent>(doc.clone())
                .ok()
                .and_then(|ce| {
                    app.org
                        .schemas()
                        .avro(&ce.schema_id)
                        .map(|schema| change::to_avro(&ce, &schema))
                })
                .map(|bytes| STANDARD.encode(bytes));
            LoggedEvent {
                replay_id: e.replay_id,
                kind: e.kind.clone(),
                time_ms: e.time_ms,
                event: doc,
                avro,
            }
        })
        .collect();
    let body = EventLog {
        last_replay_id: log.last_replay_id(),
        events: out,
    };
    Ok(respond(StatusCode::OK, &body))
}
