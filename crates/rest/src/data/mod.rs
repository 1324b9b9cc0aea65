//! The REST data API, `/services/data/vXX.X/...`:
//!
//! - [`resources`]: the version list, a version's resource list, `/limits`;
//! - [`describe`]: describeGlobal, basic info and describe (Tooling's too);
//!   [`layouts`]: `describe/layouts`, named, compact and approval layouts;
//! - [`sobjects`]: one record's create, retrieve, update, delete, upsert, and the
//!   `deleted` / `updated` lists; [`collections`]: `/composite/sobjects`;
//!   [`composite`]: `/composite`, `/composite/batch`, `/composite/tree`, `/composite/graph`;
//! - [`query`]: SOQL and locators, over the [`cursors`] kept; [`search`]: SOSL; [`listviews`]: list views
//!   and their results; [`recent`]: `/recent`;
//! - [`platform`]: publishing platform events and their definitions
//!   (`/forcebus/v1/platform-events`); [`events`]: event schemas by id and the event log
//!   as JSON (`/forcebus/v1/events`); [`generic`]: generic streaming pushes;
//! - a user's password, `/sobjects/User/{id}/password` ([`password`]).

pub(crate) mod collections;
pub(crate) mod composite;
pub(crate) mod cursors;
pub(crate) mod describe;
pub(crate) mod events;
pub(crate) mod generic;
pub(crate) mod layouts;
pub(crate) mod listviews;
pub(crate) mod password;
pub(crate) mod platform;
pub(crate) mod query;
pub(crate) mod recent;
pub(crate) mod record;
pub(crate) mod resources;
pub(crate) mod search;
pub(crate) mod sobjects;

pub use cursors::Cursors;
