//! Custom objects and fields declared in the config file (or read from the Metadata API's
//! declarations, `crate::declarations`), applied to the catalogue.
//!
//! ```toml
//! [objects.Account]                       # add fields to a standard object
//! fields = [{ name = "Region__c", type = "picklist", picklist = ["EMEA", "APAC"] }]
//!
//! [objects.Invoice__c]                    # a custom object (Name is added for you)
//! label = "Invoice"
//! fields = [
//!   { name = "Account__c", type = "reference", reference_to = "Account", master_detail = true },
//!   { name = "Total__c", type = "currency", precision = 16, scale = 2 },
//! ]
//! ```
//!
//! `config`: the declarations' shapes; `fields`: a declared field as a `FieldDef`;
//! `objects`: a declared custom object as an `ObjectDef` (its name field, its labels);
//! here, the config file's objects applied to a schema.

mod config;
mod fields;
mod history;
mod objects;
mod shares;
mod summaries;

use std::collections::BTreeMap;

use forcebus_meta::{FieldType, ObjectDef, Schema};

pub use config::{
    FieldConfig, NameFieldConfig, ObjectConfig, PicklistConfig, RecordTypeConfig, SummaryConfig,
    SummaryFilterConfig, ValidationRuleConfig,
};
pub use fields::{field_def, label_of};
pub use history::{CREATED, add_history_objects, data_type, history_object};
pub use objects::{auto_number, custom_object, relabel};
pub use shares::{add_share_objects, share_object};
pub use summaries::{MAX_TRACKED_FIELDS, Unsettled, resolve_summaries};

/// Settles what needs the whole schema: history objects for the objects that keep history,
/// then the roll-up summaries; what cannot be settled, each a problem.
pub fn settle(schema: &mut Schema) -> Vec<Unsettled> {
    add_history_objects(schema);
    shares::add_share_objects(schema);
    resolve_summaries(schema)
}

/// Applies the config's objects to `schema`, validating every entry.
pub fn apply(schema: &mut Schema, objects: &BTreeMap<String, ObjectConfig>) -> Result<(), String> {
    // Create every custom object first so references between them resolve.
    for (name, c) in objects {
        if schema.object(name).is_none() {
            if !name.ends_with("__c") {
                return Err(format!(
                    "objects.{name}: unknown standard object; custom objects end in __c"
                ));
            }
            let prefix = schema
                .next_custom_prefix(&[])
                .ok_or("too many custom objects")?;
            schema.insert(custom_object(name, c, prefix));
        }
    }
    for (name, c) in objects {
        let defs = c
            .fields
            .iter()
            .map(|f| field_def(name, f))
            .collect::<Result<Vec<_>, _>>()?;
        for f in &defs {
            if let Some(to) = f.reference_to.first()
                && schema.object(to).is_none()
            {
                return Err(format!(
                    "objects.{name}.fields.{}: reference_to names unknown object {to}",
                    f.name
                ));
            }
        }
        let o = schema.object_mut(name).expect("created above");
        for f in defs {
            o.push_field(f);
        }
        for (field, p) in &c.picklists {
            set_picklist(o, field, p)
                .map_err(|why| format!("objects.{name}.picklists.{field}: {why}"))?;
        }
        set_validation_rules(o, &c.validation_rules)
            .map_err(|why| format!("objects.{name}.validation_rules: {why}"))?;
        if c.enable_history {
            o.enable_history = true;
        }
        if c.sharing_model.is_some() {
            o.sharing_model.clone_from(&c.sharing_model);
        }
    }
    match settle(schema).first() {
        Some(problem) => Err(format!("objects.{problem}")),
        None => Ok(()),
    }
}

/// Most validation rules an object may have (Salesforce's limit for most editions).
pub const MAX_VALIDATION_RULES: usize = 500;

/// Adds the declared validation rules to `o` (a rule of a name it has is replaced).
/// Their formulas are compiled by the org, which knows every object they may reach.
pub fn set_validation_rules(
    o: &mut ObjectDef,
    rules: &[ValidationRuleConfig],
) -> Result<(), String> {
    for r in rules {
        if r.name.is_empty()
            || !r
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "{}: a rule's name is letters, digits and underscores",
                r.name
            ));
        }
        if r.message.is_empty() || r.message.chars().count() > 255 {
            return Err(format!("{}: the message is 1 to 255 characters", r.name));
        }
        let def = forcebus_meta::ValidationRuleDef {
            name: r.name.clone(),
            active: r.active,
            condition: r.condition.clone(),
            message: r.message.clone(),
            display_field: r.display_field.clone(),
            description: r.description.clone(),
        };
        match o
            .validation_rules
            .iter_mut()
            .find(|k| k.name.eq_ignore_ascii_case(&r.name))
        {
            Some(known) => *known = def,
            None => o.validation_rules.push(def),
        }
        if o.validation_rules.len() > MAX_VALIDATION_RULES {
            return Err(format!("at most {MAX_VALIDATION_RULES} rules per object"));
        }
    }
    Ok(())
}

/// Most values a picklist takes from a declaration (Salesforce's limit is 1,000).
const MAX_PICKLIST_VALUES: usize = 1_000;

/// Gives a standard picklist field of `o` the values `p`.
fn set_picklist(o: &mut ObjectDef, field: &str, p: &PicklistConfig) -> Result<(), String> {
    let Some(at) = o
        .fields
        .iter()
        .position(|f| f.name.eq_ignore_ascii_case(field))
    else {
        return Err("no such field".into());
    };
    let f = &mut o.fields[at];
    if !matches!(f.ftype, FieldType::Picklist | FieldType::Multipicklist) {
        return Err("not a picklist field".into());
    }
    if p.values.is_empty() || p.values.len() > MAX_PICKLIST_VALUES {
        return Err(format!("between 1 and {MAX_PICKLIST_VALUES} values"));
    }
    if let Some(d) = &p.default
        && !p.values.contains(d)
    {
        return Err(format!("the default {d} is not one of the values"));
    }
    f.picklist.clone_from(&p.values);
    f.default_picklist.clone_from(&p.default);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    fn parse(toml_text: &str) -> BTreeMap<String, ObjectConfig> {
        #[derive(Deserialize)]
        struct Doc {
            objects: BTreeMap<String, ObjectConfig>,
        }
        serde_json::from_value::<Doc>(toml_to_json(toml_text))
            .unwrap()
            .objects
    }

    // This crate has no TOML dependency; tests build the same structure as JSON.
    fn toml_to_json(s: &str) -> serde_json::Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn auto_numbers_follow_their_display_format() {
        let now = "2026-11-24T13:00:00.000+0000";
        assert_eq!(auto_number("A-{0000}", 7, now), "A-0007");
        assert_eq!(auto_number("{0}", 12345, now), "12345");
        assert_eq!(
            auto_number("INV-{YYYY}{MM}{DD}-{00}", 3, now),
            "INV-20261124-03"
        );
        assert_eq!(auto_number("{YY}/{x}/{00", 3, now), "26/{x}/{00");
        assert_eq!(auto_number("", 3, now), "");
    }

    #[test]
    fn custom_objects_and_fields_are_added() {
        let objects = parse(
            r#"{"objects": {
            "Account": {"fields": [{"name": "Ext__c", "type": "string", "length": 20, "external_id": true}]},
            "Invoice__c": {"label": "Invoice", "name_field": {"type": "AutoNumber", "display_format": "INV-{0000}"}, "fields": [
                {"name": "Account__c", "type": "reference", "reference_to": "Account", "master_detail": true},
                {"name": "Status__c", "type": "picklist", "picklist": ["Open", "Paid"]}
            ]}
        }}"#,
        );
        let mut schema = Schema::new(forcebus_meta::standard::catalogue());
        apply(&mut schema, &objects).unwrap();
        let inv = schema.object("invoice__c").unwrap();
        assert_eq!(inv.key_prefix, "a00");
        assert_eq!(inv.label_plural, "Invoices");
        assert!(inv.field("Name").unwrap().name_field);
        let name = inv.field("Name").unwrap();
        assert!(name.auto_number && !name.createable);
        assert_eq!(name.display_format.as_deref(), Some("INV-{0000}"));
        assert_eq!(name.label, "Invoice Name");
        assert_eq!(inv.field("Id").unwrap().label, "Record ID");
        assert!(inv.field("Account__c").unwrap().cascade_delete);
        assert!(inv.field("Status__c").unwrap().restricted_picklist);
        assert_eq!(
            schema
                .object("Account")
                .unwrap()
                .field("Ext__c")
                .unwrap()
                .length,
            20
        );
        let kids = schema.child_relationships("Account");
        assert!(
            kids.iter()
                .any(|r| r.child == "Invoice__c" && r.name.as_deref() == Some("Invoices__r"))
        );
    }

    #[test]
    fn bad_declarations_name_the_key() {
        for (doc, needle) in [
            (r#"{"objects": {"Widget": {}}}"#, "objects.Widget"),
            (
                r#"{"objects": {"Account": {"fields": [{"name": "Bad", "type": "string"}]}}}"#,
                "objects.Account.fields.Bad",
            ),
            (
                r#"{"objects": {"Account": {"fields": [{"name": "R__c", "type": "reference", "reference_to": "Nope__c"}]}}}"#,
                "unknown object",
            ),
            (
                r#"{"objects": {"Account": {"fields": [{"name": "P__c", "type": "picklist"}]}}}"#,
                "picklist values",
            ),
        ] {
            let mut schema = Schema::new(forcebus_meta::standard::catalogue());
            let err = apply(&mut schema, &parse(doc)).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }
}
