//! Metadata XML as JSON and back, the way the Tooling API's `Metadata` field holds it: the
//! Metadata API's SOAP calls and an sfdx project's metadata files are read into the JSON
//! the Tooling API takes, so every front door shares one mapping. Also a JSON object's
//! fields written as elements in their own order ([`write_fields`]), for documents that
//! are a JSON answer's XML twin.

use serde_json::{Map, Value};

use crate::write::Writer;
use crate::{Element, escape};

/// An element's children as JSON, the way the Tooling API's `Metadata` looks: a leaf is
/// its text, a repeated name an array, `xsi:nil` null.
pub fn to_json(e: &Element) -> Map<String, Value> {
    let mut out = Map::new();
    for c in &e.children {
        let v = if c.nil {
            Value::Null
        } else if c.children.is_empty() {
            Value::String(c.text.trim().to_owned())
        } else {
            Value::Object(to_json(c))
        };
        match out.get_mut(&c.name) {
            Some(Value::Array(list)) => list.push(v),
            Some(first) => {
                let first = first.take();
                out.insert(c.name.clone(), Value::Array(vec![first, v]));
            }
            None => {
                out.insert(c.name.clone(), v);
            }
        }
    }
    out
}

/// Writes a JSON value's fields as child elements in the WSDL's order: `fullName` (the
/// `Metadata` base type's element) first, then the others by name; nulls are left out,
/// arrays repeat their element.
pub fn write_children(out: &mut String, v: &Value) {
    let Some(map) = v.as_object() else {
        return;
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| (k.as_str() != "fullName", k.as_str()));
    for k in keys {
        let items: Vec<&Value> = match &map[k] {
            Value::Array(list) => list.iter().collect(),
            other => vec![other],
        };
        for item in items {
            match item {
                Value::Null => {}
                Value::Object(_) => {
                    out.push_str(&format!("<{k}>"));
                    write_children(out, item);
                    out.push_str(&format!("</{k}>"));
                }
                Value::String(s) => out.push_str(&format!("<{k}>{}</{k}>", escape(s))),
                other => out.push_str(&format!("<{k}>{other}</{k}>")),
            }
        }
    }
}

/// Writes a JSON object's fields as elements in their order: `null` as `xsi:nil`, an
/// object nested, text escaped, any other value as its JSON text (a number, a flag).
pub fn write_fields(w: &mut Writer, fields: &Map<String, Value>) {
    for (k, v) in fields {
        match v {
            Value::Null => {
                w.nil(k);
            }
            Value::Object(inner) => {
                w.open(k);
                write_fields(w, inner);
                w.close();
            }
            Value::String(s) => {
                w.text(k, s);
            }
            other => {
                w.value(k, other);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_written_in_their_order_nulls_nil() {
        let v: Value = serde_json::from_str(
            r#"{"b": "x & y", "a": null, "c": {"n": 1, "t": true}, "d": 2.5}"#,
        )
        .unwrap();
        let mut w = Writer::new();
        write_fields(&mut w, v.as_object().unwrap());
        assert_eq!(
            w.finish(),
            r#"<b>x &amp; y</b><a xsi:nil="true"/><c><n>1</n><t>true</t></c><d>2.5</d>"#
        );
    }
}
