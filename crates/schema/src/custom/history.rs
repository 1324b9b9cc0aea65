//! Field history objects (`AccountHistory`, `OpportunityFieldHistory`, `Invoice__History`):
//! one for every object whose history is enabled, made when the schema is settled, with
//! Salesforce's fields (the parent, `Field`, `DataType`, `OldValue`, `NewValue`, who and
//! when). Their rows are the org's to write (one per tracked field a write changes, one
//! `created` row for a new record): read-only to every caller.

use forcebus_meta::{FieldDef, FieldType, ObjectDef, Schema};

/// The history object of `object`, and its field naming the parent record: Salesforce's
/// names for the standard objects (`OpportunityFieldHistory`, `AccountId`), `X__History`
/// with `ParentId` for a custom object.
pub fn history_object(object: &str) -> (String, String) {
    if let Some(base) = object.strip_suffix("__c") {
        return (format!("{base}__History"), "ParentId".into());
    }
    match object {
        "Opportunity" => ("OpportunityFieldHistory".into(), "OpportunityId".into()),
        _ => (format!("{object}History"), format!("{object}Id")),
    }
}

/// The `Field` value of a new record's history row.
pub const CREATED: &str = "created";

/// Adds the history object of every object whose history is enabled (and that has none).
pub fn add_history_objects(schema: &mut Schema) {
    let wanted: Vec<(String, String)> = schema
        .objects()
        .filter(|o| o.enable_history)
        .map(|o| (o.name.clone(), o.label.clone()))
        .filter(|(name, _)| schema.object(&history_object(name).0).is_none())
        .collect();
    for (parent, label) in wanted {
        let Some(prefix) = free_prefix(schema) else {
            tracing::warn!(object = %parent, "No key prefix is left for its history object.");
            continue;
        };
        schema.insert(history_def(&parent, &label, prefix));
    }
}

/// A key prefix no object has: `017` (Salesforce's, for the first), then `0h0`, `0h1`, ...
fn free_prefix(schema: &Schema) -> Option<String> {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::iter::once("017".to_owned())
        .chain((0..62 * 62).map(|n| format!("0{}{}", B62[n / 62] as char, B62[n % 62] as char)))
        .filter(|p| p.as_str() == "017" || p.as_bytes()[1].is_ascii_lowercase())
        .find(|p| schema.object_by_prefix(p).is_none())
}

/// The history object of `parent` (labelled `label`).
fn history_def(parent: &str, label: &str, prefix: String) -> ObjectDef {
    let (name, key) = history_object(parent);
    let read_only = |mut f: FieldDef| {
        f.createable = false;
        f.updateable = false;
        f.custom = false;
        f
    };
    let mut id = FieldDef::new("Id", &format!("{label} History ID"), FieldType::Id);
    id.nillable = false;
    let mut deleted = FieldDef::new("IsDeleted", "Deleted", FieldType::Boolean);
    deleted.nillable = false;
    let mut parent_ref = FieldDef::new(&key, &format!("{label} ID"), FieldType::Reference);
    parent_ref.reference_to = vec![parent.to_owned()];
    parent_ref.relationship_name = Some(if key == "ParentId" {
        "Parent".into()
    } else {
        parent.to_owned()
    });
    parent_ref.child_relationship = Some("Histories".into());
    parent_ref.cascade_delete = true;
    parent_ref.nillable = false;
    let mut by = FieldDef::new("CreatedById", "Created By ID", FieldType::Reference);
    by.reference_to = vec!["User".into()];
    by.relationship_name = Some("CreatedBy".into());
    let mut at = FieldDef::new("CreatedDate", "Created Date", FieldType::Datetime);
    at.nillable = false;
    let mut field = FieldDef::new("Field", "Changed Field", FieldType::Picklist);
    field.nillable = false;
    let data_type = FieldDef::new("DataType", "Data Type", FieldType::Picklist);
    let old = FieldDef::new("OldValue", "Old Value", FieldType::AnyType);
    let new = FieldDef::new("NewValue", "New Value", FieldType::AnyType);
    let fields = [id, deleted, parent_ref, by, at, field, data_type, old, new]
        .into_iter()
        .map(read_only)
        .collect();
    let mut o = ObjectDef::new(
        &name,
        &format!("{label} History"),
        &format!("{label} History"),
        &prefix,
        fields,
    );
    o.custom = false;
    o.createable = false;
    o.updateable = false;
    o.deletable = false;
    o.change_events = false;
    o
}

/// The `DataType` Salesforce gives a tracked field's history rows.
pub fn data_type(f: &FieldDef) -> &'static str {
    match f.ftype {
        FieldType::Textarea => "TextArea",
        FieldType::Boolean => "Boolean",
        FieldType::Int | FieldType::Long | FieldType::Double => "Double",
        FieldType::Currency => "Currency",
        FieldType::Percent => "Percent",
        FieldType::Date => "Date",
        FieldType::Datetime => "DateTime",
        FieldType::Reference => "EntityId",
        FieldType::Picklist => "DynamicEnum",
        FieldType::Multipicklist => "MultiEnum",
        FieldType::Email => "Email",
        FieldType::Phone => "Phone",
        FieldType::Url => "Url",
        _ => "Text",
    }
}
