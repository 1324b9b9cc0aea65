//! A record as the REST API shows it: `attributes` (its type and URL) first, then the
//! requested fields (all when none are named) in describe order, each as
//! [`forcebus_org::Record::rest_value`] gives it.

use serde::Serialize;
use serde_json::{Map, Value};

use forcebus_org::{ObjectDef, Record};

/// A record's `attributes`.
#[derive(Debug, Serialize)]
pub(crate) struct Attributes<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'a str,
    pub(crate) url: String,
}

impl<'a> Attributes<'a> {
    /// The attributes of record `id` of `object`, its URL under API `version`.
    pub(crate) fn of(object: &'a str, id: &str, version: &str) -> Self {
        Self {
            kind: object,
            url: format!("/services/data/v{version}/sobjects/{object}/{id}"),
        }
    }
}

/// `r` as a REST read shows it.
pub(crate) fn json(
    r: &Record,
    object: &ObjectDef,
    version: &str,
    fields: Option<&[String]>,
) -> Value {
    let mut out = Map::new();
    let attributes = Attributes::of(&object.name, &r.id.to18(), version);
    out.insert(
        "attributes".into(),
        serde_json::to_value(attributes).unwrap_or(Value::Null),
    );
    // A blob field reads as the URL of its bytes, as Salesforce answers it.
    let value = |def: &forcebus_meta::FieldDef| match r.rest_value(object, &def.name) {
        Value::String(_) if def.ftype == forcebus_meta::FieldType::Base64 => {
            Value::String(format!(
                "/services/data/v{version}/sobjects/{}/{}/{}",
                object.name,
                r.id.to18(),
                def.name
            ))
        }
        other => other,
    };
    match fields {
        None => {
            let major = forcebus_meta::major_version(version);
            for f in object.fields.iter().filter(|f| f.exists_at(major)) {
                out.insert(f.name.clone(), value(f));
            }
        }
        Some(names) => {
            for name in names {
                if let Some(def) = object.field(name) {
                    out.insert(def.name.clone(), value(def));
                }
            }
            // Salesforce appends the Id to field-limited reads.
            out.entry("Id")
                .or_insert_with(|| Value::String(r.id.to18()));
        }
    }
    Value::Object(out)
}
