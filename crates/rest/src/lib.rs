//! The REST data API of forcebus, as an axum [`Router`]: sObjects, collections, the
//! composite family, SOQL, SOSL, describe, layouts, list views, platform events and event
//! schemas ([`data`]), the Tooling API's sObjects and schema objects ([`tooling`], a
//! REST API under `/services/data/vXX.X/tooling`), and forcebus's own endpoints: the test
//! controls ([`control`]), the event log and platform event definitions.
//!
//! The bodies clients read are types, named as Salesforce names them ([`shapes`]); the
//! route table is [`routes`]'s. What every HTTP family shares (the request context, error
//! bodies, body checks, the layers) is [`forcebus_http`]'s. Every error code comes from
//! the one table, [`forcebus_org::Code`].

use std::sync::Arc;

use axum::Router;
use forcebus_http::{Core, HasCore};

mod control;
mod control_users;
mod data;
mod routes;
mod shapes;
mod tooling;
mod watch;

pub(crate) use forcebus_http::{blocking, body, ctx, error};

pub use data::Cursors;

/// The REST API's state: the core every family shares, and the open query cursors.
#[derive(Debug)]
pub struct AppState {
    /// What every family shares.
    pub core: Arc<Core>,
    /// Open query cursors.
    pub cursors: Cursors,
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

/// Every route of the REST API, with the state made of `core` and `cursors`.
pub fn router(core: Arc<Core>, cursors: Cursors) -> Router {
    routes_of(Arc::new(AppState { core, cursors }))
}

/// Every route of the REST API over `state` (a composite batch's subrequests go through
/// them).
pub(crate) fn routes_of(state: State) -> Router {
    routes::data().merge(routes::other()).with_state(state)
}
