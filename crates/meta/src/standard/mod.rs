//! The standard object catalogue, as data: `crates/meta/catalogue/standard.json`, written
//! by `scripts/catalogue/generate` from public describe data. It holds the objects of
//! `scripts/catalogue/objects.txt` (Campaign, Product2, ContentVersion, ApexClass, ...) as
//! the sources describe them, and the core objects of `scripts/catalogue/core-objects.json`
//! (Account, Contact, Lead, Opportunity, Case, Task, User, Organization, PushTopic,
//! StreamingChannel, and the Tooling API's PlatformEventChannel,
//! PlatformEventChannelMember and ManagedEventSubscription) with their fields pinned.
//!
//! Field lists, order, types, lengths and picklist values follow a Developer Edition org's
//! describe results (the order matters: change-event schemas number fields in this order,
//! see `pubsub-api.md` §5.5). Fields of features forcebus does not emulate (Data.com,
//! territories, person accounts) are kept where change events carry them.

use std::sync::Arc;

use crate::ObjectDef;

mod generated;

/// The standard objects of the data API, in describeGlobal order (by name).
pub fn catalogue() -> Vec<ObjectDef> {
    shared_catalogue().map(|o| (*o).clone()).collect()
}

/// The Tooling API's own objects that select change events and define channels and
/// managed subscriptions (`org-rest-cdc.md` §4.1, `pubsub-api.md` §4.7).
pub fn tooling_catalogue() -> Vec<ObjectDef> {
    shared_tooling_catalogue().map(|o| (*o).clone()).collect()
}

/// [`catalogue`] without copying: the objects parsed once, for [`crate::Schema::shared`]
/// (a server's copy of the catalogue is then the only one).
pub fn shared_catalogue() -> impl Iterator<Item = Arc<ObjectDef>> {
    let mut all: Vec<&Arc<ObjectDef>> =
        generated::objects().iter().filter(|o| !o.tooling).collect();
    all.sort_by_key(|o| o.name.to_ascii_lowercase());
    all.into_iter().cloned()
}

/// [`tooling_catalogue`] without copying.
pub fn shared_tooling_catalogue() -> impl Iterator<Item = Arc<ObjectDef>> {
    generated::objects().iter().filter(|o| o.tooling).cloned()
}

/// Account's fields: the system fields a custom object starts from are taken from them.
pub fn account_fields() -> Vec<crate::FieldDef> {
    object("Account").fields.clone()
}

/// The editions an org may say it is (`Organization.OrganizationType`'s values).
pub fn editions() -> &'static [String] {
    &object("Organization")
        .field("OrganizationType")
        .expect("Organization has OrganizationType")
        .picklist
}

/// An opportunity stage's default probability and forecast category, as the catalogue's
/// `OpportunityStage` rows give them; `None` for a stage the catalogue does not know.
pub fn stage(name: &str) -> Option<(u32, &'static str)> {
    let flags = object("OpportunityStage")
        .values_of
        .as_ref()?
        .flags
        .get(name)?;
    let probability = flags.get("DefaultProbability")?.as_u64()?;
    let forecast = flags.get("ForecastCategory")?.as_str()?;
    Some((u32::try_from(probability).ok()?, forecast))
}

/// A standard object of the data file; every caller names one the file always holds.
fn object(name: &str) -> &'static ObjectDef {
    generated::objects()
        .iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("the catalogue holds {name}"))
}

/// The polymorphic references that take a record of any custom object besides the
/// standard objects the catalogue lists for them (a real org's describe lists its custom
/// objects there too): an attachment's or a note's parent, an activity's `WhatId`, a
/// file's linked entity, a feed item's and an email's parent.
pub fn takes_custom_objects(object: &str, field: &str) -> bool {
    const FIELDS: &[(&str, &str)] = &[
        ("Attachment", "ParentId"),
        ("Note", "ParentId"),
        ("Task", "WhatId"),
        ("Event", "WhatId"),
        ("ContentDocumentLink", "LinkedEntityId"),
        ("FeedItem", "ParentId"),
        ("EmailMessage", "RelatedToId"),
    ];
    FIELDS
        .iter()
        .any(|(o, f)| o.eq_ignore_ascii_case(object) && f.eq_ignore_ascii_case(field))
}

/// Fields that hold each value once in an org though describe does not call them
/// `unique`: Apex's email notifications go to a user, or to an address, once.
pub fn unique_beyond_describe(object: &str) -> &'static [&'static str] {
    if object.eq_ignore_ascii_case("ApexEmailNotification") {
        &["UserId", "Email"]
    } else {
        &[]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_catalogue_is_the_catalogue_in_its_order_and_parsed_once() {
        let names = |v: Vec<String>| v.join(",");
        assert_eq!(
            names(catalogue().into_iter().map(|o| o.name).collect()),
            names(shared_catalogue().map(|o| o.name.clone()).collect())
        );
        assert_eq!(
            names(tooling_catalogue().into_iter().map(|o| o.name).collect()),
            names(shared_tooling_catalogue().map(|o| o.name.clone()).collect())
        );
        assert!(
            shared_catalogue()
                .zip(shared_catalogue())
                .all(|(a, b)| Arc::ptr_eq(&a, &b))
        );
        let account = shared_catalogue()
            .find(|o| o.name == "Account")
            .expect("Account");
        assert!(std::ptr::eq(&*account, object("Account")));
    }

    #[test]
    fn every_core_object_has_its_audit_fields_and_a_name_field() {
        let core = [
            "Account",
            "Case",
            "Contact",
            "Lead",
            "Opportunity",
            "PushTopic",
            "StreamingChannel",
            "Task",
            "User",
        ];
        for o in catalogue()
            .iter()
            .filter(|o| core.contains(&o.name.as_str()))
        {
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
        assert_eq!(tooling_catalogue().len(), 5);
    }

    #[test]
    fn stages_and_editions_come_from_the_data() {
        assert_eq!(stage("Closed Won"), Some((100, "Closed")));
        assert_eq!(stage("Prospecting"), Some((10, "Pipeline")));
        assert_eq!(stage("Nonesuch"), None);
        assert!(editions().iter().any(|e| e == "Developer Edition"));
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
