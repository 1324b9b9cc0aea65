//! Record types: `RecordType` records name a kind of record of one object (`SobjectType`).
//! An object gets the `RecordTypeId` field (and so a new change-event schema) when its
//! first record type is made, as in Salesforce, where the field exists only on objects
//! that have record types. A new record without one takes the object's default record
//! type: its first active one (Salesforce takes the profile's default; forcebus has one
//! profile). A record's record type must be an active one of its object.

use serde_json::Value;

use crate::error::{Code, OrgError};
use crate::id::RecordId;
use crate::meta::Schema;
use crate::record::Record;

pub(crate) use forcebus_schema::record_types::{FIELD, OBJECT, add_field};

/// Whether `object` can have record types: one `RecordType.SobjectType` lists, or a
/// custom object.
pub(crate) fn supported(schema: &Schema, object: &str) -> bool {
    let Some(def) = schema.object(object) else {
        return false;
    };
    def.custom
        || schema
            .object(OBJECT)
            .and_then(|o| o.field("SobjectType"))
            .is_some_and(|f| f.picklist.iter().any(|p| p == &def.name))
}

/// The objects that `records` give their first record type: those of the record types
/// among them whose object lacks the field.
pub(crate) fn objects_gaining<'a>(
    schema: &Schema,
    records: impl Iterator<Item = &'a Record>,
) -> Vec<String> {
    let mut out: Vec<String> = records
        .filter(|r| r.object == OBJECT && !r.is_deleted)
        .filter_map(|r| r.get_str("SobjectType"))
        .filter(|o| schema.object(o).is_some_and(|d| d.field(FIELD).is_none()))
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Checks a record type before it is written: an object that can have them, and a
/// developer name of its own among that object's record types.
pub(crate) fn check<'a>(
    schema: &Schema,
    rec: &mut Record,
    others: impl Iterator<Item = &'a Record>,
) -> Result<(), OrgError> {
    let object = rec.get_str("SobjectType").unwrap_or_default().to_owned();
    if !supported(schema, &object) {
        return Err(OrgError::field(
            Code::InvalidOrNullForRestrictedPicklist,
            format!("SObject Type Name: bad value for restricted picklist field: {object}"),
            "SobjectType",
        ));
    }
    if let Some(canonical) = schema.object(&object).map(|o| o.name.clone()) {
        rec.fields
            .insert("SobjectType".into(), Value::from(canonical));
    }
    let developer = rec.get_str("DeveloperName").unwrap_or_default().to_owned();
    if !developer_name_ok(&developer) {
        return Err(OrgError::field(
            Code::FieldIntegrityException,
            format!(
                "Record Type Name: {developer}: The Record Type Name field can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores."
            ),
            "DeveloperName",
        ));
    }
    let taken = others.into_iter().any(|o| {
        o.id != rec.id
            && !o.is_deleted
            && o.get("SobjectType") == rec.get("SobjectType")
            && o.get_str("DeveloperName")
                .is_some_and(|d| d.eq_ignore_ascii_case(&developer))
    });
    if taken {
        return Err(OrgError::field(
            Code::DuplicateDeveloperName,
            format!("Record Type Name: {developer} is already used by a record type of {object}"),
            "DeveloperName",
        ));
    }
    Ok(())
}

/// A developer name Salesforce accepts: letters, digits and single underscores, starting
/// with a letter and not ending with an underscore.
fn developer_name_ok(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !name.ends_with('_')
        && !name.contains("__")
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The active record types of `object` among `records`, in the order they were made.
pub(crate) fn active_of<'a>(
    records: impl Iterator<Item = &'a Record>,
    object: &str,
) -> Vec<&'a Record> {
    let mut out: Vec<&Record> = records
        .filter(|r| {
            !r.is_deleted && r.get_str("SobjectType") == Some(object) && r.get("IsActive") == true
        })
        .collect();
    out.sort_by_key(|r| r.id);
    out
}

/// Gives a record its record type: the default one (`active`'s first) when an insert
/// names none; one it names must be among `active` (unless the write keeps the one the
/// record had: a record type made inactive stays on its records).
pub(crate) fn assign(
    rec: &mut Record,
    active: &[&Record],
    before: Option<&Record>,
) -> Result<(), OrgError> {
    let given = rec.get_str(FIELD).and_then(RecordId::parse);
    let kept = before.is_some_and(|b| b.get(FIELD) == rec.get(FIELD));
    match given {
        None if before.is_none() => {
            if let Some(default) = active.first() {
                rec.fields
                    .insert(FIELD.into(), Value::from(default.id.to18()));
            }
            Ok(())
        }
        None => Ok(()),
        Some(_) if kept => Ok(()),
        Some(id) if active.iter().any(|r| r.id == id) => Ok(()),
        Some(id) => Err(OrgError::field(
            Code::InvalidCrossReferenceKey,
            format!(
                "Record Type ID: this ID value isn't valid for the user: {}",
                id.to18()
            ),
            FIELD,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn developer_names() {
        for ok in ["Business", "B2B_Customer", "a1"] {
            assert!(developer_name_ok(ok), "{ok}");
        }
        for bad in ["", "1st", "_x", "x_", "a__b", "has space", "é"] {
            assert!(!developer_name_ok(bad), "{bad}");
        }
    }

    #[test]
    fn the_field_goes_after_type_else_after_the_name_field() {
        let mut schema = Schema::new(forcebus_meta::standard::catalogue());
        add_field(&mut schema, "Account");
        add_field(&mut schema, "Contact");
        let names = |o: &str| -> Vec<String> {
            schema
                .object(o)
                .unwrap()
                .fields
                .iter()
                .map(|f| f.name.clone())
                .collect()
        };
        let account = names("Account");
        let at = account.iter().position(|n| n == FIELD).unwrap();
        assert_eq!(account[at - 1], "Type");
        let contact = names("Contact");
        let at = contact.iter().position(|n| n == FIELD).unwrap();
        assert_eq!(contact[at - 1], "Name");
        assert_eq!(
            schema
                .object("Contact")
                .unwrap()
                .field(FIELD)
                .unwrap()
                .reference_to,
            [OBJECT]
        );
    }
}
