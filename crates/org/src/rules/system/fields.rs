//! A client's field values read into a record: each field one the caller's API version
//! has and may write, each value coerced to its field's type (and a reference checked to
//! name a live record of an object the field takes), a required field never cleared.

use serde_json::{Map, Value};

use crate::access::sharing::Level;
use crate::error::{Code, OrgError};
use crate::fields::FieldRef;
use crate::id::RecordId;
use crate::meta::{FieldDef, FieldType, ObjectDef};
use crate::record::Record;
use crate::txn::Txn;
use crate::value::{coerce, not_writable};

/// The stored values of a new record of `def` from a client's fields (not yet completed).
pub(super) fn for_create(
    txn: &Txn<'_>,
    def: &ObjectDef,
    input: &Map<String, Value>,
) -> Result<Map<String, Value>, OrgError> {
    if !def.createable {
        return Err(OrgError::new(
            Code::InsufficientAccess,
            format!("entity type cannot be inserted: {}", def.label),
        ));
    }
    if !txn.access.object(def).create {
        return Err(OrgError::new(
            Code::CannotInsertUpdateActivateEntity,
            format!("entity type cannot be inserted: {}", def.label),
        ));
    }
    let mut fields = Map::new();
    for (name, raw) in input {
        if name == "attributes" {
            continue;
        }
        let f = field_of(txn, def, name).ok_or_else(|| OrgError::no_such_field(&def.name, name))?;
        if f.name == "Id" {
            return Err(OrgError::field(
                Code::InvalidFieldForInsertUpdate,
                "Record ID: cannot specify Id in an insert call",
                "Id",
            ));
        }
        if !f.createable {
            return Err(not_writable(f));
        }
        secured(txn, def, f)?;
        let v = value(txn, &def.name, f, raw)?;
        fields.insert(f.name.clone(), v);
    }
    Ok(fields)
}

/// The record `id` (checked against the object the client named) with a client's fields
/// set, stamped as changed now by the caller, and its object.
pub(super) fn for_update<'a>(
    txn: &Txn<'a>,
    object: Option<&str>,
    id: &str,
    input: &Map<String, Value>,
) -> Result<(&'a ObjectDef, Record), OrgError> {
    let current = txn.existing(object, id)?;
    if current.is_deleted {
        return Err(OrgError::deleted());
    }
    if current.object == "Lead" && current.get("IsConverted") == true {
        return Err(OrgError::converted_lead());
    }
    let def = txn.object(&current.object)?;
    if !def.updateable {
        return Err(OrgError::new(
            Code::InsufficientAccess,
            format!("entity type cannot be updated: {}", def.label),
        ));
    }
    if !txn.access.object(def).edit {
        return Err(OrgError::new(
            Code::CannotInsertUpdateActivateEntity,
            format!("entity type cannot be updated: {}", def.label),
        ));
    }
    if txn.level(current) < Level::Edit {
        return Err(OrgError::insufficient_access());
    }
    let mut rec = current.clone();
    for (name, raw) in input {
        if name == "attributes" {
            continue;
        }
        let f = field_of(txn, def, name).ok_or_else(|| OrgError::no_such_field(&def.name, name))?;
        if f.name == "Id" {
            // The id may be repeated in the body (collections require it); it must match.
            if raw.as_str().and_then(RecordId::parse) != Some(rec.id) {
                return Err(OrgError::field(
                    Code::InvalidFieldForInsertUpdate,
                    "Record ID: id value of incorrect type",
                    "Id",
                ));
            }
            continue;
        }
        if !f.updateable {
            return Err(not_writable(f));
        }
        secured(txn, def, f)?;
        let v = value(txn, &def.name, f, raw)?;
        if v.is_null() && !f.nillable {
            return Err(OrgError::field(
                Code::RequiredFieldMissing,
                format!("Required fields are missing: [{}]", f.name),
                &f.name,
            ));
        }
        rec.fields.insert(f.name.clone(), v);
    }
    txn.touch(&mut rec);
    Ok((def, rec))
}

/// Field `name` of `def` as the caller's API version has it and the caller sees it
/// (none when it came later, or field-level security hides it: to the caller it does
/// not exist).
fn field_of<'d>(txn: &Txn<'_>, def: &'d ObjectDef, name: &str) -> Option<&'d FieldDef> {
    let major = crate::meta::major_version(&txn.caller.version);
    def.field(name)
        .filter(|f| f.exists_at(major) && txn.access.sees(def, f))
}

/// Whether field-level security lets the caller write `f`, a field they see.
fn secured(txn: &Txn<'_>, def: &ObjectDef, f: &FieldDef) -> Result<(), OrgError> {
    if txn.access.field(def, f).edit {
        return Ok(());
    }
    Err(OrgError::field(
        Code::InvalidFieldForInsertUpdate,
        format!(
            "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
            f.name
        ),
        &f.name,
    ))
}

/// Coerces a value of `object`'s field `f` and, for references, checks the target
/// exists and has a right type.
fn value(txn: &Txn<'_>, object: &str, f: &FieldDef, raw: &Value) -> Result<Value, OrgError> {
    if f.ftype == FieldType::Base64
        && crate::blobs::upload_named(FieldRef::of(raw), txn.uploads)
            .is_some_and(|u| u.field == f.name)
    {
        return Ok(raw.clone());
    }
    let v = coerce(f, raw)?;
    if f.ftype != FieldType::Reference {
        return Ok(v);
    }
    let Some(target) = v.as_str().and_then(RecordId::parse) else {
        return Ok(v);
    };
    if let Some(r) = txn.current(&target)
        && txn.level(r) < Level::Read
    {
        return Err(OrgError::field(
            Code::InsufficientAccessOnCrossReferenceEntity,
            format!(
                "insufficient access rights on cross-reference id: {}",
                target.as15()
            ),
            &f.name,
        ));
    }
    let target_object = txn.schema.object_by_prefix(target.prefix());
    let allowed = target_object.is_some_and(|o| {
        f.reference_to
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&o.name))
            || (o.custom && forcebus_meta::standard::takes_custom_objects(object, &f.name))
    });
    if !allowed && target_object.is_some() {
        return Err(OrgError::field(
            Code::FieldIntegrityException,
            format!("{}: id value of incorrect type: {}", f.label, target.to18()),
            &f.name,
        ));
    }
    match txn.current(&target) {
        Some(r) if r.is_deleted => Err(OrgError::field(
            Code::EntityIsDeleted,
            "entity is deleted",
            &f.name,
        )),
        Some(_) => Ok(v),
        None => Err(OrgError::field(
            Code::InvalidCrossReferenceKey,
            "invalid cross reference id".to_string(),
            &f.name,
        )),
    }
}
