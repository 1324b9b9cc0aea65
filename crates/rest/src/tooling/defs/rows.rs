//! The rows of the schema definitions, built from the live schema: an `EntityDefinition`
//! per data object, a `FieldDefinition` per field, a `CustomObject` per custom object, a
//! `CustomField` per custom field.

use serde_json::Value;

use forcebus_meta::{FieldDef, FieldType, ObjectDef};
use forcebus_org::declarations::field_metadata;
use forcebus_org::runtime_schema::RuntimeSchema;

use crate::shapes::to_value;
use crate::shapes::tooling::{
    CustomField, CustomObject, CustomObjectLabels, EntityDefinition, FieldDefinition, ReferenceTo,
};
use crate::tooling::schema::to18;

/// Every row of `kind`.
pub(super) fn rows(app: &crate::AppState, runtime: &RuntimeSchema, kind: &str) -> Vec<Value> {
    let schema = app.org.schema();
    let objects: Vec<&ObjectDef> = schema.objects().filter(|o| !o.tooling).collect();
    let durable = |o: &ObjectDef| {
        runtime
            .objects
            .get(&o.name)
            .map_or_else(|| o.name.clone(), |r| to18(&r.id))
    };
    match kind {
        "EntityDefinition" => objects
            .iter()
            .map(|o| to_value(&entity(o, &durable(o))))
            .collect(),
        "ValidationRule" => objects
            .iter()
            .flat_map(|o| {
                let entity = durable(o);
                o.validation_rules
                    .iter()
                    .map(|r| {
                        let id = runtime
                            .validation_rule(&o.name, &r.name)
                            .map(|k| to18(&k.id))
                            .unwrap_or_default();
                        to_value(&crate::tooling::rules::row(o, r, id, &entity))
                    })
                    .collect::<Vec<_>>()
            })
            .collect(),
        "CustomObject" => objects
            .iter()
            .filter(|o| o.custom)
            .map(|o| {
                let id = runtime
                    .objects
                    .get(&o.name)
                    .map(|r| to18(&r.id))
                    .unwrap_or_default();
                to_value(&CustomObject {
                    id,
                    developer_name: o.name.trim_end_matches("__c"),
                    namespace_prefix: (),
                    external_name: (),
                    sharing_model: "ReadWrite",
                    external_sharing_model: "Private",
                    manageable_state: "unmanaged",
                    full_name: &o.name,
                    description: (),
                    metadata: CustomObjectLabels {
                        label: &o.label,
                        plural_label: &o.label_plural,
                    },
                })
            })
            .collect(),
        _ => {
            let mut out = Vec::new();
            for o in &objects {
                let durable = durable(o);
                let entity_row = entity(o, &durable);
                for f in o
                    .fields
                    .iter()
                    .filter(|f| kind == "FieldDefinition" || f.custom)
                {
                    let id = runtime
                        .field(&o.name, &f.name)
                        .map(|r| to18(&r.id))
                        .unwrap_or_default();
                    out.push(if kind == "FieldDefinition" {
                        to_value(&field_definition(f, &id, &entity_row))
                    } else {
                        to_value(&custom_field(o, f, id, &durable))
                    });
                }
            }
            out
        }
    }
}

fn entity<'a>(o: &'a ObjectDef, durable: &'a str) -> EntityDefinition<'a> {
    EntityDefinition {
        id: "000000000000000AAA",
        durable_id: durable,
        qualified_api_name: &o.name,
        developer_name: o.name.trim_end_matches("__c"),
        namespace_prefix: (),
        label: &o.label,
        plural_label: &o.label_plural,
        master_label: &o.label,
        key_prefix: &o.key_prefix,
        is_customizable: true,
        is_queryable: true,
        is_custom_setting: false,
        is_apex_triggerable: true,
        is_deprecated_and_hidden: false,
        is_feed_enabled: false,
        internal_sharing_model: "ReadWrite",
        external_sharing_model: "Private",
        deployment_status: o.custom.then_some("Deployed"),
        publisher_id: if o.custom { "<local>" } else { "System" },
    }
}

fn custom_field<'a>(
    o: &'a ObjectDef,
    f: &'a FieldDef,
    id: String,
    durable: &'a str,
) -> CustomField<'a> {
    CustomField {
        id,
        developer_name: f.name.trim_end_matches("__c"),
        table_enum_or_id: durable,
        entity_definition_id: durable,
        namespace_prefix: (),
        manageable_state: "unmanaged",
        full_name: format!("{}.{}", o.name, f.name),
        length: (f.length > 0).then_some(f.length),
        description: (),
        inline_help_text: (),
        metadata: field_metadata(f),
    }
}

/// The UI's name for a field's type (`Text(80)`, `Lookup(User)`, `Number(16, 2)`).
fn data_type(f: &FieldDef) -> String {
    match f.ftype {
        FieldType::String if f.name_field => "Name".into(),
        FieldType::String => format!("Text({})", f.length),
        FieldType::Textarea if f.length > 255 => format!("Long Text Area({})", f.length),
        FieldType::Textarea => "Text Area(255)".into(),
        FieldType::Boolean => "Checkbox".into(),
        FieldType::Double | FieldType::Int | FieldType::Long => {
            format!("Number({}, {})", f.precision.max(f.digits), f.scale)
        }
        FieldType::Currency => format!("Currency({}, {})", f.precision, f.scale),
        FieldType::Percent => format!("Percent({}, {})", f.precision, f.scale),
        FieldType::Date => "Date".into(),
        FieldType::Datetime => "Date/Time".into(),
        FieldType::Time => "Time".into(),
        FieldType::Id => "Lookup()".into(),
        FieldType::Reference if f.cascade_delete => {
            format!("Master-Detail({})", f.reference_to.join(","))
        }
        FieldType::Reference => format!("Lookup({})", f.reference_to.join(",")),
        FieldType::Picklist => "Picklist".into(),
        FieldType::Multipicklist => "Picklist (Multi-Select)".into(),
        FieldType::Email => "Email".into(),
        FieldType::Phone => "Phone".into(),
        FieldType::Url => "URL(255)".into(),
        other => other.name().to_owned(),
    }
}

fn field_definition<'a>(
    f: &'a FieldDef,
    id: &str,
    entity: &'a EntityDefinition<'a>,
) -> FieldDefinition<'a> {
    let entity_durable = entity.durable_id;
    let durable = if id.is_empty() {
        format!("{}.{}", entity_durable, f.name)
    } else {
        format!("{entity_durable}.{}", &id[..15])
    };
    FieldDefinition {
        id: "000000000000000AAA",
        durable_id: durable,
        qualified_api_name: &f.name,
        developer_name: f.name.trim_end_matches("__c"),
        namespace_prefix: (),
        entity_definition_id: entity_durable,
        entity_definition: entity,
        label: &f.label,
        master_label: &f.label,
        data_type: data_type(f),
        value_type_id: match f.ftype {
            FieldType::Reference | FieldType::Id => "id",
            t => t.name(),
        },
        length: f.length,
        precision: f.precision,
        scale: f.scale,
        digits: f.digits,
        is_nillable: f.nillable,
        is_indexed: f.external_id || f.unique || f.ftype == FieldType::Id,
        is_calculated: f.calculated,
        is_field_history_tracked: false,
        relationship_name: f.relationship_name.as_deref(),
        reference_to: (!f.reference_to.is_empty()).then_some(ReferenceTo {
            reference_to: &f.reference_to,
        }),
        publisher_id: if f.custom { "<local>" } else { "System" },
        last_modified_date: (),
    }
}
