//! The admin API of a server of many orgs (`/forcebus/v1/orgs`), authorized by the
//! server's admin key (an org's own access token also reaches that org's entry):
//!
//! - `POST /forcebus/v1/orgs` `{"name", "config": {"users", "app", "objects",
//!   "platform_events", "cdc_entities"}}` (all optional) → 201 with the keys of the ready
//!   line (`org_id`, `user_id`, `username`, `password`, `security_token`, `client_id`,
//!   `client_secret`, `access_token`, `instance_url`, `api_version`) and `name`, `created`.
//! - `GET /forcebus/v1/orgs` (the default org first), `GET /forcebus/v1/orgs/{orgId}`:
//!   name, created, record and event counts.
//! - `POST /forcebus/v1/orgs/{orgId}/reset` → 200 with its entry: records and events gone;
//!   schema, users, credentials and tokens kept; replay ids go on growing; streams stay.
//! - `DELETE /forcebus/v1/orgs/{orgId}` → 204: its tokens answer 401 at once, its streams
//!   end, its data leaves the disk. The default org is not deleted.
//! - `/forcebus/v1/orgs/{orgId}/control[/…]`: that org's test controls
//!   (`/forcebus/v1/control[/…]`, `failure-modes.md`), for the admin key as for its tokens.
//!
//! Also the node's own `/forcebus/health`, `/forcebus/ready` and `/metrics`. On a shared
//! database every call about one org is passed on to the node serving it, a new org is
//! made on the node serving the fewest, and the list gathers every live node's orgs
//! ([`across`]). The bodies are types of their own ([`shapes`]).

mod across;
mod shapes;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};

use forcebus_http::ctx::Origin;
use forcebus_http::error::ApiError;
use forcebus_org::Code;

use crate::hosted::{Activity, Hosted, Kind};
use crate::tenant::Tenant;
use crate::tenants::Tenants;
use shapes::{IssuedToken, MadeOrg, NewOrg, OrgEntry, OrgList};

/// What the API needs besides the orgs.
pub(crate) struct OrgsApi {
    pub(crate) tenants: Arc<Tenants>,
    pub(crate) api_version: String,
}

/// The routes, with every other request dispatched to its org.
pub(crate) fn router(api: Arc<OrgsApi>) -> Router {
    let dispatch = Router::new()
        .fallback(crate::dispatch::http)
        .with_state(api.tenants.clone());
    let orgs = Router::new()
        .route("/forcebus/v1/orgs", get(list).post(create))
        .route("/forcebus/v1/orgs/{id}", get(one).delete(remove))
        .route("/forcebus/v1/orgs/{id}/reset", axum::routing::post(reset))
        .route("/forcebus/v1/orgs/{id}/token", axum::routing::post(token))
        .route("/forcebus/v1/orgs/{id}/control", any(control))
        .route("/forcebus/v1/orgs/{id}/control/{what}", any(control))
        .route_layer(axum::middleware::from_fn_with_state(
            api.clone(),
            across::pass_on,
        ));
    orgs.route("/metrics", get(metrics))
        .route("/forcebus/health", get(across::health))
        .route("/forcebus/ready", get(across::ready))
        .with_state(api)
        .fallback_service(dispatch)
}

/// `GET /metrics` (Prometheus), open like the health endpoints: counts only, no data.
async fn metrics(State(api): State<Arc<OrgsApi>>) -> Response {
    crate::metrics::serve(State(api.tenants.clone())).await
}

/// An error in Salesforce's shape, its code from the one table.
fn error(status: StatusCode, code: Code, message: impl Into<String>) -> Response {
    ApiError::new(status, code, message).into_response()
}

/// The admin key, or (for `org`) that org's own token.
fn authorized(api: &OrgsApi, headers: &HeaderMap, org: Option<&Tenant>) -> bool {
    let token = forcebus_http::ctx::bearer(headers).unwrap_or_default();
    by_admin_key(api, headers) || org.is_some_and(|t| t.auth.verify(token).is_some())
}

/// Whether the caller holds the server's admin key.
fn by_admin_key(api: &OrgsApi, headers: &HeaderMap) -> bool {
    let token = forcebus_http::ctx::bearer(headers).unwrap_or_default();
    let key = api.tenants.admin_key();
    !key.is_empty() && forcebus_auth::secret_eq(token, key)
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        Code::InvalidSessionId,
        "The admin API takes the server's admin key (the ready line's admin_key) as a bearer token.",
    )
}

/// `POST /forcebus/v1/orgs`.
async fn create(
    State(api): State<Arc<OrgsApi>>,
    Origin(origin): Origin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&api, &headers, None) {
        return unauthorized();
    }
    let wanted: NewOrg = if body.iter().all(u8::is_ascii_whitespace) {
        NewOrg::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(w) => w,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    Code::JsonParserError,
                    e.to_string(),
                );
            }
        }
    };
    let tenants = api.tenants.clone();
    let made =
        tokio::task::spawn_blocking(move || tenants.create(wanted.name, wanted.config)).await;
    let (made, t, access_token) = match made {
        Ok(Ok(made)) => made,
        Ok(Err(why)) if why.is_input() => {
            return error(StatusCode::BAD_REQUEST, Code::InvalidInput, why.to_string());
        }
        Ok(Err(why)) => {
            tracing::error!(error = %why, "An org could not be made.");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                Code::UnknownException,
                why.to_string(),
            );
        }
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                Code::UnknownException,
                "the org could not be made",
            );
        }
    };
    let body = MadeOrg {
        org_id: t.org.id().to18(),
        name: &made.info.name,
        created: &made.info.created,
        user_id: &t.admin_id,
        username: &t.admin.username,
        password: &t.admin.password,
        security_token: &t.admin.security_token,
        client_id: &t.app.client_id,
        client_secret: &t.app.client_secret,
        access_token: &access_token,
        instance_url: &origin,
        api_version: &api.api_version,
    };
    (StatusCode::CREATED, Json(body)).into_response()
}

/// `GET /forcebus/v1/orgs[?here=true]` (`here`: only the orgs this node serves, as
/// another node gathering the list asks).
async fn list(
    State(api): State<Arc<OrgsApi>>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    if !authorized(&api, &headers, None) {
        return unauthorized();
    }
    if api.tenants.cluster().is_some() {
        let here = query.get("here").is_some_and(|v| v == "true");
        return across::list(&api, here).await;
    }
    let orgs = api
        .tenants
        .all()
        .iter()
        .filter_map(|m| OrgEntry::of(m))
        .collect();
    Json(OrgList { orgs }).into_response()
}

/// The org a path names, as the caller may reach it: open, and in use while this lives.
struct Named {
    /// Open; `None` for a made org the admin key reaches without opening it.
    tenant: Option<Arc<Tenant>>,
    made: Arc<Hosted>,
    _activity: Option<Activity>,
}

impl Named {
    /// Its entry (`null` for the default org when it is not open here).
    fn entry(&self) -> Option<OrgEntry> {
        match (self.made.kind, &self.tenant) {
            (Kind::Default, Some(t)) => Some(OrgEntry::of_default(t)),
            (Kind::Default, None) => None,
            (Kind::Made, _) => Some(OrgEntry::of_made(&self.made)),
        }
    }
}

/// Whether a call needs the org open.
#[derive(Clone, Copy, PartialEq)]
enum Opening {
    /// To act on it (reset, its controls).
    Always,
    /// Only to check an org token (showing or deleting it with the admin key leaves a
    /// resting org at rest, so even one that no longer opens can be deleted).
    ForToken,
}

/// Why a path's org is not the caller's to reach.
enum Refused {
    Unauthorized,
    NotFound,
}

impl Refused {
    fn response(self) -> Response {
        match self {
            Self::Unauthorized => unauthorized(),
            Self::NotFound => error(
                StatusCode::NOT_FOUND,
                Code::NotFound,
                "The requested resource does not exist",
            ),
        }
    }
}

/// The org `id`, for the admin key or that org's own token (a missing org is the admin
/// key's to learn of). On a shared database, this node serves it (the call was passed on
/// here otherwise).
async fn named(
    api: &OrgsApi,
    id: &str,
    headers: &HeaderMap,
    opening: Opening,
) -> Result<Named, Refused> {
    let made = if api.tenants.is_default(id) {
        Some(api.tenants.default_made().clone())
    } else {
        api.tenants.find(id).await
    };
    let default = made.as_ref().is_some_and(|m| m.kind == Kind::Default);
    let found = match made {
        None => None,
        Some(m) if opening == Opening::ForToken && !default && by_admin_key(api, headers) => {
            Some(Named {
                tenant: None,
                made: m,
                _activity: None,
            })
        }
        // It could not be opened (or was deleted meanwhile).
        Some(m) => match api.tenants.serve_here(&m).await {
            Ok((tenant, activity)) => Some(Named {
                tenant: Some(tenant),
                made: m,
                _activity: Some(activity),
            }),
            Err(_) => None,
        },
    };
    let open = found.as_ref().and_then(|n| n.tenant.as_deref());
    if !authorized(api, headers, open) {
        return Err(Refused::Unauthorized);
    }
    found.ok_or(Refused::NotFound)
}

async fn one(
    State(api): State<Arc<OrgsApi>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match named(&api, &id, &headers, Opening::ForToken).await {
        Ok(n) => Json(n.entry()).into_response(),
        Err(r) => r.response(),
    }
}

async fn remove(
    State(api): State<Arc<OrgsApi>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match named(&api, &id, &headers, Opening::ForToken).await {
        Err(r) => return r.response(),
        Ok(n) if n.made.kind == Kind::Default => {
            return error(
                StatusCode::BAD_REQUEST,
                Code::InvalidInput,
                "The server's default org cannot be deleted.",
            );
        }
        Ok(_) => {}
    }
    let tenants = api.tenants.clone();
    match tokio::task::spawn_blocking(move || tenants.delete(&id)).await {
        Ok(Ok(true)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Ok(false)) => Refused::NotFound.response(),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::UnknownException,
            format!("{e:#}"),
        ),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::UnknownException,
            "the org could not be deleted",
        ),
    }
}

async fn reset(
    State(api): State<Arc<OrgsApi>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let n = match named(&api, &id, &headers, Opening::Always).await {
        Ok(n) => n,
        Err(r) => return r.response(),
    };
    let Some(org) = n.tenant.as_ref().map(|t| t.org.clone()) else {
        return Refused::NotFound.response();
    };
    match tokio::task::spawn_blocking(move || org.reset_data()).await {
        Ok(Ok(_)) => Json(n.entry()).into_response(),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::UnknownException,
            e.message,
        ),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::UnknownException,
            "the org could not be reset",
        ),
    }
}

/// `POST /forcebus/v1/orgs/{id}/token`: a new access token of the org's first user, for
/// the admin key only (which reaches the org's controls already): how `forcebus query
/// --org` and the other data commands reach a made org.
async fn token(
    State(api): State<Arc<OrgsApi>>,
    Path(id): Path<String>,
    Origin(origin): Origin,
    headers: HeaderMap,
) -> Response {
    if !by_admin_key(&api, &headers) {
        return unauthorized();
    }
    let n = match named(&api, &id, &headers, Opening::Always).await {
        Ok(n) => n,
        Err(r) => return r.response(),
    };
    let Some(t) = n.tenant.clone() else {
        return Refused::NotFound.response();
    };
    let Some(user) = forcebus_org::RecordId::parse(&t.admin_id) else {
        return Refused::NotFound.response();
    };
    let issued = tokio::task::spawn_blocking(move || {
        t.auth
            .issue(user, false)
            .map(|g| (g.access_token, t.org.id().to18(), t.admin_id.clone()))
    })
    .await;
    match issued {
        Ok(Ok((access_token, org_id, user_id))) => Json(IssuedToken {
            access_token,
            org_id,
            user_id,
            instance_url: origin,
        })
        .into_response(),
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::UnknownException,
            "no token could be issued",
        ),
    }
}

/// `/forcebus/v1/orgs/{id}/control[/{what}]`: the org's own `/forcebus/v1/control[/{what}]`,
/// which takes the admin key (every org holds the server's) or a token of that org.
async fn control(
    State(api): State<Arc<OrgsApi>>,
    Path(params): Path<Vec<(String, String)>>,
    request: Request,
) -> Response {
    let id = params.first().map(|(_, v)| v.as_str()).unwrap_or_default();
    let n = match named(&api, id, request.headers(), Opening::Always).await {
        Ok(n) => n,
        Err(r) => return r.response(),
    };
    let Some(tenant) = n.tenant.clone() else {
        return Refused::NotFound.response();
    };
    let (mut parts, body) = request.into_parts();
    // The path as sent from `/control` on (the id's segment holds no `/`).
    let raw = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let tail = raw
        .strip_prefix("/forcebus/v1/orgs/")
        .and_then(|r| r.split_once('/'))
        .map_or("", |(_, tail)| tail);
    parts.uri = match format!("/forcebus/v1/{tail}").parse() {
        Ok(uri) => uri,
        Err(_) => return Refused::NotFound.response(),
    };
    let router = tenant.router.clone();
    drop(tenant);
    match tower::ServiceExt::oneshot(router, Request::from_parts(parts, body)).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
