//! A field as describe shows it ([`Field`]: the `fields` entries of an object's describe,
//! and a layout item's `details`), derived from its definition: what its type and length
//! let a query do with it, its picklist values, its default.

use serde_json::Value;

use forcebus_org::{FieldDef, FieldType};

use crate::shapes::field::{Field, PicklistEntry};

fn byte_length(f: &FieldDef) -> u32 {
    match f.ftype {
        FieldType::Id | FieldType::Reference => 18,
        t if t.is_text() || t == FieldType::Textarea => f.length * 3,
        _ => 0,
    }
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
            // Formula fields filter and sort, but a query cannot group by one (a checkbox
            // or date formula aside).
            groupable: !long_text
                && !f.formula_ungroupable()
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
pub(crate) fn picklist_values(f: &FieldDef) -> Vec<PicklistEntry<'_>> {
    f.picklist
        .iter()
        .map(|v| PicklistEntry::of(v, f.default_picklist.as_deref() == Some(v.as_str())))
        .collect()
}

/// A field's default value: the declared one, `false` for a checkbox, else null.
fn default_value(f: &FieldDef) -> Value {
    match (&f.default_value, f.ftype) {
        (Some(v), _) => v.clone(),
        (None, FieldType::Boolean) if f.formula.is_none() => Value::Bool(false),
        _ => Value::Null,
    }
}

/// Whether a formula makes HTML (`HYPERLINK`, `IMAGE`): describe calls it html-formatted.
fn html_formula(source: &str) -> bool {
    let upper = source.to_ascii_uppercase();
    ["HYPERLINK", "IMAGE"].iter().any(|f| {
        upper.match_indices(f).any(|(at, _)| {
            upper[at + f.len()..].trim_start().starts_with('(')
                && !upper[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        })
    })
}

/// The describe of `f`.
pub(crate) fn describe(f: &FieldDef) -> Field<'_> {
    let c = Capabilities::of(f);
    Field {
        aggregatable: c.aggregatable,
        ai_prediction_field: false,
        auto_number: f.auto_number,
        byte_length: byte_length(f),
        calculated: f.calculated,
        calculated_formula: f.formula.as_ref().map(|d| d.source.as_str()),
        cascade_delete: c.master_detail,
        case_sensitive: false,
        compound_field_name: f.compound_field_name.as_deref(),
        controller_name: None,
        createable: f.createable,
        custom: f.custom,
        default_value: default_value(f),
        default_value_formula: f.default_formula.as_deref(),
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
        formula_treat_null_number_as_zero: f.formula.as_ref().is_some_and(|d| d.blanks_as_zero),
        groupable: c.groupable,
        high_scale_number: false,
        html_formatted: f.formula.as_ref().is_some_and(|d| html_formula(&d.source)),
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
        permissionable: (f.nillable && f.createable && !f.name_field) || f.formula.is_some(),
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
