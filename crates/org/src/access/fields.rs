//! Which fields field-level security governs. A required field, a master-detail field,
//! the name field and the system fields are always visible to a user who can read the
//! object (Salesforce refuses a field permission on them); every other field is seen only
//! where a profile or permission set grants it.

use crate::meta::{FieldDef, FieldType};

/// Fields every record has and every reader sees.
const SYSTEM: &[&str] = &[
    "Id",
    "IsDeleted",
    "OwnerId",
    "CreatedById",
    "CreatedDate",
    "LastModifiedById",
    "LastModifiedDate",
    "SystemModstamp",
    "LastViewedDate",
    "LastReferencedDate",
    "LastActivityDate",
    "RecordTypeId",
    "CurrencyIsoCode",
    "MasterRecordId",
];

/// Whether field-level security governs `field`.
pub fn permissionable(field: &FieldDef) -> bool {
    if field.name_field || field.ftype == FieldType::Id {
        return false;
    }
    if SYSTEM.iter().any(|s| s.eq_ignore_ascii_case(&field.name)) {
        return false;
    }
    if field.ftype == FieldType::Reference && field.cascade_delete && !field.nillable {
        // A master-detail field: required, and governed by its master.
        return false;
    }
    // A required field (not nillable and given no value by the org) is always visible; a
    // custom checkbox is never nillable and still governed.
    field.nillable || field.ftype == FieldType::Boolean || field.calculated
}
