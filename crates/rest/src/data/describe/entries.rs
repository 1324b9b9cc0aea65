//! An object's describeGlobal entry and the URLs it lists, and the entries and describes
//! of change events and platform events, which describe builds from them.

use serde::Serialize;
use serde_json::{Value, json};

use forcebus_org::platform::EventDef;
use forcebus_org::{FieldDef, ObjectDef};

use super::fields::field_json;

pub(super) fn object_urls(base: &str, o: &ObjectDef, full: bool) -> Value {
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
pub(crate) fn global_entry(base: &str, o: &ObjectDef) -> Value {
    serde_json::to_value(GlobalEntry::of(base, o)).unwrap_or(Value::Null)
}

/// An object's describeGlobal entry (the start of its describe), in Salesforce's key
/// order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GlobalEntry<'a> {
    activateable: bool,
    associate_entity_type: Option<&'a str>,
    associate_parent_entity: Option<&'a str>,
    createable: bool,
    custom: bool,
    custom_setting: bool,
    deep_cloneable: bool,
    deletable: bool,
    deprecated_and_hidden: bool,
    feed_enabled: bool,
    has_subtypes: bool,
    id_enabled: bool,
    is_interface: bool,
    is_subtype: bool,
    key_prefix: Option<&'a str>,
    label: &'a str,
    label_plural: &'a str,
    layoutable: bool,
    mergeable: bool,
    mru_enabled: bool,
    name: &'a str,
    queryable: bool,
    replicateable: bool,
    retrieveable: bool,
    searchable: bool,
    triggerable: bool,
    undeletable: bool,
    updateable: bool,
    urls: Value,
}

impl<'a> GlobalEntry<'a> {
    fn of(base: &str, o: &'a ObjectDef) -> Self {
        Self {
            activateable: false,
            associate_entity_type: None,
            associate_parent_entity: None,
            createable: o.createable,
            custom: o.custom,
            custom_setting: false,
            deep_cloneable: false,
            deletable: o.deletable,
            deprecated_and_hidden: false,
            feed_enabled: !o.custom,
            has_subtypes: false,
            id_enabled: true,
            is_interface: false,
            is_subtype: false,
            key_prefix: Some(o.key_prefix.as_str()).filter(|p| !p.is_empty()),
            label: &o.label,
            label_plural: &o.label_plural,
            layoutable: true,
            mergeable: matches!(o.name.as_str(), "Account" | "Contact" | "Lead" | "Case"),
            mru_enabled: true,
            name: &o.name,
            queryable: o.queryable,
            replicateable: true,
            retrieveable: true,
            searchable: true,
            triggerable: true,
            undeletable: o.name != "User",
            updateable: o.updateable,
            urls: object_urls(base, o, false),
        }
    }
}

/// The describeGlobal entry of an object's change events.
pub(crate) fn change_entry(base: &str, o: &ObjectDef) -> Value {
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
fn event_entry(e: &mut Value, base: &str, name: &str) {
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
pub(super) fn change_describe(base: &str, o: &ObjectDef) -> Value {
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

/// The describeGlobal entry of a platform event.
pub(crate) fn event_global_entry(base: &str, def: &EventDef) -> Value {
    let o = &def.object;
    let mut e = global_entry(base, o);
    event_entry(&mut e, base, &o.name);
    e["createable"] = json!(true);
    e["activateable"] = json!(false);
    e["custom"] = json!(true);
    e["customSetting"] = json!(false);
    e
}

/// The describe of a platform event.
pub(crate) fn event_describe(base: &str, def: &EventDef) -> Value {
    let mut out = event_global_entry(base, def);
    out["fields"] = Value::Array(def.object.fields.iter().map(field_json).collect());
    for k in [
        "childRelationships",
        "recordTypeInfos",
        "actionOverrides",
        "namedLayoutInfos",
        "supportedScopes",
    ] {
        out[k] = json!([]);
    }
    out
}
