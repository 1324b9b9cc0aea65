//! Platform events over REST (`org-rest-cdc.md` §5): publishing with `POST
//! /sobjects/{Name}__e` and through `/composite/sobjects`, their describe, and forcebus's
//! metadata endpoint for definitions, `/forcebus/v1/platform-events[/{Name}__e]`:
//!
//! - `GET` lists the definitions (or shows one): name, key prefix, schema id, config;
//! - `PUT` creates (201) or replaces (200) one from the body the config file takes
//!   (`{"label", "plural_label", "publish_behavior", "fields": [{"name", "type", ...}]}`);
//!   a field change gives a new schema id, and events already published keep theirs;
//! - `DELETE` removes one (204); its published events stay in the log until retention.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use forcebus_org::platform::{EventConfig, EventDef, Published, rest_id};
use forcebus_org::{Code, OrgError};

use crate::ctx::bearer;
use crate::error::ApiError;
use crate::shapes::forcebus::{PlatformEventDefinition, PlatformEventDefinitions};
use crate::shapes::respond;
use forcebus_http::shapes::{SaveError, SaveResult};

/// The save result of a published event: success, with the `OPERATION_ENQUEUED` entry
/// carrying its `EventUuid`.
pub(crate) fn result_json(def: &EventDef, r: &Result<Published, OrgError>) -> Value {
    match r {
        Ok(p) => SaveResult {
            errors: vec![SaveError::enqueued(&p.uuid)],
            ..SaveResult::ok(rest_id(def))
        }
        .to_value(),
        Err(e) => SaveResult::failed(e, None).to_value(),
    }
}

fn definition(def: &EventDef) -> PlatformEventDefinition<'_> {
    PlatformEventDefinition {
        name: def.name(),
        key_prefix: &def.object.key_prefix,
        schema_id: &def.schema_id,
        config: &def.config,
    }
}

fn authorised(app: &crate::AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    bearer(headers)
        .and_then(|t| app.auth.verify(t))
        .map(|_| ())
        .ok_or_else(ApiError::invalid_session)
}

/// `GET /forcebus/v1/platform-events`.
pub(crate) async fn list(
    State(app): State<crate::State>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorised(&app, &headers)?;
    let defs = app.org.platform_events();
    let body = PlatformEventDefinitions {
        platform_events: defs.iter().map(|d| definition(d)).collect(),
    };
    Ok(respond(StatusCode::OK, &body))
}

/// `GET /forcebus/v1/platform-events/{name}`.
pub(crate) async fn show(
    State(app): State<crate::State>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    authorised(&app, &headers)?;
    let def = app
        .org
        .platform_event(&name)
        .ok_or_else(ApiError::not_found)?;
    Ok(respond(StatusCode::OK, &definition(&def)))
}

/// `PUT /forcebus/v1/platform-events/{name}`.
pub(crate) async fn put(
    State(app): State<crate::State>,
    headers: HeaderMap,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    authorised(&app, &headers)?;
    let body = crate::body::object(&headers, &bytes)?;
    let config: EventConfig = serde_json::from_value(Value::Object(body))
        .map_err(|e| ApiError::json_parser(e.to_string()))?;
    let org = app.org.clone();
    let (def, created) = crate::blocking(move || org.define_platform_event(&name, config))
        .await?
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidInput, e))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(respond(status, &definition(&def)))
}

/// `DELETE /forcebus/v1/platform-events/{name}`.
pub(crate) async fn remove(
    State(app): State<crate::State>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    authorised(&app, &headers)?;
    let org = app.org.clone();
    crate::blocking(move || org.delete_platform_event(&name)).await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}
