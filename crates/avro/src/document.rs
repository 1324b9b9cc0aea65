//! A schema's JSON form as a typed document, the text the schema endpoints serve and the
//! schema id is taken from. Named types (records, enums) are written out where first used
//! and referred to by name after, as Avro's parsers require.

use serde::Serialize;

use crate::schema::{RecordSchema, Schema};

/// One schema in the document.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Document<'a> {
    /// A primitive type (`"long"`), or a named type written out earlier, by name.
    Name(&'a str),
    /// `{"type": "array", "items": …}`.
    Array(ArrayDocument<'a>),
    /// An enum's definition.
    Enum(EnumDocument<'a>),
    /// A record's definition.
    Record(RecordDocument<'a>),
    /// A union: its branches in order.
    Union(Vec<Document<'a>>),
}

/// An array type.
#[derive(Debug, Serialize)]
pub struct ArrayDocument<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    items: Box<Document<'a>>,
}

/// An enum type's definition.
#[derive(Debug, Serialize)]
pub struct EnumDocument<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    doc: Option<&'a str>,
    symbols: &'a [String],
}

/// A record type's definition.
#[derive(Debug, Serialize)]
pub struct RecordDocument<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    fields: Vec<FieldDocument<'a>>,
}

/// A record's field.
#[derive(Debug, Serialize)]
pub struct FieldDocument<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    schema: Document<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    doc: Option<&'a str>,
    /// `Some`: `"default": null` (a nullable field).
    #[serde(skip_serializing_if = "Option::is_none")]
    default: Option<()>,
}

impl Schema {
    /// The JSON form as a document.
    pub fn document(&self) -> Document<'_> {
        self.document_with(&mut Vec::new())
    }

    /// The JSON form as text: the schema endpoints' answer, and what the schema id is
    /// taken from.
    pub fn json_text(&self) -> String {
        serde_json::to_string(&self.document()).expect("a schema document's keys are text")
    }

    /// The document, `defined` holding the full names of the named types written so far.
    fn document_with<'a>(&'a self, defined: &mut Vec<String>) -> Document<'a> {
        match self {
            Schema::Null => Document::Name("null"),
            Schema::Boolean => Document::Name("boolean"),
            Schema::Int => Document::Name("int"),
            Schema::Long => Document::Name("long"),
            Schema::Double => Document::Name("double"),
            Schema::String => Document::Name("string"),
            Schema::Array(items) => Document::Array(ArrayDocument {
                kind: "array",
                items: Box::new(items.document_with(defined)),
            }),
            Schema::Enum { name, symbols, doc } => {
                if defined.contains(name) {
                    return Document::Name(name);
                }
                defined.push(name.clone());
                Document::Enum(EnumDocument {
                    kind: "enum",
                    name,
                    doc: doc.as_deref(),
                    symbols,
                })
            }
            Schema::Record(r) => record(r, defined),
            Schema::Union(branches) => {
                Document::Union(branches.iter().map(|b| b.document_with(defined)).collect())
            }
        }
    }
}

/// A record's definition, or its name when it was written out already.
fn record<'a>(r: &'a RecordSchema, defined: &mut Vec<String>) -> Document<'a> {
    let full = match &r.namespace {
        Some(ns) => format!("{ns}.{}", r.name),
        None => r.name.clone(),
    };
    if defined.contains(&full) {
        return Document::Name(&r.name);
    }
    defined.push(full);
    let fields = r
        .fields
        .iter()
        .map(|f| FieldDocument {
            name: &f.name,
            schema: f.schema.document_with(defined),
            doc: f.doc.as_deref(),
            default: f.default_null.then_some(()),
        })
        .collect();
    Document::Record(RecordDocument {
        kind: "record",
        name: &r.name,
        namespace: r.namespace.as_deref(),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::schema::{Field, RecordSchema, Schema};

    #[test]
    fn the_text_defines_named_types_once_in_key_order() {
        let kind = Schema::Enum {
            name: "K".into(),
            symbols: vec!["A".into(), "B".into()],
            doc: Some("d".into()),
        };
        let address = Schema::Record(Arc::new(RecordSchema {
            name: "Address".into(),
            namespace: None,
            fields: vec![Field::nullable("City", Schema::String)],
        }));
        let top = Schema::Record(Arc::new(RecordSchema {
            name: "E".into(),
            namespace: Some("com.sforce.eventbus".into()),
            fields: vec![
                Field::new("Kind", kind.clone()),
                Field::new("Again", kind),
                Field::new("Names", Schema::Array(Box::new(Schema::Long))),
                Field::nullable("Billing", address.clone()).doc("Data:Address"),
                Field::nullable("Shipping", address),
            ],
        }));
        assert_eq!(
            top.json_text(),
            concat!(
                r#"{"type":"record","name":"E","namespace":"com.sforce.eventbus","fields":["#,
                r#"{"name":"Kind","type":{"type":"enum","name":"K","doc":"d","symbols":["A","B"]}},"#,
                r#"{"name":"Again","type":"K"},"#,
                r#"{"name":"Names","type":{"type":"array","items":"long"}},"#,
                r#"{"name":"Billing","type":["null",{"type":"record","name":"Address","fields":[{"name":"City","type":["null","string"],"default":null}]}],"doc":"Data:Address","default":null},"#,
                r#"{"name":"Shipping","type":["null","Address"],"default":null}]}"#
            )
        );
        assert_eq!(top.to_json().to_string(), top.json_text());
    }
}
