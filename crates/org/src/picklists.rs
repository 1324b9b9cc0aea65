//! The objects whose rows are a picklist's values (the Object Reference's picklist-value objects):
//! `LeadStatus` (the values of `Lead.Status`), `OpportunityStage`, `CaseStatus`,
//! `TaskStatus`, `TaskPriority`, `ContractStatus`, `OrderStatus`, `SolutionStatus`.
//! Queryable, never written: each row is one value of the field as the org's schema holds
//! it now (a value added to the picklist is a new row), with its order, whether it is the
//! default, and the flags the catalogue gives it (`IsConverted`, `IsClosed`, ...).
//! A stage the catalogue does not list is an open stage of the pipeline.

use serde_json::{Map, Value};

use crate::meta::{FieldType, ObjectDef, Schema};
use crate::record::Record;

/// The row numbers of each object start this far apart, so that every row's id is
/// distinct across the objects (they share one key prefix).
const ROWS_APART: u64 = 1_000;

/// The rows of `def` (an object with `values_of`), stamped as made by `admin` when the
/// org was made (`created`); none when the picklist is gone.
pub(crate) fn rows(
    schema: &Schema,
    def: &ObjectDef,
    admin: &Value,
    created: &Value,
) -> Vec<Record> {
    let Some(values) = def.values_of.as_ref() else {
        return Vec::new();
    };
    let Some(field) = schema
        .object(&values.object)
        .and_then(|o| o.field(&values.field))
    else {
        return Vec::new();
    };
    let base = object_number(schema, def) * ROWS_APART;
    field
        .picklist
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let mut fields = Map::new();
            for f in &def.fields {
                if f.ftype == FieldType::Boolean {
                    fields.insert(f.name.clone(), Value::Bool(false));
                }
            }
            let sort = i as u64 + 1;
            let id = crate::RecordId::mint(&def.key_prefix, base + sort);
            for (name, v) in [
                ("Id", Value::from(id.to18())),
                ("MasterLabel", Value::from(value.as_str())),
                ("ApiName", Value::from(value.as_str())),
                ("SortOrder", Value::from(sort)),
                (
                    "IsDefault",
                    Value::Bool(field.default_picklist.as_deref() == Some(value)),
                ),
                ("CreatedById", admin.clone()),
                ("LastModifiedById", admin.clone()),
                ("CreatedDate", created.clone()),
                ("LastModifiedDate", created.clone()),
                ("SystemModstamp", created.clone()),
            ] {
                if def.field(name).is_some() {
                    fields.insert(name.to_owned(), v);
                }
            }
            fields.extend(value_flags(schema, &values.object, &values.field, value));
            Record {
                id,
                object: (&def.name).into(),
                fields: fields.into(),
                is_deleted: false,
                deleted: None,
            }
        })
        .collect()
}

/// The fields beyond label, order and default that the row of `value` of picklist
/// `object.field` has (`IsConverted`, `IsClosed`, `DefaultProbability`, ...); empty when
/// no picklist-value object is made from that picklist.
pub fn value_flags(schema: &Schema, object: &str, field: &str, value: &str) -> Map<String, Value> {
    let Some(def) = schema.objects().find(|o| {
        o.values_of.as_ref().is_some_and(|v| {
            v.object.eq_ignore_ascii_case(object) && v.field.eq_ignore_ascii_case(field)
        })
    }) else {
        return Map::new();
    };
    let mut fields = Map::new();
    if def.name == "OpportunityStage" {
        stage_fields(&mut fields);
    }
    if let Some(flags) = def.values_of.as_ref().and_then(|v| v.flags.get(value)) {
        fields.extend(flags.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    fields
}

/// Whether `value` is one of the converted values of `LeadStatus`.
pub(crate) fn is_converted_status(schema: &Schema, value: &str) -> bool {
    let Some(def) = schema.object("LeadStatus") else {
        return false;
    };
    def.values_of.as_ref().is_some_and(|v| {
        v.flags
            .get(value)
            .and_then(|f| f.get("IsConverted"))
            .is_some_and(|c| c == &Value::Bool(true))
    }) && schema
        .object("Lead")
        .and_then(|o| o.field("Status"))
        .is_some_and(|f| f.picklist.iter().any(|p| p == value))
}

/// What an opportunity stage's row has when the catalogue does not list the stage (a
/// mirrored org's own stage): an open stage of the pipeline.
fn stage_fields(fields: &mut Map<String, Value>) {
    for (name, v) in [
        ("DefaultProbability", Value::from(0)),
        ("ForecastCategory", Value::from("Pipeline")),
        ("ForecastCategoryName", Value::from("Pipeline")),
        ("IsActive", Value::Bool(true)),
        ("IsClosed", Value::Bool(false)),
        ("IsWon", Value::Bool(false)),
    ] {
        fields.insert(name.to_owned(), v);
    }
}

/// A number per picklist-value object, stable while the catalogue is: its place among
/// them by name.
fn object_number(schema: &Schema, def: &ObjectDef) -> u64 {
    schema
        .objects()
        .filter(|o| o.values_of.is_some())
        .position(|o| o.name == def.name)
        .map_or(0, |i| i as u64 + 1)
}
