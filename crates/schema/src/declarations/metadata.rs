//! Declarations written back as Metadata: a field as `CustomField`, a custom object's own
//! settings as `CustomObject`, as `readMetadata`, a retrieve and the Tooling API show them.

use serde::Serialize;
use serde_json::Value;

use forcebus_meta::{FieldDef, FieldType};

use super::TYPES;
use crate::custom::{NameFieldConfig, ObjectConfig};

/// A `CustomField`'s Metadata.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FieldMetadata<'a> {
    full_name: &'a str,
    label: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    required: bool,
    unique: bool,
    external_id: bool,
    /// Text fields only.
    #[serde(skip_serializing_if = "Option::is_none")]
    length: Option<u32>,
    /// Number fields only.
    #[serde(skip_serializing_if = "Option::is_none")]
    precision: Option<u32>,
    /// Number fields only.
    #[serde(skip_serializing_if = "Option::is_none")]
    scale: Option<u32>,
    /// Relationships only.
    #[serde(skip_serializing_if = "Option::is_none")]
    reference_to: Option<&'a str>,
    /// Relationships with a child relationship only.
    #[serde(skip_serializing_if = "Option::is_none")]
    relationship_name: Option<&'a str>,
    /// A field's default, quoted when text; picklists show theirs on their values.
    #[serde(skip_serializing_if = "Option::is_none")]
    default_value: Option<String>,
    /// Picklists only.
    #[serde(skip_serializing_if = "Option::is_none")]
    value_set: Option<ValueSet<'a>>,
    /// Formula fields only.
    #[serde(skip_serializing_if = "Option::is_none")]
    formula: Option<&'a str>,
    /// Formula fields only: `BlankAsZero` or `BlankAsBlank`.
    #[serde(skip_serializing_if = "Option::is_none")]
    formula_treat_blanks_as: Option<&'static str>,
    /// Auto-number fields only.
    #[serde(skip_serializing_if = "Option::is_none")]
    display_format: Option<&'a str>,
    /// Auto-number fields only.
    #[serde(skip_serializing_if = "Option::is_none")]
    starting_number: Option<u64>,
    /// Roll-up summaries only.
    #[serde(skip_serializing_if = "Option::is_none")]
    summary_operation: Option<&'static str>,
    /// Roll-up summaries only: `Child__c.Parent__c`.
    #[serde(skip_serializing_if = "Option::is_none")]
    summary_foreign_key: Option<String>,
    /// Roll-up summaries of a field only: `Child__c.Amount__c`.
    #[serde(skip_serializing_if = "Option::is_none")]
    summarized_field: Option<String>,
    /// Roll-up summaries' filters.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    summary_filter_items: Vec<FilterItem<'a>>,
    /// Fields whose changes the object's history keeps.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    track_history: bool,
}

/// One of a roll-up's `summaryFilterItems`.
#[derive(Serialize)]
struct FilterItem<'a> {
    field: String,
    operation: &'a str,
    value: &'a str,
}

/// A picklist's values (`valueSet`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ValueSet<'a> {
    restricted: bool,
    value_set_definition: ValueSetDefinition<'a>,
}

/// `valueSet.valueSetDefinition`: the values in their order.
#[derive(Serialize)]
struct ValueSetDefinition<'a> {
    sorted: bool,
    value: Vec<PicklistValue<'a>>,
}

/// One picklist value.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PicklistValue<'a> {
    full_name: &'a str,
    label: &'a str,
    default: bool,
}

/// A field as `CustomField` Metadata (the short name as `fullName`), whether the config
/// file, the API or the catalogue made it.
pub fn field_metadata(f: &FieldDef) -> Value {
    let auto_number = f.auto_number && !f.name_field;
    let kind = match f.ftype {
        _ if f.summary.is_some() => "Summary",
        FieldType::String if auto_number => "AutoNumber",
        FieldType::String if f.formula.is_some() => "Text",
        FieldType::Textarea if f.length > 255 => "LongTextArea",
        FieldType::Reference if f.cascade_delete => "MasterDetail",
        FieldType::Reference => "Lookup",
        t => TYPES
            .iter()
            .find(|(_, ft)| *ft == t)
            .map_or("Text", |(k, _)| k),
    };
    let numeric = matches!(
        f.ftype,
        FieldType::Double | FieldType::Currency | FieldType::Percent
    ) && f.summary.is_none();
    let text = matches!(kind, "Text" | "LongTextArea") && f.formula.is_none();
    let reference_to = f.reference_to.first().map(String::as_str);
    let relationship_name = f
        .child_relationship
        .as_deref()
        .filter(|_| reference_to.is_some())
        .map(|r| r.trim_end_matches("__r"));
    let default_value = f
        .default_value
        .as_ref()
        .filter(|_| f.picklist.is_empty())
        .map(|d| match d {
            Value::String(s) => format!("\"{s}\""),
            other => other.to_string(),
        })
        .or_else(|| f.default_formula.clone());
    let summary = f.summary.as_deref();
    let metadata = FieldMetadata {
        full_name: &f.name,
        label: &f.label,
        kind,
        required: !f.nillable && f.ftype != FieldType::Boolean && !auto_number,
        unique: f.unique,
        external_id: f.external_id,
        length: text.then_some(f.length),
        precision: numeric.then_some(f.precision),
        scale: numeric.then_some(f.scale),
        reference_to,
        relationship_name,
        default_value,
        value_set: value_set(f),
        formula: f.formula.as_ref().map(|d| d.source.as_str()),
        formula_treat_blanks_as: f.formula.as_ref().map(|d| {
            if d.blanks_as_zero {
                "BlankAsZero"
            } else {
                "BlankAsBlank"
            }
        }),
        display_format: f.display_format.as_deref().filter(|_| auto_number),
        starting_number: f.starting_number.filter(|_| auto_number),
        summary_operation: summary.map(|s| s.op.name()),
        summary_foreign_key: summary.map(|s| format!("{}.{}", s.child, s.key)),
        summarized_field: summary.and_then(|s| Some(format!("{}.{}", s.child, s.field.as_ref()?))),
        summary_filter_items: summary
            .map(|s| {
                s.filters
                    .iter()
                    .map(|i| FilterItem {
                        field: format!("{}.{}", s.child, i.field),
                        operation: &i.operation,
                        value: &i.value,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        track_history: f.track_history,
    };
    serde_json::to_value(metadata).expect("Metadata serialises")
}

/// A picklist field's `valueSet`, its default marked.
fn value_set(f: &FieldDef) -> Option<ValueSet<'_>> {
    if f.picklist.is_empty() {
        return None;
    }
    let chosen = f
        .default_value
        .as_ref()
        .and_then(Value::as_str)
        .or(f.default_picklist.as_deref());
    let value = f
        .picklist
        .iter()
        .map(|v| PicklistValue {
            full_name: v,
            label: v,
            default: Some(v.as_str()) == chosen,
        })
        .collect();
    Some(ValueSet {
        restricted: f.restricted_picklist,
        value_set_definition: ValueSetDefinition {
            sorted: false,
            value,
        },
    })
}

/// A `CustomObject`'s own Metadata (its fields apart).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectMetadata<'a> {
    label: &'a str,
    plural_label: &'a str,
    deployment_status: String,
    name_field: NameFieldMetadata,
    sharing_model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// Whether the object keeps field history (written only when it does).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    enable_history: bool,
}

/// A custom object's `nameField`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NameFieldMetadata {
    label: String,
    #[serde(rename = "type")]
    kind: &'static str,
    /// Auto numbers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    display_format: Option<String>,
}

/// A custom object's object-level Metadata (labels, description, settings, name field),
/// as `readMetadata` and a retrieve write it.
pub fn object_metadata(label: &str, plural: &str, c: Option<&ObjectConfig>) -> Value {
    let name = c.and_then(|c| c.name_field.as_ref());
    let name_field = NameFieldMetadata {
        label: name
            .and_then(|n| n.label.clone())
            .unwrap_or_else(|| format!("{label} Name")),
        kind: if name.is_some_and(NameFieldConfig::auto_number) {
            "AutoNumber"
        } else {
            "Text"
        },
        display_format: name.and_then(|n| n.display_format.clone()),
    };
    let metadata = ObjectMetadata {
        label,
        plural_label: plural,
        deployment_status: c
            .and_then(|c| c.deployment_status.clone())
            .unwrap_or_else(|| "Deployed".into()),
        name_field,
        sharing_model: c
            .and_then(|c| c.sharing_model.clone())
            .unwrap_or_else(|| "ReadWrite".into()),
        description: c.and_then(|c| c.description.clone()),
        enable_history: c.is_some_and(|c| c.enable_history),
    };
    serde_json::to_value(metadata).expect("Metadata serialises")
}

/// A `ValidationRule`'s Metadata (its short name as `fullName`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ValidationRuleMetadata<'a> {
    full_name: &'a str,
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    error_condition_formula: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_display_field: Option<&'a str>,
    error_message: &'a str,
}

/// A validation rule as `ValidationRule` Metadata, as `readMetadata`, a retrieve and the
/// Tooling API show it.
pub fn validation_rule_metadata(r: &forcebus_meta::ValidationRuleDef) -> Value {
    let metadata = ValidationRuleMetadata {
        full_name: &r.name,
        active: r.active,
        description: r.description.as_deref(),
        error_condition_formula: &r.condition,
        error_display_field: r.display_field.as_deref(),
        error_message: &r.message,
    };
    serde_json::to_value(metadata).expect("Metadata serialises")
}
