//! describeGlobal, an object's basic information, and describe (`org-rest-cdc.md` §2.3).
//! Every key jsforce's types name is present; what forcebus does not model is null/false.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use forcebus_org::{FieldDef, FieldType, ObjectDef, Schema};

use crate::ctx::Call;
use crate::error::{ApiError, json_response};

fn object_urls(base: &str, o: &ObjectDef, full: bool) -> Value {
    let root = format!("{base}/sobjects/{}", o.name);
    let mut urls = json!({
        "rowTemplate": format!("{root}/{{ID}}"),
        "defaultValues": format!("{root}/defaultValues?recordTypeId&fields"),
        "describe": format!("{root}/describe"),
        "sobject": root,
    });
    if full {
        urls["compactLayouts"] = json!(format!("{root}/describe/compactLayouts"));
        urls["approvalLayouts"] = json!(format!("{root}/describe/approvalLayouts"));
        urls["uiDetailTemplate"] = Value::Null;
        urls["uiEditTemplate"] = Value::Null;
        urls["listviews"] = json!(format!("{root}/listviews"));
        urls["layouts"] = json!(format!("{root}/describe/layouts"));
        urls["quickActions"] = json!(format!("{root}/quickActions"));
        urls["uiNewRecord"] = Value::Null;
    }
    urls
}

/// The describeGlobal entry of an object.
pub fn global_entry(base: &str, o: &ObjectDef) -> Value {
    let user = o.name == "User";
    json!({
        "activateable": false,
        "associateEntityType": null,
        "associateParentEntity": null,
        "createable": o.createable,
        "custom": o.custom,
        "customSetting": false,
        "deepCloneable": false,
        "deletable": o.deletable,
        "deprecatedAndHidden": false,
        "feedEnabled": !o.custom,
        "hasSubtypes": false,
        "idEnabled": true,
        "isInterface": false,
        "isSubtype": false,
        "keyPrefix": o.key_prefix,
        "label": o.label,
        "labelPlural": o.label_plural,
        "layoutable": true,
        "mergeable": matches!(o.name.as_str(), "Account" | "Contact" | "Lead" | "Case"),
        "mruEnabled": true,
        "name": o.name,
        "queryable": true,
        "replicateable": true,
        "retrieveable": true,
        "searchable": true,
        "triggerable": true,
        "undeletable": !user,
        "updateable": o.updateable,
        "urls": object_urls(base, o, false),
    })
}

fn byte_length(f: &FieldDef) -> u32 {
    match f.ftype {
        FieldType::Id | FieldType::Reference => 18,
        t if t.is_text() || t == FieldType::Textarea => f.length * 3,
        _ => 0,
    }
}

pub(crate) fn field_json(f: &FieldDef) -> Value {
    let text = f.ftype.is_text();
    // A custom master-detail field (the catalogue's standard ones describe as lookups).
    let master_detail = f.custom && f.ftype == FieldType::Reference && f.cascade_delete;
    let long_text = f.ftype == FieldType::Textarea && f.length > 255;
    let picklist: Vec<Value> = f
        .picklist
        .iter()
        .map(|v| json!({"active": true, "defaultValue": f.default_picklist.as_deref() == Some(v.as_str()), "label": v, "validFor": null, "value": v}))
        .collect();
    let default_value = match (&f.default_value, f.ftype) {
        (Some(v), _) => v.clone(),
        (None, FieldType::Boolean) => json!(false),
        _ => Value::Null,
    };
    json!({
        "aggregatable": !long_text && !matches!(f.ftype, FieldType::Boolean | FieldType::Address | FieldType::Location | FieldType::Multipicklist),
        "aiPredictionField": false,
        "autoNumber": f.name == "CaseNumber",
        "byteLength": byte_length(f),
        "calculated": f.calculated,
        "calculatedFormula": null,
        "cascadeDelete": master_detail,
        "caseSensitive": false,
        "compoundFieldName": f.compound_field_name,
        "controllerName": null,
        "createable": f.createable,
        "custom": f.custom,
        "defaultValue": default_value,
        "defaultValueFormula": null,
        "defaultedOnCreate": f.defaulted_on_create,
        "dependentPicklist": false,
        "deprecatedAndHidden": false,
        "digits": f.digits,
        "displayLocationInDecimal": false,
        "encrypted": false,
        "externalId": f.external_id,
        "extraTypeInfo": f.extra_type_info,
        "filterable": !long_text && f.ftype != FieldType::Address,
        "filteredLookupInfo": null,
        "formulaTreatNullNumberAsZero": false,
        "groupable": !long_text && !matches!(f.ftype, FieldType::Double | FieldType::Currency | FieldType::Percent | FieldType::Datetime | FieldType::Address | FieldType::Location),
        "highScaleNumber": false,
        "htmlFormatted": false,
        "idLookup": f.name == "Id" || f.external_id || f.name == "Username" || (f.name_field && text),
        "inlineHelpText": null,
        "label": f.label,
        "length": f.length,
        "mask": null,
        "maskType": null,
        "name": f.name,
        "nameField": f.name_field,
        "namePointing": f.reference_to.len() > 1,
        "nillable": f.nillable,
        "permissionable": f.nillable && f.createable && !f.name_field,
        "picklistValues": picklist,
        "polymorphicForeignKey": f.reference_to.len() > 1,
        "precision": f.precision,
        "queryByDistance": false,
        "referenceTargetField": null,
        "referenceTo": f.reference_to,
        "relationshipName": f.relationship_name,
        "relationshipOrder": master_detail.then_some(0),
        "restrictedDelete": false,
        "restrictedPicklist": f.restricted_picklist,
        "scale": f.scale,
        "searchPrefilterable": f.ftype == FieldType::Reference,
        "soapType": f.ftype.soap_type(),
        "sortable": !long_text && !matches!(f.ftype, FieldType::Address | FieldType::Location | FieldType::Multipicklist),
        "type": f.ftype.name(),
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": false,
    })
}

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

/// The describeGlobal entry of an object's change events.
pub fn change_entry(base: &str, o: &ObjectDef) -> Value {
    let mut e = global_entry(base, o);
    let name = forcebus_events::change::entity_name_of(o);
    for (k, v) in [
        ("name", json!(name)),
        ("label", json!(format!("{} Change Event", o.label))),
        ("labelPlural", json!(format!("{} Change Events", o.label))),
        ("associateEntityType", json!("ChangeEvent")),
        ("associateParentEntity", json!(o.name)),
        ("keyPrefix", Value::Null),
        ("custom", json!(o.custom)),
    ] {
        e[k] = v;
    }
    event_entry(&mut e, base, &name);
    e
}

/// What change events and platform events share in describeGlobal: no record operations
/// (platform events add `createable`, for publishing), triggerable, an `eventSchema` URL.
pub(crate) fn event_entry(e: &mut Value, base: &str, name: &str) {
    for k in [
        "createable",
        "deletable",
        "updateable",
        "queryable",
        "searchable",
        "layoutable",
        "mergeable",
        "mruEnabled",
        "replicateable",
        "retrieveable",
        "undeletable",
        "feedEnabled",
    ] {
        e[k] = json!(false);
    }
    e["triggerable"] = json!(true);
    e["urls"] = json!({
        "eventSchema": format!("{base}/sobjects/{name}/eventSchema"),
        "sobject": format!("{base}/sobjects/{name}"),
        "describe": format!("{base}/sobjects/{name}/describe"),
    });
}

/// The describe of an object's change events: the header, then the fields events carry.
fn change_describe(base: &str, o: &ObjectDef) -> Value {
    use forcebus_events::change::{EventField, event_fields};
    let mut fields = Vec::new();
    let mut id = FieldDef::new("Id", "Change Event ID", forcebus_meta::FieldType::Id);
    id.nillable = false;
    fields.push(id);
    let mut replay = FieldDef::new("ReplayId", "Replay ID", forcebus_meta::FieldType::String);
    replay.length = 255;
    fields.push(replay);
    for ef in event_fields(o) {
        match ef {
            EventField::Scalar(f) => fields.push(f.clone()),
            EventField::Compound { name, .. } => {
                if let Some(f) = o.field(&name) {
                    fields.push(f.clone());
                }
            }
        }
    }
    let mut rendered: Vec<Value> = fields
        .iter()
        .map(|f| {
            let mut v = field_json(f);
            v["createable"] = json!(false);
            v["updateable"] = json!(false);
            v
        })
        .collect();
    let mut header = field_json(&FieldDef::new(
        "ChangeEventHeader",
        "Change Event Header",
        forcebus_meta::FieldType::AnyType,
    ));
    header["type"] = json!("complexvalue");
    header["soapType"] = json!("tns:ChangeEventHeader");
    header["createable"] = json!(false);
    header["updateable"] = json!(false);
    rendered.insert(2, header);
    let mut out = change_entry(base, o);
    out["fields"] = Value::Array(rendered);
    out["childRelationships"] = json!([]);
    out["recordTypeInfos"] = json!([]);
    out["actionOverrides"] = json!([]);
    out["namedLayoutInfos"] = json!([]);
    out["supportedScopes"] = json!([]);
    out
}

/// `GET /sobjects`.
pub async fn global(call: Call, State(app): State<crate::State>) -> Response {
    json_response(StatusCode::OK, &global_json(&app, &call))
}

/// The body of `GET /sobjects` (describeGlobal).
pub(crate) fn global_json(app: &crate::AppState, call: &Call) -> Value {
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
            .map(|d| crate::platform::global_entry(&base, d)),
    );
    json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": list})
}

/// `GET /sobjects/{X}`: the describeGlobal entry and the records of `X` the user most
/// recently viewed or referenced.
pub async fn basic(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(json_response(
        StatusCode::OK,
        &basic_json(&app, &call, &name)?,
    ))
}

/// The body of `GET /sobjects/{X}`.
pub(crate) fn basic_json(
    app: &crate::AppState,
    call: &Call,
    name: &str,
) -> Result<Value, ApiError> {
    if let Some(o) = crate::events::change_event_object(app, name).filter(|o| app.org.selected(o)) {
        return Ok(json!({"objectDescribe": change_entry(&call.base(), &o), "recentItems": []}));
    }
    if let Some(def) = app.org.platform_event(name) {
        return Ok(
            json!({"objectDescribe": crate::platform::global_entry(&call.base(), &def), "recentItems": []}),
        );
    }
    let o = &*crate::sobjects::object(app, name)?;
    let recent = crate::recent::items(app, call, Some(&o.name), crate::recent::MAX_RECENT);
    Ok(json!({"objectDescribe": global_entry(&call.base(), o), "recentItems": recent}))
}

/// `GET /sobjects/{X}/describe`.
pub async fn describe(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(json_response(
        StatusCode::OK,
        &describe_json(&app, &call, &name)?,
    ))
}

/// The body of `GET /sobjects/{X}/describe`.
pub(crate) fn describe_json(
    app: &crate::AppState,
    call: &Call,
    name: &str,
) -> Result<Value, ApiError> {
    let schema = app.org.schema();
    if let Some(o) = crate::events::change_event_object(app, name).filter(|o| app.org.selected(o)) {
        return Ok(change_describe(&call.base(), &o));
    }
    if let Some(def) = app.org.platform_event(name) {
        return Ok(crate::platform::describe(&call.base(), &def));
    }
    let o = &*crate::sobjects::object(app, name)?;
    Ok(object_describe(&schema, call, o))
}

/// The full describe of an object (data or tooling).
pub(crate) fn object_describe(schema: &Schema, call: &Call, o: &ObjectDef) -> Value {
    let base = call.base();
    let mut out = global_entry(&base, o);
    let master = crate::layouts::MASTER_RECORD_TYPE;
    let extra = json!({
        "actionOverrides": [],
        "childRelationships": child_relationships(schema, o),
        "compactLayoutable": true,
        "defaultImplementation": null,
        "extendedBy": null,
        "extendsInterfaces": null,
        "fields": o.fields.iter().map(field_json).collect::<Vec<_>>(),
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
        .filter(|o| crate::query::tooling_visible(o))
}

/// `GET /tooling/sobjects`: the Tooling API's describeGlobal.
pub async fn tooling_global(call: Call, State(app): State<crate::State>) -> Response {
    let base = format!("{}/tooling", call.base());
    let schema = app.org.schema();
    let mut objects: Vec<&ObjectDef> = tooling_objects(&schema)
        .chain(crate::tooling_describe::objects())
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
pub async fn tooling_describe(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let schema = app.org.schema();
    let o = schema
        .object(&name)
        .filter(|o| crate::query::tooling_visible(o))
        .or_else(|| crate::tooling_describe::object_named(&name))
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
