//! The login page at Salesforce's login URL, `/?ec=302&startURL=…`, with Salesforce's form
//! ids (`#username`, `#password`, the `#Login` button named `Login`) and, after a failed
//! sign-in, Salesforce's message in `#error`. A sign-in is a password login of the org
//! whose user signs in ([`forcebus_auth::Auth::open_browser_session`]: lockout, the
//! security token from untrusted networks); on success the browser gets the session
//! cookie and goes back to `startURL`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use forcebus_http::ctx::{Origin, Peer};

use super::{found, same_site_post, session_set_cookie, start_request, start_url};
use crate::{Shared, html, login_page, oauth_error};

/// `GET /`: the login page when a `startURL` says where to go after it; without one there
/// is nothing to sign in for, and `/` is an unknown path as before.
pub(crate) async fn page(Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(value) = q.get("startURL") else {
        return forcebus_http::error::ApiError::not_found().into_response();
    };
    match start_url(Some(value)) {
        Ok(start) => html(StatusCode::OK, render(start, "", None)),
        Err(e) => oauth_error(&e),
    }
}

/// `POST /`: signs in and goes back to `startURL` with the session cookie, or shows the
/// page again with Salesforce's message. A `startURL` that is an authorization request is
/// checked first (in the org of the user signing in), as the one-step page's post is.
pub(crate) async fn submit(
    State(app): State<Shared>,
    peer: Peer,
    origin: Origin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !same_site_post(&headers) {
        return super::cross_site();
    }
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let start = match start_url(form.get("startURL").map(String::as_str)) {
        Ok(s) => s.to_owned(),
        Err(e) => return oauth_error(&e),
    };
    if let Some(request) = start_request(&start)
        && let Err(e) = app.auth.authorize_request(&request, &origin.0)
    {
        return oauth_error(&e);
    }
    let (username, password) = login_page::credentials(&form);
    let auth = app.auth.clone();
    let name = username.clone();
    let opened = crate::blocking(move || auth.open_browser_session(&name, &password, peer.0)).await;
    match opened {
        Ok(Some(cookie)) => {
            let tls = origin.0.starts_with("https://");
            let set = session_set_cookie(&cookie, app.auth.browser_lifetime(), tls);
            let mut response = found(&start);
            response.headers_mut().insert(header::SET_COOKIE, set);
            response
        }
        Ok(None) => html(
            StatusCode::OK,
            render(&start, &username, Some(login_page::FAILED)),
        ),
        Err(e) => e.into_response(),
    }
}

/// The page: Salesforce's form, `startURL` in a hidden field, `error` above the form if
/// any. Every value is HTML-escaped.
pub(crate) fn render(start_url: &str, username: &str, error: Option<&str>) -> String {
    login_page::form("/", &[("startURL", start_url)], username, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_salesforces_ids_and_escapes_what_it_shows() {
        let page = render(r#"/x?a="><script>"#, "<b>", Some("no"));
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains(r#"value="/x?a=&quot;&gt;&lt;script&gt;""#));
        assert!(page.contains(r#"value="&lt;b&gt;""#));
        for id in [
            r#"id="username""#,
            r#"id="password""#,
            r#"id="Login""#,
            r#"name="Login""#,
        ] {
            assert!(page.contains(id), "{id}");
        }
        assert!(page.contains(r#"<div id="error""#));
        assert!(!render("/", "", None).contains(r#"id="error""#));
    }
}
