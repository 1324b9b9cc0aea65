//! Whether a custom field may change from one declaration to another, given the records
//! that hold values (`metadata-tooling.md` §12). Changes that keep every value are
//! allowed: labels, defaults, picklist values (stored values stay), a longer length, more
//! digits, required or unique when every record already complies, and conversions among
//! the text types, among the number types, and from Picklist to MultiselectPicklist. Other
//! type changes are allowed only while no record holds a value (Salesforce refuses them
//! then with "Cannot change type due to existing data"); a field never becomes, or stops
//! being, a relationship, and a relationship never changes its target.

use std::collections::HashSet;

use forcebus_meta::{FieldDef, FieldType};
use forcebus_record::{FieldRef, Record};

use crate::error::{ErrorKind, SchemaError};

fn refused(message: impl Into<String>) -> SchemaError {
    SchemaError::new(ErrorKind::FieldIntegrity, message)
}

fn text_like(t: FieldType) -> bool {
    matches!(
        t,
        FieldType::String
            | FieldType::Textarea
            | FieldType::Email
            | FieldType::Phone
            | FieldType::Url
    )
}

fn number_like(t: FieldType) -> bool {
    matches!(
        t,
        FieldType::Double | FieldType::Currency | FieldType::Percent
    )
}

/// Whether values of `old` mean the same as values of `new`.
fn preserving(old: FieldType, new: FieldType) -> bool {
    old == new
        || (text_like(new) && (text_like(old) || old == FieldType::Picklist))
        || (number_like(old) && number_like(new))
        || (old == FieldType::Picklist && new == FieldType::Multipicklist)
}

/// Checks the change of `old` to `new` against `records` (the field's object's records).
pub fn check<'a>(
    old: &FieldDef,
    new: &FieldDef,
    records: impl Iterator<Item = &'a Record>,
) -> Result<(), SchemaError> {
    let relationship = |f: &FieldDef| f.ftype == FieldType::Reference;
    if relationship(new) && !relationship(old) {
        return Err(refused(
            "Cannot update a field to a Lookup, MasterDetail, or Hierarchy from something else",
        ));
    }
    if relationship(old) && relationship(new) && old.reference_to != new.reference_to {
        return Err(refused(
            "Cannot change which object a relationship field refers to",
        ));
    }
    let values: Vec<FieldRef<'_>> = records
        .filter(|r| !r.is_deleted)
        .map(|r| r.get(&old.name))
        .collect();
    let held: Vec<FieldRef<'_>> = values.iter().copied().filter(|v| !v.is_null()).collect();
    if !preserving(old.ftype, new.ftype) || (relationship(old) && !relationship(new)) {
        return if held.is_empty() {
            Ok(())
        } else {
            Err(refused("Cannot change type due to existing data"))
        };
    }
    if !new.nillable && new.ftype != FieldType::Boolean && held.len() < values.len() {
        return Err(refused(format!(
            "{}: some records have no value, so the field cannot be required",
            new.name
        )));
    }
    if new.unique && !old.unique {
        let mut seen = HashSet::new();
        if held
            .iter()
            .any(|v| !seen.insert(v.to_string().to_lowercase()))
        {
            return Err(SchemaError::new(
                ErrorKind::DuplicateValue,
                format!(
                    "{}: records share a value, so the field cannot be unique",
                    new.name
                ),
            ));
        }
    }
    if text_like(new.ftype) {
        let longest = held
            .iter()
            .filter_map(|v| v.as_str())
            .map(|s| s.chars().count())
            .max();
        if longest.is_some_and(|l| l > new.length as usize) {
            return Err(refused(format!(
                "{}: a record's value is longer than {} characters",
                new.name, new.length
            )));
        }
    }
    if number_like(new.ftype) {
        let limit = 10f64.powi(new.precision.saturating_sub(new.scale) as i32);
        if held
            .iter()
            .filter_map(|v| v.as_f64())
            .any(|n| n.abs() >= limit)
        {
            return Err(refused(format!(
                "{}: a record's value has more than {} digits before the decimal point",
                new.name,
                new.precision.saturating_sub(new.scale)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use serde_json::json;

    use super::*;
    use forcebus_meta::RecordId;

    fn field(t: FieldType, length: u32) -> FieldDef {
        let mut f = FieldDef::new("F__c", "F", t);
        f.length = length;
        f.precision = 5;
        f.scale = 2;
        f
    }

    fn record(v: Value) -> Record {
        let mut fields = serde_json::Map::new();
        fields.insert("F__c".into(), v);
        Record {
            id: RecordId::mint("001", 1),
            object: "Account".into(),
            fields: fields.into(),
            is_deleted: false,
            deleted: None,
        }
    }

    #[test]
    fn value_keeping_changes_pass_and_data_losing_ones_need_an_empty_field() {
        let text = [record(json!("hello")), record(Value::Null)];
        assert!(
            check(
                &field(FieldType::String, 10),
                &field(FieldType::Textarea, 255),
                text.iter()
            )
            .is_ok()
        );
        assert!(
            check(
                &field(FieldType::String, 10),
                &field(FieldType::String, 4),
                text.iter()
            )
            .is_err(),
            "shorter than a value"
        );
        assert!(
            check(
                &field(FieldType::String, 10),
                &field(FieldType::Date, 0),
                text.iter()
            )
            .is_err()
        );
        assert!(
            check(
                &field(FieldType::String, 10),
                &field(FieldType::Date, 0),
                [record(Value::Null)].iter()
            )
            .is_ok()
        );
        let mut required = field(FieldType::String, 10);
        required.nillable = false;
        assert!(
            check(&field(FieldType::String, 10), &required, text.iter()).is_err(),
            "a record without a value"
        );
        let numbers = [record(json!(999.5))];
        assert!(
            check(
                &field(FieldType::Double, 0),
                &field(FieldType::Currency, 0),
                numbers.iter()
            )
            .is_ok()
        );
        let mut small = field(FieldType::Double, 0);
        small.precision = 4;
        assert!(
            check(&field(FieldType::Double, 0), &small, numbers.iter()).is_err(),
            "999 needs three digits, 4-2 leaves two"
        );
        let mut lookup = field(FieldType::Reference, 18);
        lookup.reference_to = vec!["Account".into()];
        assert!(
            check(
                &field(FieldType::String, 18),
                &lookup,
                [record(Value::Null)].iter()
            )
            .is_err(),
            "never to a relationship"
        );
        let mut unique = field(FieldType::String, 10);
        unique.unique = true;
        let dups = [record(json!("A")), record(json!("a"))];
        assert_eq!(
            check(&field(FieldType::String, 10), &unique, dups.iter())
                .unwrap_err()
                .kind,
            ErrorKind::DuplicateValue
        );
    }
}
