//! Salesforce's approval page, `/setup/secur/RemoteAccessAuthorizationPage.apexp?…` (the
//! authorization request's parameters): a signed-in browser allows the app (`#oaapprove`)
//! or denies it (`#oadeny`). Allowing sends the browser to the app with a code, exactly as
//! the one-step page's sign-in does ([`forcebus_auth::Auth::authorize_approved`]); denying
//! with `error=access_denied`. Without a session the browser goes to the login page first.
//!
//! The form carries the session's `csrf` value and must be posted from this server's own
//! page: another site can neither post it nor frame it.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use forcebus_auth::{Auth, AuthorizeRequest, BrowserSession};
use forcebus_http::ctx::Origin;
use forcebus_xml::escape;

use super::{APPROVAL_PATH, AUTHORIZE_PATH, found, invalid_request, same_site_post, signed_in};
use crate::{Shared, html, oauth_error};

/// `GET`: the page for a signed-in browser; the login page otherwise.
pub(crate) async fn page(
    State(app): State<Shared>,
    origin: Origin,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let request = match app.auth.authorize_request(&q, &origin.0) {
        Ok(r) => r,
        Err(e) => return oauth_error(&e),
    };
    match signed_in(&app, &headers) {
        Some(session) => html(StatusCode::OK, render(&request, &session)),
        None => back_to_login(&request),
    }
}

/// `POST`: *Allow* (`oaapprove`) or *Deny* (`oadeny`), from this server's page with the
/// session's `csrf` value.
pub(crate) async fn submit(
    State(app): State<Shared>,
    origin: Origin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !same_site_post(&headers) {
        return super::cross_site();
    }
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let request = match app.auth.authorize_request(&form, &origin.0) {
        Ok(r) => r,
        Err(e) => return oauth_error(&e),
    };
    let Some(session) = signed_in(&app, &headers) else {
        return back_to_login(&request);
    };
    let csrf = form.get("csrf").map(String::as_str).unwrap_or_default();
    if !Auth::browser_csrf_matches(&session, csrf) {
        return oauth_error(&invalid_request(
            "the approval form has expired: open the authorization URL again",
        ));
    }
    if form.contains_key("oadeny") {
        return found(&Auth::authorize_denied(&request));
    }
    if !form.contains_key("oaapprove") {
        return oauth_error(&invalid_request("neither oaapprove nor oadeny was posted"));
    }
    found(&app.auth.authorize_approved(&request, &session))
}

/// The login page, then the authorization request again.
fn back_to_login(request: &AuthorizeRequest) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(request.fields());
    let start = format!("{AUTHORIZE_PATH}?{}", query.finish());
    if start.len() > super::MAX_START_URL {
        return oauth_error(&super::too_long());
    }
    super::to_login(&start)
}

/// The page: who is signed in, the app asking, and the two buttons; the request and the
/// `csrf` value in hidden fields. Every value is HTML-escaped.
pub(crate) fn render(request: &AuthorizeRequest, session: &BrowserSession) -> String {
    let hidden: String = request
        .fields()
        .into_iter()
        .chain([("csrf", session.csrf.as_str())])
        .map(|(name, value)| {
            format!(
                r#"<input type="hidden" name="{name}" value="{}">"#,
                escape(value)
            )
        })
        .collect();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Allow Access? | forcebus</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;background:#f3f3f3;display:flex;justify-content:center;padding-top:10vh}}
form{{background:#fff;padding:2em;border-radius:6px;width:24em;display:flex;flex-direction:column;gap:.6em}}
.buttons{{display:flex;gap:.6em;justify-content:flex-end}}</style></head>
<body>
<form id="frm" name="frm" method="post" action="{APPROVAL_PATH}">
<h1>Allow Access?</h1>
<p id="appName">The app <b>{client}</b> is asking to access your data and manage it on your behalf.</p>
<p id="userName">Signed in as <b>{user}</b>.</p>
{hidden}
<div class="buttons">
<input id="oadeny" name="oadeny" class="btn" type="submit" value="Deny">
<input id="oaapprove" name="oaapprove" class="btn primary" type="submit" value="Allow">
</div>
</form>
</body>
</html>
"#,
        client = escape(&request.client_id),
        user = escape(&session.username),
    )
}
