//! The Metadata API: its SOAP calls at `/services/Soap/m/{v}` and its REST deploy.
//!
//! - [`calls`]: the endpoint and the CRUD calls (`createMetadata`, `readMetadata`,
//!   `upsertMetadata`, `deleteMetadata`, `listMetadata`, `describeMetadata`), and the
//!   mapping between Metadata XML and the JSON the Tooling API takes;
//! - [`channels`]: platform event channels and their members as Metadata components;
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
pub(crate) mod deploy;
pub(crate) mod options;
mod package;
pub(crate) mod quick;
pub(crate) mod rest_deploy;
pub(crate) mod retrieve;
mod validations;

pub(crate) use deploy::Deploys;
pub(crate) use retrieve::Retrieves;
