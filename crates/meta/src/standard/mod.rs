//! The standard object catalogue: the objects built here by hand (Account, Contact, Lead,
//! Opportunity, Case, User, Task, Organization, and the objects that configure the event
//! side), and the generated ones (`generated`: Campaign, Product2, ContentVersion,
//! ApexClass, ...), read from `crates/meta/catalogue/standard.json`.
//!
//! Field lists, order, types, lengths and picklist values follow a Developer Edition org's
//! describe results (the order matters: change-event schemas number fields in this order,
//! see `pubsub-api.md` §5.5). Fields of features forcebus does not emulate (Data.com,
//! territories, person accounts) are kept where change events carry them.
//!
//! - `generated`: the objects of the generated data file;
//! - `fields`: field constructors and the field groups objects share;
//! - `sales`: Account, Contact, Lead, Opportunity;
//! - `service`: Case, User, Task;
//! - `setup`: Organization;
//! - `tooling`: PushTopic, StreamingChannel and the Tooling API's event objects.

use crate::ObjectDef;

mod fields;
mod generated;
mod sales;
mod service;
mod setup;
mod tooling;

pub use sales::STAGES;
pub use setup::EDITIONS;
pub use tooling::tooling_catalogue;

use sales::{account, contact, lead, opportunity};
use service::{case, task, user};
use setup::organization;
use tooling::{push_topic, streaming_channel};

/// The standard objects, in describeGlobal order (by name); a hand-built object wins over
/// a generated one of the same name.
pub fn catalogue() -> Vec<ObjectDef> {
    let mut all = built();
    let generated: Vec<ObjectDef> = generated::objects()
        .into_iter()
        .filter(|g| !all.iter().any(|b| b.name == g.name))
        .collect();
    all.extend(generated);
    all.sort_by_key(|o| o.name.to_ascii_lowercase());
    generated::set_field_versions(&mut all);
    all
}

/// Account's fields: the system fields a custom object starts from are taken from them.
pub fn account_fields() -> Vec<crate::FieldDef> {
    account().fields
}

/// The objects built here by hand.
fn built() -> Vec<ObjectDef> {
    vec![
        account(),
        case(),
        contact(),
        lead(),
        opportunity(),
        organization(),
        push_topic(),
        streaming_channel(),
        task(),
        user(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_object_has_its_audit_fields_and_a_name_field() {
        for o in built() {
            for f in [
                "Id",
                "CreatedDate",
                "CreatedById",
                "LastModifiedDate",
                "SystemModstamp",
            ] {
                assert!(o.field(f).is_some(), "{}.{f}", o.name);
            }
            assert!(o.name_field().is_some(), "{} has no name field", o.name);
        }
    }

    #[test]
    fn names_and_key_prefixes_are_unique_across_the_catalogue() {
        let all: Vec<ObjectDef> = catalogue().into_iter().chain(tooling_catalogue()).collect();
        let mut names = std::collections::HashSet::new();
        let mut prefixes = std::collections::HashMap::new();
        for o in &all {
            assert!(
                names.insert(o.name.to_ascii_lowercase()),
                "{} twice",
                o.name
            );
            if o.key_prefix.is_empty() || o.values_of.is_some() {
                // Picklist-value objects share Salesforce's picklist-master prefix.
                continue;
            }
            if let Some(other) = prefixes.insert(o.key_prefix.clone(), o.name.clone()) {
                panic!(
                    "{} and {other} share the key prefix {}",
                    o.name, o.key_prefix
                );
            }
        }
        for needed in [
            "Campaign",
            "Product2",
            "Pricebook2",
            "ContentVersion",
            "ApexClass",
        ] {
            assert!(names.contains(&needed.to_ascii_lowercase()), "{needed}");
        }
    }
}
