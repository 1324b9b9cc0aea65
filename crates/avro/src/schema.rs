//! Avro schemas as forcebus uses them, their JSON form, and schema ids.
//!
//! A schema id is the first 16 bytes of the SHA-256 of the schema's JSON text, in
//! URL-safe base64 without padding: 22 characters, stable across restarts, and new
//! whenever a field changes.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value as Json, json};
use sha2::{Digest, Sha256};

/// An Avro schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Schema {
    /// `null`
    Null,
    /// `boolean`
    Boolean,
    /// `int` (32-bit)
    Int,
    /// `long` (64-bit)
    Long,
    /// `double`
    Double,
    /// `string`
    String,
    /// `array` of items.
    Array(Box<Schema>),
    /// `enum` with its symbols.
    Enum {
        /// Type name.
        name: String,
        /// Symbols in order.
        symbols: Vec<String>,
        /// Documentation.
        doc: Option<String>,
    },
    /// A record.
    Record(Arc<RecordSchema>),
    /// A union of branches.
    Union(Vec<Schema>),
}

/// A record schema.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSchema {
    /// Type name.
    pub name: String,
    /// Namespace, if any.
    pub namespace: Option<String>,
    /// Fields in order.
    pub fields: Vec<Field>,
}

/// A record field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Name.
    pub name: String,
    /// Type.
    pub schema: Schema,
    /// Documentation (`Data:Text`, `CreatedDate:DateTime`, ...).
    pub doc: Option<String>,
    /// `"default": null` (for `["null", T]` unions).
    pub default_null: bool,
}

impl Field {
    /// A required field.
    pub fn new(name: &str, schema: Schema) -> Self {
        Self {
            name: name.to_owned(),
            schema,
            doc: None,
            default_null: false,
        }
    }

    /// A nullable field: `["null", T]` with `"default": null`.
    pub fn nullable(name: &str, schema: Schema) -> Self {
        Self {
            name: name.to_owned(),
            schema: Schema::Union(vec![Schema::Null, schema]),
            doc: None,
            default_null: true,
        }
    }

    /// Sets the documentation string.
    pub fn doc(mut self, doc: &str) -> Self {
        self.doc = Some(doc.to_owned());
        self
    }
}

impl Schema {
    /// The JSON form. Named types are defined on first use and referred to by name after.
    pub fn to_json(&self) -> Json {
        let mut defined = Vec::new();
        self.json(&mut defined)
    }

    fn json(&self, defined: &mut Vec<String>) -> Json {
        match self {
            Schema::Null => json!("null"),
            Schema::Boolean => json!("boolean"),
            Schema::Int => json!("int"),
            Schema::Long => json!("long"),
            Schema::Double => json!("double"),
            Schema::String => json!("string"),
            Schema::Array(items) => json!({"type": "array", "items": items.json(defined)}),
            Schema::Enum { name, symbols, doc } => {
                if defined.contains(name) {
                    return json!(name);
                }
                defined.push(name.clone());
                let mut m = Map::new();
                m.insert("type".into(), json!("enum"));
                m.insert("name".into(), json!(name));
                if let Some(d) = doc {
                    m.insert("doc".into(), json!(d));
                }
                m.insert("symbols".into(), json!(symbols));
                Json::Object(m)
            }
            Schema::Record(r) => {
                let full = match &r.namespace {
                    Some(ns) => format!("{ns}.{}", r.name),
                    None => r.name.clone(),
                };
                if defined.contains(&full) {
                    return json!(r.name);
                }
                defined.push(full);
                let fields: Vec<Json> = r
                    .fields
                    .iter()
                    .map(|f| {
                        let mut m = Map::new();
                        m.insert("name".into(), json!(f.name));
                        m.insert("type".into(), f.schema.json(defined));
                        if let Some(d) = &f.doc {
                            m.insert("doc".into(), json!(d));
                        }
                        if f.default_null {
                            m.insert("default".into(), Json::Null);
                        }
                        Json::Object(m)
                    })
                    .collect();
                let mut m = Map::new();
                m.insert("type".into(), json!("record"));
                m.insert("name".into(), json!(r.name));
                if let Some(ns) = &r.namespace {
                    m.insert("namespace".into(), json!(ns));
                }
                m.insert("fields".into(), Json::Array(fields));
                Json::Object(m)
            }
            Schema::Union(branches) => {
                Json::Array(branches.iter().map(|b| b.json(defined)).collect())
            }
        }
    }

    /// The record schema, when this is a record.
    pub fn as_record(&self) -> Option<&RecordSchema> {
        match self {
            Schema::Record(r) => Some(r),
            _ => None,
        }
    }
}

/// The schema id: 22 URL-safe base64 characters derived from the schema's JSON.
pub fn schema_id(schema: &Schema) -> String {
    let text = schema.to_json().to_string();
    URL_SAFE_NO_PAD.encode(&Sha256::digest(text.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> Schema {
        Schema::Record(Arc::new(RecordSchema {
            name: "Address".into(),
            namespace: None,
            fields: vec![Field::nullable("City", Schema::String)],
        }))
    }

    #[test]
    fn named_types_are_defined_once() {
        let top = Schema::Record(Arc::new(RecordSchema {
            name: "AccountChangeEvent".into(),
            namespace: Some("com.sforce.eventbus".into()),
            fields: vec![
                Field::nullable("BillingAddress", address()),
                Field::nullable("ShippingAddress", address()),
            ],
        }));
        let j = top.to_json();
        assert_eq!(j["fields"][0]["type"][1]["name"], "Address");
        assert_eq!(j["fields"][1]["type"], json!(["null", "Address"]));
        assert_eq!(j["fields"][1]["default"], Json::Null);
    }

    #[test]
    fn schema_ids_are_22_characters_and_follow_the_fields() {
        let a = Schema::Record(Arc::new(RecordSchema {
            name: "X".into(),
            namespace: None,
            fields: vec![Field::new("A", Schema::Long)],
        }));
        let b = Schema::Record(Arc::new(RecordSchema {
            name: "X".into(),
            namespace: None,
            fields: vec![
                Field::new("A", Schema::Long),
                Field::nullable("B", Schema::String),
            ],
        }));
        let id = schema_id(&a);
        assert_eq!(id.len(), 22);
        assert!(
            id.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(id, schema_id(&a.clone()));
        assert_ne!(id, schema_id(&b));
    }
}
