//! The Metadata API's declarations of custom fields and objects (`CustomField`,
//! `CustomObject`: `metadata-tooling.md` §11) as the Tooling API, the Metadata API and
//! sfdx projects write them, read into the config file's declarations ([`crate::custom`])
//! here, and written back (`metadata`). The Metadata is JSON here (the Tooling API's
//! form: lower camel case, values as JSON or as text, as the Metadata API's XML reads).

mod metadata;

use serde_json::{Map, Value};

use forcebus_meta::FieldType;

use crate::custom::{
    FieldConfig, ObjectConfig, SummaryConfig, SummaryFilterConfig, ValidationRuleConfig,
};
use crate::error::{ErrorKind, SchemaError};

pub use metadata::{field_metadata, object_metadata, validation_rule_metadata};

/// A repeated Metadata element as `forcebus-xml` reads it into JSON (an array, or one
/// element alone): each element; none when absent (`element`: `meta.get(key)`).
pub fn repeated(element: Option<&Value>) -> Vec<&Value> {
    match element {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

fn invalid(message: impl Into<String>) -> SchemaError {
    SchemaError::new(ErrorKind::InvalidInput, message)
}

/// A Metadata value as text: strings as they are, numbers and booleans printed.
fn text(meta: &Map<String, Value>, key: &str) -> Option<String> {
    match meta.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn flag(meta: &Map<String, Value>, key: &str) -> bool {
    text(meta, key).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn number(meta: &Map<String, Value>, key: &str) -> Result<Option<u32>, SchemaError> {
    text(meta, key)
        .map(|v| {
            v.trim_end_matches(".0")
                .parse::<u32>()
                .map_err(|_| invalid(format!("{key} must be a whole number; got {v}")))
        })
        .transpose()
}

/// The Metadata types forcebus creates, with the describe type each becomes.
pub(crate) const TYPES: [(&str, FieldType); 19] = [
    ("Text", FieldType::String),
    ("TextArea", FieldType::Textarea),
    ("LongTextArea", FieldType::Textarea),
    ("Checkbox", FieldType::Boolean),
    ("Number", FieldType::Double),
    ("Currency", FieldType::Currency),
    ("Percent", FieldType::Percent),
    ("Date", FieldType::Date),
    ("DateTime", FieldType::Datetime),
    ("Time", FieldType::Time),
    ("Email", FieldType::Email),
    ("Phone", FieldType::Phone),
    ("Url", FieldType::Url),
    ("Picklist", FieldType::Picklist),
    ("MultiselectPicklist", FieldType::Multipicklist),
    ("Lookup", FieldType::Reference),
    ("MasterDetail", FieldType::Reference),
    ("AutoNumber", FieldType::String),
    ("Summary", FieldType::Double),
];

/// A `CustomField`'s Metadata as a field declaration.
pub fn field_config(name: &str, meta: &Map<String, Value>) -> Result<FieldConfig, SchemaError> {
    let kind = text(meta, "type").ok_or_else(|| invalid("Metadata.type is required."))?;
    let (kind, ftype) = TYPES
        .iter()
        .find(|(t, _)| t.eq_ignore_ascii_case(&kind))
        .copied()
        .ok_or_else(|| {
            let known: Vec<&str> = TYPES.iter().map(|(t, _)| *t).collect();
            invalid(format!(
                "Field type {kind} is not supported; use one of {}.",
                known.join(", ")
            ))
        })?;
    let formula = text(meta, "formula").filter(|f| !f.trim().is_empty());
    let mut length = number(meta, "length")?;
    match kind {
        _ if formula.is_some() => length = None,
        "Text" if !length.is_some_and(|l| (1..=255).contains(&l)) => {
            return Err(invalid("A Text field's length must be between 1 and 255."));
        }
        "TextArea" => length = Some(255),
        "LongTextArea" if !length.is_some_and(|l| (256..=131_072).contains(&l)) => {
            return Err(invalid(
                "A LongTextArea field's length must be between 256 and 131072.",
            ));
        }
        "AutoNumber" | "Summary" => length = None,
        "Email" => length = Some(80),
        "Phone" => length = Some(40),
        "Url" => length = Some(255),
        _ => {}
    }
    let (picklist, restricted, default_pick) = picklist_values(meta)?;
    let (default, default_formula) = default_value(ftype, text(meta, "defaultValue"), default_pick);
    let label = text(meta, "label");
    if label.as_ref().is_some_and(|l| l.chars().count() > 40) {
        return Err(invalid("A field's label is at most 40 characters."));
    }
    Ok(FieldConfig {
        name: name.to_owned(),
        ftype,
        label,
        length,
        precision: number(meta, "precision")?,
        scale: number(meta, "scale")?,
        required: flag(meta, "required") || kind == "MasterDetail",
        external_id: flag(meta, "externalId"),
        unique: flag(meta, "unique"),
        picklist,
        restricted,
        reference_to: text(meta, "referenceTo"),
        master_detail: kind == "MasterDetail",
        relationship_name: text(meta, "relationshipName"),
        default: default.filter(|_| formula.is_none()),
        formula_treat_blanks_as: formula
            .as_ref()
            .and_then(|_| text(meta, "formulaTreatBlanksAs")),
        formula,
        display_format: auto_number(kind, meta)?,
        summary: (kind == "Summary").then(|| summary(meta)).transpose()?,
        default_formula,
        track_history: flag(meta, "trackHistory"),
        starting_number: (kind == "AutoNumber")
            .then(|| number(meta, "startingNumber"))
            .transpose()?
            .flatten()
            .map(u64::from),
    })
}

/// A field's `defaultValue`: a literal (a quoted text, a number, `true`/`false`) as the
/// value itself, anything else as a default value formula; a picklist's default when none.
fn default_value(
    ftype: FieldType,
    given: Option<String>,
    picklist: Option<String>,
) -> (Option<Value>, Option<String>) {
    let Some(v) = given.filter(|v| !v.trim().is_empty()) else {
        return (picklist.map(Value::String), None);
    };
    let literal = match ftype {
        FieldType::Boolean if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") => {
            Some(Value::Bool(v.eq_ignore_ascii_case("true")))
        }
        _ if v.len() >= 2
            && v.starts_with('"')
            && v.ends_with('"')
            && !v[1..v.len() - 1].contains('"') =>
        {
            Some(Value::String(v[1..v.len() - 1].to_owned()))
        }
        FieldType::Double | FieldType::Currency | FieldType::Percent | FieldType::Int => {
            v.trim().parse::<f64>().ok().map(Value::from)
        }
        _ => None,
    };
    match literal {
        Some(value) => (Some(value), None),
        None => (None, Some(v)),
    }
}

/// A `Summary` field's roll-up: `summaryOperation`, `summaryForeignKey`,
/// `summarizedField`, `summaryFilterItems`.
fn summary(meta: &Map<String, Value>) -> Result<SummaryConfig, SchemaError> {
    let operation = text(meta, "summaryOperation")
        .ok_or_else(|| invalid("Required field is missing: summaryOperation"))?;
    let foreign_key = text(meta, "summaryForeignKey")
        .ok_or_else(|| invalid("Required field is missing: summaryForeignKey"))?;
    let items = repeated(meta.get("summaryFilterItems"));
    let filters = items
        .into_iter()
        .filter_map(Value::as_object)
        .map(|item| SummaryFilterConfig {
            field: text(item, "field").unwrap_or_default(),
            operation: text(item, "operation").unwrap_or_else(|| "equals".into()),
            value: text(item, "value").unwrap_or_default(),
        })
        .collect();
    Ok(SummaryConfig {
        operation,
        foreign_key,
        summarized_field: text(meta, "summarizedField"),
        filters,
    })
}

/// An `AutoNumber` field's `displayFormat` (`{0}` when none is given).
fn auto_number(kind: &str, meta: &Map<String, Value>) -> Result<Option<String>, SchemaError> {
    if kind != "AutoNumber" {
        return Ok(None);
    }
    let format = text(meta, "displayFormat").unwrap_or_else(|| "{0}".into());
    if format.chars().count() > 30 || !format.contains("{0") {
        return Err(invalid(format!(
            "displayFormat is at most 30 characters with a number such as {{0000}}; got {format}"
        )));
    }
    Ok(Some(format))
}

/// The `validationRules` nested in a `CustomObject`'s Metadata (one, or a list).
pub fn nested_validation_rules(
    meta: &Map<String, Value>,
) -> Result<Vec<ValidationRuleConfig>, SchemaError> {
    let list = repeated(meta.get("validationRules"));
    list.into_iter()
        .map(|r| {
            let r = r.as_object().cloned().unwrap_or_default();
            let name = text(&r, "fullName").unwrap_or_default();
            validation_rule_config(&name, &r)
        })
        .collect()
}

/// A `ValidationRule`'s Metadata (`fullName` short, or `Object.Rule`) as a declaration.
pub fn validation_rule_config(
    name: &str,
    meta: &Map<String, Value>,
) -> Result<ValidationRuleConfig, SchemaError> {
    let name = name.rsplit('.').next().unwrap_or(name);
    if name.is_empty() {
        return Err(invalid("A validation rule needs a fullName."));
    }
    let condition = text(meta, "errorConditionFormula")
        .filter(|f| !f.trim().is_empty())
        .ok_or_else(|| invalid("Required field is missing: errorConditionFormula"))?;
    let message = text(meta, "errorMessage")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| invalid("Required field is missing: errorMessage"))?;
    Ok(ValidationRuleConfig {
        name: name.to_owned(),
        condition,
        message,
        display_field: text(meta, "errorDisplayField").filter(|f| !f.is_empty()),
        active: text(meta, "active").is_none_or(|a| a.eq_ignore_ascii_case("true")),
        description: text(meta, "description"),
    })
}

/// Picklist values from `valueSet.valueSetDefinition.value[]` (`fullName` or
/// `valueName`), whether the set is restricted, and the default value.
fn picklist_values(
    meta: &Map<String, Value>,
) -> Result<(Vec<String>, bool, Option<String>), SchemaError> {
    let Some(set) = meta.get("valueSet").and_then(Value::as_object) else {
        return Ok((Vec::new(), true, None));
    };
    let restricted = text(set, "restricted").is_none_or(|r| r.eq_ignore_ascii_case("true"));
    let values = match set.get("valueSetDefinition").and_then(|d| d.get("value")) {
        Some(Value::Array(v)) => v.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let mut names = Vec::new();
    let mut default = None;
    for v in values.iter().take(1_000) {
        let v = v
            .as_object()
            .ok_or_else(|| invalid("Picklist values are objects with fullName."))?;
        let name = text(v, "fullName")
            .or_else(|| text(v, "valueName"))
            .ok_or_else(|| invalid("A picklist value needs fullName."))?;
        if flag(v, "default") {
            default = Some(name.clone());
        }
        names.push(name);
    }
    Ok((names, restricted, default))
}

/// The `fields` nested in a `CustomObject`'s Metadata (one, or a list), each named by its
/// short `fullName`.
pub fn nested_fields(meta: &Map<String, Value>) -> Result<Vec<FieldConfig>, SchemaError> {
    let list = repeated(meta.get("fields"));
    list.into_iter()
        .map(|f| {
            let f = f.as_object().cloned().unwrap_or_default();
            let name = text(&f, "fullName").unwrap_or_default();
            field_config(&name, &f)
        })
        .collect()
}

/// A `CustomObject`'s Metadata as an object declaration: its labels and the `fields`
/// nested in it (short names), as the Metadata API and sfdx projects write them.
pub fn object_config(meta: &Map<String, Value>) -> Result<ObjectConfig, SchemaError> {
    let label = text(meta, "label").ok_or_else(|| invalid("Metadata.label is required."))?;
    if label.chars().count() > 40 {
        return Err(invalid("An object's label is at most 40 characters."));
    }
    let fields = nested_fields(meta)?;
    let validation_rules = nested_validation_rules(meta)?;
    let one_of = |key: &str, allowed: &[&str]| -> Result<Option<String>, SchemaError> {
        match text(meta, key) {
            Some(v) if !allowed.contains(&v.as_str()) => Err(invalid(format!(
                "{key} must be one of {}; got {v}",
                allowed.join(", ")
            ))),
            v => Ok(v),
        }
    };
    let name_field = match meta.get("nameField") {
        Some(Value::Object(n)) => {
            let kind = match text(n, "type") {
                Some(t) if t != "Text" && t != "AutoNumber" => {
                    return Err(invalid(format!(
                        "nameField.type must be Text or AutoNumber; got {t}"
                    )));
                }
                t => t,
            };
            let display_format = text(n, "displayFormat");
            if kind.as_deref() == Some("AutoNumber")
                && let Some(f) = &display_format
                && (f.chars().count() > 30 || !f.contains("{0"))
            {
                return Err(invalid(format!(
                    "nameField.displayFormat is at most 30 characters with a number such as {{0000}}; got {f}"
                )));
            }
            Some(crate::custom::NameFieldConfig {
                label: text(n, "label"),
                kind,
                display_format,
            })
        }
        _ => None,
    };
    Ok(ObjectConfig {
        label: Some(label),
        plural_label: text(meta, "pluralLabel"),
        fields,
        description: text(meta, "description"),
        deployment_status: one_of("deploymentStatus", &["Deployed", "InDevelopment"])?,
        sharing_model: one_of(
            "sharingModel",
            &[
                "Private",
                "Read",
                "ReadWrite",
                "ReadWriteTransfer",
                "FullAccess",
                "ControlledByParent",
            ],
        )?,
        name_field,
        validation_rules,
        enable_history: flag(meta, "enableHistory"),
        ..ObjectConfig::default()
    })
}
