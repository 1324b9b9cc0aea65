//! A field as describe shows it: the `fields` entries of an object's describe (and of a
//! layout's `details`).

use serde::Serialize;
use serde_json::Value;

use forcebus_org::{FieldDef, FieldType};

fn byte_length(f: &FieldDef) -> u32 {
    match f.ftype {
        FieldType::Id | FieldType::Reference => 18,
        t if t.is_text() || t == FieldType::Textarea => f.length * 3,
        _ => 0,
    }
}

pub(crate) fn field_json(f: &FieldDef) -> Value {
    serde_json::to_value(FieldDescribe::of(f)).unwrap_or(Value::Null)
}

/// One picklist value as describe shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PicklistEntry<'a> {
    active: bool,
    default_value: bool,
    label: &'a str,
    valid_for: Option<&'a str>,
    value: &'a str,
}

/// A field as describe shows it, in Salesforce's key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FieldDescribe<'a> {
    aggregatable: bool,
    ai_prediction_field: bool,
    auto_number: bool,
    byte_length: u32,
    calculated: bool,
    calculated_formula: Option<&'a str>,
    cascade_delete: bool,
    case_sensitive: bool,
    compound_field_name: Option<&'a str>,
    controller_name: Option<&'a str>,
    createable: bool,
    custom: bool,
    default_value: Value,
    default_value_formula: Option<&'a str>,
    defaulted_on_create: bool,
    dependent_picklist: bool,
    deprecated_and_hidden: bool,
    digits: u32,
    display_location_in_decimal: bool,
    encrypted: bool,
    external_id: bool,
    extra_type_info: Option<&'a str>,
    filterable: bool,
    filtered_lookup_info: Option<&'a str>,
    formula_treat_null_number_as_zero: bool,
    groupable: bool,
    high_scale_number: bool,
    html_formatted: bool,
    id_lookup: bool,
    inline_help_text: Option<&'a str>,
    label: &'a str,
    length: u32,
    mask: Option<&'a str>,
    mask_type: Option<&'a str>,
    name: &'a str,
    name_field: bool,
    name_pointing: bool,
    nillable: bool,
    permissionable: bool,
    picklist_values: Vec<PicklistEntry<'a>>,
    polymorphic_foreign_key: bool,
    precision: u32,
    query_by_distance: bool,
    reference_target_field: Option<&'a str>,
    reference_to: &'a [String],
    relationship_name: Option<&'a str>,
    relationship_order: Option<u32>,
    restricted_delete: bool,
    restricted_picklist: bool,
    scale: u32,
    search_prefilterable: bool,
    soap_type: &'a str,
    sortable: bool,
    #[serde(rename = "type")]
    kind: &'a str,
    unique: bool,
    updateable: bool,
    write_requires_master_read: bool,
}

/// What describe derives from a field's type and length: which operations it supports.
struct Capabilities {
    aggregatable: bool,
    filterable: bool,
    groupable: bool,
    sortable: bool,
    id_lookup: bool,
    master_detail: bool,
}

impl Capabilities {
    fn of(f: &FieldDef) -> Self {
        use FieldType as T;
        let long_text = f.ftype == T::Textarea && f.length > 255;
        Self {
            aggregatable: !long_text
                && !matches!(
                    f.ftype,
                    T::Boolean | T::Address | T::Location | T::Multipicklist
                ),
            filterable: !long_text && f.ftype != T::Address,
            groupable: !long_text
                && !matches!(
                    f.ftype,
                    T::Double | T::Currency | T::Percent | T::Datetime | T::Address | T::Location
                ),
            sortable: !long_text && !matches!(f.ftype, T::Address | T::Location | T::Multipicklist),
            id_lookup: f.name == "Id"
                || f.external_id
                || f.name == "Username"
                || (f.name_field && f.ftype.is_text()),
            // A custom master-detail field (the catalogue's standard ones describe as
            // lookups).
            master_detail: f.custom && f.ftype == T::Reference && f.cascade_delete,
        }
    }
}

/// A field's picklist values as describe shows them.
fn picklist_values(f: &FieldDef) -> Vec<PicklistEntry<'_>> {
    f.picklist
        .iter()
        .map(|v| PicklistEntry {
            active: true,
            default_value: f.default_picklist.as_deref() == Some(v.as_str()),
            label: v,
            valid_for: None,
            value: v,
        })
        .collect()
}

/// A field's default value: the declared one, `false` for a checkbox, else null.
fn default_value(f: &FieldDef) -> Value {
    match (&f.default_value, f.ftype) {
        (Some(v), _) => v.clone(),
        (None, FieldType::Boolean) => Value::Bool(false),
        _ => Value::Null,
    }
}

impl<'a> FieldDescribe<'a> {
    fn of(f: &'a FieldDef) -> Self {
        let c = Capabilities::of(f);
        Self {
            aggregatable: c.aggregatable,
            ai_prediction_field: false,
            auto_number: f.auto_number,
            byte_length: byte_length(f),
            calculated: f.calculated,
            calculated_formula: None,
            cascade_delete: c.master_detail,
            case_sensitive: false,
            compound_field_name: f.compound_field_name.as_deref(),
            controller_name: None,
            createable: f.createable,
            custom: f.custom,
            default_value: default_value(f),
            default_value_formula: None,
            defaulted_on_create: f.defaulted_on_create,
            dependent_picklist: false,
            deprecated_and_hidden: false,
            digits: f.digits,
            display_location_in_decimal: false,
            encrypted: false,
            external_id: f.external_id,
            extra_type_info: f.extra_type_info.as_deref(),
            filterable: c.filterable,
            filtered_lookup_info: None,
            formula_treat_null_number_as_zero: false,
            groupable: c.groupable,
            high_scale_number: false,
            html_formatted: false,
            id_lookup: c.id_lookup,
            inline_help_text: None,
            label: &f.label,
            length: f.length,
            mask: None,
            mask_type: None,
            name: &f.name,
            name_field: f.name_field,
            name_pointing: f.reference_to.len() > 1,
            nillable: f.nillable,
            permissionable: f.nillable && f.createable && !f.name_field,
            picklist_values: picklist_values(f),
            polymorphic_foreign_key: f.reference_to.len() > 1,
            precision: f.precision,
            query_by_distance: false,
            reference_target_field: None,
            reference_to: &f.reference_to,
            relationship_name: f.relationship_name.as_deref(),
            relationship_order: c.master_detail.then_some(0),
            restricted_delete: false,
            restricted_picklist: f.restricted_picklist,
            scale: f.scale,
            search_prefilterable: f.ftype == FieldType::Reference,
            soap_type: f.ftype.soap_type(),
            sortable: c.sortable,
            kind: f.ftype.name(),
            unique: f.unique,
            updateable: f.updateable,
            write_requires_master_read: false,
        }
    }
}
