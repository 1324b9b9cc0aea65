//! A declared custom field as the catalogue's [`FieldDef`]: its type's settings checked,
//! its picklist values, requiredness, uniqueness and default.

use forcebus_meta::{FieldDef, FieldType};

use super::FieldConfig;

/// The label a custom name (`Total_Due__c`) gets when none is declared: `Total Due`.
pub fn label_of(name: &str) -> String {
    name.trim_end_matches("__c").replace('_', " ")
}

/// The field `c` declares on `object`; a mistake is named by where it is
/// (`objects.{object}.fields.{name}: ...`).
pub fn field_def(object: &str, c: &FieldConfig) -> Result<FieldDef, String> {
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
