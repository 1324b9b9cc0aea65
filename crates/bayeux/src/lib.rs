//! The Streaming API: a Bayeux 1.0 server at `/cometd/{version}` with Salesforce's
//! behaviour (`streaming-cometd.md`), as an axum [`Router`].
//!
//! Sessions are found by `clientId` alone (no cookie needed). Each subscription is a cursor
//! into the org's event log, so nothing queues per session: a connect reply takes what its
//! cursors have (bounded per reply) and the next connect continues from there. A parked
//! connect waits for an event its subscriptions' channels may show (the log's bells of
//! their kinds), for its session to be kicked (a newer connect, a subscribe, a
//! disconnect), or for the hold timeout.
//!
//! Layout:
//! - [`session`]: sessions, subscriptions and their cursors.
//! - [`protocol`]: the meta channels, one file each (handshake, connect, subscribe,
//!   unsubscribe, disconnect), and request parsing; [`error`]: Salesforce's Bayeux errors.
//! - `deliver`: event messages, rendered through `forcebus-events`.
//! - `later`: a connect's reply as a body ready later, on connections that allow it.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use forcebus_auth::Auth;
use forcebus_org::Org;
use forcebus_org::generic::Presence;

mod deliver;
pub mod error;
mod later;
pub mod protocol;
pub mod session;

/// Streaming settings (Salesforce's values by default).
#[derive(Debug, Clone)]
pub struct BayeuxConfig {
    /// How long a connect is held when nothing is pending (`advice.timeout`).
    pub connect_hold: Duration,
    /// How long a session lives without a connect (`maxInterval`).
    pub session_timeout: Duration,
    /// Largest accepted POST body, in bytes.
    pub max_request_bytes: usize,
    /// Most events in one connect reply.
    pub max_events_per_reply: usize,
    /// Most event JSON bytes in one connect reply (one event may exceed it alone).
    pub max_reply_bytes: usize,
    /// Concurrent sessions per user.
    pub max_clients: usize,
}

impl Default for BayeuxConfig {
    fn default() -> Self {
        Self {
            connect_hold: Duration::from_secs(110),
            session_timeout: Duration::from_secs(40),
            max_request_bytes: 32_768,
            max_events_per_reply: 1000,
            max_reply_bytes: 1 << 20,
            max_clients: 2000,
        }
    }
}

/// Shared state.
#[derive(Debug)]
pub struct Bayeux {
    pub(crate) org: Arc<Org>,
    pub(crate) auth: Arc<Auth>,
    pub(crate) config: BayeuxConfig,
    pub(crate) sessions: session::Sessions,
    /// Set once the server shuts down: parked connects are answered at once.
    pub(crate) closing: std::sync::atomic::AtomicBool,
    /// Wakes every parked connect when `closing` is set.
    pub(crate) closing_wake: tokio::sync::Notify,
}

impl Bayeux {
    /// How many Streaming API sessions are open.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// A server over `org`. It answers who is subscribed where ([`Presence`], for the
    /// generic streaming push resource).
    pub fn new(org: Arc<Org>, auth: Arc<Auth>, config: BayeuxConfig) -> Arc<Self> {
        Arc::new(Self {
            org,
            auth,
            config,
            sessions: session::Sessions::default(),
            closing: Default::default(),
            closing_wake: Default::default(),
        })
    }

    /// The message text a subscriber to `channel` on `/cometd/{api}` receives for `e`
    /// (`None` when the event is not shown there). Standard channels share one encoding of
    /// `data` per event and format.
    pub fn encode_event(
        &self,
        e: &forcebus_eventlog::Event,
        channel: &str,
        api: u32,
    ) -> Option<String> {
        deliver::message(self, e, channel, api)
    }

    /// The server is shutting down: every parked connect is answered now (with what it
    /// has and `reconnect: retry` advice, so clients come back once a server listens
    /// again), and later connects are not parked. Lets the HTTP listener drain at once
    /// instead of waiting out its grace period.
    pub fn shutdown(&self) {
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.closing_wake.notify_waiters();
    }

    /// Drops sessions that stopped connecting, or that the test controls dropped; returns
    /// how many remain.
    pub fn sweep(&self) -> usize {
        self.sessions.sweep(
            self.config.session_timeout,
            self.org.controls().session_epoch(),
        )
    }
}

impl Presence for Bayeux {
    fn online_users(&self, channel: &str) -> Vec<forcebus_org::RecordId> {
        let mut users = self.sessions.subscribers(
            channel,
            self.config.session_timeout,
            self.org.controls().session_epoch(),
        );
        users.sort();
        users.dedup();
        users
    }
}

/// `/cometd/{version}` and any suffix (CometD Java appends `/handshake`, ...).
///
/// No per-request trace layer here, unlike REST: long polls are most of the server's
/// requests, and tower-http's `TraceLayer` on this route raised bench/compare's fan-out
/// p99 from 11–17 ms to 14–22 ms (1,000 clients, 2 cores). Requests run in their
/// connection's span (listener, peer, TLS), and sessions log with their client id.
pub fn router(state: Arc<Bayeux>) -> Router {
    Router::new()
        .route("/cometd/{version}", post(handle).get(probe))
        .route("/cometd/{version}/{*rest}", post(handle).get(probe))
        .with_state(state)
}

const JSON_TYPE: &str = "application/json;charset=UTF-8";

fn json(body: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, JSON_TYPE)], body).into_response()
}

/// WebSocket upgrade probes (faye, CometD JS) get a prompt refusal.
async fn probe() -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain")],
        error::BayeuxError::InvalidConnectionType(Some("websocket")).to_string(),
    )
        .into_response()
}

async fn handle(
    State(bx): State<Arc<Bayeux>>,
    axum::extract::Path(params): axum::extract::Path<Vec<(String, String)>>,
    conn: Option<axum::Extension<forcebus_http::ConnInfo>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let version = params.first().map(|(_, v)| v.as_str()).unwrap_or("");
    let conn = conn.map(|c| c.0).unwrap_or_default();
    let (messages, token) = match read(&bx, version, &headers, &body) {
        Ok(read) => read,
        Err(refused) => return refused.into_response(),
    };
    let version = version.to_owned();
    // A parked connect holds nothing of its request: the header values and a small body
    // are slices of the connection's read buffer, which would stay allocated beside the
    // next one hyper reserves to notice the client leaving.
    drop((headers, body, params));
    let may_park = messages.iter().any(|m| m.channel == "/meta/connect");
    let reply = async move {
        protocol::process(&bx, messages, (token.as_deref(), conn.peer), &version).await
    };
    if may_park && conn.whole_replies {
        // The handler and the middleware around it end here; only the connect waits.
        let later = later::Later::new(tracing::Instrument::in_current_span(reply));
        let mut response = Response::new(axum::body::Body::new(later));
        // Sized for its one header: the response waits as long as the connect.
        let mut headers = HeaderMap::with_capacity(1);
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(JSON_TYPE),
        );
        *response.headers_mut() = headers;
        return response;
    }
    json(reply.await)
}

/// The version a Streaming API path names (`/cometd/{version}`, with any suffix), when
/// [`answer`] can take the request as it is: a `POST` whose version is written plainly
/// (the router decodes one written with `%` escapes).
pub fn answers(request: &axum::http::Request<Bytes>) -> bool {
    request.method() == axum::http::Method::POST
        && path_version(request.uri().path()).is_some_and(|v| !v.contains('%'))
}

fn path_version(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/cometd/")?;
    Some(rest.split_once('/').map_or(rest, |(version, _)| version))
}

/// A Streaming API `POST` answered whole, a connect's wait included, without the router
/// (the listener's direct path; [`answers`] says which requests it takes): the same
/// answer the router's route gives. A request refused before any message is looked at
/// (an old API version, a body too large or not Bayeux JSON) is answered at once
/// (`Err`); otherwise the answer comes from the returned future, which holds only what
/// processing the messages needs (a parked connect waits in it).
pub fn answer(
    bx: Arc<Bayeux>,
    request: axum::http::Request<Bytes>,
) -> Result<impl Future<Output = Response> + Send + 'static, Refused> {
    let (parts, body) = request.into_parts();
    let version = path_version(parts.uri.path()).unwrap_or("");
    let (messages, token) = read(&bx, version, &parts.headers, &body)?;
    let peer = parts
        .extensions
        .get::<forcebus_http::ConnInfo>()
        .and_then(|c| c.peer);
    let version = version.to_owned();
    Ok(
        async move { json(protocol::process(&bx, messages, (token.as_deref(), peer), &version).await) },
    )
}

/// A request the Streaming API refuses before looking at its messages.
#[derive(Debug)]
pub enum Refused {
    /// `/cometd/{version}` names no version that supports durable streaming.
    Version,
    /// The body is over `max_request_bytes`.
    TooLarge,
    /// The body is not Bayeux messages: why.
    NotBayeux(String),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Self::Version => (StatusCode::BAD_REQUEST, "Unsupported API version. Only API versions '37.0' and later are supported. URI format: '/cometd/59.0'").into_response(),
            Self::TooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "Maximum Request Size Exceeded").into_response()
            }
            Self::NotBayeux(why) => (StatusCode::BAD_REQUEST, why).into_response(),
        }
    }
}

/// A request's messages and token, or why the Streaming API refuses it.
fn read(
    bx: &Bayeux,
    version: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Vec<protocol::Message>, Option<String>), Refused> {
    if !protocol::version_ok(version) {
        return Err(Refused::Version);
    }
    if body.len() > bx.config.max_request_bytes {
        return Err(Refused::TooLarge);
    }
    let messages = protocol::parse(body).map_err(|e| Refused::NotBayeux(e.to_string()))?;
    Ok((messages, bearer(headers)))
}

/// The token of the `Authorization` header, in any of its three forms.
fn bearer(headers: &HeaderMap) -> Option<String> {
    forcebus_auth::bearer_token(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
        .map(str::to_owned)
}

/// Each live session's subscriptions, for the console.
impl forcebus_org::subscribers::Subscribers for Bayeux {
    fn subscribers(&self) -> Vec<forcebus_org::subscribers::Subscriber> {
        let epoch = self.org.controls().session_epoch();
        let mut out = Vec::new();
        let mut sessions = self.sessions.all();
        sessions.sort_by_key(|s| s.since_ms);
        for s in sessions {
            if s.gone.load(std::sync::atomic::Ordering::Relaxed) || s.dropped(epoch) {
                continue;
            }
            for sub in session::lock(&s.subs).iter() {
                out.push(forcebus_org::subscribers::Subscriber {
                    protocol: "cometd",
                    id: s.id.clone(),
                    user: s.user,
                    address: s.address.clone(),
                    channel: sub.name.clone(),
                    replay_id: sub.cursor.position(),
                    lag: sub.cursor.lag(),
                    since_ms: s.since_ms,
                });
            }
        }
        out
    }
}
