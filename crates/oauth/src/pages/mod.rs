//! The authorization-code flow at Salesforce's URLs, as browser automation written for
//! Salesforce waits for them (jsforce's web-flow test helper, for one): a second front door
//! to the same authorization as the one-step page ([`forcebus_auth::authorize`] checks
//! the request, the password and issues the code for both).
//!
//! 1. `GET /services/oauth2/authorize?…` from a browser without a session: `302` to the
//!    login page, `/?ec=302&startURL=<the authorize URL, encoded>`.
//! 2. The login page ([`login`]) has Salesforce's form ids (`#username`, `#password`,
//!    `#Login`). Signing in sets the session cookie [`COOKIE`] (HttpOnly, SameSite=Lax,
//!    the session's lifetime) and goes back to `startURL`, which must be a path on this
//!    server.
//! 3. `GET /services/oauth2/authorize?…` with a session: `302` to
//!    [`APPROVAL_PATH`]`?…` ([`approval`]), whose `#oaapprove` sends the browser to the
//!    app with a code and `#oadeny` with `error=access_denied`.
//!
//! Who gets which door ([`one_step`]): the one-step page stays for everything that used
//! it before Salesforce's pages existed: forcebus's own console (its client id), clients
//! that do not ask for HTML (scripts that read the page's form and post it back: nforce8's
//! and the Singer tap's tests, curl), and a browser whose URL says `forcebus_signin=page`.
//! Every other browser (its `Accept` names `text/html`) is sent through Salesforce's
//! pages, as Salesforce sends it.

pub(crate) mod approval;
pub(crate) mod login;

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use forcebus_auth::{CONSOLE_CLIENT, OAuthError};

use crate::Shared;

/// Salesforce's approval page.
pub const APPROVAL_PATH: &str = "/setup/secur/RemoteAccessAuthorizationPage.apexp";

/// Where the authorization request starts, and where the login page sends it back to.
pub(crate) const AUTHORIZE_PATH: &str = "/services/oauth2/authorize";

/// The browser session's cookie (a browser credential: no API takes it).
pub(crate) const COOKIE: &str = "forcebus_sid";

/// The query parameter with which a browser asks for the one-step page.
pub(crate) const ONE_STEP_PARAM: (&str, &str) = ("forcebus_signin", "page");

/// The longest `startURL` taken (and so the longest authorization request sent through
/// the login page).
pub(crate) const MAX_START_URL: usize = 8 * 1024;

/// Whether `GET /services/oauth2/authorize` answers with the one-step sign-in page
/// rather than Salesforce's pages (see the module's doc).
pub(crate) fn one_step(query: &HashMap<String, String>, headers: &HeaderMap) -> bool {
    let (flag, value) = ONE_STEP_PARAM;
    query.get("client_id").map(String::as_str) == Some(CONSOLE_CLIENT)
        || query.get(flag).map(String::as_str) == Some(value)
        || !accepts_html(headers)
}

/// Whether an `Accept` header names `text/html` (a browser's navigation does).
fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let media = t.split(';').next().unwrap_or_default().trim();
            media.eq_ignore_ascii_case("text/html")
        })
}

/// The checked authorization request `raw_query` from a browser on Salesforce's pages: to
/// the approval page with a session, else to the login page.
pub(crate) fn authorize_in_browser(app: &Shared, raw_query: &str, headers: &HeaderMap) -> Response {
    let start = format!("{AUTHORIZE_PATH}?{raw_query}");
    if start.len() > MAX_START_URL {
        return crate::oauth_error(&too_long());
    }
    if signed_in(app, headers).is_some() {
        return found(&format!("{APPROVAL_PATH}?{raw_query}"));
    }
    to_login(&start)
}

/// The login page for `start_url`.
fn to_login(start_url: &str) -> Response {
    let encoded: String = form_urlencoded::byte_serialize(start_url.as_bytes()).collect();
    found(&format!("/?ec=302&startURL={encoded}"))
}

/// The browser's live session in this org, if its cookie names one.
fn signed_in(app: &Shared, headers: &HeaderMap) -> Option<forcebus_auth::BrowserSession> {
    app.auth.browser_session(session_cookie(headers)?)
}

/// The value of the session cookie a request carries.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` of a new session: the whole server (`Path=/`), not readable by
/// scripts, not sent with cross-site subrequests or posts, `Secure` over TLS.
fn session_set_cookie(value: &str, lifetime: std::time::Duration, tls: bool) -> HeaderValue {
    let secure = if tls { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        lifetime.as_secs()
    );
    HeaderValue::from_str(&cookie).expect("a session id is cookie-safe")
}

/// A `302` to `location`, a path on this server.
fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => crate::oauth_error(&invalid_request("invalid redirect location")),
    }
}

/// Whether a form post comes from a page of this server: a browser names the page's
/// origin in `Origin`; one naming another host is refused (a login or an approval posted
/// from another site). Only the host is compared: behind a proxy that terminates TLS the
/// browser's scheme is not the server's.
fn same_site_post(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let authority = origin.split_once("://").map(|(_, a)| a);
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// The refusal of a form posted from another site.
fn cross_site() -> Response {
    let e = OAuthError {
        error: "invalid_request",
        description: "the form was posted from another site".into(),
    };
    let mut response = crate::oauth_error(&e);
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

fn invalid_request(description: &str) -> OAuthError {
    OAuthError {
        error: "invalid_request",
        description: description.to_owned(),
    }
}

fn too_long() -> OAuthError {
    invalid_request("the authorization request is too long")
}

/// Checks a `startURL`: a path on this server (`/…`, never `//host` or `/\host`, which a
/// browser reads as another host), at most [`MAX_START_URL`] bytes, printable ASCII.
fn start_url(value: Option<&str>) -> Result<&str, OAuthError> {
    let v = value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid_request("missing required startURL parameter"))?;
    if v.len() > MAX_START_URL {
        return Err(invalid_request("startURL is too long"));
    }
    let local = v.starts_with('/')
        && !v.starts_with("//")
        && !v.starts_with("/\\")
        && v.bytes().all(|b| b.is_ascii_graphic());
    if !local {
        return Err(invalid_request("startURL must be a path on this server"));
    }
    Ok(v)
}

/// The authorization request a `startURL` carries (`None`: it is not the authorize URL).
fn start_request(start_url: &str) -> Option<HashMap<String, String>> {
    let query = start_url.strip_prefix(AUTHORIZE_PATH)?.strip_prefix('?')?;
    Some(
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_urls_stay_on_this_server() {
        for ok in [
            "/services/oauth2/authorize?response_type=code&client_id=x",
            "/",
            "/setup/secur/RemoteAccessAuthorizationPage.apexp?a=b",
        ] {
            assert_eq!(start_url(Some(ok)), Ok(ok), "{ok}");
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "evil.example",
            "javascript:alert(1)",
            "/a b",
            "/a\tb",
            "/é",
            "",
        ] {
            assert!(start_url(Some(bad)).is_err(), "{bad}");
        }
        assert!(start_url(None).is_err());
        let long = format!("/{}", "a".repeat(MAX_START_URL));
        assert_eq!(
            start_url(Some(&long)).unwrap_err().description,
            "startURL is too long"
        );
    }

    #[test]
    fn browsers_get_salesforces_pages_and_the_rest_the_one_step_page() {
        let headers = |accept: Option<&str>| {
            let mut h = HeaderMap::new();
            if let Some(a) = accept {
                h.insert(header::ACCEPT, a.parse().unwrap());
            }
            h
        };
        let query = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let chromium = headers(Some(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ));
        let app = query(&[("client_id", "3MVG9x")]);
        assert!(!one_step(&app, &chromium));
        assert!(one_step(&app, &headers(Some("*/*"))));
        assert!(one_step(&app, &headers(None)));
        assert!(one_step(
            &query(&[("client_id", CONSOLE_CLIENT)]),
            &chromium
        ));
        let flagged = query(&[("client_id", "3MVG9x"), ("forcebus_signin", "page")]);
        assert!(one_step(&flagged, &chromium));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; forcebus_sid=00D!abc; b=2".parse().unwrap(),
        );
        assert_eq!(session_cookie(&h), Some("00D!abc"));
        h.insert(
            header::COOKIE,
            "forcebus_sidx=1; xforcebus_sid=2".parse().unwrap(),
        );
        assert_eq!(session_cookie(&h), None);
    }

    #[test]
    fn a_post_from_another_host_is_cross_site() {
        let h = |origin: Option<&str>| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
            if let Some(o) = origin {
                h.insert(header::ORIGIN, o.parse().unwrap());
            }
            h
        };
        assert!(same_site_post(&h(None)));
        assert!(same_site_post(&h(Some("http://127.0.0.1:8080"))));
        assert!(same_site_post(&h(Some("https://127.0.0.1:8080"))));
        assert!(!same_site_post(&h(Some("http://evil.example"))));
        assert!(!same_site_post(&h(Some("http://127.0.0.1:9090"))));
        assert!(!same_site_post(&h(Some("null"))));
    }
}
