//! The REST data API, `/services/data/vXX.X/...`:
//!
//! - [`resources`]: the version list, a version's resource list, `/limits`, `/tabs`,
//!   `/theme`;
//! - [`shared`]: the resources a composite subrequest may call too, each declared once
//!   for its own route and for subrequests; [`dispatch`]: what such a resource is given,
//!   what it answers, and how it runs on its own;
//! - [`sobject`]: one record, `/sobjects/{X}[/{id}]` and by an external id, and what the
//!   record resources share (an object by name, a `fields=` list); [`collections`]: the
//!   sObject collections, `/composite/sobjects`; [`replication`]: an object's `deleted`
//!   and `updated` lists; [`composite`]: `/composite`, `/composite/batch`,
//!   `/composite/tree`, `/composite/graph`;
//! - [`describe`]: describeGlobal, basic information and describe (Tooling's too);
//!   [`layouts`]: `describe/layouts`, named, compact and approval layouts;
//!   [`listviews`]: list views and their results;
//! - [`query`]: SOQL and locators, over the [`cursors`] kept; [`search`]: SOSL;
//!   [`recently_viewed`]: `/recent`;
//! - [`platform`]: publishing platform events and their definitions
//!   (`/forcebus/v1/platform-events`); [`events`]: event schemas by id and the event log
//!   as JSON (`/forcebus/v1/events`); [`streaming_push`]: generic streaming's push
//!   resource, `/sobjects/StreamingChannel/{id}/push`;
//! - a user's password, `/sobjects/User/{id}/password` ([`password`]).

pub(crate) mod collections;
pub(crate) mod composite;
pub(crate) mod cursors;
pub(crate) mod describe;
pub(crate) mod dispatch;
pub(crate) mod events;
pub(crate) mod layouts;
pub(crate) mod listviews;
pub(crate) mod password;
pub(crate) mod platform;
pub(crate) mod query;
pub(crate) mod recently_viewed;
pub(crate) mod replication;
pub(crate) mod resources;
pub(crate) mod search;
pub(crate) mod shared;
pub(crate) mod sobject;
pub(crate) mod streaming_push;

pub use cursors::Cursors;
