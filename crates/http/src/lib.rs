//! What every HTTP protocol family of forcebus shares (the REST data API, the SOAP APIs,
//! the Bulk APIs' wire, OAuth): the state their handlers start from ([`Core`]), the
//! request context ([`ctx`]: origin, API version, caller), Salesforce's JSON error bodies
//! ([`error`]) and the bodies clients parse ([`shapes`]), request-body checks ([`body`],
//! [`multipart`]), API request counting
//! ([`limits`]), running org work off the async workers ([`blocking`], [`transact`]), and
//! the layers around the merged routers of every family ([`serve`]): each body read whole
//! first, 405 and 413 in Salesforce's shapes, an unknown path's answer, a span per
//! request.
//!
//! Every error code comes from the one table, [`forcebus_org::Code`]; every request
//! runs in a debug span ([`request_spans`]) that records no token.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::LatencyUnit;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnFailure, DefaultOnRequest, DefaultOnResponse, TraceLayer};
use tracing::Level;

use forcebus_auth::Auth;
use forcebus_org::{Code, Org};

pub mod body;
pub mod ctx;
pub mod error;
pub mod journal;
pub mod limits;
pub mod multipart;
pub mod shapes;
pub mod tabs;
pub mod upload;

pub use ctx::ConnInfo;
use error::ApiError;

/// HTTP settings every family reads.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// The newest API version served (and listed last): 68 (Winter '27) by default.
    pub latest_version: u32,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest file a multipart record write streams in ([`upload`]), in bytes.
    pub max_file_bytes: u64,
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
            latest_version: 68,
            max_body_bytes: 50 * 1024 * 1024,
            max_file_bytes: 2 * 1024 * 1024 * 1024,
            daily_api_requests: 15_000,
            enforce_api_limit: false,
            admin_key: String::new(),
        }
    }
}

/// What every family's handlers share: one org and what serves it.
#[derive(Debug)]
pub struct Core {
    /// Identity and tokens.
    pub auth: Arc<Auth>,
    /// The org.
    pub org: Arc<Org>,
    /// Settings.
    pub config: RestConfig,
    /// API request counting.
    pub usage: limits::Usage,
    /// Who is subscribed to which generic streaming channel (the Streaming API knows).
    pub presence: Arc<dyn forcebus_org::generic::Presence>,
    /// Bulk API jobs.
    pub bulk: Arc<forcebus_bulk::Bulk>,
    /// Who is subscribed and how far behind (the streaming edges know).
    pub subscribers: Arc<dyn forcebus_org::subscribers::Subscribers>,
    /// The org's recent API calls.
    pub journal: Arc<journal::Journal>,
}

/// A family's state, which holds the [`Core`]: what the shared extractors ([`ctx::Call`])
/// read.
pub trait HasCore {
    /// The core.
    fn core(&self) -> &Core;
}

impl HasCore for Core {
    fn core(&self) -> &Core {
        self
    }
}

impl<T: HasCore> HasCore for Arc<T> {
    fn core(&self) -> &Core {
        (**self).core()
    }
}

/// The routers of every family, merged, as one router: `buffered` with each request's
/// body read whole first, `streamed` (Bulk uploads) not; errors in Salesforce's shapes,
/// API requests counted, a span per request.
pub fn serve(core: Arc<Core>, buffered: Router, streamed: Router) -> Router {
    let max = core.config.max_body_bytes;
    let buffered = buffered
        .fallback_service(axum::routing::any(unknown_path).with_state(core.clone()))
        .layer(middleware::from_fn_with_state(
            core.clone(),
            read_body_first,
        ))
        .layer(DefaultBodyLimit::max(max));
    let streamed = streamed.layer(DefaultBodyLimit::disable());
    with_salesforce_statuses(buffered.merge(streamed))
        .layer(middleware::from_fn_with_state(
            core.clone(),
            journal::record,
        ))
        .layer(middleware::from_fn_with_state(core, limits::count))
        .layer(request_spans())
}

/// `routes` whole, its 405s and 413s given Salesforce's bodies. The layer wraps the router
/// as one service (a layer on the router itself would wrap each route, inside the method
/// routing that adds the `Allow` header a 405 names).
fn with_salesforce_statuses(routes: Router) -> Router {
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn(salesforce_statuses))
}

/// An unknown path: under the data APIs a request without a valid session gets
/// `401 INVALID_SESSION_ID` first, as Salesforce answers; otherwise `404 NOT_FOUND`.
async fn unknown_path(
    axum::extract::State(core): axum::extract::State<Arc<Core>>,
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
    let session = ctx::bearer(&headers).and_then(|t| core.auth.verify(t));
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

/// The body of a request over the size limit.
pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        Code::RequestEntityTooLarge,
        "The request body is larger than the server accepts.",
    )
}

/// Gives axum's bare 405 and the body limit's 413 Salesforce's bodies. A 405 names the
/// methods the route takes, which axum derives from the route itself (its `Allow`
/// header), so no table is kept by hand.
async fn salesforce_statuses(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let resp = next.run(req).await;
    match resp.status() {
        // axum's body limit answers in plain text; clients expect Salesforce's error array.
        StatusCode::PAYLOAD_TOO_LARGE => too_large().into_response(),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = resp.headers().get(header::ALLOW).cloned();
            let allowed = allow
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let mut out = ApiError::method_not_allowed(&method, allowed).into_response();
            if let Some(v) = allow {
                out.headers_mut().insert(header::ALLOW, v);
            }
            out
        }
        _ => resp,
    }
}

/// Reads every request body before routing. A handler that fails before reading its body
/// (a 401 on a PATCH, say) would otherwise leave bytes on the connection, and hyper would
/// close a keep-alive connection the client is about to reuse. A record write with files
/// ([`upload`]) has them streamed to the store instead, and only its JSON read.
async fn read_body_first(
    axum::extract::State(core): axum::extract::State<Arc<Core>>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(limits) = upload::limit(&core, &req) {
        return match upload::spool(core, req, limits).await {
            Ok(req) => next.run(req).await,
            Err(refused) => refused,
        };
    }
    buffer_body(core.config.max_body_bytes, req, next).await
}

/// Reads the body of `req` whole (at most `max` bytes) before passing it on.
async fn buffer_body(max: usize, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, max).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        // SOAP clients read faults, not JSON.
        Err(_) => body_too_large(parts.uri.path(), max),
    }
}

/// The answer to a request to `path` whose body is over `max` bytes, in the shape its
/// client reads: SOAP clients read faults, not JSON.
pub fn body_too_large(path: &str, max: usize) -> Response {
    if path.starts_with("/services/Soap/") {
        return soap_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            forcebus_xml::soap::fault(
                forcebus_xml::soap::METADATA_NS,
                Code::ExceededMaxSizeRequest.as_str(),
                &format!(
                    "Maximum size of request reached. Maximum size of request is {max} bytes."
                ),
            ),
        );
    }
    too_large().into_response()
}

/// A SOAP response as Salesforce sends it: `text/xml; charset=utf-8`.
pub fn soap_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Runs one transaction: validated and committed off the async workers, then awaited until
/// durable without holding a thread (one syncing thread fsyncs for every waiter). It runs
/// as a task of its own, so a client that hangs up cannot leave a committed transaction's
/// events unshown.
pub async fn transact(
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
        seed: false,
    };
    // Under way from now, so the org is not unloaded before the task reaches the writer.
    let underway = org.underway();
    tokio::spawn(async move {
        let _underway = underway;
        let committing = blocking(move || org.execute(&caller, ops, mode)).await?;
        Ok(match committing {
            Ok(committing) => committing.wait_async().await,
            Err(e) => Err(e),
        })
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
}

/// Runs `ops` as one all-or-none transaction, for the calls that write one thing (a
/// channel, a member, a managed subscription): the first result's id, or the first error.
pub async fn transact_one(
    org: &Arc<Org>,
    caller: forcebus_org::Caller,
    ops: Vec<forcebus_org::Op>,
) -> Result<forcebus_org::RecordId, forcebus_org::OrgError> {
    let failed = |e: String| forcebus_org::OrgError::new(Code::UnknownException, e);
    let result = transact(org, caller, ops, true, false)
        .await
        .map_err(|_| failed("the transaction could not run".into()))?
        .map_err(|e| forcebus_org::OrgError::storage(&e))?;
    let mut id = None;
    for r in result.results {
        let outcome = r?;
        id.get_or_insert(outcome.id());
    }
    id.ok_or_else(|| failed("no operation ran".into()))
}

/// Runs blocking org work (SQLite commits) off the async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    // The work stays in the request's span (its log lines, and its trace).
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(|e| ApiError::internal(&e))
}

#[cfg(test)]
mod tests;
