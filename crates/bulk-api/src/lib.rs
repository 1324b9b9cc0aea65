//! The Bulk APIs' wire forms over [`forcebus_bulk`]'s jobs, as axum routers: Bulk API 2.0
//! ([`v2`]: `/jobs/ingest`, `/jobs/query`) and Bulk API 1.0 ([`v1`]: `/services/async`,
//! its wire shapes in `v1/wire`, its result lists in `v1/results`), their result files sent by [`stream`]. Uploads
//! to a 2.0 ingest job are streamed ([`uploads`]); every other body is read whole.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post, put};
use forcebus_http::Core;

mod stream;
mod v1;
mod v2;

pub(crate) use forcebus_http::{blocking, body, ctx, error};

/// The Bulk APIs' state: the core every family shares (which holds the org's jobs).
pub(crate) type State = Arc<Core>;
/// What the handlers read of the state.
pub(crate) type AppState = Core;

/// The Bulk API routes whose bodies are read whole.
pub fn router(state: Arc<Core>) -> Router {
    Router::new()
        .route(
            "/services/data/{v}/jobs/{kind}",
            get(v2::list).post(v2::create),
        )
        .route(
            "/services/data/{v}/jobs/{kind}/{id}",
            get(v2::get_job).patch(v2::patch_job).delete(v2::delete_job),
        )
        .route(
            "/services/data/{v}/jobs/{kind}/{id}/{which}",
            get(v2::results),
        )
        .route("/services/async/{v}/job", post(v1::create_job))
        .route(
            "/services/async/{v}/job/{id}",
            get(v1::get_job).post(v1::update_job),
        )
        .route(
            "/services/async/{v}/job/{id}/batch",
            get(v1::list_batches).post(v1::add_batch),
        )
        .route("/services/async/{v}/job/{id}/batch/{batch}", get(v1::batch))
        .route(
            "/services/async/{v}/job/{id}/batch/{batch}/{what}",
            get(v1::batch),
        )
        .route(
            "/services/async/{v}/job/{id}/batch/{batch}/{what}/{result}",
            get(v1::batch),
        )
        .with_state(state)
}

/// The routes whose request bodies are streamed rather than read whole: a 2.0 ingest
/// job's uploads.
pub fn uploads(state: Arc<Core>) -> Router {
    Router::new()
        .route(
            "/services/data/{v}/jobs/{kind}/{id}/batches",
            put(v2::upload),
        )
        .with_state(state)
}
