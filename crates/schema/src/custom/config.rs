//! Custom objects and fields as declared: the config file's entries, and what the
//! Metadata API's `CustomObject` and `CustomField` read into.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use forcebus_meta::FieldType;

/// One object entry of the config file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ObjectConfig {
    /// Singular label (custom objects); defaults to the name without `__c`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Plural label; defaults to the label plus `s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plural_label: Option<String>,
    /// Fields to add.
    #[serde(default)]
    pub fields: Vec<FieldConfig>,
    /// Record types the org has from the start (the first active one is the default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub record_types: Vec<RecordTypeConfig>,
    /// A standard picklist field's values as the org has them (a real org's, mirrored),
    /// by field name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub picklists: BTreeMap<String, PicklistConfig>,
    /// A custom object's description (Metadata API `description`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Deployed` (the default) or `InDevelopment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_status: Option<String>,
    /// The org-wide sharing default: `ReadWrite` (the default), `Read`, `Private`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_model: Option<String>,
    /// A custom object's `Name` field: its label, and whether it is text or numbered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_field: Option<NameFieldConfig>,
    /// Validation rules: a write whose record makes one's condition true is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validation_rules: Vec<ValidationRuleConfig>,
    /// Field history is kept for its fields that track it (`enableHistory`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable_history: bool,
}

/// One validation rule (Metadata API `ValidationRule`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ValidationRuleConfig {
    /// Its API name.
    pub name: String,
    /// The error condition formula: true refuses the write.
    pub condition: String,
    /// The error message.
    pub message: String,
    /// The field the error names; none: the error is the record's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_field: Option<String>,
    /// Whether it runs (default true).
    #[serde(default = "yes")]
    pub active: bool,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A custom object's `Name` field (Metadata API `nameField`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NameFieldConfig {
    /// Its label; `{Object label} Name` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `Text` (the default) or `AutoNumber`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// An auto number's format (`A-{0000}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_format: Option<String>,
}

impl NameFieldConfig {
    /// Whether the name is numbered by the org.
    pub fn auto_number(&self) -> bool {
        self.kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("AutoNumber"))
    }
}

/// The values of a standard picklist field.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PicklistConfig {
    /// The values, in order.
    pub values: Vec<String>,
    /// The default value, one of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// One record type of an object, declared in the config file (or a project, or mirrored
/// describes).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecordTypeConfig {
    /// Its label (`Name`).
    pub name: String,
    /// Its API name; defaults to the name with non-alphanumerics as underscores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer_name: Option<String>,
    /// Whether records may take it (default true).
    #[serde(default = "active")]
    pub active: bool,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn active() -> bool {
    true
}

impl RecordTypeConfig {
    /// The API name: given, else made from the label.
    pub fn developer_name(&self) -> String {
        self.developer_name.clone().unwrap_or_else(|| {
            let mut out = String::new();
            for c in self.name.trim().chars() {
                let c = if c.is_ascii_alphanumeric() { c } else { '_' };
                if !(c == '_' && out.ends_with('_')) {
                    out.push(c);
                }
            }
            out.trim_matches('_').to_owned()
        })
    }
}

/// One custom field.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    /// API name; must end in `__c`.
    pub name: String,
    /// Describe type name: `string`, `textarea`, `boolean`, `int`, `double`, `currency`,
    /// `percent`, `date`, `datetime`, `time`, `picklist`, `multipicklist`, `email`, `phone`,
    /// `url`, `reference`.
    #[serde(rename = "type")]
    pub ftype: FieldType,
    /// Label; defaults to the name without `__c`, underscores as spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Maximum length of text fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Total digits of number fields (default 18).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    /// Decimal places of number fields (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// A value is required on insert and cannot be cleared.
    #[serde(default)]
    pub required: bool,
    /// Usable for upsert and retrieval by external id.
    #[serde(default)]
    pub external_id: bool,
    /// Values must be unique.
    #[serde(default)]
    pub unique: bool,
    /// Picklist values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub picklist: Vec<String>,
    /// Only listed picklist values are accepted (default true, as for new custom picklists).
    #[serde(default = "yes")]
    pub restricted: bool,
    /// Target object of a reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_to: Option<String>,
    /// Deleting the parent deletes the record (master-detail).
    #[serde(default)]
    pub master_detail: bool,
    /// The child relationship's name as the parent sees it, without `__r` (default: the
    /// object's name without `__c`, plus `s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship_name: Option<String>,
    /// Value used on insert when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// A formula: the field is computed whenever it is read, never stored or written;
    /// `type` is what the formula returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula: Option<String>,
    /// How the formula reads blank fields: `BlankAsZero` (the default) or `BlankAsBlank`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula_treat_blanks_as: Option<String>,
    /// An auto-number field's format (`INV-{0000}`): the org numbers new records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_format: Option<String>,
    /// The first number an auto-number field gives (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_number: Option<u64>,
    /// A roll-up summary of a master-detail child's records: the org keeps its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<SummaryConfig>,
    /// A default value formula (`TODAY() + 30`, `$User.Email`), evaluated on insert when
    /// the field is given no value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_formula: Option<String>,
    /// Changes of the field are kept in its object's history (with the object's
    /// `enable_history`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub track_history: bool,
}

/// A roll-up summary field (Metadata `summaryOperation`, `summaryForeignKey`,
/// `summarizedField`, `summaryFilterItems`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SummaryConfig {
    /// `count`, `sum`, `min` or `max`.
    pub operation: String,
    /// The child's master-detail field, `Child__c.Parent__c`.
    pub foreign_key: String,
    /// The child's field aggregated, `Child__c.Amount__c` (none for a count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summarized_field: Option<String>,
    /// Which children count: each item's `field` (`Child__c.Status__c`), `operation` and
    /// `value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<SummaryFilterConfig>,
}

/// One filter item of a roll-up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SummaryFilterConfig {
    /// The child's field, `Child__c.Status__c`.
    pub field: String,
    /// `equals`, `notEqual`, `lessThan`, `greaterThan`, `lessOrEqual`, `greaterOrEqual`,
    /// `contains`, `notContain`, `startsWith`.
    pub operation: String,
    /// The value compared with.
    #[serde(default)]
    pub value: String,
}

fn yes() -> bool {
    true
}
