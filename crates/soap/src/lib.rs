//! The SOAP APIs of forcebus, as an axum [`Router`]: the partner API
//! (`/services/Soap/u/{v}`: `login`, `logout`, `undelete`, `emptyRecycleBin`, `convertLead`,
//! `merge`, `getUserInfo`, `getServerTimestamp`, `describeTabs`; [`partner`])
//! and the Metadata API ([`metadata`]: its SOAP calls at `/services/Soap/m/{v}`, deploys
//! over SOAP and over REST `/metadata/deployRequest`, retrieves). Envelopes are read and
//! faults written by [`forcebus_xml`]; what every HTTP family shares comes from
//! [`forcebus_http`].

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use forcebus_http::{Core, HasCore};

mod metadata;
mod partner;

pub(crate) use forcebus_http::{blocking, body, ctx, error, multipart, transact};

/// The SOAP APIs' state: the core every family shares, and the Metadata API's deploys
/// and retrieves (for `checkDeployStatus` and `checkRetrieveStatus`).
#[derive(Debug)]
pub struct AppState {
    /// What every family shares.
    pub core: Arc<Core>,
    /// Metadata API deploys.
    pub(crate) deploys: metadata::Deploys,
    /// Metadata API retrieves.
    pub(crate) retrieves: metadata::Retrieves,
}

impl AppState {
    /// The state of an org's SOAP APIs, with no deploy or retrieve yet.
    pub fn new(core: Arc<Core>) -> Self {
        Self {
            core,
            deploys: metadata::Deploys::default(),
            retrieves: metadata::Retrieves::default(),
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.core
    }
}

impl HasCore for AppState {
    fn core(&self) -> &Core {
        &self.core
    }
}

/// Shared state handle.
pub type State = Arc<AppState>;

/// Every route of the SOAP APIs.
pub fn router(state: State) -> Router {
    Router::new()
        .route("/services/Soap/u/{v}", post(partner::endpoint))
        .route("/services/Soap/u/{v}/{org}", post(partner::endpoint))
        .route("/services/Soap/m/{v}", post(metadata::calls::endpoint))
        .route(
            "/services/Soap/m/{v}/{*rest}",
            post(metadata::calls::endpoint),
        )
        .route(
            "/services/data/{v}/metadata/deployRequest",
            post(metadata::rest_deploy::create),
        )
        .route(
            "/services/data/{v}/metadata/deployRequest/{id}",
            get(metadata::rest_deploy::status)
                .post(metadata::rest_deploy::create_validated)
                .patch(metadata::rest_deploy::cancel),
        )
        .with_state(state)
}
