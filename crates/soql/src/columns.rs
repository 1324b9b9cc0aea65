//! `GET /query?q=...&columns=true`: column metadata instead of rows (the sf CLI reads
//! `columnName`, `displayName`, `aggregate` and `joinColumns`).

use serde::Serialize;
use serde_json::Value;

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

/// One column's metadata; a relationship's columns nest in its `joinColumns`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ColumnMetadata<'a> {
    aggregate: bool,
    /// The Apex type of a field's column; `null` for the others.
    apex_type: Option<&'static str>,
    boolean_type: bool,
    column_name: &'a str,
    custom: bool,
    display_name: &'a str,
    /// Always `null`.
    foreign_key_name: Option<&'a str>,
    insertable: bool,
    join_columns: Vec<ColumnMetadata<'a>>,
    number_type: bool,
    text_type: bool,
    updatable: bool,
}

/// The `columns=true` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Columns<'a> {
    column_metadata: Vec<ColumnMetadata<'a>>,
    entity_name: &'a str,
    group_by: bool,
    id_selected: bool,
    /// The object's key prefix; `null` for an aggregate query.
    key_prefix: Option<&'a str>,
}

fn field_column(f: &FieldDef) -> ColumnMetadata<'_> {
    let number = matches!(
        f.ftype,
        FieldType::Int
            | FieldType::Long
            | FieldType::Double
            | FieldType::Currency
            | FieldType::Percent
    );
    ColumnMetadata {
        aggregate: false,
        apex_type: Some(apex_type(f)),
        boolean_type: f.ftype == FieldType::Boolean,
        column_name: &f.name,
        custom: f.custom,
        display_name: &f.name,
        foreign_key_name: None,
        insertable: f.createable,
        join_columns: Vec::new(),
        number_type: number,
        text_type: f.ftype.is_text() || f.ftype == FieldType::Textarea,
        updatable: f.updateable,
    }
}

/// A column that is no field: a relationship (`aggregate` for a child one, whose
/// `join` are its subquery's columns), an aggregate or a date function (named `name`,
/// shown as `display`).
fn other_column<'a>(
    name: &'a str,
    display: &'a str,
    aggregate: bool,
    join: Vec<ColumnMetadata<'a>>,
) -> ColumnMetadata<'a> {
    ColumnMetadata {
        aggregate,
        apex_type: None,
        boolean_type: false,
        column_name: name,
        custom: false,
        display_name: display,
        foreign_key_name: None,
        insertable: false,
        join_columns: join,
        number_type: false,
        text_type: false,
        updatable: false,
    }
}

fn columns<'a>(plan: &'a Plan<'_>) -> Vec<ColumnMetadata<'a>> {
    let mut out: Vec<ColumnMetadata<'a>> = Vec::new();
    for col in &plan.columns {
        match col {
            Column::Field(f) if f.hops.is_empty() => out.push(field_column(f.field)),
            Column::Field(f) => {
                // Nest under the relationship columns, merging paths that share a parent.
                let mut list = &mut out;
                for hop in &f.hops {
                    let name = hop.field.relationship_name.as_deref().unwrap_or_default();
                    let i = match list.iter().position(|c| c.column_name == name) {
                        Some(i) => i,
                        None => {
                            list.push(other_column(name, name, false, Vec::new()));
                            list.len() - 1
                        }
                    };
                    list = &mut list[i].join_columns;
                }
                list.push(field_column(f.field));
            }
            Column::Child {
                name, plan: sub, ..
            } => out.push(other_column(name, name, true, columns(sub))),
            Column::Agg { name, label, .. } | Column::DateFn { name, label, .. } => {
                out.push(other_column(name, label, true, Vec::new()));
            }
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
    let answer = Columns {
        column_metadata: columns(plan),
        entity_name: if plan.aggregate {
            "AggregateResult"
        } else {
            &plan.object.name
        },
        group_by: !plan.group_by.is_empty(),
        id_selected,
        key_prefix: (!plan.aggregate).then_some(plan.object.key_prefix.as_str()),
    };
    serde_json::to_value(answer).expect("column metadata's keys are text")
}
