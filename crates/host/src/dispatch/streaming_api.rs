//! The Streaming API's direct path: a long poll on a plain connection goes from the
//! listener to its org's Bayeux server without the routers and the middleware between
//! them. It is found by its token and counted in `/metrics` as the router's requests are,
//! and its org is in use until its answer is sent. Anything else (a request another node
//! passed on, an org served elsewhere, unavailable or deleted, a `GET`) takes the router,
//! which answers it as before.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::Request;
use axum::response::{IntoResponse as _, Response};
use tower::ServiceExt as _;

use super::{by_token, org_span};
use crate::hosted::Guarded;
use crate::tenants::{Route, Tenants};

/// The handler the listener hands the lean path's Streaming API requests to.
pub(crate) struct StreamingApi {
    pub(crate) tenants: Arc<Tenants>,
    /// The server's router, for the requests this path does not take.
    pub(crate) router: axum::Router,
}

impl forcebus_listener::StreamingApi for StreamingApi {
    fn call(&self, request: Request<Bytes>) -> Pin<Box<dyn Future<Output = Response> + Send>> {
        let tenants = self.tenants.clone();
        let router = self.router.clone();
        Box::pin(async move {
            let passed_on = request
                .extensions()
                .get::<forcebus_listener::forwarded::PassedOn>()
                .is_some();
            if passed_on || !forcebus_bayeux::answers(&request) {
                return Box::pin(routed(router, request)).await;
            }
            let started = Instant::now();
            let made = match forcebus_http::ctx::bearer(request.headers()) {
                Some(token) => Box::pin(by_token(&tenants, token)).await,
                None => None,
            }
            .unwrap_or_else(|| tenants.default_made().clone());
            let Route::Here(tenant, activity) = Box::pin(tenants.route(&made, 0)).await else {
                return Box::pin(routed(router, request)).await;
            };
            let span = org_span(&tenants, &tenant);
            let bayeux = tenant.bayeux.clone();
            drop(tenant);
            // What waits (a parked connect) is the answer's future, boxed: inline, it
            // would be held here twice (the match's result and the instrumented future).
            let answer: Pin<Box<dyn Future<Output = Response> + Send>> =
                match forcebus_bayeux::answer(bayeux, request) {
                    Ok(answer) => Box::pin(tracing::Instrument::instrument(answer, span)),
                    Err(refused) => Box::pin(std::future::ready(refused.into_response())),
                };
            let response = answer.await;
            crate::metrics::record(("cometd", response.status().as_u16(), started));
            response.map(|body| Body::new(Guarded::new(body, Some(activity))))
        })
    }
}

/// `request` through the server's router.
async fn routed(router: axum::Router, request: Request<Bytes>) -> Response {
    match router.oneshot(request.map(Body::from)).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
