//! Page layouts (`data-apis.md` §6.4): `/sobjects/{X}/describe/layouts[/{recordTypeId}]`,
//! `describe/namedLayouts/{name}`, `describe/compactLayouts` and
//! `describe/approvalLayouts`.
//!
//! forcebus has no layout editor, so each object has one generated layout: an
//! "Information" section of its createable fields in two columns, a "System Information"
//! section of the audit fields, and a related list per child relationship. That is the
//! shape UI-building clients read (jsforce's `layouts()`, simple-salesforce's
//! `describe_layout`); which fields a real org's layout shows is that org's choice.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use forcebus_meta::{FieldDef, ObjectDef, RecordId};

use crate::ctx::Call;
use crate::data::sobject::object;
use crate::error::{ApiError, json_response};

/// The id of the Master record type, the only one.
pub(crate) const MASTER_RECORD_TYPE: &str = "012000000000000AAA";

/// Named layouts a standard org has (`UserAlt`, the user profile layout).
const NAMED: &[(&str, &str)] = &[("User", "UserAlt")];

/// A stable id of `kind` (`00h` layouts, `0Ah` compact layouts, `01B` sections) for an
/// object and an index.
fn stable_id(kind: &str, o: &ObjectDef, n: u64) -> String {
    let seed = o
        .name
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    RecordId::mint(kind, (seed % 1_000_000) * 100 + n).to18()
}

fn item(f: &FieldDef, tab: usize) -> Value {
    json!({
        "editableForNew": f.createable,
        "editableForUpdate": f.updateable,
        "label": f.label,
        "layoutComponents": [{
            "details": crate::data::describe::fields::field_json(f),
            "displayLines": 1,
            "tabOrder": tab,
            "type": "Field",
            "value": f.name,
        }],
        "placeholder": false,
        "required": !f.nillable && f.createable && !f.defaulted_on_create,
    })
}

/// A section of `fields` in two columns.
fn section(o: &ObjectDef, heading: &str, fields: &[&FieldDef], n: u64, layout: &str) -> Value {
    let rows: Vec<Value> = fields
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            let items: Vec<Value> = pair.iter().map(|f| item(f, i + 1)).collect();
            json!({"layoutItems": items, "numItems": pair.len()})
        })
        .collect();
    json!({
        "collapsed": false,
        "columns": 2,
        "heading": heading,
        "layoutRows": rows,
        "layoutSectionId": stable_id("01B", o, n),
        "parentLayoutId": layout,
        "rows": rows.len(),
        "tabOrder": "TopToBottom",
        "useCollapsibleSection": false,
        "useHeading": true,
    })
}

const AUDIT: &[&str] = &["CreatedById", "LastModifiedById"];

/// The one layout of `o`.
fn layout(app: &crate::AppState, o: &ObjectDef) -> Value {
    let id = stable_id("00h", o, 0);
    let main: Vec<&FieldDef> = o.fields.iter().filter(|f| f.createable).collect();
    let audit: Vec<&FieldDef> = AUDIT.iter().filter_map(|n| o.field(n)).collect();
    let schema = app.org.schema();
    let related: Vec<Value> = schema
        .child_relationships(&o.name)
        .into_iter()
        .filter_map(|r| {
            let name = r.name?;
            let child = schema.object(&r.child)?;
            let column = child.name_field().map_or("Id", |f| f.name.as_str());
            Some(json!({
                "accessLevelRequiredForCreate": null,
                "buttons": [],
                "columns": [{"field": format!("{}.{column}", child.name), "fieldApiName": column,
                              "format": null, "label": child.field(column).map_or(column, |f| f.label.as_str()),
                              "lookupId": null, "name": column, "sortable": true}],
                "custom": child.custom,
                "field": r.field,
                "label": child.label_plural,
                "limitRows": 5,
                "name": name,
                "sobject": child.name,
                "sort": [],
            }))
        })
        .collect();
    json!({
        "buttonLayoutSection": {"detailButtons": []},
        "detailLayoutSections": [
            section(o, "Information", &main, 1, &id),
            section(o, "System Information", &audit, 2, &id),
        ],
        "editLayoutSections": [section(o, "Information", &main, 3, &id)],
        "feedView": null,
        "highlightsPanelLayoutSection": null,
        "id": id,
        "multirowEditLayoutSections": [],
        "offlineLinks": [],
        "quickActionList": {"quickActionListItems": []},
        "relatedContent": null,
        "relatedLists": related,
        "saveOptions": [],
    })
}

/// The mapping of one record type (`None`: Master) to the object's layout, with every
/// picklist's values.
fn record_type_mapping(
    call: &Call,
    o: &ObjectDef,
    record_type: Option<&forcebus_org::Record>,
    default: bool,
) -> Value {
    let picklists: Vec<Value> = o
        .fields
        .iter()
        .filter(|f| !f.picklist.is_empty())
        .map(|f| {
            let values: Vec<Value> = f
                .picklist
                .iter()
                .map(|v| json!({"active": true, "defaultValue": f.default_picklist.as_deref() == Some(v), "label": v, "validFor": null, "value": v}))
                .collect();
            json!({"picklistName": f.name, "picklistValues": values})
        })
        .collect();
    let (id, name, developer) = match record_type {
        Some(t) => (
            t.id.to18(),
            t.get_str("Name").unwrap_or_default().to_owned(),
            t.get_str("DeveloperName").unwrap_or_default().to_owned(),
        ),
        None => (
            MASTER_RECORD_TYPE.to_owned(),
            "Master".to_owned(),
            "Master".to_owned(),
        ),
    };
    json!({
        "available": true,
        "defaultRecordTypeMapping": default,
        "developerName": developer,
        "layoutId": stable_id("00h", o, 0),
        "master": record_type.is_none(),
        "name": name,
        "picklistsForRecordType": picklists,
        "recordTypeId": id,
        "urls": {"layout": format!("{}/sobjects/{}/describe/layouts/{id}", call.base(), o.name)},
    })
}

/// `GET /sobjects/{X}/describe/layouts`.
pub(crate) async fn layouts(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &name)?;
    Ok(json_response(StatusCode::OK, &layouts_json(&app, &call, o)))
}

/// The layouts of `o` and their record type mappings.
fn layouts_json(app: &crate::AppState, call: &Call, o: &ObjectDef) -> Value {
    let types = app.org.record_types_of(&o.name);
    let mut mappings: Vec<Value> = types
        .iter()
        .enumerate()
        .map(|(i, t)| record_type_mapping(call, o, Some(t), i == 0))
        .collect();
    mappings.push(record_type_mapping(call, o, None, types.is_empty()));
    json!({
        "layouts": [layout(app, o)],
        "recordTypeMappings": mappings,
        "recordTypeSelectorRequired": [false],
    })
}

/// `GET /sobjects/{X}/describe/layouts/{recordTypeId}`: the record type's layout.
pub(crate) async fn layout_for_record_type(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, name, record_type)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &name)?;
    let Some(asked) = RecordId::parse(&record_type) else {
        return Err(ApiError::not_found());
    };
    let known = RecordId::parse(MASTER_RECORD_TYPE) == Some(asked)
        || app
            .org
            .record_types_of(&o.name)
            .iter()
            .any(|t| t.id == asked);
    if !known {
        return Err(ApiError::not_found());
    }
    Ok(json_response(StatusCode::OK, &layout(&app, o)))
}

/// `GET /sobjects/{X}/describe/namedLayouts/{name}`.
pub(crate) async fn named(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, layout_name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &name)?;
    if !NAMED.contains(&(o.name.as_str(), layout_name.as_str())) {
        return Err(ApiError::not_found());
    }
    Ok(json_response(StatusCode::OK, &layouts_json(&app, &call, o)))
}

/// `GET /sobjects/{X}/describe/compactLayouts`: the system default compact layout (the
/// name field and up to three more).
pub(crate) async fn compact(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &name)?;
    let fields: Vec<Value> = o
        .name_field()
        .into_iter()
        .chain(
            o.fields
                .iter()
                .filter(|f| f.createable && !f.name_field && f.ftype.is_text())
                .take(3),
        )
        .enumerate()
        .map(|(i, f)| item(f, i + 1))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "compactLayouts": [{
                "actions": [],
                "fieldItems": fields,
                "id": null,
                "imageItems": [],
                "label": "System Default",
                "name": "SYSTEM",
                "objectType": o.name,
            }],
            "defaultCompactLayoutId": null,
            "recordTypeCompactLayoutMappings": [{
                "available": true,
                "compactLayoutId": null,
                "compactLayoutName": "SYSTEM",
                "recordTypeId": MASTER_RECORD_TYPE,
                "recordTypeName": "Master",
                "urls": {"compactLayout": format!("{}/sobjects/{}/describe/compactLayouts/{MASTER_RECORD_TYPE}", call.base(), o.name)},
            }],
        }),
    ))
}

/// `GET /sobjects/{X}/describe/approvalLayouts`: no approval process, so none.
pub(crate) async fn approval(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    object(&app, &name)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"approvalLayouts": []}),
    ))
}
