//! Tooling sObjects for CDC selection and custom channels (`org-rest-cdc.md` §4.1):
//! `PlatformEventChannel` (`{"FullName": "SalesEvents__chn", "Metadata": {"channelType",
//! "label"}}`) and `PlatformEventChannelMember` (`{"FullName",
//! "Metadata": {"eventChannel", "selectedEntity", "filterExpression", "enrichedFields"}}`).
//! Metadata travels in lower camel case; the stored sObject fields are upper camel case.
//! `ManagedEventSubscription` (`{"FullName", "Metadata": {"label", "topicName",
//! "defaultReplay", "errorRecoveryReplay", "state"}}`) stores Pub/Sub API managed
//! subscriptions (`pubsub-api.md` §4.7). The schema objects `CustomField` and
//! `CustomObject` are [`crate::tooling::schema`]'s.

use axum::body::Bytes;
use axum::extract::{Path, State};
use std::collections::HashMap;

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use forcebus_org::channels::channel_full_name;
use forcebus_org::org::event_settings::{
    CHANNEL, MANAGED, MEMBER, setting_metadata, setting_object,
};
use forcebus_org::{OrgError, Record, RecordId};

use crate::body;
use crate::ctx::Call;
use crate::data::dispatch::{Body, Sub, Target};
use crate::data::shared;
use crate::error::{ApiError, json_response};
use crate::shapes::describe::SObjectBasicInfo;
use crate::shapes::record::Attributes;
use crate::shapes::tooling::{
    ManagedEventSubscription, ManagedSubscriptionMetadata, PlatformEventChannel,
    PlatformEventChannelMember,
};
use crate::shapes::{respond, to_value};
use forcebus_http::shapes::SaveResult;

/// Whether `name` is `ValidationRule` ([`crate::tooling::rules`]).
fn is_rule(name: &str) -> bool {
    name.eq_ignore_ascii_case(crate::tooling::rules::VALIDATION_RULE)
}

fn tooling_object(name: &str) -> Result<&'static str, ApiError> {
    setting_object(name).ok_or_else(ApiError::not_found)
}

/// A channel, member or managed subscription as the Tooling API shows it.
fn render(call: &Call, r: &Record) -> Value {
    let id = r.id.to18();
    let attributes = |kind| Attributes {
        kind,
        url: format!("{}/tooling/sobjects/{}/{id}", call.base(), r.object),
    };
    let text = |f: &str| r.get(f);
    if r.object == MANAGED {
        return to_value(&ManagedEventSubscription {
            attributes: attributes(MANAGED),
            id,
            developer_name: text("DeveloperName"),
            full_name: text("DeveloperName"),
            metadata: ManagedSubscriptionMetadata {
                label: text("Label"),
                topic_name: text("TopicName"),
                default_replay: text("DefaultReplay"),
                error_recovery_replay: text("ErrorRecoveryReplay"),
                state: text("State"),
            },
        });
    }
    if r.object == CHANNEL {
        let dev = r.get_str("DeveloperName").unwrap_or_default();
        return to_value(&PlatformEventChannel {
            attributes: attributes(CHANNEL),
            id,
            developer_name: dev,
            master_label: text("MasterLabel"),
            channel_type: text("ChannelType"),
            full_name: channel_full_name(dev),
            metadata: setting_metadata(r),
        });
    }
    to_value(&PlatformEventChannelMember {
        attributes: attributes(MEMBER),
        id,
        developer_name: text("DeveloperName"),
        full_name: text("DeveloperName"),
        event_channel: text("EventChannel"),
        selected_entity: text("SelectedEntity"),
        filter_expression: text("FilterExpression"),
        metadata: setting_metadata(r),
    })
}

/// An object whose tooling sObject calls are the record resources' calls: a data object
/// the Tooling API also reaches (`PushTopic`, `User`, `ApexClass`), or a Tooling API
/// object of plain records (`DebugLevel`, `TraceFlag`: `Some(true)`, which the data API
/// does not serve).
fn records_object(app: &crate::AppState, name: &str) -> Option<bool> {
    let schema = app.org.schema();
    let o = schema.object(name)?;
    if o.also_tooling && !o.tooling {
        return Some(false);
    }
    let plain = o.tooling
        && setting_object(&o.name).is_none()
        && crate::tooling::schema::schema_object(&o.name).is_none()
        && !is_rule(&o.name);
    plain.then_some(true)
}

/// A call on a [`records_object`], as the record resource sees it: `segments` after the
/// version (`["sobjects", "PushTopic"]`).
fn as_record(
    call: &Call,
    method: Method,
    segments: Vec<String>,
    params: HashMap<String, String>,
    body: Body,
    tooling: bool,
) -> Sub {
    let target = Target {
        version: call.version.clone(),
        segments,
        params,
        tooling,
    };
    Sub {
        method,
        target,
        body,
        uploads: forcebus_http::upload::Uploads::default(),
    }
}

/// `POST /tooling/sobjects/{PlatformEventChannel|PlatformEventChannelMember|...}`.
pub(crate) async fn create(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    if let Some(tooling) = records_object(&app, &name) {
        let segments = vec!["sobjects".to_owned(), name];
        let body = Body::http(&headers, &bytes, &[]);
        let sub = as_record(&call, Method::POST, segments, HashMap::new(), body, tooling);
        return Ok(shared::delegate(call, app, "/sobjects/{o}", sub).await);
    }
    if is_rule(&name) {
        let body = body::object(&headers, &bytes)?;
        return crate::tooling::rules::create(&app, &body).await;
    }
    if let Some(object) = crate::tooling::schema::schema_object(&name) {
        let body = body::object(&headers, &bytes)?;
        return crate::tooling::schema::create(&app, object, &body).await;
    }
    let object = tooling_object(&name)?;
    let body = body::object(&headers, &bytes)?;
    let id = create_record(&app, call.caller(), object, &body).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &SaveResult::tooling(id.to18()).to_value(),
    ))
}

/// Creates a channel, member or managed subscription from its Tooling body
/// (`{"FullName", "Metadata"}`).
async fn create_record(
    app: &crate::State,
    caller: forcebus_org::Caller,
    object: &'static str,
    body: &Map<String, Value>,
) -> Result<RecordId, OrgError> {
    let op = app.org.setting_create(object, body)?;
    forcebus_http::transact_one(&app.org, caller, vec![op]).await
}

fn existing(app: &crate::AppState, object: &str, id: &str) -> Result<Record, ApiError> {
    RecordId::parse(id)
        .and_then(|i| app.org.get(i))
        .filter(|r| r.object == object && !r.is_deleted)
        .ok_or_else(ApiError::not_found)
}

/// `GET /tooling/sobjects/{object}`: the object's describeGlobal entry (its URLs the
/// Tooling API's) and no recent items.
pub(crate) async fn basic(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let schema = app.org.schema();
    let o = schema
        .object(&name)
        .filter(|o| crate::data::query::tooling_visible(o))
        .or_else(|| crate::tooling::describe::object_named(&name))
        .ok_or_else(ApiError::not_found)?;
    let base = format!("{}/tooling", call.base());
    let basic = SObjectBasicInfo {
        object_describe: crate::data::describe::global_entry(&base, o),
        recent_items: Vec::new(),
    };
    Ok(respond(StatusCode::OK, &basic))
}

/// `GET /tooling/sobjects/{object}/{id}`.
pub(crate) async fn retrieve(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, id)): Path<(String, String, String)>,
    query: axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if let Some(tooling) = records_object(&app, &name) {
        let segments = vec!["sobjects".to_owned(), name, id];
        let sub = as_record(&call, Method::GET, segments, query.0, Body::none(), tooling);
        return Ok(shared::delegate(call, app, "/sobjects/{o}/{id}", sub).await);
    }
    if is_rule(&name) {
        return crate::tooling::rules::retrieve(&call, &app, &id);
    }
    if let Some(object) = crate::tooling::schema::schema_object(&name) {
        return crate::tooling::schema::retrieve(&call, &app, object, &id);
    }
    let object = tooling_object(&name)?;
    let r = existing(&app, object, &id)?;
    Ok(json_response(StatusCode::OK, &render(&call, &r)))
}

/// `PATCH /tooling/sobjects/{object}/{id}`: 204.
pub(crate) async fn update(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    if let Some(tooling) = records_object(&app, &name) {
        let segments = vec!["sobjects".to_owned(), name, id];
        let body = Body::http(&headers, &bytes, &[]);
        let sub = as_record(
            &call,
            Method::PATCH,
            segments,
            HashMap::new(),
            body,
            tooling,
        );
        return Ok(shared::delegate(call, app, "/sobjects/{o}/{id}", sub).await);
    }
    if is_rule(&name) {
        let body = body::object(&headers, &bytes)?;
        return crate::tooling::rules::update(&app, &id, &body).await;
    }
    if let Some(object) = crate::tooling::schema::schema_object(&name) {
        let body = body::object(&headers, &bytes)?;
        return crate::tooling::schema::update(&app, object, &id, &body).await;
    }
    let object = tooling_object(&name)?;
    let r = existing(&app, object, &id)?;
    let body = body::object(&headers, &bytes)?;
    let op = app.org.setting_update(&r, &body)?;
    forcebus_http::transact_one(&app.org, call.caller(), vec![op]).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /tooling/sobjects/{object}/{id}`: 204.
pub(crate) async fn delete(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    if let Some(tooling) = records_object(&app, &name) {
        let segments = vec!["sobjects".to_owned(), name, id];
        let sub = as_record(
            &call,
            Method::DELETE,
            segments,
            HashMap::new(),
            Body::none(),
            tooling,
        );
        return Ok(shared::delegate(call, app, "/sobjects/{o}/{id}", sub).await);
    }
    if is_rule(&name) {
        return crate::tooling::rules::delete(&app, &id).await;
    }
    if let Some(object) = crate::tooling::schema::schema_object(&name) {
        return crate::tooling::schema::delete(&app, object, &id).await;
    }
    let object = tooling_object(&name)?;
    let r = existing(&app, object, &id)?;
    let ops = app.org.setting_delete(&r)?;
    forcebus_http::transact_one(&app.org, call.caller(), ops).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
