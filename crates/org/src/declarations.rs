//! The Metadata API's declarations of custom fields and objects (`CustomField`,
//! `CustomObject`: `metadata-tooling.md` §11) as the Tooling API, the Metadata API and
//! sfdx projects write them, read into the config file's declarations ([`crate::custom`])
//! and written back. The Metadata is JSON here (the Tooling API's form: lower camel
//! case, values as JSON or as text, as the Metadata API's XML reads).

use serde_json::{Map, Value, json};

use forcebus_meta::{FieldDef, FieldType};

use crate::custom::{FieldConfig, ObjectConfig};
use crate::error::{Code, OrgError};

fn invalid(message: impl Into<String>) -> OrgError {
    OrgError::new(Code::InvalidInput, message)
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

fn number(meta: &Map<String, Value>, key: &str) -> Result<Option<u32>, OrgError> {
    text(meta, key)
        .map(|v| {
            v.trim_end_matches(".0")
                .parse::<u32>()
                .map_err(|_| invalid(format!("{key} must be a whole number; got {v}")))
        })
        .transpose()
}

/// The Metadata types forcebus creates, with the describe type each becomes.
const TYPES: [(&str, FieldType); 17] = [
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
];

/// A `CustomField`'s Metadata as a field declaration.
pub fn field_config(name: &str, meta: &Map<String, Value>) -> Result<FieldConfig, OrgError> {
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
    let mut length = number(meta, "length")?;
    match kind {
        "Text" if !length.is_some_and(|l| (1..=255).contains(&l)) => {
            return Err(invalid("A Text field's length must be between 1 and 255."));
        }
        "TextArea" => length = Some(255),
        "LongTextArea" if !length.is_some_and(|l| (256..=131_072).contains(&l)) => {
            return Err(invalid(
                "A LongTextArea field's length must be between 256 and 131072.",
            ));
        }
        "Email" => length = Some(80),
        "Phone" => length = Some(40),
        "Url" => length = Some(255),
        _ => {}
    }
    let (picklist, restricted, default_pick) = picklist_values(meta)?;
    let default = match (ftype, text(meta, "defaultValue")) {
        (FieldType::Boolean, Some(v)) => Some(Value::Bool(v.eq_ignore_ascii_case("true"))),
        (_, Some(v)) if v.starts_with('"') && v.ends_with('"') && v.len() >= 2 => {
            Some(Value::String(v[1..v.len() - 1].to_owned()))
        }
        (FieldType::Double | FieldType::Currency | FieldType::Percent, Some(v)) => {
            Some(Value::from(v.parse::<f64>().map_err(|_| {
                invalid(format!("defaultValue {v} is not a number"))
            })?))
        }
        (_, Some(v)) => {
            return Err(invalid(format!(
                "defaultValue {v} is not supported; give a quoted text, a number or true/false"
            )));
        }
        (_, None) => default_pick.map(Value::String),
    };
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
        default,
    })
}

/// Picklist values from `valueSet.valueSetDefinition.value[]` (`fullName` or
/// `valueName`), whether the set is restricted, and the default value.
fn picklist_values(
    meta: &Map<String, Value>,
) -> Result<(Vec<String>, bool, Option<String>), OrgError> {
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

/// A field as `CustomField` Metadata (the short name as `fullName`), whether the config
/// file, the API or the catalogue made it.
pub fn field_metadata(f: &FieldDef) -> Value {
    let kind = match f.ftype {
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
    );
    let text = matches!(kind, "Text" | "LongTextArea");
    let mut m = json!({
        "fullName": f.name,
        "label": f.label,
        "type": kind,
        "required": !f.nillable && f.ftype != FieldType::Boolean,
        "unique": f.unique,
        "externalId": f.external_id,
    });
    if text {
        m["length"] = json!(f.length);
    }
    if numeric {
        m["precision"] = json!(f.precision);
        m["scale"] = json!(f.scale);
    }
    if let Some(to) = f.reference_to.first() {
        m["referenceTo"] = json!(to);
        if let Some(r) = &f.child_relationship {
            m["relationshipName"] = json!(r.trim_end_matches("__r"));
        }
    }
    if let Some(d) = f.default_value.as_ref().filter(|_| f.picklist.is_empty()) {
        m["defaultValue"] = json!(match d {
            Value::String(s) => format!("\"{s}\""),
            other => other.to_string(),
        });
    }
    if !f.picklist.is_empty() {
        let chosen = f
            .default_value
            .as_ref()
            .and_then(Value::as_str)
            .or(f.default_picklist.as_deref());
        let values: Vec<Value> = f
            .picklist
            .iter()
            .map(|v| json!({"fullName": v, "label": v, "default": Some(v.as_str()) == chosen}))
            .collect();
        m["valueSet"] = json!({"restricted": f.restricted_picklist, "valueSetDefinition": {"sorted": false, "value": values}});
    }
    m
}

/// The `fields` nested in a `CustomObject`'s Metadata (one, or a list), each named by its
/// short `fullName`.
pub fn nested_fields(meta: &Map<String, Value>) -> Result<Vec<FieldConfig>, OrgError> {
    let list = match meta.get("fields") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
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
pub fn object_config(meta: &Map<String, Value>) -> Result<ObjectConfig, OrgError> {
    let label = text(meta, "label").ok_or_else(|| invalid("Metadata.label is required."))?;
    if label.chars().count() > 40 {
        return Err(invalid("An object's label is at most 40 characters."));
    }
    let fields = nested_fields(meta)?;
    let one_of = |key: &str, allowed: &[&str]| -> Result<Option<String>, OrgError> {
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
        ..ObjectConfig::default()
    })
}

/// A custom object's object-level Metadata (labels, description, settings, name field),
/// as `readMetadata` and a retrieve write it.
pub fn object_metadata(label: &str, plural: &str, c: Option<&ObjectConfig>) -> Value {
    let name = c.and_then(|c| c.name_field.as_ref());
    let mut name_field = json!({
        "label": name.and_then(|n| n.label.clone()).unwrap_or_else(|| format!("{label} Name")),
        "type": if name.is_some_and(crate::custom::NameFieldConfig::auto_number) { "AutoNumber" } else { "Text" },
    });
    if let Some(format) = name.and_then(|n| n.display_format.clone()) {
        name_field["displayFormat"] = json!(format);
    }
    let mut out = json!({
        "label": label,
        "pluralLabel": plural,
        "deploymentStatus": c.and_then(|c| c.deployment_status.clone()).unwrap_or_else(|| "Deployed".into()),
        "nameField": name_field,
        "sharingModel": c.and_then(|c| c.sharing_model.clone()).unwrap_or_else(|| "ReadWrite".into()),
    });
    if let Some(d) = c.and_then(|c| c.description.clone()) {
        out["description"] = json!(d);
    }
    out
}
