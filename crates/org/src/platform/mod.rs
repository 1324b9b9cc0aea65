//! Platform events (`org-rest-cdc.md` §5): definitions `<Name>__e`, publishing, and the
//! stored form each protocol renders once.
//!
//! A definition is declared in the config file or through the metadata endpoint:
//!
//! ```toml
//! [platform_events.Order_Shipped__e]
//! label = "Order Shipped"
//! fields = [
//!   { name = "Order_Number__c", type = "string", length = 20, required = true },
//!   { name = "Weight__c", type = "double", precision = 10, scale = 2 },
//! ]
//! ```
//!
//! Custom fields may be Checkbox (`boolean`), Date, Date/Time, Number (`double`, `int`),
//! Text (`string`) and Text Area (Long) (`textarea`). The standard fields are `ReplayId`,
//! `CreatedDate`, `CreatedById` and `EventUuid`. Each definition's Avro schema (COMPACT)
//! has an id that changes with its fields; every id ever issued stays resolvable.
//!
//! An event is stored as a JSON document (`schema`, `uuid`, `payload` with stored values);
//! the Streaming API shows it as `{"schema", "payload", "event": {"EventUuid", "replayId"}}`

mod definitions;
mod from_avro;
pub(crate) mod publish;
pub(crate) mod registry;
#[cfg(test)]
mod tests;

pub use definitions::{EventConfig, EventDef, PublishBehavior, rest_id};
pub use forcebus_events::platform::Stored;
pub use publish::{Fields, Published, ToPublish};
pub(crate) use registry::Registry;

/// Retention class of platform events (72 hours, like change events).
pub const CLASS: u8 = forcebus_events::CLASS_EVENTS;

/// Largest event payload (1 MB).
pub const MAX_EVENT_BYTES: usize = 1_000_000;

/// Most platform event definitions in an org (Salesforce's allocation in Performance and
/// Unlimited Editions).
pub const MAX_EVENT_DEFINITIONS: usize = 100;

/// Most custom fields on one platform event (Salesforce's custom-field allocation per
/// object in Unlimited Edition). A definition is checked as a whole when it is saved.
pub const MAX_EVENT_FIELDS: usize = 800;
