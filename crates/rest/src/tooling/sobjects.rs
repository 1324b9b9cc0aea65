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
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use forcebus_org::{Op, OrgError, Record, RecordId, StatusCode as Code};

use crate::body;
use crate::ctx::Call;
use crate::error::{ApiError, json_response};

pub(crate) const CHANNEL: &str = "PlatformEventChannel";
pub(crate) const MEMBER: &str = "PlatformEventChannelMember";
const MANAGED: &str = "ManagedEventSubscription";

fn tooling_object(name: &str) -> Result<&'static str, ApiError> {
    [CHANNEL, MEMBER, MANAGED]
        .into_iter()
        .find(|o| o.eq_ignore_ascii_case(name))
        .ok_or_else(ApiError::not_found)
}

fn invalid(msg: impl Into<String>) -> OrgError {
    OrgError::new(Code::FieldIntegrityException, msg)
}

/// Maps a request body onto the stored fields, checking what the org cannot.
fn fields_of(
    app: &crate::AppState,
    object: &str,
    body: &Map<String, Value>,
    creating: bool,
) -> Result<Map<String, Value>, OrgError> {
    let meta = body
        .get("Metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = Map::new();
    if let Some(full) = body.get("FullName").and_then(Value::as_str) {
        let developer = developer_name(object, full, creating)?;
        out.insert("DeveloperName".into(), json!(developer));
    }
    let text = |k: &str| meta.get(k).and_then(Value::as_str).map(str::to_owned);
    match object {
        MANAGED => managed_fields(out, &text, creating),
        CHANNEL => Ok(channel_fields(out, &text)),
        _ => member_fields(app, out, &meta, &text, creating),
    }
}

/// The `DeveloperName` a `FullName` stands for (a channel's without its `__chn`); it is
/// set at creation only.
fn developer_name(object: &str, full: &str, creating: bool) -> Result<String, OrgError> {
    if !creating {
        return Err(invalid("FullName cannot be changed"));
    }
    if object == CHANNEL {
        return full
            .strip_suffix("__chn")
            .map(str::to_owned)
            .ok_or_else(|| invalid(format!("A channel's FullName ends in __chn: {full}")));
    }
    Ok(full.to_owned())
}

/// A channel's Metadata onto its fields.
fn channel_fields(
    mut out: Map<String, Value>,
    text: &dyn Fn(&str) -> Option<String>,
) -> Map<String, Value> {
    if let Some(t) = text("channelType") {
        out.insert("ChannelType".into(), json!(t));
    }
    if let Some(l) = text("label") {
        out.insert("MasterLabel".into(), json!(l));
    }
    out
}

/// A channel member's Metadata onto its fields: its channel and entity are fixed at
/// creation (and checked then); the filter and the enriched fields may change.
fn member_fields(
    app: &crate::AppState,
    mut out: Map<String, Value>,
    meta: &Map<String, Value>,
    text: &dyn Fn(&str) -> Option<String>,
    creating: bool,
) -> Result<Map<String, Value>, OrgError> {
    for (key, field) in [
        ("eventChannel", "EventChannel"),
        ("selectedEntity", "SelectedEntity"),
    ] {
        if let Some(v) = text(key) {
            if !creating {
                return Err(invalid(format!("{field} cannot be changed")));
            }
            out.insert(field.into(), json!(v));
        }
    }
    if creating {
        check_member_target(app, meta, text)?;
    }
    if let Some(expr) = meta.get("filterExpression") {
        out.insert("FilterExpression".into(), expr.clone());
    }
    if let Some(list) = meta.get("enrichedFields") {
        out.insert("EnrichedFields".into(), enriched_fields(list)?);
    }
    Ok(out)
}

/// A new member's channel must exist, and its entity must be of the channel's kind: a
/// platform event (without filter or enrichment) on an `event` channel, a change event
/// on a `data` channel.
fn check_member_target(
    app: &crate::AppState,
    meta: &Map<String, Value>,
    text: &dyn Fn(&str) -> Option<String>,
) -> Result<(), OrgError> {
    let channel = text("eventChannel").unwrap_or_default();
    let Some(channel_type) = channel_type(app, &channel) else {
        return Err(invalid(format!(
            "eventChannel does not name a channel: {channel}"
        )));
    };
    let entity = text("selectedEntity").unwrap_or_default();
    if channel_type == "event" {
        match app.org.platform_event(&entity) {
            Some(def) if def.name() == entity => {}
            _ => {
                return Err(invalid(format!(
                    "selectedEntity is not a platform event: {entity}"
                )));
            }
        }
        if meta.get("filterExpression").is_some_and(|v| !v.is_null())
            || meta.get("enrichedFields").is_some_and(|v| !v.is_null())
        {
            return Err(invalid(
                "Members of platform event channels have no filter or enrichment",
            ));
        }
    } else if crate::data::events::change_event_object(app, &entity).is_none() {
        return Err(invalid(format!(
            "selectedEntity is not a change event: {entity}"
        )));
    }
    Ok(())
}

/// The type (`data`, `event`) of the channel an `eventChannel` names: the standard
/// `ChangeEvents`, or a custom `<name>__chn`.
fn channel_type(app: &crate::AppState, channel: &str) -> Option<String> {
    if channel == "ChangeEvents" {
        return Some("data".to_owned());
    }
    let dev = channel.strip_suffix("__chn")?;
    app.org
        .scan(CHANNEL, |r| {
            (!r.is_deleted && r.get_str("DeveloperName") == Some(dev))
                .then(|| r.get_str("ChannelType").unwrap_or("data").to_owned())
        })
        .pop()
}

/// `enrichedFields` (`[{"name": …}, …]`, at most 10) as the stored JSON list of names.
fn enriched_fields(list: &Value) -> Result<Value, OrgError> {
    let names: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if names.len() > 10 {
        return Err(invalid("A channel member can enrich at most 10 fields"));
    }
    Ok(json!(
        serde_json::to_string(&names).expect("strings serialise")
    ))
}

/// A managed subscription's Metadata onto its fields: the topic is fixed at creation,
/// the replay presets and the state (`RUN`, `STOP`) are checked here.
fn managed_fields(
    mut out: Map<String, Value>,
    text: &dyn Fn(&str) -> Option<String>,
    creating: bool,
) -> Result<Map<String, Value>, OrgError> {
    if let Some(t) = text("topicName") {
        if !creating {
            return Err(invalid("topicName cannot be changed"));
        }
        out.insert("TopicName".into(), json!(t));
    }
    for (key, field, allowed) in [
        (
            "defaultReplay",
            "DefaultReplay",
            &["LATEST", "EARLIEST"][..],
        ),
        (
            "errorRecoveryReplay",
            "ErrorRecoveryReplay",
            &["LATEST", "EARLIEST"][..],
        ),
        ("state", "State", &["RUN", "STOP"][..]),
        ("label", "Label", &[][..]),
    ] {
        if let Some(v) = text(key) {
            if !allowed.is_empty() && !allowed.contains(&v.as_str()) {
                return Err(invalid(format!(
                    "{key} must be one of {}: {v}",
                    allowed.join(", ")
                )));
            }
            out.insert(field.into(), json!(v));
        }
    }
    Ok(out)
}

fn render(call: &Call, r: &Record) -> Value {
    let id = r.id.to18();
    let url = format!("{}/tooling/sobjects/{}/{id}", call.base(), r.object);
    let text = |f: &str| r.get(f).clone();
    if r.object == MANAGED {
        return json!({
            "attributes": {"type": MANAGED, "url": url}, "Id": id, "DeveloperName": text("DeveloperName"), "FullName": text("DeveloperName"),
            "Metadata": {"label": text("Label"), "topicName": text("TopicName"), "defaultReplay": text("DefaultReplay"), "errorRecoveryReplay": text("ErrorRecoveryReplay"), "state": text("State")},
        });
    }
    if r.object == CHANNEL {
        let dev = r.get_str("DeveloperName").unwrap_or_default();
        return json!({
            "attributes": {"type": CHANNEL, "url": url}, "Id": id, "DeveloperName": dev, "MasterLabel": text("MasterLabel"),
            "ChannelType": text("ChannelType"), "FullName": format!("{dev}__chn"),
            "Metadata": metadata_of(r),
        });
    }
    json!({
        "attributes": {"type": MEMBER, "url": url}, "Id": id, "DeveloperName": text("DeveloperName"), "FullName": text("DeveloperName"),
        "EventChannel": text("EventChannel"), "SelectedEntity": text("SelectedEntity"), "FilterExpression": text("FilterExpression"),
        "Metadata": metadata_of(r),
    })
}

/// A data object the Tooling API also reaches (`PushTopic`, `User`): its tooling
/// sObject calls are its data API calls.
fn data_object(name: &str) -> bool {
    crate::data::query::TOOLING_OBJECTS
        .iter()
        .any(|o| o.eq_ignore_ascii_case(name))
}

/// `POST /tooling/sobjects/{PlatformEventChannel|PlatformEventChannelMember|...}`.
pub(crate) async fn create(
    call: Call,
    State(app): State<crate::State>,
    Path((v, name)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    if data_object(&name) {
        return crate::data::sobjects::create(call, State(app), Path((v, name)), headers, bytes)
            .await;
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
        &json!({"id": id.to18(), "success": true, "errors": [], "warnings": [], "infos": []}),
    ))
}

/// Creates a channel, member or managed subscription from its Tooling body
/// (`{"FullName", "Metadata"}`); the Metadata API's calls come here too.
pub(crate) async fn create_record(
    app: &crate::State,
    caller: forcebus_org::Caller,
    object: &'static str,
    body: &Map<String, Value>,
) -> Result<RecordId, OrgError> {
    let fields = fields_of(app, object, body, true)?;
    if object == MEMBER
        && let Some(expr) = fields.get("FilterExpression").and_then(Value::as_str)
    {
        let entity = fields
            .get("SelectedEntity")
            .and_then(Value::as_str)
            .unwrap_or_default();
        forcebus_org::cdc::filter::compile(&app.org.schema(), entity, expr)
            .map_err(|e| invalid(format!("Invalid filterExpression: {e}")))?;
    }
    let op = Op::Create {
        object: object.into(),
        fields,
    };
    one(app, caller, vec![op]).await
}

/// Runs `ops` as one transaction; the first result's id, or the first error.
async fn one(
    app: &crate::State,
    caller: forcebus_org::Caller,
    ops: Vec<Op>,
) -> Result<RecordId, OrgError> {
    let failed = |e: String| OrgError::new(Code::UnknownException, e);
    let result = crate::transact(&app.org, caller, ops, true, false)
        .await
        .map_err(|_| failed("the transaction could not run".into()))?
        .map_err(|e| failed(e.to_string()))?;
    let mut id = None;
    for r in result.results {
        let outcome = r?;
        id.get_or_insert(outcome.id());
    }
    Ok(id.expect("at least one operation"))
}

/// A channel (`SalesEvents__chn`) or member (`SalesEvents_chn_AccountChangeEvent`) by its
/// full name.
pub(crate) fn by_full_name(app: &crate::AppState, object: &str, full: &str) -> Option<Record> {
    let developer = if object == CHANNEL {
        full.strip_suffix("__chn")?
    } else {
        full
    };
    app.org
        .scan(object, |r| {
            (!r.is_deleted && r.get_str("DeveloperName") == Some(developer)).then(|| r.clone())
        })
        .pop()
}

/// A channel's or member's `Metadata`, as the Tooling API shows it.
pub(crate) fn metadata_of(r: &Record) -> Value {
    let text = |f: &str| r.get(f).clone();
    if r.object == CHANNEL {
        return json!({"channelType": text("ChannelType"), "label": text("MasterLabel")});
    }
    let enriched: Vec<Value> = r
        .get_str("EnrichedFields")
        .and_then(|s| serde_json::from_str::<Vec<String>>(s).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|n| json!({"name": n}))
        .collect();
    json!({"eventChannel": text("EventChannel"), "selectedEntity": text("SelectedEntity"), "filterExpression": text("FilterExpression"), "enrichedFields": enriched})
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
    Ok(json_response(
        StatusCode::OK,
        &json!({"objectDescribe": crate::data::describe::global_entry(&base, o), "recentItems": []}),
    ))
}

/// `GET /tooling/sobjects/{object}/{id}`.
pub(crate) async fn retrieve(
    call: Call,
    State(app): State<crate::State>,
    Path((v, name, id)): Path<(String, String, String)>,
    query: axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if data_object(&name) {
        return crate::data::sobjects::retrieve(call, State(app), Path((v, name, id)), query).await;
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
    Path((v, name, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    if data_object(&name) {
        return crate::data::sobjects::update(
            call,
            State(app),
            Path((v, name, id)),
            headers,
            bytes,
        )
        .await;
    }
    if let Some(object) = crate::tooling::schema::schema_object(&name) {
        let body = body::object(&headers, &bytes)?;
        return crate::tooling::schema::update(&app, object, &id, &body).await;
    }
    let object = tooling_object(&name)?;
    let r = existing(&app, object, &id)?;
    let body = body::object(&headers, &bytes)?;
    update_record(&app, call.caller(), &r, &body).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Changes a channel, member or managed subscription from its Tooling body.
pub(crate) async fn update_record(
    app: &crate::State,
    caller: forcebus_org::Caller,
    r: &Record,
    body: &Map<String, Value>,
) -> Result<(), OrgError> {
    let object = tooling_object(&r.object).map_err(|_| OrgError::not_found())?;
    let fields = fields_of(app, object, body, false)?;
    if let Some(expr) = fields.get("FilterExpression").and_then(Value::as_str) {
        let entity = r.get_str("SelectedEntity").unwrap_or_default();
        forcebus_org::cdc::filter::compile(&app.org.schema(), entity, expr)
            .map_err(|e| invalid(format!("Invalid filterExpression: {e}")))?;
    }
    let op = Op::Update {
        object: Some(object.into()),
        id: r.id.to18(),
        fields,
    };
    one(app, caller, vec![op]).await.map(|_| ())
}

/// `DELETE /tooling/sobjects/{object}/{id}`: 204.
pub(crate) async fn delete(
    call: Call,
    State(app): State<crate::State>,
    Path((v, name, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    if data_object(&name) {
        return crate::data::sobjects::delete(call, State(app), Path((v, name, id))).await;
    }
    if let Some(object) = crate::tooling::schema::schema_object(&name) {
        return crate::tooling::schema::delete(&app, object, &id).await;
    }
    let object = tooling_object(&name)?;
    let r = existing(&app, object, &id)?;
    delete_record(&app, call.caller(), &r).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Deletes a channel (once it has no members), member or managed subscription for good:
/// Metadata deletes are permanent, so to the Recycle Bin and out of it in one transaction.
pub(crate) async fn delete_record(
    app: &crate::State,
    caller: forcebus_org::Caller,
    r: &Record,
) -> Result<(), OrgError> {
    let object = tooling_object(&r.object).map_err(|_| OrgError::not_found())?;
    if object == CHANNEL {
        let full = format!("{}__chn", r.get_str("DeveloperName").unwrap_or_default());
        let members = app.org.scan(MEMBER, |m| {
            (!m.is_deleted && m.get_str("EventChannel") == Some(full.as_str())).then_some(())
        });
        if !members.is_empty() {
            return Err(OrgError::new(
                Code::FieldIntegrityException,
                "Delete the channel's members first",
            ));
        }
    }
    let ops = vec![
        Op::Delete {
            object: Some(object.into()),
            id: r.id.to18(),
        },
        Op::Purge { id: r.id.to18() },
    ];
    one(app, caller, ops).await.map(|_| ())
}
