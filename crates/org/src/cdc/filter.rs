//! Custom channel filter expressions (`org-rest-cdc.md` §4.8): a SOQL-like condition over
//! the record's values after the change and `ChangeEventHeader.<scalar field>`, e.g.
//! `Industry = 'Agriculture' AND ChangeEventHeader.changeType = 'UPDATE'`.
//!
//! The expression is bound by the SOQL binder against the object plus a synthetic
//! `ChangeEventHeader` parent, and run by the SOQL evaluator over two records: the record
//! after the change, and the header.

use std::collections::HashMap;

use serde_json::Value;

use forcebus_meta::{FieldDef, FieldType, ObjectDef, RecordId, Schema};
use forcebus_soql::{Context, Record as SoqlRecord, Source};

use forcebus_events::change::Header;

const HEADER_OBJECT: &str = "ChangeEventHeader";
const HEADER_LINK: &str = "ChangeEventHeaderId__forcebus";

/// A schema holding the entity's object with a link to a header object.
fn filter_schema(schema: &Schema, entity: &str) -> Result<(Schema, String), String> {
    let object = schema
        .objects()
        .find(|o| forcebus_events::change::entity_name_of(o) == entity)
        .ok_or_else(|| format!("unknown change event {entity}"))?;
    let mut o = object.clone();
    let mut link = FieldDef::new(HEADER_LINK, "Header", FieldType::Reference);
    link.reference_to = vec![HEADER_OBJECT.to_owned()];
    link.relationship_name = Some(HEADER_OBJECT.to_owned());
    o.push_field(link);
    let mut fields = vec![FieldDef::new("Id", "Id", FieldType::Id)];
    for (name, t) in [
        ("entityName", FieldType::String),
        ("changeType", FieldType::String),
        ("changeOrigin", FieldType::String),
        ("transactionKey", FieldType::String),
        ("commitUser", FieldType::Reference),
        ("sequenceNumber", FieldType::Int),
        ("commitTimestamp", FieldType::Long),
        ("commitNumber", FieldType::Long),
    ] {
        let mut f = FieldDef::new(name, name, t);
        if t == FieldType::Reference {
            f.reference_to = vec!["User".to_owned()];
        }
        fields.push(f);
    }
    let header = ObjectDef::new(
        HEADER_OBJECT,
        "Change Event Header",
        "Change Event Headers",
        "0CE",
        fields,
    );
    let name = o.name.clone();
    Ok((Schema::new(vec![o, header]), name))
}

/// Checks that `expr` is a valid filter for `entity` (e.g. `AccountChangeEvent`).
pub fn compile(schema: &Schema, entity: &str, expr: &str) -> Result<(), String> {
    let (s, object) = filter_schema(schema, entity)?;
    let text = format!("SELECT Id FROM {object} WHERE {expr}");
    forcebus_soql::prepare(&text, &s, &forcebus_soql::Everything)
        .map(|_| ())
        .map_err(|e| e.message)
}

struct Row {
    id: RecordId,
    values: HashMap<String, Value>,
}

impl SoqlRecord for Row {
    fn id(&self) -> RecordId {
        self.id
    }
    fn is_deleted(&self) -> bool {
        false
    }
    fn value(&self, _: &ObjectDef, field: &FieldDef) -> Value {
        if field.name == "Id" {
            return Value::String(self.id.to18());
        }
        self.values.get(&field.name).cloned().unwrap_or(Value::Null)
    }
}

struct Pair {
    record: Row,
    header: Row,
}

impl Source for Pair {
    type Rec = Row;
    fn get(&self, id: RecordId) -> Option<&Row> {
        [&self.record, &self.header]
            .into_iter()
            .find(|r| r.id == id)
    }
    fn scan<'a>(&'a self, object: &str) -> Box<dyn Iterator<Item = &'a Row> + 'a> {
        Box::new(std::iter::once(if object == HEADER_OBJECT {
            &self.header
        } else {
            &self.record
        }))
    }
    fn lookup(&self, _: &str, _: &str, _: &str) -> Option<Vec<&Row>> {
        None
    }
}

/// Whether the record (its values after the change) and header pass `expr`.
pub(crate) fn matches(
    schema: &Schema,
    object: &ObjectDef,
    record: &crate::record::Record,
    header: &Header,
    expr: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    let entity = forcebus_events::change::entity_name_of(object);
    let Ok((s, name)) = filter_schema(schema, &entity) else {
        return false;
    };
    let Ok(plan) = forcebus_soql::prepare(
        &format!("SELECT Id FROM {name} WHERE {expr}"),
        &s,
        &forcebus_soql::Everything,
    ) else {
        return false;
    };
    let header_id = RecordId::mint("0CE", 1);
    let mut values: HashMap<String, Value> = object
        .fields
        .iter()
        .map(|f| (f.name.clone(), record.rest_value(object, &f.name)))
        .collect();
    values.insert(HEADER_LINK.to_owned(), Value::String(header_id.to18()));
    let h = serde_json::to_value(header).unwrap_or(Value::Null);
    let header_values: HashMap<String, Value> = h
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let source = Pair {
        record: Row {
            id: record.id,
            values,
        },
        header: Row {
            id: header_id,
            values: header_values,
        },
    };
    let ctx = Context {
        now,
        version: "59.0".to_owned(),
        all_rows: true,
        seen: Default::default(),
    };
    forcebus_soql::execute(&plan, &source, &ctx).total_size == 1
}

/// The record fields a filter expression names (`ChangeEventHeader.*` left out): custom
/// channels enrich their events with them, as if listed in `enrichedFields`.
pub(crate) fn referenced_fields(expr: &str) -> Vec<String> {
    use forcebus_soql::ast::{Cond, Operand};
    fn walk(c: &Cond, out: &mut Vec<String>) {
        match c {
            Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| walk(c, out)),
            Cond::Not(c) => walk(c, out),
            Cond::Cmp(o, ..) | Cond::In(o, ..) | Cond::Like(o, _) | Cond::Includes(o, ..) => {
                if let Operand::Path(p) | Operand::DateFn(_, p) | Operand::Agg(_, p) = o
                    && let [one] = p.parts.as_slice()
                    && !out.contains(&one.name)
                {
                    out.push(one.name.clone());
                }
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(q) = forcebus_soql::parse(&format!("SELECT Id FROM X WHERE {expr}"))
        && let Some(c) = &q.filter
    {
        walk(c, &mut out);
    }
    out
}
