//! The Tooling API's schema definitions as query results (`metadata-tooling.md` §14.2):
//! `EntityDefinition`, `FieldDefinition`, `CustomObject` and `CustomField` rows built from
//! the live schema at query time, so a schema change shows at once. Their queries follow
//! the rules of these objects: equality filters only (`!=`, `LIKE` and ranges answer
//! `Only equals comparisons permitted`), no `OR` (`Disjunctions not supported`), no
//! aggregates, `LIMIT`/`OFFSET` ignored, `ORDER BY` on their fields, and a
//! `FieldDefinition` query must name its entity (`EXTERNAL_OBJECT_UNSUPPORTED_EXCEPTION`).
//! `EntityDefinition` and `FieldDefinition` are objects of the data API too (Apex and the
//! REST `/query` read them; SFDMU lists an org's objects so); `CustomObject` and
//! `CustomField` are the Tooling API's alone.

use std::cmp::Ordering;

use axum::http::StatusCode;
use serde_json::{Value, json};

use forcebus_meta::{FieldDef, FieldType, ObjectDef};
use forcebus_org::Code;
use forcebus_org::declarations::field_metadata;
use forcebus_org::runtime_schema::RuntimeSchema;
use forcebus_soql::ast::{CmpOp, Cond, InList, Literal, Operand, OrderItem, SelectItem};

use crate::error::ApiError;
use crate::tooling::schema::to18;

/// The objects served here.
const OBJECTS: [&str; 4] = [
    "EntityDefinition",
    "FieldDefinition",
    "CustomObject",
    "CustomField",
];

/// Those of [`OBJECTS`] the data API serves as well.
const DATA_OBJECTS: [&str; 2] = ["EntityDefinition", "FieldDefinition"];

/// What these objects answer to a query form they do not support (`GROUP BY`, an
/// `ORDER BY` on anything but a field).
const UNSUPPORTED: &str = "The requested operation is not yet supported by this SObject storage type, contact salesforce.com support for more information.";

fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, Code::MalformedQuery, message)
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
    let entity_named = filters.iter().any(|(p, _)| {
        matches!(
            p.as_str(),
            "entitydefinition.qualifiedapiname"
                | "entitydefinitionid"
                | "durableid"
                | "entitydefinition.durableid"
        )
    });
    if *kind == "FieldDefinition" && !entity_named {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::ExternalObjectUnsupported,
            "FieldDefinition: a filter on a reified column is required.",
        ));
    }
    let order = sort_keys(&q.order_by)?;
    let runtime = app.org.runtime_schema();
    let mut rows: Vec<Value> = rows(app, &runtime, kind)
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
        json!({
            "size": records.len(),
            "totalSize": records.len(),
            "done": true,
            "queryLocator": null,
            "entityTypeName": kind,
            "records": records,
        })
    } else {
        json!({"totalSize": records.len(), "done": true, "records": records})
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
    let mut out =
        json!({"attributes": {"type": kind, "url": format!("{base}/sobjects/{kind}/{id}")}});
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
                    dst[&key] = json!({"attributes": {"type": key}});
                }
                dst = &mut dst[&key];
            }
        }
    }
    out
}

/// Every row of `kind`.
fn rows(app: &crate::AppState, runtime: &RuntimeSchema, kind: &str) -> Vec<Value> {
    let schema = app.org.schema();
    let objects: Vec<&ObjectDef> = schema.objects().filter(|o| !o.tooling).collect();
    let durable = |o: &ObjectDef| {
        runtime
            .objects
            .get(&o.name)
            .map_or_else(|| o.name.clone(), |r| to18(&r.id))
    };
    match kind {
        "EntityDefinition" => objects.iter().map(|o| entity(o, &durable(o))).collect(),
        "CustomObject" => objects
            .iter()
            .filter(|o| o.custom)
            .map(|o| {
                let id = runtime.objects.get(&o.name).map(|r| to18(&r.id)).unwrap_or_default();
                json!({"Id": id, "DeveloperName": o.name.trim_end_matches("__c"), "NamespacePrefix": null,
                       "ExternalName": null, "SharingModel": "ReadWrite", "ExternalSharingModel": "Private",
                       "ManageableState": "unmanaged", "FullName": o.name, "Description": null,
                       "Metadata": {"label": o.label, "pluralLabel": o.label_plural}})
            })
            .collect(),
        _ => {
            let mut out = Vec::new();
            for o in &objects {
                let entity_row = entity(o, &durable(o));
                for f in o.fields.iter().filter(|f| kind == "FieldDefinition" || f.custom) {
                    let id = runtime.field(&o.name, &f.name).map(|r| to18(&r.id)).unwrap_or_default();
                    out.push(if kind == "FieldDefinition" {
                        field_definition(f, &durable(o), &id, &entity_row)
                    } else {
                        json!({"Id": id, "DeveloperName": f.name.trim_end_matches("__c"),
                               "TableEnumOrId": durable(o), "EntityDefinitionId": durable(o), "NamespacePrefix": null,
                               "ManageableState": "unmanaged", "FullName": format!("{}.{}", o.name, f.name),
                               "Length": (f.length > 0).then_some(f.length), "Description": null, "InlineHelpText": null,
                               "Metadata": field_metadata(f)})
                    });
                }
            }
            out
        }
    }
}

fn entity(o: &ObjectDef, durable: &str) -> Value {
    json!({
        "Id": "000000000000000AAA", "DurableId": durable, "QualifiedApiName": o.name,
        "DeveloperName": o.name.trim_end_matches("__c"), "NamespacePrefix": null,
        "Label": o.label, "PluralLabel": o.label_plural, "MasterLabel": o.label, "KeyPrefix": o.key_prefix,
        "IsCustomizable": true, "IsQueryable": true, "IsCustomSetting": false, "IsApexTriggerable": true,
        "IsDeprecatedAndHidden": false, "IsFeedEnabled": false, "InternalSharingModel": "ReadWrite",
        "ExternalSharingModel": "Private", "DeploymentStatus": o.custom.then_some("Deployed"),
        "PublisherId": if o.custom { "<local>" } else { "System" },
    })
}

/// The UI's name for a field's type (`Text(80)`, `Lookup(User)`, `Number(16, 2)`).
fn data_type(f: &FieldDef) -> String {
    match f.ftype {
        FieldType::String if f.name_field => "Name".into(),
        FieldType::String => format!("Text({})", f.length),
        FieldType::Textarea if f.length > 255 => format!("Long Text Area({})", f.length),
        FieldType::Textarea => "Text Area(255)".into(),
        FieldType::Boolean => "Checkbox".into(),
        FieldType::Double | FieldType::Int | FieldType::Long => {
            format!("Number({}, {})", f.precision.max(f.digits), f.scale)
        }
        FieldType::Currency => format!("Currency({}, {})", f.precision, f.scale),
        FieldType::Percent => format!("Percent({}, {})", f.precision, f.scale),
        FieldType::Date => "Date".into(),
        FieldType::Datetime => "Date/Time".into(),
        FieldType::Time => "Time".into(),
        FieldType::Id => "Lookup()".into(),
        FieldType::Reference if f.cascade_delete => {
            format!("Master-Detail({})", f.reference_to.join(","))
        }
        FieldType::Reference => format!("Lookup({})", f.reference_to.join(",")),
        FieldType::Picklist => "Picklist".into(),
        FieldType::Multipicklist => "Picklist (Multi-Select)".into(),
        FieldType::Email => "Email".into(),
        FieldType::Phone => "Phone".into(),
        FieldType::Url => "URL(255)".into(),
        other => other.name().to_owned(),
    }
}

fn field_definition(f: &FieldDef, entity_durable: &str, id: &str, entity: &Value) -> Value {
    let durable = if id.is_empty() {
        format!("{}.{}", entity_durable, f.name)
    } else {
        format!("{entity_durable}.{}", &id[..15])
    };
    json!({
        "Id": "000000000000000AAA", "DurableId": durable, "QualifiedApiName": f.name,
        "DeveloperName": f.name.trim_end_matches("__c"), "NamespacePrefix": null,
        "EntityDefinitionId": entity_durable, "EntityDefinition": entity,
        "Label": f.label, "MasterLabel": f.label, "DataType": data_type(f),
        "ValueTypeId": match f.ftype { FieldType::Reference | FieldType::Id => "id".to_owned(), t => t.name().to_owned() },
        "Length": f.length, "Precision": f.precision, "Scale": f.scale, "Digits": f.digits,
        "IsNillable": f.nillable, "IsIndexed": f.external_id || f.unique || f.ftype == FieldType::Id,
        "IsCalculated": f.calculated, "IsFieldHistoryTracked": false,
        "RelationshipName": f.relationship_name,
        "ReferenceTo": (!f.reference_to.is_empty()).then(|| json!({"referenceTo": f.reference_to})),
        "PublisherId": if f.custom { "<local>" } else { "System" },
        "LastModifiedDate": null,
    })
}
