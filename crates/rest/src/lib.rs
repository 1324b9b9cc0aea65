//! The HTTP front door of forcebus: OAuth, SOAP login and calls, identity, and the REST
//! sObject API, as an axum [`Router`].
//!
//! Layout: one folder per protocol family, each with a narrow surface, over the shared
//! plumbing at the top.
//!
//! - [`oauth`]: `/services/oauth2/*`, the identity URL and the sign-in page;
//! - [`soap`]: the partner SOAP endpoint (login, logout, undelete, emptyRecycleBin);
//! - [`metadata`]: the Metadata API (SOAP calls, deploys over SOAP and REST, retrieves);
//! - [`data`]: the REST data API (sObjects, collections, composite, SOQL, SOSL, describe,
//!   layouts, list views, platform events, event schemas);
//! - [`tooling`]: the Tooling API's sObjects and schema objects;
//! - [`bulk`]: the Bulk API 2.0 and 1.0 wire forms;
//! - [`control`]: forcebus's test controls (`/forcebus/v1/control`);
//! - the plumbing every family shares: [`ctx`] (origin, API version and caller of a
//!   request), [`error`] (Salesforce's JSON error bodies), [`body`] (request-body checks),
//!   [`multipart`] (`multipart/form-data` bodies), [`limits`] (API request counting and
//!   `Sforce-Limit-Info`), and [`routes`] (every path and its handlers).
//!
//! Every error code comes from the one table, [`forcebus_org::StatusCode`]; every request
//! runs in a debug span ([`request_spans`]) that records no token.

// describe's field objects are large `json!` literals.
#![recursion_limit = "256"]

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::LatencyUnit;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnFailure, DefaultOnRequest, DefaultOnResponse, TraceLayer};
use tracing::Level;

use forcebus_auth::Auth;
use forcebus_org::{Org, StatusCode as Code};

mod body;
mod bulk;
mod control;
pub mod ctx;
pub mod data;
mod error;
mod limits;
pub mod metadata;
pub mod multipart;
mod oauth;
mod routes;
mod soap;
mod tooling;

pub use ctx::ConnInfo;
use error::ApiError;

/// REST settings.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// The newest API version served (and listed last), e.g. 59.
    pub latest_version: u32,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// The daily API request allocation shown by `/limits` and `Sforce-Limit-Info`.
    pub daily_api_requests: u64,
    /// Whether exhausting the allocation answers `403 REQUEST_LIMIT_EXCEEDED`.
    pub enforce_api_limit: bool,
    /// The server's admin key (the admin endpoints also take an org access token); empty
    /// for none.
    pub admin_key: String,
}

impl Default for RestConfig {
    fn default() -> Self {
        Self {
            latest_version: 62,
            max_body_bytes: 10 * 1024 * 1024,
            daily_api_requests: 15_000,
            enforce_api_limit: false,
            admin_key: String::new(),
        }
    }
}

/// Shared state of every handler.
#[derive(Debug)]
pub struct AppState {
    /// Identity and tokens.
    pub auth: Arc<Auth>,
    /// The org.
    pub org: Arc<Org>,
    /// Settings.
    pub config: RestConfig,
    /// API request counting.
    pub usage: limits::Usage,
    /// Open query cursors.
    pub cursors: data::Cursors,
    /// Who is subscribed to which generic streaming channel (the Streaming API knows).
    pub presence: Arc<dyn forcebus_org::generic::Presence>,
    /// Bulk API jobs.
    pub bulk: Arc<forcebus_bulk::Bulk>,
    /// Metadata API deploys, for `checkDeployStatus`.
    pub deploys: metadata::Deploys,
    /// Metadata API retrieves, for `checkRetrieveStatus`.
    pub retrieves: metadata::Retrieves,
}

/// Shared state handle.
pub type State = Arc<AppState>;

/// Builds the router for every HTTP endpoint of this crate: the route tables of
/// [`routes`], each request's body read whole first (but Bulk uploads, which are streamed),
/// errors in Salesforce's shapes, API requests counted, and a span per request.
pub fn router(state: State) -> Router {
    let buffered = routes::data()
        .merge(routes::other())
        .fallback(unknown_path)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            read_body_first,
        ))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes));
    let streamed = routes::uploads().layer(DefaultBodyLimit::disable());
    buffered
        .merge(streamed)
        .layer(middleware::from_fn(method_not_allowed))
        .layer(middleware::from_fn_with_state(state.clone(), limits::count))
        .layer(request_spans())
        .with_state(state)
}

/// An unknown path: under the data APIs a request without a valid session gets
/// `401 INVALID_SESSION_ID` first, as Salesforce answers; otherwise `404 NOT_FOUND`.
async fn unknown_path(
    axum::extract::State(app): axum::extract::State<State>,
    headers: axum::http::HeaderMap,
    uri: Uri,
) -> ApiError {
    let guarded = [
        "/services/data/v",
        "/services/apexrest/",
        "/services/async/",
    ]
    .iter()
    .any(|p| uri.path().starts_with(p));
    let session = ctx::bearer(&headers).and_then(|t| app.auth.verify(t));
    if guarded && session.is_none() {
        return ApiError::invalid_session();
    }
    ApiError::not_found()
}

/// The layer giving each request a debug span `request{method, path}` with a debug event
/// for its start and one for its end (status, latency). The path goes without its query
/// string, and no header or body is recorded: queries, `Authorization` headers and SOAP
/// bodies carry tokens. Failures (5xx, which SOAP faults are) log at debug too: errors
/// worth an error line log it where they happen.
pub fn request_spans()
-> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, fn(&Request) -> tracing::Span> {
    TraceLayer::new_for_http()
        .make_span_with(request_span as fn(&Request) -> tracing::Span)
        .on_request(DefaultOnRequest::new().level(Level::DEBUG))
        .on_response(
            DefaultOnResponse::new()
                .level(Level::DEBUG)
                .latency_unit(LatencyUnit::Micros),
        )
        .on_failure(DefaultOnFailure::new().level(Level::DEBUG))
}

fn request_span(req: &Request) -> tracing::Span {
    tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
}

/// Routes `/x/` as `/x` and `//a//b` as `/a/b`: clients add trailing slashes freely
/// (simple-salesforce), and the sf CLI, after `sf org login access-token`, keeps the
/// instance URL with a trailing `/` and asks for `//services/data/...`. Salesforce
/// accepts both. Must run before routing, so the server wraps the router with it.
pub fn normalize_path<B>(mut req: axum::http::Request<B>) -> axum::http::Request<B> {
    let path = req.uri().path();
    let needed = (path.len() > 1 && path.ends_with('/')) || path.contains("//");
    if !needed {
        return req;
    }
    let mut clean = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        clean.push('/');
        clean.push_str(segment);
    }
    if clean.is_empty() {
        clean.push('/');
    }
    if let Some(q) = req.uri().query() {
        clean.push('?');
        clean.push_str(q);
    }
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = clean.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// Gives axum's bare 405 (and the body limit's 413) the Salesforce body.
async fn method_not_allowed(req: Request, next: Next) -> Response {
    let method: Method = req.method().clone();
    let pattern = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let resp = next.run(req).await;
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
        // axum's body limit answers in plain text; clients expect Salesforce's error array.
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::RequestEntityTooLarge,
            "The request body is larger than the server accepts.",
        )
        .into_response();
    }
    if resp.status() != StatusCode::METHOD_NOT_ALLOWED {
        return resp;
    }
    let allowed = routes::allowed_methods(pattern.as_deref().unwrap_or(""));
    let mut out = ApiError::method_not_allowed(&method, allowed).into_response();
    if let Ok(v) = HeaderValue::from_str(allowed) {
        out.headers_mut().insert(header::ALLOW, v);
    }
    out
}

/// Reads every request body before routing. A handler that fails before reading its body
/// (a 401 on a PATCH, say) would otherwise leave bytes on the connection, and hyper would
/// close a keep-alive connection the client is about to reuse.
async fn read_body_first(
    axum::extract::State(app): axum::extract::State<State>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, app.config.max_body_bytes).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        // SOAP clients read faults, not JSON.
        Err(_) if parts.uri.path().starts_with("/services/Soap/") => {
            metadata::calls::too_large(app.config.max_body_bytes)
        }
        Err(_) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::RequestEntityTooLarge,
            "The request body is larger than the server accepts.",
        )
        .into_response(),
    }
}

/// Runs one transaction: validated and committed off the async workers, then awaited until
/// durable without holding a thread (one syncing thread fsyncs for every waiter). It runs
/// as a task of its own, so a client that hangs up cannot leave a committed transaction's
/// events unshown.
pub(crate) async fn transact(
    org: &Arc<Org>,
    caller: forcebus_org::Caller,
    ops: Vec<forcebus_org::Op>,
    all_or_none: bool,
    bulk_load: bool,
) -> Result<Result<forcebus_org::TxnResult, forcebus_org::StoreError>, ApiError> {
    let org = org.clone();
    let mode = forcebus_org::Mode {
        all_or_none,
        bulk_load,
    };
    tokio::spawn(async move {
        let committing = blocking(move || org.execute(&caller, ops, mode)).await?;
        Ok(match committing {
            Ok(committing) => committing.wait_async().await,
            Err(e) => Err(e),
        })
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
}

/// Runs blocking org work (SQLite commits) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(&e))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use tower::ServiceExt as _;

    use super::*;

    fn normalized(uri: &str) -> String {
        let req = axum::http::Request::builder().uri(uri).body(()).unwrap();
        normalize_path(req).uri().to_string()
    }

    #[test]
    fn repeated_and_trailing_slashes_are_dropped() {
        for (given, want) in [
            (
                "//services/data/v59.0/sobjects",
                "/services/data/v59.0/sobjects",
            ),
            (
                "/services//data/v59.0/query/?q=a//b",
                "/services/data/v59.0/query?q=a//b",
            ),
            ("/services/data/", "/services/data"),
            ("/", "/"),
            ("//", "/"),
            ("/services/data/v59.0", "/services/data/v59.0"),
        ] {
            assert_eq!(normalized(given), want, "{given}");
        }
    }

    /// Log output, kept for the test to read.
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
        type Writer = Logs;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[tokio::test]
    async fn request_spans_record_method_path_status_and_latency_and_no_secret() {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::DEBUG)
            .with_ansi(false)
            .with_writer(logs.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = Router::new()
            .route(
                "/services/oauth2/revoke",
                axum::routing::post(|| async { "ok" }),
            )
            .layer(request_spans());
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/services/oauth2/revoke?token=SECRET-QUERY")
            .header(header::AUTHORIZATION, "Bearer SECRET-HEADER")
            .body(Body::from("token=SECRET-BODY"))
            .unwrap();
        let resp = app.oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(
            text.contains("request{method=POST path=/services/oauth2/revoke}"),
            "{text}"
        );
        assert!(text.contains("status=200"), "{text}");
        assert!(text.contains("latency="), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
    }
}
