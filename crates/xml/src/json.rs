//! Metadata XML as JSON and back, the way the Tooling API's `Metadata` field holds it: the
//! Metadata API's SOAP calls and an sfdx project's metadata files are read into the JSON
//! the Tooling API takes, so every front door shares one mapping.

use serde_json::{Map, Value};

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

/// Writes a JSON value's fields as child elements, in name order (the WSDL's order is
/// alphabetical); nulls are left out, arrays repeat their element.
pub fn write_children(out: &mut String, v: &Value) {
    let Some(map) = v.as_object() else {
        return;
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
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
