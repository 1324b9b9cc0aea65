//! Liveness and readiness, unauthenticated, for container orchestrators and scripts:
//! `GET /forcebus/health` and `GET /forcebus/ready` answer 200. The HTTP listener only
//! accepts once the org is loaded and every listener is bound, and stops accepting the
//! moment shutdown begins, so an answer at all means ready; the two paths are the names
//! orchestrators probe. The client side, `forcebus health`, is the CLI's.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

/// `/forcebus/health` and `/forcebus/ready`.
pub(crate) fn router() -> Router {
    Router::new()
        .route("/forcebus/health", get(health))
        .route("/forcebus/ready", get(ready))
        .layer(forcebus_http::request_spans())
}

fn json(body: &'static str) -> axum::response::Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn health() -> axum::response::Response {
    json(r#"{"status":"ok"}"#)
}

async fn ready() -> axum::response::Response {
    json(r#"{"status":"ready"}"#)
}
