//! Avro schemas as forcebus uses them, read from their JSON form, and schema ids (the
//! JSON form written: [`crate::document`]).
//!
//! A schema id is the first 16 bytes of the SHA-256 of the schema's JSON text, in
//! URL-safe base64 without padding: 22 characters, stable across restarts, and new
//! whenever a field changes.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value as Json;
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
    /// The JSON form as a value ([`Schema::document`]).
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self.document()).expect("a schema document's keys are text")
    }

    /// The record schema, when this is a record.
    pub fn as_record(&self) -> Option<&RecordSchema> {
        match self {
            Schema::Record(r) => Some(r),
            _ => None,
        }
    }
}

/// Why a JSON schema cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported Avro schema: {0}")]
pub struct SchemaError(pub String);

impl Schema {
    /// Reads the JSON form [`Schema::to_json`] writes (records, enums, arrays, unions,
    /// primitives, and named references to types defined earlier in the same document).
    pub fn from_json(json: &Json) -> Result<Schema, SchemaError> {
        let mut named = Vec::new();
        Self::parse(json, &mut named, 0)
    }

    fn parse(
        j: &Json,
        named: &mut Vec<(String, Schema)>,
        depth: usize,
    ) -> Result<Schema, SchemaError> {
        if depth > 32 {
            return Err(SchemaError("nested too deeply".into()));
        }
        match j {
            Json::String(s) => Ok(match s.as_str() {
                "null" => Schema::Null,
                "boolean" => Schema::Boolean,
                "int" => Schema::Int,
                "long" => Schema::Long,
                "double" => Schema::Double,
                "string" => Schema::String,
                other => named
                    .iter()
                    .rev()
                    .find(|(n, _)| n == other || n.rsplit('.').next() == Some(other))
                    .map(|(_, s)| s.clone())
                    .ok_or_else(|| SchemaError(format!("unknown type {other}")))?,
            }),
            Json::Array(branches) => Ok(Schema::Union(
                branches
                    .iter()
                    .map(|b| Self::parse(b, named, depth + 1))
                    .collect::<Result<_, _>>()?,
            )),
            Json::Object(m) => match m.get("type") {
                Some(Json::String(t)) if t == "record" => Self::parse_record(m, named, depth),
                Some(Json::String(t)) if t == "enum" => Self::parse_enum(m, named),
                Some(Json::String(t)) if t == "array" => Ok(Schema::Array(Box::new(Self::parse(
                    m.get("items").ok_or_else(|| err("an array has no items"))?,
                    named,
                    depth + 1,
                )?))),
                Some(t @ Json::String(_)) => Self::parse(t, named, depth + 1),
                _ => Err(err("a type is missing")),
            },
            _ => Err(err("a schema is a string, an array or an object")),
        }
    }

    /// A record type; its full name (namespace included) joins the named types later
    /// references may use.
    fn parse_record(
        m: &serde_json::Map<String, Json>,
        named: &mut Vec<(String, Schema)>,
        depth: usize,
    ) -> Result<Schema, SchemaError> {
        let name = type_name(m)?;
        let namespace = m.get("namespace").and_then(Json::as_str).map(str::to_owned);
        let mut fields = Vec::new();
        for f in m
            .get("fields")
            .and_then(Json::as_array)
            .ok_or_else(|| err("a record has no fields"))?
        {
            let fname = f["name"]
                .as_str()
                .ok_or_else(|| err("a field has no name"))?;
            let schema = Self::parse(&f["type"], named, depth + 1)?;
            fields.push(Field {
                name: fname.to_owned(),
                schema,
                doc: f.get("doc").and_then(Json::as_str).map(str::to_owned),
                default_null: f.get("default").is_some_and(Json::is_null),
            });
        }
        let full = match &namespace {
            Some(ns) => format!("{ns}.{name}"),
            None => name.clone(),
        };
        let s = Schema::Record(Arc::new(RecordSchema {
            name,
            namespace,
            fields,
        }));
        named.push((full, s.clone()));
        Ok(s)
    }

    /// An enum type and its symbols.
    fn parse_enum(
        m: &serde_json::Map<String, Json>,
        named: &mut Vec<(String, Schema)>,
    ) -> Result<Schema, SchemaError> {
        let name = type_name(m)?;
        let symbols = m
            .get("symbols")
            .and_then(Json::as_array)
            .ok_or_else(|| err("an enum has no symbols"))?
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| err("an enum symbol is not a string"))
            })
            .collect::<Result<_, _>>()?;
        let s = Schema::Enum {
            name: name.clone(),
            symbols,
            doc: m.get("doc").and_then(Json::as_str).map(str::to_owned),
        };
        named.push((name, s.clone()));
        Ok(s)
    }
}

fn err(m: &str) -> SchemaError {
    SchemaError(m.to_owned())
}

/// The `name` of a named type.
fn type_name(m: &serde_json::Map<String, Json>) -> Result<String, SchemaError> {
    m.get("name")
        .and_then(Json::as_str)
        .map(str::to_owned)
        .ok_or_else(|| err("a named type has no name"))
}

/// The schema id: 22 URL-safe base64 characters derived from the schema's JSON.
pub fn schema_id(schema: &Schema) -> String {
    let text = schema.json_text();
    URL_SAFE_NO_PAD.encode(&Sha256::digest(text.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn json_reads_back_to_the_same_schema() {
        let top = Schema::Record(Arc::new(RecordSchema {
            name: "AccountChangeEvent".into(),
            namespace: Some("com.sforce.eventbus".into()),
            fields: vec![
                Field::new(
                    "Kind",
                    Schema::Enum {
                        name: "K".into(),
                        symbols: vec!["A".into(), "B".into()],
                        doc: Some("d".into()),
                    },
                ),
                Field::new("Names", Schema::Array(Box::new(Schema::String))),
                Field::nullable("BillingAddress", address()),
                Field::nullable("ShippingAddress", address()).doc("Data:Address"),
                Field::new("When", Schema::Long),
            ],
        }));
        let back = Schema::from_json(&top.to_json()).expect("reads");
        assert_eq!(back, top);
        assert_eq!(schema_id(&back), schema_id(&top));
        for bad in [
            json!(1),
            json!("nope"),
            json!({"type": "record"}),
            json!({"type": "array"}),
        ] {
            assert!(Schema::from_json(&bad).is_err(), "{bad}");
        }
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
