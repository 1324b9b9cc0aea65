//! The bodies this crate's clients parse, as types (each named as Salesforce names it,
//! its fields declared in the order Salesforce writes them): what the handlers build, and
//! nothing else. A save result is every HTTP family's, [`forcebus_http::shapes`].
//!
//! - [`record`]: a record as REST shows it; the `deleted` and `updated` lists.

pub(crate) mod record;
