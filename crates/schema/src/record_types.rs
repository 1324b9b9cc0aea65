//! The field an object gains with its first record type: `RecordTypeId`, which exists
//! only on objects that have record types, as in Salesforce. The records that are record
//! types, and a record's record type, are the org's business.

use forcebus_meta::{FieldDef, FieldType, Schema};

/// The object whose records are record types.
pub const OBJECT: &str = "RecordType";
/// The field of a record that names its record type.
pub const FIELD: &str = "RecordTypeId";

/// Gives `object` the `RecordTypeId` field where a Developer Edition org has it (after
/// `Type` when the object has one, as on Account, else after its name field); nothing
/// when the object is missing or has it already.
pub fn add_field(schema: &mut Schema, object: &str) {
    let Some(def) = schema.object_mut(object) else {
        return;
    };
    if def.field(FIELD).is_some() {
        return;
    }
    let after = def
        .fields
        .iter()
        .position(|f| f.name == "Type")
        .or_else(|| def.fields.iter().position(|f| f.name_field))
        .map_or(def.fields.len(), |i| i + 1);
    let mut f = FieldDef::new(FIELD, "Record Type ID", FieldType::Reference);
    f.reference_to = vec![OBJECT.to_owned()];
    f.relationship_name = Some(OBJECT.to_owned());
    f.length = 18;
    def.insert_field(after, f);
}
