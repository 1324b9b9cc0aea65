//! Records as the org holds them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::fields::{FieldRef, Fields};
use crate::id::RecordId;
use crate::meta::{FieldDef, FieldType, ObjectDef};
use crate::object_name::ObjectName;

/// One record: field values in stored form (the org's `value` module makes them from a
/// client's) plus Recycle Bin data.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The record's id.
    pub id: RecordId,
    /// Canonical object name.
    pub object: ObjectName,
    /// Field values by canonical name; absent means null.
    pub fields: Fields,
    /// In the Recycle Bin.
    pub is_deleted: bool,
    /// When and with which record it went to the Recycle Bin (boxed: most records never
    /// go, and every record of the org is kept in memory).
    pub deleted: Option<Box<Deletion>>,
}

/// How a record went to the Recycle Bin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// When (REST datetime form).
    pub at: Option<String>,
    /// The record whose deletion cascaded to this one (itself when deleted directly).
    pub with: Option<RecordId>,
}

impl Deletion {
    /// The deletion of `at` and `with`, if either is known.
    pub fn of(at: Option<String>, with: Option<RecordId>) -> Option<Box<Self>> {
        (at.is_some() || with.is_some()).then(|| Box::new(Self { at, with }))
    }
}

/// The stored JSON body of a record, as read.
#[derive(Debug, Deserialize)]
pub struct Body {
    /// The field values.
    pub fields: Fields,
    /// When it went to the Recycle Bin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// The record whose deletion cascaded to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_with: Option<String>,
}

/// [`Body`], as written from a record.
#[derive(Serialize)]
struct BodyOf<'a> {
    fields: &'a Fields,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted_with: Option<String>,
}

impl Record {
    /// When it went to the Recycle Bin (REST datetime form).
    pub fn deleted_at(&self) -> Option<&str> {
        self.deleted.as_ref()?.at.as_deref()
    }

    /// The record whose deletion cascaded to this one (itself when deleted directly).
    pub fn deleted_with(&self) -> Option<RecordId> {
        self.deleted.as_ref()?.with
    }

    /// A field's value; `Null` when unset.
    pub fn get(&self, field: &str) -> FieldRef<'_> {
        self.fields.get(field).unwrap_or(FieldRef::Null)
    }

    /// A field's value as text, if it is a string.
    pub fn get_str(&self, field: &str) -> Option<&str> {
        self.get(field).as_str()
    }

    /// The value a REST read shows for `field`: stored values as they are, compound
    /// fields assembled from their parts (an address with every part null is null).
    pub fn rest_value(&self, object: &ObjectDef, field: &str) -> Value {
        let Some(def) = object.field(field) else {
            return Value::Null;
        };
        match def.ftype {
            FieldType::Address => {
                let prefix = def.name.strip_suffix("Address").unwrap_or("");
                let mut out = Map::new();
                let mut any = false;
                for part in object.compound_parts(&def.name) {
                    let key = lower_camel(part.name.strip_prefix(prefix).unwrap_or(&part.name));
                    let v = self.get(&part.name).to_value();
                    any |= !v.is_null();
                    out.insert(key, v);
                }
                if any { Value::Object(out) } else { Value::Null }
            }
            FieldType::Id => Value::String(self.id.to18()),
            FieldType::Boolean if def.name == "IsDeleted" => Value::Bool(self.is_deleted),
            _ => self.get(&def.name).to_value(),
        }
    }

    /// The stored JSON body ([`Body`]).
    pub fn body(&self) -> String {
        serde_json::to_string(&self.stored()).expect("a JSON map always serialises")
    }

    /// [`Record::body`], written in `scratch` first (cleared, its room kept for the next
    /// record of the commit) and copied out: allocated once at its size, where
    /// `serde_json::to_string` grows its buffer from 128 bytes by doubling, copying at
    /// each step.
    pub fn body_with(&self, scratch: &mut Vec<u8>) -> String {
        scratch.clear();
        serde_json::to_writer(&mut *scratch, &self.stored()).expect("a JSON map always serialises");
        String::from_utf8(scratch.clone()).expect("serde_json writes UTF-8")
    }

    /// What the store keeps of the record.
    fn stored(&self) -> BodyOf<'_> {
        BodyOf {
            fields: &self.fields,
            deleted_at: self.deleted_at(),
            deleted_with: self.deleted_with().map(|id| id.to18()),
        }
    }
}

/// A record is a SOQL row: its values as a REST read shows them.
impl forcebus_soql::Record for Record {
    fn id(&self) -> RecordId {
        self.id
    }

    fn is_deleted(&self) -> bool {
        self.is_deleted
    }

    fn value(&self, object: &ObjectDef, field: &FieldDef) -> Value {
        self.rest_value(object, &field.name)
    }

    fn object_name(&self) -> Option<&str> {
        Some(&self.object)
    }
}

/// `PostalCode` → `postalCode`, `GeocodeAccuracy` → `geocodeAccuracy`.
fn lower_camel(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + c.as_str(),
        None => String::new(),
    }
}
