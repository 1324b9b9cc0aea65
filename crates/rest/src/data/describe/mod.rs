//! describeGlobal, an object's basic information, and describe (`org-rest-cdc.md` §2.3).
//! Every key jsforce's types name is present; what forcebus does not model is null/false.
//! The entries describeGlobal lists are [`entries`]'; a field's describe is [`fields`]'.

mod entries;
pub(crate) mod fields;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use forcebus_org::{ObjectDef, Schema};

use crate::ctx::Call;
use crate::data::dispatch::{Reply, Run, Sub};
use crate::error::{ApiError, json_response};
use entries::{change_describe, change_entry, event_describe, event_global_entry, object_urls};
use fields::field_json;

pub(crate) use entries::global_entry;

fn child_relationships(schema: &Schema, o: &ObjectDef) -> Vec<Value> {
    schema
        .child_relationships(&o.name)
        .into_iter()
        .map(|r| {
            json!({
                "cascadeDelete": r.cascade_delete,
                "childSObject": r.child,
                "deprecatedAndHidden": false,
                "field": r.field,
                "junctionIdListNames": [],
                "junctionReferenceTo": [],
                "relationshipName": r.name,
                "restrictedDelete": false,
            })
        })
        .collect()
}

/// `GET /sobjects` (describeGlobal).
pub(crate) fn global(run: &Run<'_>, _sub: &Sub) -> Reply {
    Reply::new(StatusCode::OK, global_json(run.app, run.call))
}

/// `GET /sobjects/{X}`: the object's basic information.
pub(crate) fn basic(run: &Run<'_>, sub: &Sub) -> Reply {
    Reply::of(basic_json(run.app, run.call, sub.segment(1)))
}

/// `GET /sobjects/{X}/describe`.
pub(crate) fn describe(run: &Run<'_>, sub: &Sub) -> Reply {
    Reply::of(describe_json(run.app, run.call, sub.segment(1)))
}

/// The body of `GET /sobjects` (describeGlobal).
fn global_json(app: &crate::AppState, call: &Call) -> Value {
    let base = call.base();
    let mut list: Vec<Value> = app
        .org
        .schema()
        .objects()
        .filter(|o| !o.tooling)
        .map(|o| global_entry(&base, o))
        .collect();
    // Change events: not queryable or writable, triggerable, tied to their object.
    list.extend(
        app.org
            .schema()
            .objects()
            .filter(|o| app.org.selected(o))
            .map(|o| change_entry(&base, o)),
    );
    list.extend(
        app.org
            .platform_events()
            .iter()
            .map(|d| event_global_entry(&base, d)),
    );
    json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": list})
}

/// The body of `GET /sobjects/{X}`.
fn basic_json(
    app: &crate::AppState,
    call: &Call,
    name: &str,
) -> Result<Value, ApiError> {
    if let Some(o) = app
        .org
        .change_event_object(name)
        .filter(|o| app.org.selected(o))
    {
        return Ok(json!({"objectDescribe": change_entry(&call.base(), &o), "recentItems": []}));
    }
    if let Some(def) = app.org.platform_event(name) {
        return Ok(
            json!({"objectDescribe": event_global_entry(&call.base(), &def), "recentItems": []}),
        );
    }
    let o = &*crate::data::sobject::object(app, name)?;
    let recent =
        crate::data::recently_viewed::items(app, call, Some(&o.name), crate::data::recently_viewed::MAX_RECENT);
    Ok(json!({"objectDescribe": global_entry(&call.base(), o), "recentItems": recent}))
}

/// The body of `GET /sobjects/{X}/describe`.
fn describe_json(
    app: &crate::AppState,
    call: &Call,
    name: &str,
) -> Result<Value, ApiError> {
    let schema = app.org.schema();
    if let Some(o) = app
        .org
        .change_event_object(name)
        .filter(|o| app.org.selected(o))
    {
        return Ok(change_describe(&call.base(), &o));
    }
    if let Some(def) = app.org.platform_event(name) {
        return Ok(event_describe(&call.base(), &def));
    }
    let o = &*crate::data::sobject::object(app, name)?;
    let mut out = object_describe(&schema, call, o);
    out["recordTypeInfos"] = record_type_infos(call, o, &app.org.record_types_of(&o.name));
    Ok(out)
}

/// An object's `recordTypeInfos`: its active record types by name (the first made is the
/// default), then Master, the default when there is no other.
pub(crate) fn record_type_infos(
    call: &Call,
    o: &ObjectDef,
    types: &[forcebus_org::Record],
) -> Value {
    let base = call.base();
    let info = |id: &str, name: &str, developer: &str, default: bool, master: bool| {
        json!({
            "active": true, "available": true, "defaultRecordTypeMapping": default,
            "developerName": developer, "master": master, "name": name, "recordTypeId": id,
            "urls": {"layout": format!("{base}/sobjects/{}/describe/layouts/{id}", o.name)},
        })
    };
    let default = types.first().map(|t| t.id);
    let mut sorted: Vec<&forcebus_org::Record> = types.iter().collect();
    sorted.sort_by(|a, b| a.get_str("Name").cmp(&b.get_str("Name")));
    let mut out: Vec<Value> = sorted
        .into_iter()
        .map(|t| {
            info(
                &t.id.to18(),
                t.get_str("Name").unwrap_or_default(),
                t.get_str("DeveloperName").unwrap_or_default(),
                Some(t.id) == default,
                false,
            )
        })
        .collect();
    let master = crate::data::layouts::MASTER_RECORD_TYPE;
    out.push(info(master, "Master", "Master", default.is_none(), true));
    Value::Array(out)
}

/// The full describe of an object (data or tooling).
pub(crate) fn object_describe(schema: &Schema, call: &Call, o: &ObjectDef) -> Value {
    let base = call.base();
    let mut out = global_entry(&base, o);
    let master = crate::data::layouts::MASTER_RECORD_TYPE;
    let extra = json!({
        "actionOverrides": [],
        "childRelationships": child_relationships(schema, o),
        "compactLayoutable": true,
        "defaultImplementation": null,
        "extendedBy": null,
        "extendsInterfaces": null,
        "fields": o.fields.iter().filter(|f| f.exists_at(call.major())).map(field_json).collect::<Vec<_>>(),
        "implementedBy": null,
        "implementsInterfaces": null,
        "isInterface": false,
        "listviewable": null,
        "lookupLayoutable": null,
        "namedLayoutInfos": [],
        "networkScopeFieldName": null,
        "recordTypeInfos": [{
            "active": true, "available": true, "defaultRecordTypeMapping": true,
            "developerName": "Master", "master": true, "name": "Master", "recordTypeId": master,
            "urls": {"layout": format!("{base}/sobjects/{}/describe/layouts/{master}", o.name)},
        }],
        "searchLayoutable": true,
        "sobjectDescribeOption": "FULL",
        "supportedScopes": [{"label": format!("All {}", o.label_plural.to_lowercase()), "name": "everything"}, {"label": format!("My {}", o.label_plural.to_lowercase()), "name": "mine"}],
        "urls": object_urls(&base, o, true),
    });
    if let (Value::Object(out), Value::Object(extra)) = (&mut out, extra) {
        out.extend(extra);
    }
    out
}

/// The objects the Tooling API shows: its own, and the data objects it can query.
fn tooling_objects(schema: &Schema) -> impl Iterator<Item = &ObjectDef> {
    schema
        .objects()
        .filter(|o| crate::data::query::tooling_visible(o))
}

/// `GET /tooling/sobjects`: the Tooling API's describeGlobal.
pub(crate) async fn tooling_global(call: Call, State(app): State<crate::State>) -> Response {
    let base = format!("{}/tooling", call.base());
    let schema = app.org.schema();
    let mut objects: Vec<&ObjectDef> = tooling_objects(&schema)
        .chain(crate::tooling::describe::objects())
        .collect();
    objects.sort_by(|a, b| a.name.cmp(&b.name));
    let list: Vec<Value> = objects
        .into_iter()
        .map(|o| global_entry(&base, o))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": list}),
    )
}

/// `GET /tooling/sobjects/{X}/describe`.
pub(crate) async fn tooling_describe(
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
    let mut out = object_describe(&schema, &call, o);
    // Its URLs are the Tooling API's.
    let tooling_base = format!("{}/tooling", call.base());
    if let Some(urls) = out.get_mut("urls").and_then(Value::as_object_mut) {
        for v in urls.values_mut() {
            if let Some(s) = v.as_str() {
                *v = json!(s.replacen(&call.base(), &tooling_base, 1));
            }
        }
    }
    Ok(json_response(StatusCode::OK, &out))
}
