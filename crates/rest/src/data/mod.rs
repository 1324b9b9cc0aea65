//! The REST data API, `/services/data/vXX.X/...`:
//!
//! - [`resources`]: the version list, a version's resource list, `/limits`;
//! - [`describe`]: describeGlobal, basic info and describe (Tooling's too);
//!   [`layouts`]: `describe/layouts`, named, compact and approval layouts;
//! - [`records`]: the record resources, each declared once for its own route and for
//!   composite subrequests: one record's create, retrieve, update, delete and upsert, and
//!   the sObject collections (`/composite/sobjects`), over [`sobjects`] and
//!   [`collections`]; [`record`]: a record as REST shows it; [`sobjects`] also serves the
//!   `deleted` / `updated` lists;
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
pub(crate) mod records;
pub(crate) mod resources;
pub(crate) mod search;
pub(crate) mod sobjects;

pub use cursors::Cursors;
