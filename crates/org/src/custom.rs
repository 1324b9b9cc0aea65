//! Custom objects and fields declared in the config file, applied to the catalogue.
//!
//! ```toml
//! [objects.Account]                       # add fields to a standard object
//! fields = [{ name = "Region__c", type = "picklist", picklist = ["EMEA", "APAC"] }]
//!
//! [objects.Invoice__c]                    # a custom object (Name is added for you)
//! label = "Invoice"
//! fields = [
//!   { name = "Account__c", type = "reference", reference_to = "Account", master_detail = true },
//!   { name = "Total__c", type = "currency", precision = 16, scale = 2 },
//! ]
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meta::{FieldDef, FieldType, ObjectDef, Schema};

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
}

fn yes() -> bool {
    true
}

pub(crate) fn label_of(name: &str) -> String {
    name.trim_end_matches("__c").replace('_', " ")
}

pub(crate) fn field_def(object: &str, c: &FieldConfig) -> Result<FieldDef, String> {
    let at = format!("objects.{object}.fields.{}", c.name);
    if !c.name.ends_with("__c")
        || c.name.len() <= 3
        || !c
            .name
            .trim_end_matches("__c")
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
    {
        return Err(format!(
            "{at}: custom field names are letters, digits and underscores ending in __c"
        ));
    }
    let mut f = FieldDef::new(
        &c.name,
        c.label.as_deref().unwrap_or(&label_of(&c.name)),
        c.ftype,
    );
    match c.ftype {
        FieldType::Id | FieldType::Address | FieldType::Location | FieldType::AnyType => {
            return Err(format!("{at}: type {} cannot be declared", c.ftype.name()));
        }
        FieldType::Double | FieldType::Currency | FieldType::Percent => {
            f.precision = c.precision.unwrap_or(18);
            f.scale = c.scale.unwrap_or(0);
            if f.precision == 0 || f.precision > 18 || f.scale > f.precision {
                return Err(format!(
                    "{at}: precision must be 1..=18 and scale at most precision"
                ));
            }
        }
        FieldType::Int | FieldType::Long => {
            f.digits = c
                .precision
                .unwrap_or(if c.ftype == FieldType::Int { 9 } else { 18 })
        }
        FieldType::Reference => {
            let Some(to) = &c.reference_to else {
                return Err(format!("{at}: reference fields need reference_to"));
            };
            f.reference_to = vec![to.clone()];
            f.relationship_name = Some(c.name.trim_end_matches("__c").to_owned() + "__r");
            f.child_relationship = Some(match &c.relationship_name {
                Some(r) => format!("{r}__r"),
                None => format!("{}s__r", object.trim_end_matches("__c")),
            });
            f.cascade_delete = c.master_detail;
            f.nillable = !c.master_detail;
        }
        _ => {}
    }
    if let Some(len) = c.length {
        if !c.ftype.is_text() && c.ftype != FieldType::Textarea {
            return Err(format!("{at}: length applies to text fields only"));
        }
        if len == 0 || len > 131_072 {
            return Err(format!("{at}: length must be in 1..=131072; got {len}"));
        }
        f.length = len;
    }
    values(&mut f, c, &at)?;
    Ok(f)
}

/// A declaration's values: picklist entries, required, uniqueness, defaults.
fn values(f: &mut FieldDef, c: &FieldConfig, at: &str) -> Result<(), String> {
    if matches!(c.ftype, FieldType::Picklist | FieldType::Multipicklist) {
        if c.picklist.is_empty() {
            return Err(format!("{at}: picklist fields need picklist values"));
        }
        f.picklist = c.picklist.clone();
        f.restricted_picklist = c.restricted;
        // Describe shows a picklist's default on its value (`picklistValues[].defaultValue`).
        f.default_picklist = c
            .default
            .as_ref()
            .and_then(|d| d.as_str())
            .map(str::to_owned);
    }
    if c.required {
        f.nillable = false;
    }
    f.external_id = c.external_id;
    f.unique = c.unique;
    f.default_value = c.default.clone();
    if c.ftype == FieldType::Boolean {
        f.nillable = false;
        f.defaulted_on_create = true;
        f.default_value = Some(c.default.clone().unwrap_or(serde_json::Value::Bool(false)));
    }
    Ok(())
}

/// A new custom object with the standard fields every custom object has.
pub(crate) fn custom_object(name: &str, c: &ObjectConfig, prefix: String) -> ObjectDef {
    let label = c.label.clone().unwrap_or_else(|| label_of(name));
    let plural = c
        .plural_label
        .clone()
        .unwrap_or_else(|| format!("{label}s"));
    let mut base = ObjectDef::new(
        "Template__c",
        "",
        "",
        "",
        forcebus_meta::standard::account_fields(),
    );
    base.fields.retain(|f| {
        matches!(
            f.name.as_str(),
            "Id" | "IsDeleted"
                | "OwnerId"
                | "CreatedDate"
                | "CreatedById"
                | "LastModifiedDate"
                | "LastModifiedById"
                | "SystemModstamp"
                | "LastViewedDate"
                | "LastReferencedDate"
        )
    });
    let mut fields: Vec<FieldDef> = base.fields.clone();
    if let Some(id) = fields.iter_mut().find(|f| f.name == "Id") {
        id.label = "Record ID".into();
    }
    fields.insert(2, name_field(&label, c.name_field.as_ref()));
    ObjectDef::new(name, &label, &plural, &prefix, fields)
}

/// A custom object's `Name`: text (80 characters), or numbered by the org.
fn name_field(object_label: &str, config: Option<&NameFieldConfig>) -> FieldDef {
    let label = config
        .and_then(|c| c.label.clone())
        .unwrap_or_else(|| format!("{object_label} Name"));
    let mut name_field = FieldDef::new("Name", &label, FieldType::String);
    name_field.length = 80;
    name_field.name_field = true;
    name_field.nillable = false;
    // Required in the UI only: a record saved without one is named after its Id.
    name_field.defaulted_on_create = true;
    name_field.custom = false;
    if let Some(c) = config.filter(|c| c.auto_number()) {
        name_field.length = 30;
        name_field.auto_number = true;
        name_field.createable = false;
        name_field.updateable = false;
        name_field.display_format = Some(c.display_format.clone().unwrap_or_else(|| "{0}".into()));
    }
    name_field
}

/// An auto number as its display format shows it: `{000}` the number, zero-padded to
/// as many digits; `{YYYY}`, `{YY}`, `{MM}`, `{DD}` the date of `now` (RFC 3339).
pub(crate) fn auto_number(format: &str, n: u64, now: &str) -> String {
    let date = |from: usize, len: usize| now.get(from..from + len).unwrap_or_default();
    let mut out = String::new();
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        rest = &rest[open..];
        let Some(close) = rest.find('}') else {
            break;
        };
        match &rest[1..close] {
            "YYYY" => out.push_str(date(0, 4)),
            "YY" => out.push_str(date(2, 2)),
            "MM" => out.push_str(date(5, 2)),
            "DD" => out.push_str(date(8, 2)),
            zeros if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => {
                out.push_str(&format!("{n:0width$}", width = zeros.len()));
            }
            _ => out.push_str(&rest[..=close]),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Gives `def` the labels and name field of `c` (an object-level Metadata API update):
/// its fields and records are untouched.
pub(crate) fn relabel(def: &mut ObjectDef, c: &ObjectConfig) {
    if let Some(label) = &c.label {
        def.label.clone_from(label);
        def.label_plural = c
            .plural_label
            .clone()
            .unwrap_or_else(|| format!("{label}s"));
    }
    let label = def.label.clone();
    if let Some(name) = def.fields.iter_mut().find(|f| f.name == "Name") {
        // Text or numbered, either way round: the records keep the names they have.
        *name = name_field(&label, c.name_field.as_ref());
    }
}

/// Applies the config's objects to `schema`, validating every entry.
pub fn apply(schema: &mut Schema, objects: &BTreeMap<String, ObjectConfig>) -> Result<(), String> {
    // Create every custom object first so references between them resolve.
    for (name, c) in objects {
        if schema.object(name).is_none() {
            if !name.ends_with("__c") {
                return Err(format!(
                    "objects.{name}: unknown standard object; custom objects end in __c"
                ));
            }
            let prefix = schema
                .next_custom_prefix(&[])
                .ok_or("too many custom objects")?;
            schema.insert(custom_object(name, c, prefix));
        }
    }
    for (name, c) in objects {
        let defs = c
            .fields
            .iter()
            .map(|f| field_def(name, f))
            .collect::<Result<Vec<_>, _>>()?;
        for f in &defs {
            if let Some(to) = f.reference_to.first()
                && schema.object(to).is_none()
            {
                return Err(format!(
                    "objects.{name}.fields.{}: reference_to names unknown object {to}",
                    f.name
                ));
            }
        }
        let o = schema.object_mut(name).expect("created above");
        for f in defs {
            o.push_field(f);
        }
        for (field, p) in &c.picklists {
            set_picklist(o, field, p)
                .map_err(|why| format!("objects.{name}.picklists.{field}: {why}"))?;
        }
    }
    Ok(())
}

/// Most values a picklist takes from a declaration (Salesforce's limit is 1,000).
const MAX_PICKLIST_VALUES: usize = 1_000;

/// Gives a standard picklist field of `o` the values `p`.
fn set_picklist(o: &mut ObjectDef, field: &str, p: &PicklistConfig) -> Result<(), String> {
    let Some(at) = o
        .fields
        .iter()
        .position(|f| f.name.eq_ignore_ascii_case(field))
    else {
        return Err("no such field".into());
    };
    let f = &mut o.fields[at];
    if !matches!(f.ftype, FieldType::Picklist | FieldType::Multipicklist) {
        return Err("not a picklist field".into());
    }
    if p.values.is_empty() || p.values.len() > MAX_PICKLIST_VALUES {
        return Err(format!("between 1 and {MAX_PICKLIST_VALUES} values"));
    }
    if let Some(d) = &p.default
        && !p.values.contains(d)
    {
        return Err(format!("the default {d} is not one of the values"));
    }
    f.picklist.clone_from(&p.values);
    f.default_picklist.clone_from(&p.default);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> BTreeMap<String, ObjectConfig> {
        #[derive(Deserialize)]
        struct Doc {
            objects: BTreeMap<String, ObjectConfig>,
        }
        serde_json::from_value::<Doc>(toml_to_json(toml_text))
            .unwrap()
            .objects
    }

    // The org crate has no TOML dependency; tests build the same structure as JSON.
    fn toml_to_json(s: &str) -> serde_json::Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn auto_numbers_follow_their_display_format() {
        let now = "2026-11-24T13:00:00.000+0000";
        assert_eq!(auto_number("A-{0000}", 7, now), "A-0007");
        assert_eq!(auto_number("{0}", 12345, now), "12345");
        assert_eq!(
            auto_number("INV-{YYYY}{MM}{DD}-{00}", 3, now),
            "INV-20261124-03"
        );
        assert_eq!(auto_number("{YY}/{x}/{00", 3, now), "26/{x}/{00");
        assert_eq!(auto_number("", 3, now), "");
    }

    #[test]
    fn custom_objects_and_fields_are_added() {
        let objects = parse(
            r#"{"objects": {
            "Account": {"fields": [{"name": "Ext__c", "type": "string", "length": 20, "external_id": true}]},
            "Invoice__c": {"label": "Invoice", "name_field": {"type": "AutoNumber", "display_format": "INV-{0000}"}, "fields": [
                {"name": "Account__c", "type": "reference", "reference_to": "Account", "master_detail": true},
                {"name": "Status__c", "type": "picklist", "picklist": ["Open", "Paid"]}
            ]}
        }}"#,
        );
        let mut schema = Schema::new(forcebus_meta::standard::catalogue());
        apply(&mut schema, &objects).unwrap();
        let inv = schema.object("invoice__c").unwrap();
        assert_eq!(inv.key_prefix, "a00");
        assert_eq!(inv.label_plural, "Invoices");
        assert!(inv.field("Name").unwrap().name_field);
        let name = inv.field("Name").unwrap();
        assert!(name.auto_number && !name.createable);
        assert_eq!(name.display_format.as_deref(), Some("INV-{0000}"));
        assert_eq!(name.label, "Invoice Name");
        assert_eq!(inv.field("Id").unwrap().label, "Record ID");
        assert!(inv.field("Account__c").unwrap().cascade_delete);
        assert!(inv.field("Status__c").unwrap().restricted_picklist);
        assert_eq!(
            schema
                .object("Account")
                .unwrap()
                .field("Ext__c")
                .unwrap()
                .length,
            20
        );
        let kids = schema.child_relationships("Account");
        assert!(
            kids.iter()
                .any(|r| r.child == "Invoice__c" && r.name.as_deref() == Some("Invoices__r"))
        );
    }

    #[test]
    fn bad_declarations_name_the_key() {
        for (doc, needle) in [
            (r#"{"objects": {"Widget": {}}}"#, "objects.Widget"),
            (
                r#"{"objects": {"Account": {"fields": [{"name": "Bad", "type": "string"}]}}}"#,
                "objects.Account.fields.Bad",
            ),
            (
                r#"{"objects": {"Account": {"fields": [{"name": "R__c", "type": "reference", "reference_to": "Nope__c"}]}}}"#,
                "unknown object",
            ),
            (
                r#"{"objects": {"Account": {"fields": [{"name": "P__c", "type": "picklist"}]}}}"#,
                "picklist values",
            ),
        ] {
            let mut schema = Schema::new(forcebus_meta::standard::catalogue());
            let err = apply(&mut schema, &parse(doc)).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }
}
