//! Events and their renderings.
//!
//! Everything the event log holds is one of four families, each in its own module with
//! the form the log stores and the two forms the wire shows:
//!
//! | family | module | stored as | Streaming API (CometD) | Pub/Sub API (Avro) |
//! | --- | --- | --- | --- | --- |
//! | change events | [`change`] | [`change::ChangeEvent`] JSON | [`change::cometd_data`] | [`change::to_avro`] |
//! | platform events | [`platform`] | [`platform::LOG_FORM`] + Avro | [`platform::cometd_data`] | [`platform::avro_event`] |
//! | PushTopic notifications | [`pushtopic`] | JSON | [`pushtopic::cometd_data`] | — |
//! | generic events (`/u/…`) | [`generic`] | JSON | [`generic::cometd_data`] | — |
//!
//! [`schemas`] holds every event schema an org ever issued, by id: each protocol renders
//! an event in the schema it was written with. The org builds events from its records and
//! appends them; it never renders one. Pure: no I/O, no async, no locks held across calls.

pub mod change;
pub mod generic;
pub mod platform;
pub mod pushtopic;
pub mod schemas;
mod time;
mod values;

pub use schemas::{EventSchema, Schemas};

/// Retention class of change and platform events (72 hours by default).
pub const CLASS_EVENTS: u8 = 0;

/// Retention class of PushTopic notifications and generic events (24 hours by default).
pub const CLASS_NOTIFICATIONS: u8 = 1;
