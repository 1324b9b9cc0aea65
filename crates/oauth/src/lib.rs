//! `/services/oauth2/{token,authorize,userinfo,revoke}` and the identity URL
//! `/id/{orgId}/{userId}` (`org-rest-cdc.md` §1.1, §1.4).
//!
//! The authorization-code flow has two front doors over one authorization
//! ([`forcebus_auth::authorize`]): the one-step sign-in page at
//! `/services/oauth2/authorize` itself ([`login_page`]), and Salesforce's own pages, a login
//! page at `/?ec=302&startURL=…` and an approval page at
//! `/setup/secur/RemoteAccessAuthorizationPage.apexp` ([`pages`], which says who gets
//! which).

mod login_page;
mod pages;

pub use pages::{APPROVAL_PATH, session_cookie};

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac_sha256::hmac;
use serde_json::{Map, Value, json};

use forcebus_auth::OAuthError;
use forcebus_org::{Record, RecordId};

use axum::Router;
use axum::routing::{get, post};
use forcebus_http::Core;
use forcebus_http::ctx::{Origin, Peer, bearer};
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
        .route("/services/oauth2/userinfo", get(userinfo).post(userinfo))
        .route("/services/oauth2/revoke", get(revoke_get).post(revoke))
        .route("/id/{org}/{user}", get(identity))
        .route("/", get(pages::login::page).post(pages::login::submit))
        .route(
            pages::APPROVAL_PATH,
            get(pages::approval::page).post(pages::approval::submit),
        )
        .with_state(state)
}

/// An OAuth error as RFC 6749 §5.2 shapes it (`error`, `error_description`), status 400
/// (the `error_description` is what clients show).
fn oauth_error(e: &OAuthError) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": e.error, "error_description": e.description}),
    )
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

/// A user field as the identity response shows it: its stored value, `null` when unset.
fn user_text(user: &Record, field: &str) -> Value {
    user.get(field).to_value()
}

/// The identity response's `urls`: every API endpoint of the org at the origin the client
/// used, with the literal `{version}` placeholder unless a version was asked for, as
/// Salesforce returns them.
fn urls(origin: &str, org: &str, user: &str, version: Option<&str>) -> Value {
    let v = version.unwrap_or("{version}");
    let data = format!("{origin}/services/data/v{v}");
    json!({
        "enterprise": format!("{origin}/services/Soap/c/{v}/{org}"),
        "metadata": format!("{origin}/services/Soap/m/{v}/{org}"),
        "partner": format!("{origin}/services/Soap/u/{v}/{org}"),
        "rest": format!("{data}/"),
        "sobjects": format!("{data}/sobjects/"),
        "search": format!("{data}/search/"),
        "query": format!("{data}/query/"),
        "recent": format!("{data}/recent/"),
        "tooling_soap": format!("{origin}/services/Soap/T/{v}/{org}"),
        "tooling_rest": format!("{data}/tooling/"),
        "profile": format!("{origin}/{user}"),
        "feeds": format!("{data}/chatter/feeds"),
        "groups": format!("{data}/chatter/groups"),
        "users": format!("{data}/chatter/users"),
        "feed_items": format!("{data}/chatter/feed-items"),
        "feed_elements": format!("{data}/chatter/feed-elements"),
        "custom_domain": origin,
    })
}

/// The identity response's `photos`: the default profile photo URLs (no photos are kept).
fn photos(origin: &str) -> Value {
    json!({"picture": format!("{origin}/profilephoto/005/F"), "thumbnail": format!("{origin}/profilephoto/005/T")})
}

/// The identity URL's answer (`/id/{orgId}/{userId}`) in Salesforce's field order.
fn identity_json(origin: &str, org: RecordId, user: &Record, version: Option<&str>) -> Value {
    let (o, u) = (org.to18(), user.id.to18());
    json!({
        "id": format!("{origin}/id/{o}/{u}"),
        "asserted_user": true,
        "user_id": u,
        "organization_id": o,
        "username": user_text(user, "Username"),
        "nick_name": user_text(user, "CommunityNickname"),
        "display_name": user_text(user, "Name"),
        "email": user_text(user, "Email"),
        "email_verified": true,
        "first_name": user_text(user, "FirstName"),
        "last_name": user_text(user, "LastName"),
        "timezone": user_text(user, "TimeZoneSidKey"),
        "photos": photos(origin),
        "addr_street": user_text(user, "Street"),
        "addr_city": user_text(user, "City"),
        "addr_state": user_text(user, "State"),
        "addr_country": user_text(user, "Country"),
        "addr_zip": user_text(user, "PostalCode"),
        "mobile_phone": user_text(user, "MobilePhone"),
        "mobile_phone_verified": false,
        "is_lightning_login_user": false,
        "status": {"created_date": null, "body": null},
        "urls": urls(origin, &o, &u, version),
        "active": user.get("IsActive") != false,
        "user_type": "STANDARD",
        "language": user_text(user, "LanguageLocaleKey"),
        "locale": user_text(user, "LocaleSidKey"),
        "utcOffset": 0,
        "last_modified_date": user_text(user, "LastModifiedDate"),
        "is_app_installed": true,
    })
}

/// `GET /services/oauth2/userinfo`: the OpenID Connect view of the token's user.
pub(crate) async fn userinfo(
    State(app): State<Shared>,
    origin: Origin,
    headers: HeaderMap,
) -> Response {
    let Some(session) = bearer(&headers).and_then(|t| app.auth.verify(t)) else {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    };
    let Some(user) = app.org.get(session.user_id) else {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    };
    let (o, u) = (app.org.id().to18(), user.id.to18());
    let body = json!({
        "sub": format!("{}/id/{o}/{u}", origin.0),
        "user_id": u,
        "organization_id": o,
        "preferred_username": user_text(&user, "Username"),
        "nickname": user_text(&user, "CommunityNickname"),
        "name": user_text(&user, "Name"),
        "email": user_text(&user, "Email"),
        "email_verified": true,
        "given_name": user_text(&user, "FirstName"),
        "family_name": user_text(&user, "LastName"),
        "zoneinfo": user_text(&user, "TimeZoneSidKey"),
        "photos": photos(&origin.0),
        "profile": format!("{}/{u}", origin.0),
        "picture": format!("{}/profilephoto/005/F", origin.0),
        "address": {"street_address": user_text(&user, "Street"), "locality": user_text(&user, "City"), "region": user_text(&user, "State"), "country": user_text(&user, "Country"), "postal_code": user_text(&user, "PostalCode")},
        "urls": urls(&origin.0, &o, &u, None),
        "active": user.get("IsActive") != false,
        "user_type": "STANDARD",
        "language": user_text(&user, "LanguageLocaleKey"),
        "locale": user_text(&user, "LocaleSidKey"),
        "utcOffset": 0,
        "updated_at": user_text(&user, "LastModifiedDate"),
        "is_app_installed": true,
    });
    json_response(StatusCode::OK, &body)
}

/// `GET /id/{orgId}/{userId}`: token in `Authorization` or `oauth_token`; `format=json|xml`.
pub(crate) async fn identity(
    State(app): State<Shared>,
    origin: Origin,
    headers: HeaderMap,
    Path((org, user)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = q
        .get("oauth_token")
        .map(String::as_str)
        .or_else(|| bearer(&headers));
    if token.and_then(|t| app.auth.verify(t)).is_none() {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    }
    let org_ok = RecordId::parse(&org) == Some(app.org.id());
    let user = RecordId::parse(&user)
        .and_then(|id| app.org.get(id))
        .filter(|u| u.object == "User");
    let (true, Some(user)) = (org_ok, user) else {
        return (StatusCode::NOT_FOUND, "Bad_Id").into_response();
    };
    let body = identity_json(
        &origin.0,
        app.org.id(),
        &user,
        q.get("version").map(String::as_str),
    );
    match q.get("format").map(String::as_str) {
        Some("xml") => {
            let mut xml = String::from(
                r#"<?xml version="1.0" encoding="UTF-8"?><user xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
            );
            to_xml(&body, &mut xml);
            xml.push_str("</user>");
            (
                [(header::CONTENT_TYPE, "application/xml;charset=UTF-8")],
                xml,
            )
                .into_response()
        }
        _ => json_response(StatusCode::OK, &body),
    }
}

/// The identity response as XML (`format=xml`): each key an element, nulls `xsi:nil`,
/// nested objects nested, text escaped.
fn to_xml(v: &Value, out: &mut String) {
    if let Value::Object(m) = v {
        for (k, v) in m {
            match v {
                Value::Null => out.push_str(&format!("<{k} xsi:nil=\"true\"/>")),
                Value::Object(_) => {
                    out.push_str(&format!("<{k}>"));
                    to_xml(v, out);
                    out.push_str(&format!("</{k}>"));
                }
                Value::String(s) => {
                    out.push_str(&format!("<{k}>{}</{k}>", forcebus_xml::escape(s)))
                }
                other => out.push_str(&format!("<{k}>{other}</{k}>")),
            }
        }
    }
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
