//! Which org a request is for, found from its credential as Salesforce's APIs say it
//! (orgs are isolated from one another): an access token names its org (`00D…!…`), so REST, the
//! Streaming API, SOAP calls with a session and the Pub/Sub API go by token; a sign-in
//! goes by username (usernames are unique across the server), by the org an authorization
//! code names (`00D…!…`, as a token), or by the connected app's client id; a browser on
//! the OAuth pages by the client id of the app it authorizes, else by the org its session
//! cookie names (`00D…!…`). Anything else, and every request while the server holds only its default
//! org, is the default org's; so is a token naming an org the server does not hold (a
//! deleted one), which the default org refuses in its protocol's own shape (REST's
//! `INVALID_SESSION_ID`, the Streaming API's 401 or 403, Pub/Sub's `UNAUTHENTICATED`).
//!
//! Once its org is found, a request is served here or, on a shared database, passed on to
//! the node serving that org ([`crate::tenants::Route`]). [`streaming_api`]: the lean
//! path's Streaming API requests, served by their org without the routers.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::response::Response;
use tower::{Service, ServiceExt};

use forcebus_org::RecordId;

mod streaming_api;

pub(crate) use streaming_api::StreamingApi;

use crate::hosted::{Guarded, Hosted};
use crate::tenants::{Route, Tenants};

/// The made org an access token names, if the server holds it (else the default org,
/// which does not know the token either, answers).
async fn by_token(tenants: &Arc<Tenants>, token: &str) -> Option<Arc<Hosted>> {
    let id = token
        .split_once('!')
        .and_then(|(org, _)| RecordId::parse(org))?;
    if tenants.is_default(id.as15()) {
        return None;
    }
    tenants.find(id.as15()).await
}

/// The token a request carries in a header: Bulk API 1.0's session (`X-SFDC-Session`
/// first, as Bulk API 1.0 reads it) under `/services/async/`, else `Authorization`.
fn header_credential(request: &Request) -> Option<String> {
    let headers = request.headers();
    let token = if request.uri().path().starts_with("/services/async/") {
        forcebus_http::ctx::bulk_session(headers)
    } else {
        forcebus_http::ctx::bearer(headers)
    };
    token.map(str::to_owned)
}

/// `GET /services/oauth2/revoke?token=…` names the token it revokes in its query.
fn revoked_in_query(request: &Request) -> Option<String> {
    if !request.uri().path().starts_with("/services/oauth2/revoke") {
        return None;
    }
    form_urlencoded::parse(request.uri().query()?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// Sign-ins and SOAP calls carry their credential in the body (the login page at `/`
/// too).
fn credential_in_body(method: &Method, path: &str) -> bool {
    method == Method::POST
        && (path == "/"
            || path.starts_with("/services/oauth2/token")
            || path.starts_with("/services/oauth2/authorize")
            || path.starts_with("/services/oauth2/revoke")
            || path.starts_with("/services/Soap/"))
}

/// Routes one HTTP request to its org's router (opening the org if it rests), or on to
/// the node serving its org; the org counts as in use until the response has been sent.
pub(crate) async fn http(State(tenants): State<Arc<Tenants>>, request: Request) -> Response {
    // The rare and large steps (reading a body for its credential, looking an org up in
    // the database, passing the request on) are boxed: the future of a request parked
    // for a long poll keeps only what serving it here needs.
    let (made, request) = match Box::pin(pick(&tenants, request)).await {
        Ok(picked) => picked,
        Err(response) => return response,
    };
    let hops = request
        .extensions()
        .get::<forcebus_listener::forwarded::PassedOn>()
        .map_or(0, |p| p.hops);
    let made = made.unwrap_or_else(|| tenants.default_made().clone());
    let bayeux = request.uri().path().starts_with("/cometd/");
    let unavailable = |why: &str| {
        if bayeux {
            forcebus_listener::forward::unavailable_to_bayeux(why)
        } else {
            forcebus_listener::forward::unavailable(why)
        }
    };
    let mut route = Box::pin(tenants.route(&made, hops)).await;
    if matches!(route, Route::Gone) {
        // A deleted org's token: the default org refuses it.
        route = Box::pin(tenants.route(tenants.default_made(), hops)).await;
    }
    let (tenant, activity) = match route {
        Route::Here(tenant, activity) => (tenant, activity),
        Route::There(holder) => {
            let forward = tenants.cluster().map(|c| &c.forward);
            let Some(f) = forward else {
                return unavailable("no node to pass the request on to");
            };
            let span = tracing::info_span!("org", id = %made.key(), to = %holder.node);
            let passed = Box::pin(tracing::Instrument::instrument(
                f.http(request, &holder),
                span,
            ))
            .await;
            return passed.unwrap_or_else(|unreachable| {
                // Asked of the database again next time: the node may have died.
                made.ownership.forget_holder();
                if bayeux {
                    unavailable("the node serving this org cannot be reached")
                } else {
                    unreachable
                }
            });
        }
        Route::Unavailable(why) => return unavailable(&why),
        Route::Gone => return unavailable("the org cannot be opened"),
    };
    let router = tenant.router.clone();
    let span = org_span(&tenants, &tenant);
    drop(tenant);
    let response = match tracing::Instrument::instrument(router.oneshot(request), span).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    response.map(|body| Body::new(Guarded::new(body, Some(activity))))
}

/// The span a request served by `tenant` runs in. Every log line of the request names its
/// org when the server may hold several. A server of its default org alone (its id is in
/// the banner) keeps the span at debug: at the default log level an enabled span per
/// request cost about 8% of a small request's CPU. Exported with OTLP either way.
fn org_span(tenants: &Tenants, tenant: &crate::tenant::Tenant) -> tracing::Span {
    if tenants.holds_made() {
        tracing::info_span!("org", id = %tenant.org.id().to18())
    } else {
        tracing::debug_span!("org", id = %tenant.org.id().to18())
    }
}

/// The made org a request is for (`None`: the default org).
async fn pick(
    tenants: &Arc<Tenants>,
    request: Request,
) -> Result<(Option<Arc<Hosted>>, Request), Response> {
    let token = header_credential(&request).or_else(|| revoked_in_query(&request));
    if let Some(token) = token {
        return Ok((by_token(tenants, &token).await, request));
    }
    if !tenants.holds_made() {
        return Ok((None, request));
    }
    if let Some(app) = browser_app(&request) {
        let cookie = forcebus_oauth::session_cookie(request.headers()).map(str::to_owned);
        return Ok((browser_org(tenants, app, cookie).await, request));
    }
    if !credential_in_body(request.method(), request.uri().path()) {
        return Ok((None, request));
    }
    let (parts, body) = request.into_parts();
    let limit = tenants.max_body();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| forcebus_http::body_too_large(parts.uri.path(), limit))?;
    let made = match body_credential(&parts.headers, &bytes) {
        Some(Credential::Token(t)) => by_token(tenants, &t).await,
        Some(Credential::Username(u)) => tenants.by_username(&u).await,
        Some(Credential::ClientId(c)) => tenants.by_client_id(&c).await,
        None => None,
    };
    Ok((made, Request::from_parts(parts, Body::from(bytes))))
}

/// A browser's request to the authorize URL (a `GET`) or to the approval page: the
/// client id its query names (`Some("")` when none).
fn browser_app(request: &Request) -> Option<String> {
    let path = request.uri().path();
    let get = request.method() == Method::GET;
    let authorize = get && path == "/services/oauth2/authorize";
    if !authorize && path != forcebus_oauth::APPROVAL_PATH {
        return None;
    }
    let query = request.uri().query().unwrap_or_default();
    let client = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.into_owned());
    Some(client.unwrap_or_default())
}

/// The org of a browser on the OAuth pages: the one whose connected app has the client id
/// (so a browser signed in to another org is asked to sign in to this one), else, for
/// forcebus's console (every org's client) or a post without one, the org its session
/// cookie names.
async fn browser_org(
    tenants: &Arc<Tenants>,
    app: String,
    cookie: Option<String>,
) -> Option<Arc<Hosted>> {
    if !app.is_empty() && app != forcebus_auth::CONSOLE_CLIENT {
        return tenants.by_client_id(&app).await;
    }
    by_token(tenants, &cookie?).await
}

/// What a body says of who is calling.
#[derive(Debug, PartialEq)]
enum Credential {
    Token(String),
    Username(String),
    ClientId(String),
}

/// A form's `username` (or authorization `code`, or `client_id`), or a SOAP envelope's
/// `sessionId` (or `username`).
fn body_credential(headers: &axum::http::HeaderMap, body: &[u8]) -> Option<Credential> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        // An authorization code names its org as a token does; so does a token to revoke.
        return get("username")
            .map(Credential::Username)
            .or_else(|| get("code").map(Credential::Token))
            .or_else(|| get("token").map(Credential::Token))
            .or_else(|| get("client_id").map(Credential::ClientId));
    }
    let root = forcebus_xml::parse(body).ok()?;
    element_text(&root, "sessionId")
        .map(Credential::Token)
        .or_else(|| element_text(&root, "username").map(Credential::Username))
}

/// The trimmed text of the first element (in document order) whose local name is
/// `name`, if it has any.
fn element_text(e: &forcebus_xml::Element, name: &str) -> Option<String> {
    if e.name == name {
        let text = e.text.trim();
        return (!text.is_empty()).then(|| text.to_owned());
    }
    e.children.iter().find_map(|c| element_text(c, name))
}

/// The Pub/Sub API, each call served by the org its `accesstoken` names (a wrong
/// `tenantid` is that org's to refuse, as it always was).
#[derive(Clone)]
pub(crate) struct GrpcDispatch {
    pub(crate) tenants: Arc<Tenants>,
    /// The client of this connection, put on each call for the list of subscribers.
    pub(crate) peer: Option<std::net::SocketAddr>,
    /// The cluster's key: a call another node passed on names its own client with it.
    pub(crate) forward_key: Option<Arc<str>>,
}

impl forcebus_listener::grpc::PerConnection for GrpcDispatch {
    type Body = GrpcBody;

    fn for_peer(&self, peer: Option<std::net::SocketAddr>) -> Self {
        Self {
            peer,
            ..self.clone()
        }
    }
}

/// A Pub/Sub response: from this node's org, or passed back from the node serving it.
type GrpcBody = http_body_util::Either<
    Guarded<forcebus_pubsub::ResetBody>,
    forcebus_listener::forward_grpc::GrpcBody,
>;

impl Service<axum::http::Request<hyper::body::Incoming>> for GrpcDispatch {
    type Response = axum::http::Response<GrpcBody>;
    type Error = Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Infallible>> + Send>,
    >;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: axum::http::Request<hyper::body::Incoming>) -> Self::Future {
        let forwarded = forcebus_listener::forwarded::believe(
            request.headers_mut(),
            self.forward_key.as_deref(),
        );
        let (conn, hops) = match forwarded {
            Some((client, passed)) => (client, passed.hops),
            None => (
                forcebus_http::ConnInfo {
                    tls: false,
                    peer: self.peer,
                    whole_replies: false,
                },
                0,
            ),
        };
        if let Some(peer) = conn.peer {
            request
                .extensions_mut()
                .insert(forcebus_pubsub::ClientAddress(peer));
        }
        let token = request
            .headers()
            .get("accesstoken")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let tenants = self.tenants.clone();
        Box::pin(async move {
            let made = by_token(&tenants, &token)
                .await
                .unwrap_or_else(|| tenants.default_made().clone());
            let mut route = tenants.route(&made, hops).await;
            if matches!(route, Route::Gone) {
                route = tenants.route(tenants.default_made(), hops).await;
            }
            let unavailable = |why: &str| {
                forcebus_listener::forward_grpc::grpc_unavailable(why)
                    .map(http_body_util::Either::Right)
            };
            match route {
                Route::Here(tenant, activity) => {
                    let grpc = tenant.grpc.clone();
                    drop(tenant);
                    let response = grpc.oneshot(request).await?;
                    Ok(response.map(|body| {
                        http_body_util::Either::Left(Guarded::new(body, Some(activity)))
                    }))
                }
                Route::There(holder) => match tenants.cluster() {
                    Some(c) => {
                        let passed = c.forward.grpc(request, conn, hops + 1, &holder).await;
                        let response = passed.unwrap_or_else(|unreachable| {
                            made.ownership.forget_holder();
                            unreachable
                        });
                        Ok(response.map(http_body_util::Either::Right))
                    }
                    None => Ok(unavailable("no node to pass the call on to")),
                },
                Route::Unavailable(why) => Ok(unavailable(&why)),
                Route::Gone => Ok(unavailable("the org cannot be opened")),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_read_from_forms_and_envelopes() {
        let form = |b: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert(
                header::CONTENT_TYPE,
                "application/x-www-form-urlencoded".parse().unwrap(),
            );
            body_credential(&h, b.as_bytes())
        };
        assert_eq!(
            form("grant_type=password&username=a%40b.c&password=x"),
            Some(Credential::Username("a@b.c".into()))
        );
        assert_eq!(
            form("grant_type=refresh_token&client_id=3MVG9x&refresh_token=r"),
            Some(Credential::ClientId("3MVG9x".into()))
        );
        let soap = |b: &str| body_credential(&axum::http::HeaderMap::new(), b.as_bytes());
        assert_eq!(
            soap(
                "<soapenv:Envelope><soapenv:Header><met:SessionHeader><met:sessionId>00DFb0000000001!abc</met:sessionId></met:SessionHeader></soapenv:Header></soapenv:Envelope>"
            ),
            Some(Credential::Token("00DFb0000000001!abc".into()))
        );
        assert_eq!(
            soap(
                "<Envelope><Body><login xmlns=\"urn:partner.soap.sforce.com\"><username>u@x.y</username><password>p</password></login></Body></Envelope>"
            ),
            Some(Credential::Username("u@x.y".into()))
        );
        assert_eq!(soap("<a><notusername>x</notusername></a>"), None);
        assert_eq!(soap("not xml at all <sessionId"), None);
    }

    #[test]
    fn a_soap_credential_is_read_as_xml_and_bad_xml_has_none() {
        let soap = |b: &str| body_credential(&axum::http::HeaderMap::new(), b.as_bytes());
        assert_eq!(
            soap("<Envelope><username><![CDATA[a&b@x.y]]></username></Envelope>"),
            Some(Credential::Username("a&b@x.y".into()))
        );
        assert_eq!(
            soap("<e:Envelope xmlns:e=\"x\"><e:username> a&amp;b@x.y </e:username></e:Envelope>"),
            Some(Credential::Username("a&b@x.y".into()))
        );
        for s in [
            "",
            "<",
            "sessionId",
            "<sessionId",
            "<sessionId>",
            "<x:sessionId>a",
            ":sessionId>é<",
            "<sessionId></sessionId>",
        ] {
            assert_eq!(soap(s), None, "{s}");
        }
        assert_eq!(
            soap("<é:sessionId>v</é:sessionId>"),
            Some(Credential::Token("v".into()))
        );
    }
}
