//! A declared custom object as the catalogue's [`ObjectDef`]: the standard fields every
//! custom object has, its `Name` field (text, or numbered by the org), its labels.

use forcebus_meta::{FieldDef, FieldType, ObjectDef};

use super::fields::label_of;
use super::{NameFieldConfig, ObjectConfig};

/// A new custom object with the standard fields every custom object has.
pub fn custom_object(name: &str, c: &ObjectConfig, prefix: String) -> ObjectDef {
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
    let mut o = ObjectDef::new(name, &label, &plural, &prefix, fields);
    o.enable_history = c.enable_history;
    o
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
pub fn auto_number(format: &str, n: u64, now: &str) -> String {
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
pub fn relabel(def: &mut ObjectDef, c: &ObjectConfig) {
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
