//! From an uploaded CSV to org operations (`data-apis.md` §1.5): the header row names the
//! fields (any case), or a parent by one of its external ids (`Account.External_Id__c`,
//! `Owner:User.Username` for a polymorphic lookup); each row becomes one operation.
//!
//! Values are text: an empty value leaves the field as it is (or unset on insert),
//! `#N/A` sets it to null, a checkbox also takes `1` and `0`; everything else is the org's
//! to check, as for a REST call.

use serde_json::{Map, Value};

use forcebus_meta::{FieldType, ObjectDef, Schema};
use forcebus_org::{Code, Op, OrgError, Work};

use crate::job::Operation;

/// What a header cell names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// A field of the object (canonical name, type).
    Field(String, FieldType),
    /// A lookup set from its parent's external id: the lookup field, the parent object,
    /// and the parent's field.
    Parent {
        /// The lookup field of the object.
        lookup: String,
        /// The object it points at.
        object: String,
        /// The parent's external id field (or `Id`).
        field: String,
    },
}

/// Salesforce's message for a header naming nothing.
fn not_found(name: &str) -> String {
    format!("InvalidBatch : Field name not found : {name}")
}

fn parent(schema: &Schema, o: &ObjectDef, name: &str) -> Result<Column, String> {
    let (relationship, field) = name.split_once('.').ok_or_else(|| not_found(name))?;
    let (relationship, target) = match relationship.split_once(':') {
        Some((r, t)) => (r, Some(t)),
        None => (relationship, None),
    };
    let lookup = o
        .fields
        .iter()
        .find(|f| {
            f.relationship_name
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(relationship))
        })
        .ok_or_else(|| not_found(name))?;
    let object = match target {
        Some(t) => lookup
            .reference_to
            .iter()
            .find(|r| r.eq_ignore_ascii_case(t))
            .ok_or_else(|| not_found(name))?,
        None => lookup.reference_to.first().ok_or_else(|| not_found(name))?,
    };
    let target = schema.object(object).ok_or_else(|| not_found(name))?;
    let key = target
        .field(field)
        .filter(|f| f.external_id || f.name == "Id")
        .ok_or_else(|| {
            format!("InvalidBatch : {name} : the field is not an external id field of {object}")
        })?;
    Ok(Column::Parent {
        lookup: lookup.name.clone(),
        object: target.name.clone(),
        field: key.name.clone(),
    })
}

/// The columns a header names, checked against the object and the operation: every name
/// known at the job's API version (`major`), `Id` present for updates and deletes, the
/// external id for upserts.
pub fn columns(
    schema: &Schema,
    o: &ObjectDef,
    header: &[String],
    operation: Operation,
    (external_id, major): (Option<&str>, u32),
) -> Result<Vec<Column>, String> {
    let columns = header
        .iter()
        .map(
            |name| match o.field(name.trim()).filter(|f| f.exists_at(major)) {
                Some(f) => Ok(Column::Field(f.name.clone(), f.ftype)),
                None => parent(schema, o, name.trim()),
            },
        )
        .collect::<Result<Vec<_>, _>>()?;
    let has = |field: &str| {
        columns
            .iter()
            .any(|c| matches!(c, Column::Field(n, _) if n.eq_ignore_ascii_case(field)))
    };
    match operation {
        Operation::Update | Operation::Delete | Operation::HardDelete if !has("Id") => {
            Err(not_found("Id"))
        }
        Operation::Upsert => {
            let field = external_id.unwrap_or("Id");
            // Upserting on `Id` without an `Id` column inserts every row, as Salesforce does.
            if has(field) || field.eq_ignore_ascii_case("Id") {
                Ok(columns)
            } else {
                Err(not_found(field))
            }
        }
        _ => Ok(columns),
    }
}

/// A value as a REST body would carry it; `None` leaves the field alone.
fn value(ftype: FieldType, text: &str) -> Option<Value> {
    if text.is_empty() {
        return None;
    }
    if text == "#N/A" {
        return Some(Value::Null);
    }
    Some(match (ftype, text) {
        (FieldType::Boolean, "1") => Value::Bool(true),
        (FieldType::Boolean, "0") => Value::Bool(false),
        _ => Value::String(text.to_owned()),
    })
}

/// The `sf__Error` text of a failure: `CODE:message:fields --`, or `CODE:message:--`
/// with no fields. A record that is not there is, to a bulk load, an invalid cross
/// reference, as Salesforce's DML says.
pub fn error_text(e: &OrgError) -> String {
    let (code, message) = match e.code {
        Code::NotFound => ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"),
        code => (code.as_str(), e.message.as_str()),
    };
    if e.fields.is_empty() {
        format!("{code}:{message}:--")
    } else {
        format!("{code}:{message}:{} --", e.fields.join(","))
    }
}

fn row_error(message: String) -> OrgError {
    OrgError::new(Code::InvalidInput, message)
}

/// The operations of one row (one, or a delete then a purge for `hardDelete`), with its
/// parents looked up in `work`; the row's `Id` (or external id), for its result.
pub fn operations(
    work: &Work<'_>,
    object: &str,
    operation: Operation,
    external_id: Option<&str>,
    columns: &[Column],
    values: &[String],
) -> Result<Vec<Op>, OrgError> {
    if values.len() != columns.len() {
        return Err(row_error(format!(
            "TooManyColumns : the row has {} values, the header {} columns",
            values.len(),
            columns.len()
        )));
    }
    let (fields, id) = row_fields(work, columns, values)?;
    build(object, operation, external_id, fields, id)
}

/// A row's field values, parents looked up in `work`, and its `Id` if it has one.
fn row_fields(
    work: &Work<'_>,
    columns: &[Column],
    values: &[String],
) -> Result<(Map<String, Value>, Option<String>), OrgError> {
    let mut fields = Map::new();
    let mut id = None;
    for (column, text) in columns.iter().zip(values) {
        match column {
            Column::Field(name, ftype) => {
                if name == "Id" {
                    id = Some(text.clone());
                    continue;
                }
                if let Some(v) = value(*ftype, text) {
                    fields.insert(name.clone(), v);
                }
            }
            Column::Parent {
                lookup,
                object: parent,
                field,
            } => {
                if text.is_empty() {
                    continue;
                }
                let found = work.find_by_external_id(parent, field, text)?;
                let [one] = found.as_slice() else {
                    return Err(OrgError::field(
                        Code::InvalidCrossReferenceKey,
                        format!(
                            "Foreign key external ID: {text} not found for field {field} in entity {parent}"
                        ),
                        lookup,
                    ));
                };
                fields.insert(lookup.clone(), Value::String(one.to18()));
            }
        }
    }
    Ok((fields, id))
}

/// The operations of a row with these fields.
fn build(
    object: &str,
    operation: Operation,
    external_id: Option<&str>,
    mut fields: Map<String, Value>,
    id: Option<String>,
) -> Result<Vec<Op>, OrgError> {
    let id_or_missing = || {
        id.clone()
            .filter(|i| !i.is_empty())
            .ok_or_else(|| OrgError::new(Code::InvalidId, "Id not specified in an update call"))
    };
    Ok(match operation {
        Operation::Insert => vec![Op::Create {
            object: object.to_owned(),
            fields,
        }],
        Operation::Update => vec![Op::Update {
            object: Some(object.to_owned()),
            id: id_or_missing()?,
            fields,
        }],
        Operation::Upsert => {
            let key = external_id.unwrap_or("Id");
            if key.eq_ignore_ascii_case("Id") && id.as_deref().is_none_or(str::is_empty) {
                // A row with no `Id` upserted on `Id` is new.
                return Ok(vec![Op::Create {
                    object: object.to_owned(),
                    fields,
                }]);
            }
            let value = match fields.remove(key) {
                Some(Value::String(s)) => s,
                _ if key.eq_ignore_ascii_case("Id") => id_or_missing()?,
                _ => {
                    return Err(OrgError::field(
                        Code::RequiredFieldMissing,
                        format!("Required fields are missing: [{key}]"),
                        key,
                    ));
                }
            };
            vec![Op::Upsert {
                object: object.to_owned(),
                field: key.to_owned(),
                value,
                fields,
            }]
        }
        Operation::Delete => vec![Op::Delete {
            object: Some(object.to_owned()),
            id: id_or_missing()?,
        }],
        Operation::HardDelete => {
            let id = id_or_missing()?;
            vec![
                Op::Delete {
                    object: Some(object.to_owned()),
                    id: id.clone(),
                },
                Op::Purge { id },
            ]
        }
        Operation::Query | Operation::QueryAll => Vec::new(),
    })
}
