//! The standard object catalogue: Account, Contact, Lead, Opportunity, Case, User, Task,
//! and the objects that configure the event side.
//!
//! Field lists, order, types, lengths and picklist values follow a Developer Edition org's
//! describe results (the order matters: change-event schemas number fields in this order,
//! see `pubsub-api.md` §5.5). Fields of features forcebus does not emulate (Data.com,
//! territories, person accounts) are kept where change events carry them.
//!
//! - `fields`: field constructors and the field groups objects share;
//! - `sales`: Account, Contact, Lead, Opportunity;
//! - `service`: Case, User, Task;
//! - `setup`: Organization;
//! - `tooling`: PushTopic, StreamingChannel and the Tooling API's event objects.

use crate::ObjectDef;

mod fields;
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

/// The standard objects, in describeGlobal order.
pub fn catalogue() -> Vec<ObjectDef> {
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
    fn every_object_has_its_audit_fields_and_a_name_field() {
        for o in catalogue() {
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
}
