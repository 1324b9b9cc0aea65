//! A field as describe shows it (`Field`, an entry of an object's describe `fields` and
//! of a layout item's `details`), and a picklist value (`PicklistEntry`).

use serde::Serialize;
use serde_json::Value;

/// A field's describe, in Salesforce's key order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Field<'a> {
    pub(crate) aggregatable: bool,
    pub(crate) ai_prediction_field: bool,
    pub(crate) auto_number: bool,
    pub(crate) byte_length: u32,
    pub(crate) calculated: bool,
    pub(crate) calculated_formula: Option<&'a str>,
    pub(crate) cascade_delete: bool,
    pub(crate) case_sensitive: bool,
    pub(crate) compound_field_name: Option<&'a str>,
    pub(crate) controller_name: Option<&'a str>,
    pub(crate) createable: bool,
    pub(crate) custom: bool,
    pub(crate) default_value: Value,
    pub(crate) default_value_formula: Option<&'a str>,
    pub(crate) defaulted_on_create: bool,
    pub(crate) dependent_picklist: bool,
    pub(crate) deprecated_and_hidden: bool,
    pub(crate) digits: u32,
    pub(crate) display_location_in_decimal: bool,
    pub(crate) encrypted: bool,
    pub(crate) external_id: bool,
    pub(crate) extra_type_info: Option<&'a str>,
    pub(crate) filterable: bool,
    pub(crate) filtered_lookup_info: Option<&'a str>,
    pub(crate) formula_treat_null_number_as_zero: bool,
    pub(crate) groupable: bool,
    pub(crate) high_scale_number: bool,
    pub(crate) html_formatted: bool,
    pub(crate) id_lookup: bool,
    pub(crate) inline_help_text: Option<&'a str>,
    pub(crate) label: &'a str,
    pub(crate) length: u32,
    pub(crate) mask: Option<&'a str>,
    pub(crate) mask_type: Option<&'a str>,
    pub(crate) name: &'a str,
    pub(crate) name_field: bool,
    pub(crate) name_pointing: bool,
    pub(crate) nillable: bool,
    pub(crate) permissionable: bool,
    pub(crate) picklist_values: Vec<PicklistEntry<'a>>,
    pub(crate) polymorphic_foreign_key: bool,
    pub(crate) precision: u32,
    pub(crate) query_by_distance: bool,
    pub(crate) reference_target_field: Option<&'a str>,
    pub(crate) reference_to: &'a [String],
    pub(crate) relationship_name: Option<&'a str>,
    pub(crate) relationship_order: Option<u32>,
    pub(crate) restricted_delete: bool,
    pub(crate) restricted_picklist: bool,
    pub(crate) scale: u32,
    pub(crate) search_prefilterable: bool,
    pub(crate) soap_type: &'a str,
    pub(crate) sortable: bool,
    #[serde(rename = "type")]
    pub(crate) kind: &'a str,
    pub(crate) unique: bool,
    pub(crate) updateable: bool,
    pub(crate) write_requires_master_read: bool,
}

/// One picklist value, in a field's describe and in a record type's picklists.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PicklistEntry<'a> {
    pub(crate) active: bool,
    pub(crate) default_value: bool,
    pub(crate) label: &'a str,
    /// Which controlling values it is valid for: none here, no picklist depends on
    /// another.
    pub(crate) valid_for: Option<&'a str>,
    pub(crate) value: &'a str,
}

impl<'a> PicklistEntry<'a> {
    /// The active value `value`, the field's default when `default`.
    pub(crate) fn of(value: &'a str, default: bool) -> Self {
        Self {
            active: true,
            default_value: default,
            label: value,
            valid_for: None,
            value,
        }
    }
}
