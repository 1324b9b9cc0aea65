//! `/services/oauth2/{token,authorize,userinfo,revoke}` and the identity URL
//! `/id/{orgId}/{userId}` (`org-rest-cdc.md` §1.1, §1.4).
//!
//! The authorization-code flow has two front doors over one authorization
//! ([`forcebus_auth::authorize`]): the one-step sign-in page at
//! `/services/oauth2/authorize` itself ([`login_page`]), and Salesforce's own pages, a login
//! page at `/?ec=302&startURL=…` and an approval page at
//! `/setup/secur/RemoteAccessAuthorizationPage.apexp` ([`pages`], which says who gets
//! which). Who a token is: [`identity`] (the identity URL and userinfo).

mod identity;
mod login_page;
mod pages;

pub use pages::{APPROVAL_PATH, session_cookie};

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac_sha256::hmac;
use serde::Serialize;
use serde_json::{Map, Value};

use forcebus_auth::OAuthError;

use axum::Router;
use axum::routing::{get, post};
use forcebus_http::Core;
use forcebus_http::ctx::{Origin, Peer};
use forcebus_http::error::json_response;

pub(crate) use forcebus_http::{blocking, error};

/// OAuth's state: the core every family shares.
pub(crate) type Shared = std::sync::Arc<Core>;

/// OAuth's routes and the identity URL.
pub fn router(state: std::sync::Arc<Core>) -> Router {
    Router::new()
        .route("/services/oauth2/token", post(token))
        .route(
            "/services/oauth2/authorize",
            get(authorize).post(authorize_post),
        )
        .route(
            "/services/oauth2/userinfo",
            get(identity::userinfo).post(identity::userinfo),
        )
        .route("/services/oauth2/revoke", get(revoke_get).post(revoke))
        .route("/id/{org}/{user}", get(identity::identity))
        .route("/", get(pages::login::page).post(pages::login::submit))
        .route(
            pages::APPROVAL_PATH,
            get(pages::approval::page).post(pages::approval::submit),
        )
        .with_state(state)
}

/// An OAuth error's body.
#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// An OAuth error as RFC 6749 §5.2 shapes it (`error`, `error_description`), status 400
/// (the `error_description` is what clients show).
fn oauth_error(e: &OAuthError) -> Response {
    let body = ErrorBody {
        error: e.error,
        error_description: &e.description,
    };
    json_response(StatusCode::BAD_REQUEST, &body)
}

/// The client id and secret of an `Authorization: Basic` header (RFC 6749 §2.3.1), which
/// some clients send instead of the `client_id` / `client_secret` form fields.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let raw = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = raw.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// `POST /services/oauth2/token`.
pub(crate) async fn token(
    State(app): State<Shared>,
    origin: Origin,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let basic = basic_credentials(&headers);
    let auth = app.auth.clone();
    let result = match crate::blocking(move || auth.token_grant(&form, basic, peer.0)).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let grant = match result {
        Ok(g) => g,
        Err(e) => return oauth_error(&e),
    };
    let id_url = format!(
        "{}/id/{}/{}",
        origin.0,
        app.org.id().to18(),
        grant.issued.user_id.to18()
    );
    let issued_at = grant.issued.issued_at.timestamp_millis().to_string();
    let signature = STANDARD.encode(hmac(
        app.auth.config().app.client_secret.as_bytes(),
        format!("{id_url}{issued_at}").as_bytes(),
    ));
    let mut out = Map::new();
    out.insert(
        "access_token".into(),
        Value::from(grant.issued.access_token),
    );
    if let Some(r) = grant.issued.refresh_token {
        out.insert("refresh_token".into(), Value::from(r));
    }
    out.insert("signature".into(), Value::from(signature));
    if let Some(scope) = grant.scope {
        out.insert("scope".into(), Value::from(scope));
    }
    out.insert("instance_url".into(), Value::from(origin.0.clone()));
    out.insert("id".into(), Value::from(id_url));
    out.insert("token_type".into(), Value::from("Bearer"));
    out.insert("issued_at".into(), Value::from(issued_at));
    json_response(StatusCode::OK, &Value::Object(out))
}

/// `GET /services/oauth2/authorize`, once the request is checked (a bad client id or
/// `redirect_uri` is answered here, never sent to the app): the one-step sign-in page, or
/// for a browser on Salesforce's pages a redirect to the login or the approval page
/// ([`pages::one_step`] chooses).
pub(crate) async fn authorize(
    State(app): State<Shared>,
    origin: Origin,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let request = match app.auth.authorize_request(&q, &origin.0) {
        Ok(request) => request,
        Err(e) => return oauth_error(&e),
    };
    if pages::one_step(&q, &headers) {
        return html(StatusCode::OK, login_page::render(&request, "", None));
    }
    pages::authorize_in_browser(&app, raw.as_deref().unwrap_or_default(), &headers)
}

/// `POST /services/oauth2/authorize`: the sign-in form. Success redirects to the app
/// with a code; a failure shows the page again with Salesforce's message.
pub(crate) async fn authorize_post(
    State(app): State<Shared>,
    peer: Peer,
    origin: Origin,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let request = match app.auth.authorize_request(&form, &origin.0) {
        Ok(r) => r,
        Err(e) => return oauth_error(&e),
    };
    let (username, password) = login_page::credentials(&form);
    let auth = app.auth.clone();
    let attempt = request.clone();
    let name = username.clone();
    let signed_in =
        crate::blocking(move || auth.authorize_sign_in(&attempt, &name, &password, peer.0)).await;
    match signed_in {
        Ok(Some(location)) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Ok(None) => html(
            StatusCode::OK,
            login_page::render(&request, &username, Some(login_page::FAILED)),
        ),
        Err(e) => e.into_response(),
    }
}

/// An HTML page (the sign-in pages and the approval page), never cached (it carries the
/// authorization request's parameters) and never framed (a framed approval page could be
/// clicked through by another site).
fn html(status: StatusCode, page: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html;charset=UTF-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"),
        ],
        page,
    )
        .into_response()
}

/// Revokes an access or refresh token, a refresh token's access tokens with it (RFC 7009):
/// 200 with an empty body when it was live;
/// `invalid_request` without a token, `invalid_token` for one that is unknown.
async fn revoke_token(app: Shared, token: Option<String>) -> Response {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return oauth_error(&OAuthError {
            error: "invalid_request",
            description: "token required".into(),
        });
    };
    let auth = app.auth.clone();
    match crate::blocking(move || auth.revoke(&token)).await {
        Ok(Ok(true)) => StatusCode::OK.into_response(),
        Ok(Ok(false)) => oauth_error(&OAuthError {
            error: "invalid_token",
            description: "invalid token".into(),
        }),
        Ok(Err(e)) => crate::error::ApiError::internal(&e).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /services/oauth2/revoke` with form field `token`.
pub(crate) async fn revoke(State(app): State<Shared>, body: Bytes) -> Response {
    let token = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned());
    revoke_token(app, token).await
}

/// `GET /services/oauth2/revoke?token=...`.
pub(crate) async fn revoke_get(
    State(app): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    revoke_token(app, q.get("token").cloned()).await
}

mod hmac_sha256 {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    /// HMAC-SHA256 of `msg` under `key`.
    pub(super) fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(msg);
        mac.finalize().into_bytes().to_vec()
    }
}
