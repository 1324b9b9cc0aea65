//! Avro schema JSON (as the org stores every schema it wrote) back to the schema model,
//! so that events written with an older schema still encode, and publishes decode, against
//! exactly the schema their id names. Only the shapes forcebus writes are accepted:
//! primitives, records, enums, arrays and unions, with named types referred to by name
//! after their definition.

use std::collections::HashMap;
use std::sync::Arc;

use forcebus_avro::{Field, RecordSchema, Schema};
use serde_json::Value;

/// Parses schema JSON; `None` for anything forcebus does not write.
pub fn parse(json: &Value) -> Option<Schema> {
    Parser::default().schema(json, None, 0)
}

#[derive(Default)]
struct Parser {
    named: HashMap<String, Schema>,
}

const MAX_DEPTH: usize = 32;

impl Parser {
    fn schema(&mut self, json: &Value, ns: Option<&str>, depth: usize) -> Option<Schema> {
        if depth > MAX_DEPTH {
            return None;
        }
        match json {
            Value::String(name) => self.named_or_primitive(name, ns),
            Value::Array(branches) => branches
                .iter()
                .map(|b| self.schema(b, ns, depth + 1))
                .collect::<Option<Vec<_>>>()
                .map(Schema::Union),
            Value::Object(o) => {
                match o.get("type")? {
                    Value::String(t) if t == "record" => self.record(json, ns, depth),
                    Value::String(t) if t == "enum" => {
                        let name = o.get("name")?.as_str()?.to_owned();
                        let symbols = o
                            .get("symbols")?
                            .as_array()?
                            .iter()
                            .map(|s| s.as_str().map(str::to_owned))
                            .collect::<Option<Vec<_>>>()?;
                        let doc = o.get("doc").and_then(Value::as_str).map(str::to_owned);
                        let s = Schema::Enum {
                            name: name.clone(),
                            symbols,
                            doc,
                        };
                        self.define(&name, ns, s.clone());
                        Some(s)
                    }
                    Value::String(t) if t == "array" => Some(Schema::Array(Box::new(
                        self.schema(o.get("items")?, ns, depth + 1)?,
                    ))),
                    other => self.schema(other, ns, depth + 1),
                }
            }
            _ => None,
        }
    }

    fn named_or_primitive(&self, name: &str, ns: Option<&str>) -> Option<Schema> {
        Some(match name {
            "null" => Schema::Null,
            "boolean" => Schema::Boolean,
            "int" => Schema::Int,
            "long" => Schema::Long,
            "double" => Schema::Double,
            "string" => Schema::String,
            other => {
                let full = ns.map(|n| format!("{n}.{other}"));
                return full
                    .and_then(|f| self.named.get(&f))
                    .or_else(|| self.named.get(other))
                    .cloned();
            }
        })
    }

    fn define(&mut self, name: &str, ns: Option<&str>, s: Schema) {
        if let Some(n) = ns {
            self.named.insert(format!("{n}.{name}"), s.clone());
        }
        self.named.insert(name.to_owned(), s);
    }

    fn record(&mut self, json: &Value, ns: Option<&str>, depth: usize) -> Option<Schema> {
        let name = json.get("name")?.as_str()?.to_owned();
        let namespace = json
            .get("namespace")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let inner_ns = namespace.clone().or(ns.map(str::to_owned));
        let mut fields = Vec::new();
        for f in json.get("fields")?.as_array()? {
            let schema = self.schema(f.get("type")?, inner_ns.as_deref(), depth + 1)?;
            fields.push(Field {
                name: f.get("name")?.as_str()?.to_owned(),
                schema,
                doc: f.get("doc").and_then(Value::as_str).map(str::to_owned),
                default_null: f.get("default").is_some_and(Value::is_null),
            });
        }
        let s = Schema::Record(Arc::new(RecordSchema {
            name: name.clone(),
            namespace,
            fields,
        }));
        self.define(&name, inner_ns.as_deref(), s.clone());
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use forcebus_org::{Schema as Objects, standard};
    use proptest::prelude::*;

    #[test]
    fn every_change_event_schema_round_trips() {
        let objects = Objects::new(standard::catalogue());
        for o in objects.objects() {
            let s = forcebus_avro::change::change_event_schema(o);
            let back = parse(&s.to_json()).unwrap_or_else(|| panic!("{}", o.name));
            assert_eq!(back, s, "{}", o.name);
            assert_eq!(
                forcebus_avro::schema_id(&back),
                forcebus_avro::schema_id(&s)
            );
        }
    }

    #[test]
    fn platform_event_schemas_round_trip() {
        let mut f =
            forcebus_org::FieldDef::new("Message__c", "Message", forcebus_org::FieldType::String);
        f.custom = true;
        let e = forcebus_org::ObjectDef::new("Order__e", "Order", "Orders", "e00", vec![f]);
        let s = forcebus_avro::platform::event_schema(&e);
        assert_eq!(parse(&s.to_json()), Some(s));
    }

    #[test]
    fn unknown_shapes_are_refused() {
        for j in [
            serde_json::json!("float"),
            serde_json::json!({"type": "fixed", "size": 4, "name": "F"}),
            serde_json::json!({"type": "record", "name": "R"}),
            serde_json::json!(["null", "Nope"]),
            serde_json::json!(3),
        ] {
            assert_eq!(parse(&j), None, "{j}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_json_never_panics(text in "[\\[\\]{}\":,a-z ]{0,80}") {
            if let Ok(j) = serde_json::from_str::<Value>(&text) {
                let _ = parse(&j);
            }
        }
    }
}
