//! A real org's schema mirrored offline from describe files (`forcebus serve --describes
//! DIR`, config `describes`): every `*.json` in the folder is an sObject describe, as
//! `sf sobject describe --sobject X --json > X.json` writes it (the describe under
//! `result`) or as `GET /sobjects/X/describe` answers it. Custom objects and custom fields
//! become the org's; standard fields are the catalogue's already.
//!
//! Formula fields (`calculatedFormula`) are the org's formula fields, computed on every
//! read; auto-number fields are numbered from 1 with no format (describe gives none).
//! What forcebus cannot serve is left out and logged, never guessed: computed fields with
//! no formula (roll-up summaries), compound, encrypted and other types without a
//! declaration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;

use forcebus_meta::FieldType;
use forcebus_org::custom::{FieldConfig, ObjectConfig};

/// Largest describe file read (Account's is about 150 KB).
const MAX_FILE_BYTES: u64 = 16 << 20;
/// Most describe files read.
const MAX_FILES: usize = 5_000;

/// The objects the describes in `dir` declare, in the config file's terms.
pub(crate) fn load(dir: &Path) -> anyhow::Result<BTreeMap<String, ObjectConfig>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the describes folder {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.len() > MAX_FILES {
        bail!(
            "{} holds more than {MAX_FILES} describe files",
            dir.display()
        );
    }
    let mut objects = BTreeMap::new();
    for file in files {
        let (name, config) = read(&file)?;
        if config.fields.is_empty()
            && config.record_types.is_empty()
            && config.picklists.is_empty()
            && !name.ends_with("__c")
        {
            continue;
        }
        objects.insert(name, config);
    }
    // A lookup to an object neither the catalogue nor the describes have cannot be made.
    let known: Vec<String> = forcebus_meta::standard::catalogue()
        .into_iter()
        .map(|o| o.name)
        .chain(objects.keys().cloned())
        .collect();
    for (name, config) in &mut objects {
        config.fields.retain(|f| {
            let ok = f
                .reference_to
                .as_ref()
                .is_none_or(|to| known.iter().any(|k| k.eq_ignore_ascii_case(to)));
            if !ok {
                tracing::warn!(object = %name, field = %f.name, "A lookup to an object no describe declares; left out.");
            }
            ok
        });
    }
    Ok(objects)
}

/// One describe file: its object's name and declaration.
fn read(file: &Path) -> anyhow::Result<(String, ObjectConfig)> {
    let size = std::fs::metadata(file)?.len();
    if size > MAX_FILE_BYTES {
        bail!("{} is larger than {MAX_FILE_BYTES} bytes", file.display());
    }
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    // `sf ... --json` wraps the describe in {"status": 0, "result": {...}}.
    let describe = if doc.get("fields").is_some() {
        &doc
    } else {
        &doc["result"]
    };
    let name = describe["name"]
        .as_str()
        .with_context(|| format!("{} is not an sObject describe (no name)", file.display()))?
        .to_owned();
    let fields = describe["fields"]
        .as_array()
        .with_context(|| format!("{} is not an sObject describe (no fields)", file.display()))?;
    let mut config = ObjectConfig {
        label: describe["label"]
            .as_str()
            .map(str::to_owned)
            .filter(|_| name.ends_with("__c")),
        plural_label: describe["labelPlural"]
            .as_str()
            .map(str::to_owned)
            .filter(|_| name.ends_with("__c")),
        fields: Vec::new(),
        record_types: record_types(describe),
        picklists: standard_picklists(fields),
        name_field: name_field(&name, fields),
        ..ObjectConfig::default()
    };
    for f in fields.iter().filter(|f| f["custom"] == true) {
        match field(f) {
            Ok(c) => config.fields.push(c),
            Err(why) => {
                tracing::warn!(file = %file.display(), field = %f["name"].as_str().unwrap_or("?"), "{why}; left out.")
            }
        }
    }
    Ok((name, config))
}

/// The values of a describe's standard picklist fields (a real org's may differ from a
/// Developer Edition org's), the active ones in order.
fn standard_picklists(fields: &[Value]) -> BTreeMap<String, forcebus_org::custom::PicklistConfig> {
    fields
        .iter()
        .filter(|f| {
            f["custom"] != true && matches!(f["type"].as_str(), Some("picklist" | "multipicklist"))
        })
        .filter_map(|f| {
            let listed = f["picklistValues"].as_array()?;
            let active = || listed.iter().filter(|v| v["active"] != false);
            let values: Vec<String> = active()
                .filter_map(|v| v["value"].as_str().map(str::to_owned))
                .collect();
            if values.is_empty() {
                return None;
            }
            let default = active()
                .find(|v| v["defaultValue"] == true)
                .and_then(|v| v["value"].as_str().map(str::to_owned));
            Some((
                f["name"].as_str()?.to_owned(),
                forcebus_org::custom::PicklistConfig { values, default },
            ))
        })
        .collect()
}

/// A describe's record types but Master, as declarations (the org makes them at start;
/// they get ids of its own).
fn record_types(describe: &Value) -> Vec<forcebus_org::custom::RecordTypeConfig> {
    describe["recordTypeInfos"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["master"] != true)
        .filter_map(|i| {
            Some(forcebus_org::custom::RecordTypeConfig {
                name: i["name"].as_str()?.to_owned(),
                developer_name: i["developerName"].as_str().map(str::to_owned),
                active: i["active"] != false,
                description: None,
            })
        })
        .collect()
}

/// A describe's custom field as a declaration, or why it cannot be one. What the describe
/// leaves out (or gives as `null`) is left to the declaration's defaults.
fn field(f: &Value) -> Result<FieldConfig, String> {
    let formula = f["calculatedFormula"]
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned);
    if f["calculated"] == true && formula.is_none() {
        return Err("a computed field with no formula".into());
    }
    let kind = f["type"].as_str().unwrap_or_default();
    let Some(ftype) = declarable(kind) else {
        return Err(format!("type {kind} cannot be declared"));
    };
    let name = f["name"]
        .as_str()
        .ok_or("cannot be declared: it has no name")?;
    let n = |k: &str| f[k].as_u64().filter(|v| *v > 0).map(|v| v as u32);
    let number = matches!(kind, "double" | "currency" | "percent");
    let scale = match f["scale"].as_u64() {
        Some(s) if number => Some(u32::try_from(s).map_err(|_| "cannot be declared: its scale")?),
        _ => None,
    };
    let values: Vec<&Value> = f["picklistValues"]
        .as_array()
        .map(|v| v.iter().filter(|p| p["active"] != false).collect())
        .unwrap_or_default();
    let default = default_of(f, kind, &values);
    Ok(FieldConfig {
        name: name.to_owned(),
        ftype,
        label: f["label"].as_str().map(str::to_owned),
        length: n("length")
            .filter(|_| matches!(kind, "string" | "textarea" | "email" | "phone" | "url"))
            .filter(|_| f["calculated"] != true && f["autoNumber"] != true),
        precision: match kind {
            "double" | "currency" | "percent" => n("precision"),
            "int" => n("digits"),
            _ => None,
        },
        scale,
        required: f["nillable"] == false
            && kind != "boolean"
            && f["createable"] != false
            && f["autoNumber"] != true,
        external_id: f["externalId"] == true,
        unique: f["unique"] == true,
        picklist: values
            .iter()
            .filter_map(|p| p["value"].as_str().map(str::to_owned))
            .collect(),
        restricted: f["restrictedPicklist"] != false,
        reference_to: f["referenceTo"]
            .as_array()
            .and_then(|r| r.first())
            .and_then(Value::as_str)
            .map(str::to_owned),
        master_detail: kind == "reference" && f["cascadeDelete"] == true,
        relationship_name: None,
        default: default.filter(|_| formula.is_none() && f["autoNumber"] != true),
        formula_treat_blanks_as: formula.as_ref().map(|_| {
            if f["formulaTreatNullNumberAsZero"] == true {
                "BlankAsZero".to_owned()
            } else {
                "BlankAsBlank".to_owned()
            }
        }),
        formula,
        // Describe gives no display format: the number alone, as the org gives it.
        display_format: (f["autoNumber"] == true).then(|| "{0}".to_owned()),
        starting_number: None,
        summary: None,
        // A describe's defaultValueFormula of a non-checkbox field is its default formula.
        default_formula: f["defaultValueFormula"]
            .as_str()
            .filter(|_| kind != "boolean" && f["calculated"] != true)
            .map(str::to_owned),
        track_history: false,
    })
}

/// A described field's default value: its picklist's default (among `values`, the
/// active ones), or a checkbox's `true`/`false`.
fn default_of(f: &Value, kind: &str, values: &[&Value]) -> Option<Value> {
    values
        .iter()
        .find(|p| p["defaultValue"] == true)
        .and_then(|p| p["value"].as_str())
        .map(Value::from)
        .or_else(|| {
            (kind == "boolean")
                .then(|| Value::Bool(f["defaultValueFormula"].as_str() == Some("true")))
        })
}

/// The type of a field a describe's `type` names, when forcebus can declare it.
fn declarable(kind: &str) -> Option<FieldType> {
    Some(match kind {
        "string" => FieldType::String,
        "textarea" => FieldType::Textarea,
        "boolean" => FieldType::Boolean,
        "int" => FieldType::Int,
        "double" => FieldType::Double,
        "currency" => FieldType::Currency,
        "percent" => FieldType::Percent,
        "date" => FieldType::Date,
        "datetime" => FieldType::Datetime,
        "time" => FieldType::Time,
        "email" => FieldType::Email,
        "phone" => FieldType::Phone,
        "url" => FieldType::Url,
        "picklist" => FieldType::Picklist,
        "multipicklist" => FieldType::Multipicklist,
        "reference" => FieldType::Reference,
        _ => return None,
    })
}

/// A custom object's `Name` as its describe shows it: its label, and whether the org
/// numbers it (describe gives no display format; the number alone is shown).
fn name_field(object: &str, fields: &[Value]) -> Option<forcebus_org::custom::NameFieldConfig> {
    if !object.ends_with("__c") {
        return None;
    }
    let name = fields.iter().find(|f| f["name"] == "Name")?;
    Some(forcebus_org::custom::NameFieldConfig {
        label: name["label"].as_str().map(str::to_owned),
        kind: (name["autoNumber"] == true).then(|| "AutoNumber".to_owned()),
        display_format: None,
    })
}
