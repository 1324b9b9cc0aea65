//! The authorization-code flow at Salesforce's URLs, as a browser walks it (jsforce's
//! web-flow test helper waits for these): the authorize URL → `/?ec=302&startURL=…` (the
//! login page, Salesforce's form ids) → the authorize URL again with the session cookie →
//! `/setup/secur/RemoteAccessAuthorizationPage.apexp?…` (`#oaapprove`, `#oadeny`) → the
//! app's callback with a code. Redirects are followed by hand, every `Location` checked
//! exactly. Also: which clients keep the one-step page, bad input, the session's bounds,
//! and on a server of many orgs the org of the app and of the user.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use forcebus_testkit::Server;
use reqwest::blocking::Response;
use serde_json::{Value, json};

use crate::{j, server};

const CALLBACK: &str = "http://localhost:1717/OauthRedirect";
const APPROVAL: &str = "/setup/secur/RemoteAccessAuthorizationPage.apexp";
/// What Chromium sends with a navigation.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// A browser: `Accept: text/html`, the session cookie it was given, forms posted with
/// the page's `Origin`.
struct Browser<'a> {
    s: &'a Server,
    cookie: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(s: &'a Server) -> Self {
        Self { s, cookie: None }
    }

    fn get(&self, path: &str) -> Response {
        let mut r = self
            .s
            .http()
            .get(format!("{}{path}", self.s.base()))
            .header("Accept", BROWSER_ACCEPT);
        if let Some(c) = &self.cookie {
            r = r.header("Cookie", format!("other=1; forcebus_sid={c}"));
        }
        r.send().unwrap()
    }

    fn post(&self, path: &str, form: &[(String, String)]) -> Response {
        let mut r = self
            .s
            .http()
            .post(format!("{}{path}", self.s.base()))
            .header("Accept", BROWSER_ACCEPT)
            .header("Origin", self.s.base())
            .form(form);
        if let Some(c) = &self.cookie {
            r = r.header("Cookie", format!("forcebus_sid={c}"));
        }
        r.send().unwrap()
    }
}

fn location(r: &Response) -> String {
    assert_eq!(r.status(), 302, "{:?}", r.headers());
    r.headers()["location"].to_str().unwrap().to_owned()
}

fn encoded(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

fn query_of(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The `(name, value)` of every hidden field of a page, unescaped.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|tag| {
            let attr = |name: &str| {
                let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                tag[start..start + tag[start..].find('"').unwrap()]
                    .replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&#39;", "'")
                    .replace("&apos;", "'")
                    .replace("&amp;", "&")
            };
            (attr("name"), attr("value"))
        })
        .collect()
}

fn form_with(mut fields: Vec<(String, String)>, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    fields.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    fields
}

/// Signs in on the login page the authorize URL `query` leads to; the session cookie is
/// kept in `b`. Returns the `Location` the sign-in answered.
fn sign_in(b: &mut Browser, query: &str, username: &str, password: &str) -> String {
    let login = location(&b.get(&format!("/services/oauth2/authorize?{query}")));
    let page = b.get(&login).text().unwrap();
    let form = form_with(
        hidden_fields(&page),
        &[("username", username), ("pw", password)],
    );
    let r = b.post("/", &form);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let value = set
        .strip_prefix("forcebus_sid=")
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("{set}"));
    b.cookie = Some(value.to_owned());
    location(&r)
}

/// The code of a callback `Location`, checking it goes back to `callback` with `state`.
fn code_of(location: &str, callback: &str, state: &str) -> String {
    let (base, query) = location.split_once('?').unwrap();
    assert_eq!(base, callback, "{location}");
    let q: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(q["state"], state, "{location}");
    q["code"].clone()
}

fn token(s: &Server, form: &[(&str, &str)]) -> (u16, Value) {
    j(s.http()
        .post(format!("{}/services/oauth2/token", s.base()))
        .form(form)
        .send()
        .unwrap())
}

#[test]
fn salesforce_urls_lead_from_login_through_approval_to_the_callback() {
    let s = server();
    let verifier = "the-pkce-verifier-of-this-test-0123456789-abcdefghijklmnop";
    let challenge =
        URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    let query = query_of(&[
        ("response_type", "code"),
        ("client_id", &s.ready.client_id),
        ("redirect_uri", CALLBACK),
        ("state", "s&1"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let start = format!("/services/oauth2/authorize?{query}");
    let mut b = Browser::new(&s);

    // No session: the login page at Salesforce's URL, the authorize URL as its startURL.
    let r = b.get(&start);
    assert_eq!(
        location(&r),
        format!("/?ec=302&startURL={}", encoded(&start))
    );
    assert!(r.headers().get("set-cookie").is_none());
    let page = b.get(&location(&r));
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().unwrap();
    for id in [
        r#"id="username""#,
        r#"id="password""#,
        r#"id="Login""#,
        r#"name="Login""#,
    ] {
        assert!(html.contains(id), "{id} in {html}");
    }
    assert_eq!(hidden_fields(&html), [("startURL".into(), start.clone())]);

    // Signing in: the session cookie, and back to startURL.
    let form = form_with(
        hidden_fields(&html),
        &[("username", &s.ready.username), ("pw", &s.ready.password)],
    );
    let r = b.post("/", &form);
    assert_eq!(location(&r), start);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let (value, attributes) = set.split_once("; ").unwrap();
    assert_eq!(attributes, "Path=/; Max-Age=7200; HttpOnly; SameSite=Lax");
    let value = value.strip_prefix("forcebus_sid=").unwrap();
    assert!(
        value.starts_with(&format!("{}!", s.ready.org_id)),
        "{value}"
    );
    b.cookie = Some(value.to_owned());
    // The cookie is no API credential.
    let (st, _) = j(s
        .http()
        .get(format!("{}/limits", s.data()))
        .header("Authorization", format!("Bearer {value}"))
        .send()
        .unwrap());
    assert_eq!(st, 401);

    // Signed in: the approval page, with the request's own query.
    let approval = location(&b.get(&start));
    assert_eq!(approval, format!("{APPROVAL}?{query}"));
    let page = b.get(&approval);
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().unwrap();
    for id in [r#"id="oaapprove""#, r#"id="oadeny""#] {
        assert!(html.contains(id), "{id} in {html}");
    }
    assert!(html.contains(&s.ready.username));
    let fields = hidden_fields(&html);
    assert!(
        fields.contains(&("state".into(), "s&1".into())),
        "{fields:?}"
    );
    assert!(fields.iter().any(|(k, v)| k == "csrf" && v.len() == 32));

    // Allow: the callback with a code, exchanged with the PKCE verifier.
    let r = b.post(APPROVAL, &form_with(fields, &[("oaapprove", "Allow")]));
    let code = code_of(&location(&r), CALLBACK, "s&1");
    assert!(code.starts_with(&format!("{}!", s.ready.org_id)));
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", s.ready.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", verifier),
    ];
    let (st, body) = token(&s, &exchange);
    assert_eq!(st, 200, "{body}");
    let access = body["access_token"].as_str().unwrap();
    let (st, limits) = j(s
        .http()
        .get(format!("{}/limits", s.data()))
        .header("Authorization", format!("Bearer {access}"))
        .send()
        .unwrap());
    assert_eq!(st, 200, "{limits}");
    let (st, again) = token(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("client_id", &s.ready.client_id),
        ],
    );
    assert_eq!(st, 200, "{again}");
    assert_eq!(
        token(&s, &exchange).1["error"],
        "invalid_grant",
        "used once"
    );

    // The session stays: the next authorization goes straight to the approval page.
    assert_eq!(location(&b.get(&start)), approval);
}

#[test]
fn deny_a_wrong_password_and_a_lockout_as_the_one_step_page_has_them() {
    let s = server();
    let query = query_of(&[
        ("response_type", "code"),
        ("client_id", &s.ready.client_id),
        ("redirect_uri", CALLBACK),
        ("state", "st"),
    ]);
    let start = format!("/services/oauth2/authorize?{query}");
    let mut b = Browser::new(&s);
    let login = location(&b.get(&start));
    let page = b.get(&login).text().unwrap();

    // A wrong password: the page again, Salesforce's message, the username kept, no cookie.
    let wrong = form_with(
        hidden_fields(&page),
        &[("username", &s.ready.username), ("pw", "wrong")],
    );
    let r = b.post("/", &wrong);
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("set-cookie").is_none());
    let html = r.text().unwrap();
    assert!(html.contains(r#"<div id="error""#), "{html}");
    assert!(html.contains("Please check your username and password"));
    assert!(html.contains(&format!(r#"value="{}""#, s.ready.username)));
    assert_eq!(hidden_fields(&html), [("startURL".into(), start.clone())]);

    // Deny: back to the app with access_denied and the state.
    let back = sign_in(&mut b, &query, &s.ready.username, &s.ready.password);
    assert_eq!(back, start);
    let page = b.get(&location(&b.get(&start))).text().unwrap();
    let r = b.post(
        APPROVAL,
        &form_with(hidden_fields(&page), &[("oadeny", "Deny")]),
    );
    assert_eq!(
        location(&r),
        format!(
            "{CALLBACK}?error=access_denied&error_description=end-user+denied+authorization&state=st"
        )
    );

    // Ten failures lock the user out: then even the right password fails on this page.
    for _ in 0..10 {
        assert_eq!(b.post("/", &wrong).status(), 200);
    }
    let right = form_with(
        hidden_fields(&page_of(&b, &login)),
        &[("username", &s.ready.username), ("pw", &s.ready.password)],
    );
    let r = b.post("/", &right);
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("set-cookie").is_none());
    assert!(r.text().unwrap().contains("Please check your username"));
}

fn page_of(b: &Browser, path: &str) -> String {
    b.get(path).text().unwrap()
}

#[test]
fn the_approval_page_needs_the_session_its_form_and_this_site() {
    let s = server();
    let query = query_of(&[
        ("response_type", "code"),
        ("client_id", &s.ready.client_id),
        ("redirect_uri", CALLBACK),
    ]);
    let start = format!("/services/oauth2/authorize?{query}");
    let to_login = format!("/?ec=302&startURL={}", encoded(&start));
    let mut b = Browser::new(&s);
    // Without a session (or with one the server does not know): the login page first.
    assert_eq!(location(&b.get(&format!("{APPROVAL}?{query}"))), to_login);
    b.cookie = Some(format!("{}!made-up", s.ready.org_id));
    assert_eq!(location(&b.get(&start)), to_login);
    let request: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let r = b.post(
        APPROVAL,
        &form_with(request.clone(), &[("oaapprove", "Allow")]),
    );
    assert_eq!(location(&r), to_login);

    sign_in(&mut b, &query, &s.ready.username, &s.ready.password);
    let page = page_of(&b, &format!("{APPROVAL}?{query}"));
    let fields = hidden_fields(&page);
    // Without the form's csrf value, or with another: refused, no code.
    for csrf in [None, Some("x".repeat(32))] {
        let mut form = form_with(request.clone(), &[("oaapprove", "Allow")]);
        form.extend(csrf.map(|c| ("csrf".to_owned(), c)));
        let (st, body) = j(b.post(APPROVAL, &form));
        assert_eq!((st, body["error"].as_str()), (400, Some("invalid_request")));
    }
    // Neither button.
    let (st, _) = j(b.post(APPROVAL, &fields));
    assert_eq!(st, 400);
    // Posted from another site: refused, the login form too.
    for path in [APPROVAL, "/"] {
        let r = s
            .http()
            .post(format!("{}{path}", s.base()))
            .header("Origin", "http://evil.example")
            .header(
                "Cookie",
                format!("forcebus_sid={}", b.cookie.as_ref().unwrap()),
            )
            .form(&form_with(
                fields.clone(),
                &[
                    ("oaapprove", "Allow"),
                    ("startURL", "/"),
                    ("username", &s.ready.username),
                    ("pw", &s.ready.password),
                ],
            ))
            .send()
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
        assert!(r.headers().get("set-cookie").is_none());
    }
    // The form itself still works.
    let r = b.post(APPROVAL, &form_with(fields, &[("oaapprove", "Allow")]));
    assert!(location(&r).starts_with(&format!("{CALLBACK}?code=")));
}

#[test]
fn bad_input_gets_an_oauth_error_and_no_redirect_leaves_the_server() {
    let s = server();
    let b = Browser::new(&s);
    let request = |redirect: &str, client: &str| {
        query_of(&[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect),
        ])
    };
    // A bad request is answered at the authorize URL, never sent on to the login page.
    let (st, body) = j(b.get(&format!(
        "/services/oauth2/authorize?{}",
        request("http://evil.example/cb", &s.ready.client_id)
    )));
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("redirect_uri_mismatch"))
    );
    let (st, body) = j(b.get(&format!("{APPROVAL}?{}", request(CALLBACK, "nope"))));
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("invalid_client_id"))
    );
    // startURL must be a path on this server.
    for bad in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "",
    ] {
        let (st, body) = j(b.get(&format!("/?ec=302&startURL={}", encoded(bad))));
        assert_eq!(
            (st, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
        let r = b.post(
            "/",
            &[
                ("startURL".into(), bad.into()),
                ("username".into(), s.ready.username.clone()),
                ("pw".into(), s.ready.password.clone()),
            ],
        );
        assert_eq!(r.status(), 400, "{bad}");
        assert!(r.headers().get("set-cookie").is_none(), "{bad}");
    }
    let (st, body) = j(b.get(&format!("/?startURL=/{}", "a".repeat(9000))));
    assert_eq!(
        (st, body["error_description"].as_str()),
        (400, Some("startURL is too long"))
    );
    let (st, body) = j(b.get(&format!(
        "/services/oauth2/authorize?{}&state={}",
        request(CALLBACK, &s.ready.client_id),
        "s".repeat(9000)
    )));
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_request")));
    // `/` without a startURL is what it always was.
    let (st, body) = j(b.get("/"));
    assert_eq!((st, crate::code(&body)), (404, "NOT_FOUND"));
    // A startURL that is an authorization request is checked before the password is.
    let bad_app = format!("/services/oauth2/authorize?{}", request(CALLBACK, "nope"));
    let r = b.post(
        "/",
        &[
            ("startURL".into(), bad_app),
            ("username".into(), s.ready.username.clone()),
            ("pw".into(), s.ready.password.clone()),
        ],
    );
    assert!(r.headers().get("set-cookie").is_none());
    assert_eq!(
        j(r),
        (
            400,
            json!({"error": "invalid_client_id", "error_description": "client identifier invalid"})
        )
    );
}

#[test]
fn the_one_step_page_stays_for_the_console_scripts_and_the_flag() {
    let s = server();
    let b = Browser::new(&s);
    let app = query_of(&[
        ("response_type", "code"),
        ("client_id", &s.ready.client_id),
        ("redirect_uri", CALLBACK),
    ]);
    let one_step = |r: Response| {
        assert_eq!(r.status(), 200);
        let html = r.text().unwrap();
        assert!(
            html.contains(r#"action="/services/oauth2/authorize""#),
            "{html}"
        );
    };
    // A browser that asks for it.
    one_step(b.get(&format!(
        "/services/oauth2/authorize?{app}&forcebus_signin=page"
    )));
    // A client that does not ask for HTML.
    one_step(
        s.http()
            .get(format!("{}/services/oauth2/authorize?{app}", s.base()))
            .send()
            .unwrap(),
    );
    // The console, in a browser.
    let console = query_of(&[
        ("response_type", "code"),
        ("client_id", "forcebus-console"),
        ("redirect_uri", &format!("{}/forcebus/console/", s.base())),
        ("code_challenge", "abc"),
        ("code_challenge_method", "S256"),
    ]);
    one_step(b.get(&format!("/services/oauth2/authorize?{console}")));
    // Any other browser: Salesforce's pages.
    assert!(
        location(&b.get(&format!("/services/oauth2/authorize?{app}"))).starts_with("/?ec=302&")
    );
}

#[test]
fn a_browser_session_ends_with_its_lifetime() {
    let s = server();
    let query = query_of(&[
        ("response_type", "code"),
        ("client_id", &s.ready.client_id),
        ("redirect_uri", CALLBACK),
    ]);
    let start = format!("/services/oauth2/authorize?{query}");
    let mut b = Browser::new(&s);
    sign_in(&mut b, &query, &s.ready.username, &s.ready.password);
    assert!(location(&b.get(&start)).starts_with(APPROVAL));
    let (st, v) = crate::control::control(
        &s,
        &s.ready.admin_key,
        "/clock",
        Some(json!({"advance_secs": 7201})),
    );
    assert_eq!(st, 200, "{v}");
    assert!(location(&b.get(&start)).starts_with("/?ec=302&"));
}

/// On a server of many orgs the login goes to the user's org, the authorize URL and the
/// approval page to the app's, and a session counts only in the org it was opened in.
#[test]
fn many_orgs_the_apps_org_and_the_users_org() {
    let s = Server::start_with(&crate::bin(), forcebus_testkit::Options::default());
    let (st, b_org) = crate::orgs::new_org(
        &s,
        json!({"name": "pages-b", "config": {"users": [{"username": "b@pages.test", "password": "pw-b"}]}}),
    );
    assert_eq!(st, 201, "{b_org}");
    let b_client = b_org["client_id"].as_str().unwrap();
    let b_id = b_org["org_id"].as_str().unwrap();
    let password = format!("pw-b{}", b_org["security_token"].as_str().unwrap());
    let query = query_of(&[
        ("response_type", "code"),
        ("client_id", b_client),
        ("redirect_uri", CALLBACK),
        ("state", "b"),
    ]);
    let start = format!("/services/oauth2/authorize?{query}");
    let mut b = Browser::new(&s);

    // A user of the default org cannot sign in for org B's app.
    let login = location(&b.get(&start));
    let mut form = hidden_fields(&page_of(&b, &login));
    form.extend([
        ("username".to_owned(), s.ready.username.clone()),
        ("pw".to_owned(), s.ready.password.clone()),
    ]);
    let (st, body) = j(b.post("/", &form));
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("invalid_client_id"))
    );

    // B's user: a session of org B, its approval page, a code of org B.
    assert_eq!(sign_in(&mut b, &query, "b@pages.test", &password), start);
    let cookie = b.cookie.clone().unwrap();
    assert!(cookie.starts_with(&format!("{b_id}!")), "{cookie}");
    let approval = location(&b.get(&start));
    assert_eq!(approval, format!("{APPROVAL}?{query}"));
    let page = page_of(&b, &approval);
    assert!(page.contains("b@pages.test"), "{page}");
    let r = b.post(
        APPROVAL,
        &form_with(hidden_fields(&page), &[("oaapprove", "Allow")]),
    );
    let code = code_of(&location(&r), CALLBACK, "b");
    assert!(code.starts_with(&format!("{b_id}!")), "{code}");
    let (st, body) = token(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", b_client),
            ("client_secret", b_org["client_secret"].as_str().unwrap()),
            ("redirect_uri", CALLBACK),
        ],
    );
    assert_eq!(st, 200, "{body}");
    assert!(
        body["access_token"]
            .as_str()
            .unwrap()
            .starts_with(&b_id[..15])
    );

    // The default org's app with B's session: the default org asks for a sign-in.
    let default_app = format!(
        "/services/oauth2/authorize?{}",
        query_of(&[
            ("response_type", "code"),
            ("client_id", &s.ready.client_id),
            ("redirect_uri", CALLBACK),
        ])
    );
    assert!(location(&b.get(&default_app)).starts_with("/?ec=302&"));
    // The one-step page of B's app is B's too (it was the default org's, which refused
    // B's client id).
    let r = s.http().get(format!("{}{start}", s.base())).send().unwrap();
    assert_eq!(r.status(), 200);
}
