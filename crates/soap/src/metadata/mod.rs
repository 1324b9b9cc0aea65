//! The Metadata API: its SOAP calls at `/services/Soap/m/{v}` and its REST deploy.
//!
//! - [`calls`]: the endpoint, which dispatches each call; `crud`: `createMetadata`,
//!   `upsertMetadata`, `updateMetadata`, `renameMetadata`, `deleteMetadata`; `reads`:
//!   `readMetadata`, `listMetadata`, `describeMetadata`; `faults`: what they share
//!   (envelopes, faults, the types served);
//! - [`channels`]: platform event channels and their members as Metadata components;
//!   `rules`: validation rules through the CRUD and reading calls; [`permission_sets`]:
//!   permission sets deployed, through the CRUD and reading calls, and retrieved;
//! - [`deploy`]: `deploy` and `checkDeployStatus`, a package read by [`package`], its
//!   options read by [`options`]; [`quick`]: `deployRecentValidation` and `cancelDeploy`
//!   over the [`validations`] kept; finished calls kept by [`async_results`];
//! - [`rest_deploy`]: `/metadata/deployRequest`, the same deploys over REST;
//! - [`retrieve`]: `retrieve` and `checkRetrieveStatus`.
//!
//! What the rest of the crate uses: the endpoint, the REST deploy handlers, and the deploy
//! and retrieve registries kept in the app state. Metadata XML maps to the Tooling API's
//! JSON through [`forcebus_xml::json`].

mod async_results;
pub(crate) mod calls;
pub(crate) mod channels;
mod crud;
pub(crate) mod deploy;
mod faults;
pub(crate) mod options;
mod package;
pub(crate) mod permission_sets;
pub(crate) mod quick;
mod reads;
pub(crate) mod rest_deploy;
pub(crate) mod retrieve;
mod rules;
pub(crate) mod types;
mod validations;
pub(crate) mod verbatim;

pub(crate) use deploy::Deploys;
pub(crate) use retrieve::Retrieves;
