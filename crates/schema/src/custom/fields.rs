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
    f.track_history = c.track_history;
    if let Some(summary) = &c.summary {
        summary_field(&mut f, summary, &at)?;
    } else if let Some(formula) = &c.formula {
        formula_field(&mut f, c, formula, &at)?;
    } else if let Some(format) = &c.display_format {
        auto_number_field(&mut f, format, &at)?;
        f.starting_number = c.starting_number;
    }
    Ok(f)
}

/// Most characters of a formula (Salesforce's limit).
pub(crate) const MAX_FORMULA_CHARS: usize = 3_900;

/// A formula field: computed, never stored or written. Its formula is compiled by the
/// org, against every object it may reach.
fn formula_field(f: &mut FieldDef, c: &FieldConfig, formula: &str, at: &str) -> Result<(), String> {
    let length = match c.ftype {
        FieldType::String => 1300,
        FieldType::Boolean
        | FieldType::Double
        | FieldType::Currency
        | FieldType::Percent
        | FieldType::Date
        | FieldType::Datetime
        | FieldType::Time => 0,
        other => {
            return Err(format!(
                "{at}: a formula returns Checkbox, Currency, Date, Date/Time, Number, Percent, Text or Time, not {}",
                other.name()
            ));
        }
    };
    if formula.trim().is_empty() {
        return Err(format!("{at}: the formula is empty"));
    }
    if formula.chars().count() > MAX_FORMULA_CHARS {
        return Err(format!(
            "{at}: a formula is at most {MAX_FORMULA_CHARS} characters"
        ));
    }
    let blanks_as_zero = match c.formula_treat_blanks_as.as_deref() {
        None | Some("BlankAsZero") => true,
        Some("BlankAsBlank") => false,
        Some(other) => {
            return Err(format!(
                "{at}: formula_treat_blanks_as is BlankAsZero or BlankAsBlank, not {other}"
            ));
        }
    };
    f.length = length;
    f.calculated = true;
    f.createable = false;
    f.updateable = false;
    f.nillable = c.ftype != FieldType::Boolean;
    f.defaulted_on_create = false;
    f.unique = false;
    f.external_id = false;
    f.default_value = None;
    f.formula = Some(Box::new(forcebus_meta::FormulaDef {
        source: formula.to_owned(),
        blanks_as_zero,
    }));
    Ok(())
}

/// A roll-up summary field: computed by the org from its master-detail children, never
/// written by a caller. Its type is the summarized field's (a count's is a number); the
/// schema settles it once every object is known ([`crate::custom::resolve_summaries`]).
fn summary_field(
    f: &mut FieldDef,
    c: &crate::custom::SummaryConfig,
    at: &str,
) -> Result<(), String> {
    let op = forcebus_meta::SummaryOp::parse(&c.operation).ok_or_else(|| {
        format!(
            "{at}: summary operation is count, sum, min or max, not {}",
            c.operation
        )
    })?;
    let Some((child, key)) = c.foreign_key.split_once('.') else {
        return Err(format!(
            "{at}: the summary's foreign key is Child.Field, not {}",
            c.foreign_key
        ));
    };
    let field = match (&c.summarized_field, op) {
        (_, forcebus_meta::SummaryOp::Count) => None,
        (Some(s), _) => match s.split_once('.') {
            Some((o, name)) if o.eq_ignore_ascii_case(child) => Some(name.to_owned()),
            _ => {
                return Err(format!(
                    "{at}: the summarized field must be a field of {child}, not {s}"
                ));
            }
        },
        (None, _) => {
            return Err(format!(
                "{at}: a {} summary needs a summarized field",
                op.name()
            ));
        }
    };
    let mut filters = Vec::new();
    for item in &c.filters {
        let name = item
            .field
            .split_once('.')
            .filter(|(o, _)| o.eq_ignore_ascii_case(child))
            .map(|(_, n)| n.to_owned())
            .ok_or_else(|| {
                format!(
                    "{at}: a filter's field is {child}.Field, not {}",
                    item.field
                )
            })?;
        filters.push(forcebus_meta::SummaryFilter {
            field: name,
            operation: item.operation.clone(),
            value: item.value.clone(),
        });
    }
    f.ftype = FieldType::Double;
    f.precision = 18;
    f.scale = 0;
    f.length = 0;
    f.calculated = true;
    f.createable = false;
    f.updateable = false;
    f.nillable = true;
    f.default_value = None;
    f.summary = Some(Box::new(forcebus_meta::SummaryDef {
        op,
        child: child.to_owned(),
        key: key.to_owned(),
        field,
        filters,
    }));
    Ok(())
}

/// An auto-number field: text the org writes on insert, never the caller.
fn auto_number_field(f: &mut FieldDef, format: &str, at: &str) -> Result<(), String> {
    if f.ftype != FieldType::String {
        return Err(format!(
            "{at}: display_format is for auto-number (string) fields"
        ));
    }
    if format.chars().count() > 30 || !format.contains("{0") {
        return Err(format!(
            "{at}: display_format is at most 30 characters with a number such as {{0000}}; got {format}"
        ));
    }
    f.length = 30;
    f.auto_number = true;
    f.createable = false;
    f.updateable = false;
    f.nillable = false;
    f.defaulted_on_create = true;
    f.display_format = Some(format.to_owned());
    Ok(())
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
    if let Some(formula) = &c.default_formula {
        if formula.trim().is_empty() || formula.chars().count() > MAX_FORMULA_CHARS {
            return Err(format!(
                "{at}: a default value formula is 1 to {MAX_FORMULA_CHARS} characters"
            ));
        }
        f.default_formula = Some(formula.clone());
        f.defaulted_on_create = true;
    }
    if c.ftype == FieldType::Boolean {
        f.nillable = false;
        f.defaulted_on_create = true;
        f.default_value = Some(c.default.clone().unwrap_or(serde_json::Value::Bool(false)));
    }
    Ok(())
}
