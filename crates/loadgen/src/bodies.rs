//! The request bodies loadgen sends more than one scenario's way, as types: an org to
//! make, an Account to write, and fields as a config or the platform events API
//! declares them.

use serde::Serialize;

/// An org to make, by name (`POST /forcebus/v1/orgs`).
#[derive(Debug, Serialize)]
pub(crate) struct NewOrg {
    pub(crate) name: String,
}

/// An Account to write, by name.
#[derive(Debug, Serialize)]
pub(crate) struct NewAccount {
    #[serde(rename = "Name")]
    pub(crate) name: String,
}

/// A field declared by name, type and length.
#[derive(Debug, Serialize)]
pub(crate) struct DeclaredField {
    pub(crate) name: &'static str,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) length: u32,
}

/// A platform event's fields (`PUT /forcebus/v1/platform-events/{name}`).
#[derive(Debug, Serialize)]
pub(crate) struct EventDefinition {
    pub(crate) fields: [DeclaredField; 2],
}
