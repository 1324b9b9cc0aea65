//! `GET /query?q=...&columns=true`: column metadata instead of rows (the sf CLI reads
//! `columnName`, `displayName`, `aggregate` and `joinColumns`).

use serde_json::{Value, json};

use forcebus_meta::{FieldDef, FieldType};

use crate::bind::{Column, Plan};

fn apex_type(f: &FieldDef) -> &'static str {
    match f.ftype {
        FieldType::Id | FieldType::Reference => "Id",
        FieldType::Boolean => "Boolean",
        FieldType::Int => "Integer",
        FieldType::Long => "Long",
        FieldType::Double | FieldType::Currency | FieldType::Percent => "Double",
        FieldType::Date => "Date",
        FieldType::Datetime => "Datetime",
        FieldType::Time => "Time",
        FieldType::Address => "Address",
        FieldType::Location => "Location",
        _ => "String",
    }
}

fn field_column(f: &FieldDef, join: Vec<Value>) -> Value {
    let number = matches!(
        f.ftype,
        FieldType::Int
            | FieldType::Long
            | FieldType::Double
            | FieldType::Currency
            | FieldType::Percent
    );
    json!({
        "aggregate": false,
        "apexType": apex_type(f),
        "booleanType": f.ftype == FieldType::Boolean,
        "columnName": f.name,
        "custom": f.custom,
        "displayName": f.name,
        "foreignKeyName": null,
        "insertable": f.createable,
        "joinColumns": join,
        "numberType": number,
        "textType": f.ftype.is_text() || f.ftype == FieldType::Textarea,
        "updatable": f.updateable,
    })
}

fn relationship_column(name: &str, join: Vec<Value>) -> Value {
    json!({
        "aggregate": false, "apexType": null, "booleanType": false, "columnName": name,
        "custom": false, "displayName": name, "foreignKeyName": null, "insertable": false,
        "joinColumns": join, "numberType": false, "textType": false, "updatable": false,
    })
}

fn columns(plan: &Plan<'_>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for col in &plan.columns {
        match col {
            Column::Field(f) if f.hops.is_empty() => out.push(field_column(f.field, Vec::new())),
            Column::Field(f) => {
                // Nest under the relationship columns, merging paths that share a parent.
                let mut list = &mut out;
                for hop in &f.hops {
                    let name = hop.field.relationship_name.clone().unwrap_or_default();
                    let i = match list.iter().position(|c| c["columnName"] == name.as_str()) {
                        Some(i) => i,
                        None => {
                            list.push(relationship_column(&name, Vec::new()));
                            list.len() - 1
                        }
                    };
                    list = list[i]["joinColumns"]
                        .as_array_mut()
                        .expect("relationship columns carry joinColumns");
                }
                list.push(field_column(f.field, Vec::new()));
            }
            Column::Child {
                name, plan: sub, ..
            } => {
                let mut c = relationship_column(name, columns(sub));
                c["aggregate"] = json!(true);
                out.push(c);
            }
            Column::Agg { name, label, .. } | Column::DateFn { name, label, .. } => out.push(json!({
                "aggregate": true, "apexType": null, "booleanType": false, "columnName": name,
                "custom": false, "displayName": label, "foreignKeyName": null, "insertable": false,
                "joinColumns": [], "numberType": false, "textType": false, "updatable": false,
            })),
            Column::CountAll => {}
        }
    }
    out
}

/// The `columns=true` response for a plan.
pub fn metadata(plan: &Plan<'_>) -> Value {
    let id_selected = plan
        .columns
        .iter()
        .any(|c| matches!(c, Column::Field(f) if f.hops.is_empty() && f.field.name == "Id"));
    json!({
        "columnMetadata": columns(plan),
        "entityName": if plan.aggregate { "AggregateResult".to_owned() } else { plan.object.name.clone() },
        "groupBy": !plan.group_by.is_empty(),
        "idSelected": id_selected,
        "keyPrefix": if plan.aggregate { Value::Null } else { json!(plan.object.key_prefix) },
    })
}
