//! The Tooling API's sObjects (`/services/data/vXX.X/tooling/sobjects/...`): the event
//! objects ([`sobjects`]: `PushTopic`, `PlatformEventChannel`,
//! `PlatformEventChannelMember`, `ManagedEventSubscription`), the schema objects that
//! change the schema live ([`schema`]: `CustomField`, `CustomObject`; [`rules`]:
//! `ValidationRule`), and the schema
//! objects as query results and describes ([`defs`], [`describe`]: `EntityDefinition`,
//! `FieldDefinition`, `CustomObject`, `CustomField`, `ValidationRule`). Tooling SOQL runs through the data
//! API's query engine.

pub(crate) mod defs;
pub(crate) mod describe;
pub(crate) mod rules;
pub(crate) mod schema;
pub(crate) mod sobjects;
