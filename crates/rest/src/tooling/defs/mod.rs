//! The Tooling API's schema definitions as query results (`metadata-tooling.md` §14.2):
//! `EntityDefinition`, `FieldDefinition`, `CustomObject`, `CustomField` and
//! `ValidationRule` rows built from
//! the live schema at query time, so a schema change shows at once. Their queries follow
//! the rules of these objects: equality filters only (`!=`, `LIKE` and ranges answer
//! `Only equals comparisons permitted`), no `OR` (`Disjunctions not supported`), no
//! aggregates, `LIMIT`/`OFFSET` ignored, `ORDER BY` on their fields, and a
//! `FieldDefinition` query must name its entity (`EXTERNAL_OBJECT_UNSUPPORTED_EXCEPTION`).
//! `EntityDefinition` and `FieldDefinition` are objects of the data API too (Apex and the
//! REST `/query` read them; SFDMU lists an org's objects so); `CustomObject` and
//! `CustomField` are the Tooling API's alone. Their rows are [`rows`]'.

mod rows;

use std::cmp::Ordering;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use forcebus_org::Code;
use forcebus_soql::ast::{CmpOp, Cond, InList, Literal, Operand, OrderItem, SelectItem};

use crate::error::ApiError;
use crate::shapes::query::{QueryResult, ToolingQueryResult};
use crate::shapes::record::Attributes;
use crate::shapes::to_value;
use crate::shapes::tooling::TypeOnly;

/// The objects served here.
const OBJECTS: [&str; 5] = [
    "EntityDefinition",
    "FieldDefinition",
    "CustomObject",
    "CustomField",
    "ValidationRule",
];

/// Those of [`OBJECTS`] the data API serves as well.
const DATA_OBJECTS: [&str; 2] = ["EntityDefinition", "FieldDefinition"];

/// What these objects answer to a query form they do not support (`GROUP BY`, an
/// `ORDER BY` on anything but a field).
const UNSUPPORTED: &str = "The requested operation is not yet supported by this SObject storage type, contact salesforce.com support for more information.";

fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, Code::MalformedQuery, message)
}

/// A query of `FieldDefinition` names its entity (Salesforce refuses one that does not).
fn entity_named<T>(filters: &[(String, T)]) -> Result<(), ApiError> {
    let named = filters.iter().any(|(p, _)| {
        matches!(
            p.as_str(),
            "entitydefinition.qualifiedapiname"
                | "entitydefinitionid"
                | "durableid"
                | "entitydefinition.durableid"
        )
    });
    if named {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        Code::ExternalObjectUnsupported,
        "FieldDefinition: a filter on a reified column is required.",
    ))
}

/// The answer to a query of a schema object (through the Tooling API's `/query` when
/// `tooling`, else the data API's), or `None` for any other query.
pub(crate) fn query(
    app: &crate::AppState,
    base: &str,
    text: &str,
    tooling: bool,
) -> Result<Option<Value>, ApiError> {
    // Every data API query passes here: only one that may name these objects is parsed.
    if !tooling && !names_a_definition(text) {
        return Ok(None);
    }
    let Ok(q) = forcebus_soql::parser::parse(text) else {
        return Ok(None);
    };
    let served: &[&str] = if tooling { &OBJECTS } else { &DATA_OBJECTS };
    let Some(kind) = served.iter().find(|o| o.eq_ignore_ascii_case(&q.from.name)) else {
        return Ok(None);
    };
    if !q.group_by.is_empty() {
        return Err(malformed(UNSUPPORTED));
    }
    let paths = selected_paths(&q.select, kind)?;
    let mut filters = Vec::new();
    if let Some(c) = &q.filter {
        equalities(c, &mut filters)?;
    }
    if *kind == "FieldDefinition" {
        entity_named(&filters)?;
    }
    let order = sort_keys(&q.order_by)?;
    let runtime = app.org.runtime_schema();
    let mut rows: Vec<Value> = rows::rows(app, &runtime, kind)
        .into_iter()
        .filter(|r| {
            filters
                .iter()
                .all(|(p, allowed)| allowed.iter().any(|a| matches(get(r, p), a)))
        })
        .collect();
    rows.sort_by(|a, b| in_order(a, b, &order));
    let whole = paths.iter().any(|p| {
        p.len() == 1
            && (p[0].eq_ignore_ascii_case("Metadata") || p[0].eq_ignore_ascii_case("FullName"))
    });
    if *kind == "CustomField" && whole && rows.len() > 1 {
        return Err(malformed(format!(
            "When retrieving results with Metadata or FullName fields, the query qualifications must specify no more than one row for retrieval. Result size: {}",
            rows.len()
        )));
    }
    let url_base = if tooling {
        format!("{base}/tooling")
    } else {
        base.to_owned()
    };
    let records: Vec<Value> = rows
        .iter()
        .map(|r| project(r, &paths, kind, &url_base))
        .collect();
    Ok(Some(if tooling {
        to_value(&ToolingQueryResult {
            size: records.len(),
            total_size: records.len(),
            done: true,
            query_locator: (),
            entity_type_name: kind,
            records,
        })
    } else {
        to_value(&QueryResult {
            total_size: records.len(),
            done: true,
            next_records_url: None,
            records,
        })
    }))
}

/// Whether `text` holds the word ending both names the data API serves here, in any case
/// (without a lower-case copy of the query).
fn names_a_definition(text: &str) -> bool {
    const WORD: &[u8] = b"definition";
    text.as_bytes()
        .windows(WORD.len())
        .any(|w| w.eq_ignore_ascii_case(WORD))
}

/// The selected fields' paths; an aggregate or a subquery is refused.
fn selected_paths(select: &[SelectItem], kind: &str) -> Result<Vec<Vec<String>>, ApiError> {
    select
        .iter()
        .map(|item| match item {
            SelectItem::Field(p) => Ok(p.parts.iter().map(|i| i.name.clone()).collect()),
            _ => Err(malformed(format!(
                "Aggregates and subqueries are not supported on {kind}"
            ))),
        })
        .collect()
}

/// The filter's equalities, as (lower-case dotted path, allowed values).
fn equalities(c: &Cond, out: &mut Vec<(String, Vec<String>)>) -> Result<(), ApiError> {
    let path = |o: &Operand| match o {
        Operand::Path(p) => Ok(p
            .parts
            .iter()
            .map(|i| i.name.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(".")),
        _ => Err(malformed("Only equals comparisons permitted")),
    };
    let text = |l: &Literal| match l {
        Literal::Str(s) | Literal::Num(s) => Some(s.clone()),
        Literal::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match c {
        Cond::And(list) => list.iter().try_for_each(|c| equalities(c, out)),
        Cond::Or(_) => Err(malformed("Disjunctions not supported")),
        Cond::Cmp(o, CmpOp::Eq, l, _) => {
            out.push((path(o)?, text(l).into_iter().collect()));
            Ok(())
        }
        Cond::In(o, false, InList::Values(values)) => {
            out.push((path(o)?, values.iter().filter_map(text).collect()));
            Ok(())
        }
        Cond::Includes(..) => Err(malformed("Unsupported filter type")),
        _ => Err(malformed("Only equals comparisons permitted")),
    }
}

/// A row's value at a lower-case dotted path.
fn get<'a>(row: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(row, |v, part| {
        v.as_object()
            .and_then(|m| {
                m.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(part))
                    .map(|(_, v)| v)
            })
            .unwrap_or(&Value::Null)
    })
}

fn matches(v: &Value, wanted: &str) -> bool {
    match v {
        Value::String(s) => s.eq_ignore_ascii_case(wanted),
        Value::Null => false,
        other => other.to_string().eq_ignore_ascii_case(wanted),
    }
}

/// `ORDER BY`'s fields as (lower-case dotted path, descending, nulls first).
fn sort_keys(order_by: &[OrderItem]) -> Result<Vec<(String, bool, bool)>, ApiError> {
    order_by
        .iter()
        .map(|item| match &item.key {
            Operand::Path(p) => Ok((
                p.parts
                    .iter()
                    .map(|i| i.name.to_ascii_lowercase())
                    .collect::<Vec<_>>()
                    .join("."),
                item.desc,
                // SOQL's default, as the query engine sorts: nulls first either way.
                item.nulls_first.unwrap_or(true),
            )),
            _ => Err(malformed(UNSUPPORTED)),
        })
        .collect()
}

/// Two rows in `ORDER BY`'s order (text without regard to case, as SOQL sorts it).
fn in_order(a: &Value, b: &Value, keys: &[(String, bool, bool)]) -> Ordering {
    for (path, desc, nulls_first) in keys {
        let (x, y) = (get(a, path), get(b, path));
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) if *nulls_first => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if *nulls_first => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                let ord = match (x, y) {
                    (Value::String(x), Value::String(y)) => x
                        .to_lowercase()
                        .cmp(&y.to_lowercase())
                        .then_with(|| x.cmp(y)),
                    (Value::Number(x), Value::Number(y)) => x
                        .as_f64()
                        .partial_cmp(&y.as_f64())
                        .unwrap_or(Ordering::Equal),
                    (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
                    _ => x.to_string().cmp(&y.to_string()),
                };
                if *desc { ord.reverse() } else { ord }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// A row with the selected paths only, and `attributes` on each level (`base`: the API's
/// root, the Tooling API's or the data API's). A definition's url names its `DurableId`
/// (`…/sobjects/EntityDefinition/Account`), as Salesforce's does.
fn project(row: &Value, paths: &[Vec<String>], kind: &str, base: &str) -> Value {
    let key = if kind.ends_with("Definition") {
        "DurableId"
    } else {
        "Id"
    };
    let id = row[key].as_str().unwrap_or_default();
    let attributes = Attributes {
        kind,
        url: format!("{base}/sobjects/{kind}/{id}"),
    };
    let mut out = Value::Object(Map::from_iter([(
        "attributes".to_owned(),
        to_value(&attributes),
    )]));
    for p in paths {
        let mut src = row;
        let mut dst = &mut out;
        for (i, part) in p.iter().enumerate() {
            let key = src
                .as_object()
                .and_then(|m| m.keys().find(|k| k.eq_ignore_ascii_case(part)).cloned())
                .unwrap_or_else(|| part.clone());
            src = src.get(&key).unwrap_or(&Value::Null);
            if i + 1 == p.len() {
                dst[&key] = src.clone();
            } else {
                if !dst.get(&key).is_some_and(Value::is_object) {
                    let attributes = to_value(&TypeOnly { kind: &key });
                    dst[&key] =
                        Value::Object(Map::from_iter([("attributes".to_owned(), attributes)]));
                }
                dst = &mut dst[&key];
            }
        }
    }
    out
}
