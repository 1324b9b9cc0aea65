//! OAuth grants, identity, userinfo, revoke, and token checks on REST calls.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use forcebus_testkit::{Options, Server};
use serde_json::{Value, json};

use crate::{Authed, bin, code, get, j, server};

fn token(s: &Server, form: &[(&str, &str)]) -> (u16, Value) {
    j(s.http()
        .post(format!("{}/services/oauth2/token", s.base()))
        .form(form)
        .send()
        .unwrap())
}

fn password_form(s: &Server) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "password".into()),
        ("client_id", s.ready.client_id.clone()),
        ("client_secret", s.ready.client_secret.clone()),
        ("username", s.ready.username.clone()),
        ("password", s.ready.password.clone()),
    ]
}

fn as_refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn password_grant_returns_the_salesforce_token_shape() {
    let s = server();
    let (st, body) = token(&s, &as_refs(&password_form(&s)));
    assert_eq!(st, 200, "{body}");
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "signature",
            "instance_url",
            "id",
            "token_type",
            "issued_at"
        ]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["instance_url"], s.base());
    assert_eq!(
        body["id"],
        format!("{}/id/{}/{}", s.base(), s.ready.org_id, s.ready.user_id)
    );
    let issued_at = body["issued_at"].as_str().unwrap();
    assert_eq!(issued_at.len(), 13, "epoch milliseconds");
    // signature = base64(HMAC-SHA256(client secret, id + issued_at))
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(s.ready.client_secret.as_bytes()).unwrap();
    mac.update(format!("{}{issued_at}", body["id"].as_str().unwrap()).as_bytes());
    assert_eq!(
        body["signature"],
        STANDARD.encode(mac.finalize().into_bytes())
    );
    let t = body["access_token"].as_str().unwrap();
    let (org, rest) = t.split_once('!').unwrap();
    assert_eq!(org, s.ready.org_id);
    assert!(
        rest.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    );
    let (st, _) = j(s
        .http()
        .get(format!("{}/sobjects", s.data()))
        .bearer_token(t)
        .send()
        .unwrap());
    assert_eq!(st, 200);
}

trait Bearer {
    fn bearer_token(self, t: &str) -> Self;
}
impl Bearer for reqwest::blocking::RequestBuilder {
    fn bearer_token(self, t: &str) -> Self {
        self.header("Authorization", format!("Bearer {t}"))
    }
}

#[test]
fn password_grant_accepts_the_security_token_suffix_and_reports_each_failure() {
    let s = server();
    let mut form = password_form(&s);
    form[4].1 = format!("{}{}", s.ready.password, s.ready.security_token);
    assert_eq!(token(&s, &as_refs(&form)).0, 200);
    let cases = [
        (4, "wrong", "invalid_grant", "authentication failure"),
        (1, "nope", "invalid_client_id", "client identifier invalid"),
        (2, "nope", "invalid_client", "invalid client credentials"),
        (
            0,
            "telepathy",
            "unsupported_grant_type",
            "grant type not supported",
        ),
    ];
    for (i, value, error, description) in cases {
        let mut form = password_form(&s);
        form[i].1 = value.into();
        let (st, body) = token(&s, &as_refs(&form));
        assert_eq!(
            (st, &body),
            (
                400,
                &json!({"error": error, "error_description": description})
            )
        );
    }
}

#[test]
fn client_credentials_from_the_body_or_a_basic_header() {
    let s = server();
    let (st, body) = token(
        &s,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &s.ready.client_id),
            ("client_secret", &s.ready.client_secret),
        ],
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["scope"], "api");
    assert!(body["id"].as_str().unwrap().ends_with(&s.ready.user_id));
    let basic = STANDARD.encode(format!("{}:{}", s.ready.client_id, s.ready.client_secret));
    let (st, body) = j(s
        .http()
        .post(format!("{}/services/oauth2/token", s.base()))
        .header("Authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap());
    assert_eq!(st, 200, "{body}");
    let (st, body) = token(
        &s,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &s.ready.client_id),
        ],
    );
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_client")));
}

/// Opens the sign-in page for `params`, then posts the form back as a browser would
/// (the page's hidden fields, `username`, and `pw`).
fn sign_in(s: &Server, params: &[(&str, &str)], password: &str) -> reqwest::blocking::Response {
    let page = s
        .http()
        .get(format!("{}/services/oauth2/authorize", s.base()))
        .query(params)
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
    for id in ["id=\"username\"", "id=\"password\"", "id=\"Login\""] {
        assert!(html.contains(id), "{id} missing from the sign-in page");
    }
    let mut form: Vec<(String, String)> = html
        .split("<input type=\"hidden\" ")
        .skip(1)
        .map(|tag| {
            let attr = |name: &str| {
                let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                tag[start..start + tag[start..].find('"').unwrap()].replace("&amp;", "&")
            };
            (attr("name"), attr("value"))
        })
        .collect();
    form.push(("username".into(), s.ready.username.clone()));
    form.push(("pw".into(), password.to_owned()));
    s.http()
        .post(format!("{}/services/oauth2/authorize", s.base()))
        .form(&form)
        .send()
        .unwrap()
}

/// A review found: authorize returned a code (an admin token) to anyone who knew the
/// client id, and redirected anywhere when no callback was configured.
#[test]
fn authorize_needs_a_sign_in_and_a_loopback_or_configured_redirect() {
    let s = server();
    let params = |uri: &'static str| {
        vec![
            ("response_type", "code"),
            ("client_id", s.ready.client_id.as_str()),
            ("redirect_uri", uri),
            ("state", "st"),
        ]
    };
    // No code without a sign-in: the GET is a page, not a redirect.
    let r = s
        .http()
        .get(format!("{}/services/oauth2/authorize", s.base()))
        .query(&params("http://localhost:1717/OauthRedirect"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("location").is_none());
    // A wrong password shows the page again with Salesforce's message.
    let r = sign_in(&s, &params("http://localhost:1717/OauthRedirect"), "wrong");
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .unwrap()
            .contains("Please check your username and password")
    );
    // Another host is refused when no callback URLs are configured, on GET and POST.
    for uri in ["http://evil.example/cb", "http://localhost@evil.example/cb"] {
        let (st, body) = j(s
            .http()
            .get(format!("{}/services/oauth2/authorize", s.base()))
            .query(&params(uri))
            .send()
            .unwrap());
        assert_eq!(
            (st, body["error"].as_str()),
            (400, Some("redirect_uri_mismatch")),
            "{uri}"
        );
        let mut form = params(uri);
        form.push(("username", &s.ready.username));
        form.push(("pw", &s.ready.password));
        let r = s
            .http()
            .post(format!("{}/services/oauth2/authorize", s.base()))
            .form(&form)
            .send()
            .unwrap();
        assert_eq!(r.status(), 400, "{uri}");
    }
    // With callback URLs configured, exactly those are allowed (even a loopback one is not
    // unless listed).
    let configured = Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            config: Some("[app]\ncallback_urls = [\"https://app.example/cb\"]\n".into()),
            ..Default::default()
        },
    );
    let ok = [
        ("response_type", "code"),
        ("client_id", configured.ready.client_id.as_str()),
        ("redirect_uri", "https://app.example/cb"),
    ];
    let r = sign_in(&configured, &ok, &configured.ready.password);
    assert_eq!(r.status(), 302);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://app.example/cb?code=")
    );
    let (st, _) = j(configured
        .http()
        .get(format!("{}/services/oauth2/authorize", configured.base()))
        .query(&[
            ("response_type", "code"),
            ("client_id", configured.ready.client_id.as_str()),
            ("redirect_uri", "http://localhost:1717/OauthRedirect"),
        ])
        .send()
        .unwrap());
    assert_eq!(st, 400);
}

#[test]
fn authorization_code_with_pkce_refresh_and_revoke() {
    let s = server();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-forcebus";
    let challenge =
        URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    let params = [
        ("response_type", "code"),
        ("client_id", s.ready.client_id.as_str()),
        ("redirect_uri", "http://localhost:1717/OauthRedirect"),
        ("state", "s1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let resp = sign_in(&s, &params, &s.ready.password);
    assert_eq!(resp.status().as_u16(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("http://localhost:1717/OauthRedirect?code="),
        "{location}"
    );
    let q: HashMap<String, String> = url_query(&location);
    assert_eq!(q["state"], "s1");
    let (st, body) = token(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &q["code"]),
            ("client_id", &s.ready.client_id),
            ("redirect_uri", "http://localhost:1717/OauthRedirect"),
            ("code_verifier", verifier),
        ],
    );
    assert_eq!(st, 200, "{body}");
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let (st, again) = token(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &s.ready.client_id),
        ],
    );
    assert_eq!(st, 200, "{again}");
    assert!(again.get("refresh_token").is_none());
    let fresh = again["access_token"].as_str().unwrap().to_owned();
    let (st, _) = j(s
        .http()
        .post(format!("{}/services/oauth2/revoke", s.base()))
        .form(&[("token", refresh.as_str())])
        .send()
        .unwrap());
    assert_eq!(st, 200);
    let (st, body) = j(s
        .http()
        .get(format!("{}/sobjects", s.data()))
        .bearer_token(&fresh)
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (401, "INVALID_SESSION_ID"));
    let (st, body) = token(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &s.ready.client_id),
        ],
    );
    assert_eq!(
        (st, body["error_description"].as_str()),
        (400, Some("expired access/refresh token"))
    );
    // The code was single-use.
    let (st, _) = token(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &q["code"]),
            ("client_id", &s.ready.client_id),
            ("code_verifier", verifier),
        ],
    );
    assert_eq!(st, 400);
}

fn url_query(url: &str) -> HashMap<String, String> {
    let q = url.split_once('?').unwrap().1;
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn jwt_bearer_is_verified_against_the_app_certificate() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures");
    let config = format!(
        "[app]\nclient_id = \"jwt-app\"\nclient_secret = \"s3cret\"\ncertificate = \"{fixtures}/jwt-cert.pem\"\n"
    );
    let s = Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            config: Some(config),
            ..Default::default()
        },
    );
    let key = std::fs::read(format!("{fixtures}/jwt-key.pem")).unwrap();
    let sign = |claims: Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_rsa_pem(&key).unwrap(),
        )
        .unwrap()
    };
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 300;
    let grant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    // Any audience: the sf CLI tries several.
    let good = sign(
        json!({"iss": "jwt-app", "sub": s.ready.username, "aud": "https://login.salesforce.com", "exp": exp}),
    );
    let (st, body) = token(&s, &[("grant_type", grant), ("assertion", &good)]);
    assert_eq!(st, 200, "{body}");
    assert!(body["id"].as_str().unwrap().ends_with(&s.ready.user_id));
    let expired =
        sign(json!({"iss": "jwt-app", "sub": s.ready.username, "aud": "x", "exp": 1_000_000_000}));
    let wrong_iss = sign(json!({"iss": "other", "sub": s.ready.username, "aud": "x", "exp": exp}));
    let tampered = format!("{}x", &good[..good.len() - 1]);
    for (assertion, error) in [
        (expired.as_str(), "invalid_grant"),
        (wrong_iss.as_str(), "invalid_client_id"),
        (tampered.as_str(), "invalid_grant"),
        ("garbage", "invalid_grant"),
    ] {
        let (st, body) = token(&s, &[("grant_type", grant), ("assertion", assertion)]);
        assert_eq!((st, body["error"].as_str()), (400, Some(error)), "{body}");
    }
}

#[test]
fn userinfo_and_the_identity_url() {
    let s = server();
    let (st, info) = j(s
        .http()
        .get(format!("{}/services/oauth2/userinfo", s.base()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 200);
    assert_eq!(info["user_id"], s.ready.user_id);
    assert_eq!(info["organization_id"], s.ready.org_id);
    assert_eq!(info["preferred_username"], s.ready.username);
    // jsforce: the token in the query string, no header.
    let url = format!("{}/id/{}/{}", s.base(), s.ready.org_id, s.ready.user_id);
    let (st, id) = j(s
        .http()
        .get(&url)
        .query(&[("format", "json"), ("oauth_token", &s.ready.access_token)])
        .send()
        .unwrap());
    assert_eq!(st, 200, "{id}");
    assert_eq!(id["username"], s.ready.username);
    assert_eq!(
        id["urls"]["rest"],
        format!("{}/services/data/v{{version}}/", s.base())
    );
    let xml = s
        .http()
        .get(&url)
        .query(&[("format", "xml")])
        .bearer(&s)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        xml.contains(&format!("<user_id>{}</user_id>", s.ready.user_id)),
        "{xml}"
    );
    assert_eq!(s.http().get(&url).send().unwrap().status().as_u16(), 403);
    let other = format!("{}/id/{}/005000000000000AAA", s.base(), s.ready.org_id);
    assert_eq!(
        s.http()
            .get(other)
            .bearer(&s)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        404
    );
}

#[test]
fn every_authorization_form_works_and_bad_tokens_get_the_401_array() {
    let s = server();
    let t = &s.ready.access_token;
    for value in [format!("Bearer {t}"), format!("OAuth {t}"), t.clone()] {
        let st = s
            .http()
            .get(format!("{}/limits", s.data()))
            .header("Authorization", value)
            .send()
            .unwrap()
            .status();
        assert_eq!(st, 200);
    }
    for req in [
        s.http().get(format!("{}/sobjects", s.data())),
        s.http()
            .get(format!("{}/sobjects", s.data()))
            .header("Authorization", "Bearer 00Dxx!nope"),
    ] {
        let (st, body) = j(req.send().unwrap());
        assert_eq!(st, 401);
        assert_eq!(
            body,
            json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
        );
    }
    // Revoking the token ends the session.
    let (st, _) = j(s
        .http()
        .post(format!("{}/services/oauth2/revoke", s.base()))
        .form(&[("token", t.as_str())])
        .send()
        .unwrap());
    assert_eq!(st, 200);
    let (st, body) = get(&s, "/limits");
    assert_eq!((st, code(&body)), (401, "INVALID_SESSION_ID"));
    let (st, body) = j(s
        .http()
        .post(format!("{}/services/oauth2/revoke", s.base()))
        .form(&[("token", "nope")])
        .send()
        .unwrap());
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_token")));
}

#[test]
fn urls_echo_the_scheme_and_host_the_client_used() {
    let s = server();
    let (st, body) = j(s
        .https()
        .post(format!("{}/services/oauth2/token", s.tls_base()))
        .form(&as_refs(&password_form(&s)))
        .send()
        .unwrap());
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["instance_url"], s.tls_base());
    let localhost = format!(
        "http://localhost:{}",
        s.ready.http.rsplit(':').next().unwrap()
    );
    let (_, body) = j(s
        .http()
        .post(format!("{localhost}/services/oauth2/token"))
        .form(&as_refs(&password_form(&s)))
        .send()
        .unwrap());
    assert_eq!(body["instance_url"], localhost);
}

/// Reads one HTTP/1.1 response (headers and a Content-Length body); returns the status.
fn read_response(stream: &mut std::io::BufReader<std::net::TcpStream>) -> u16 {
    use std::io::{BufRead, Read};
    let mut status = String::new();
    stream.read_line(&mut status).unwrap();
    let code: u16 = status.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    stream.read_exact(&mut body).unwrap();
    code
}

#[test]
fn a_rejected_request_with_a_body_keeps_the_connection_usable() {
    // Regression: a 401 decided before the body was read left it on the connection, hyper
    // closed the keep-alive connection, and the client's next request on it failed
    // (python requests: "Remote end closed connection without response").
    use std::io::Write;
    let s = server();
    for _ in 0..10 {
        let tcp = std::net::TcpStream::connect(&s.ready.http).unwrap();
        let mut writer = tcp.try_clone().unwrap();
        let mut reader = std::io::BufReader::new(tcp);
        let body = format!("{{\"Name\": \"{}\"}}", "x".repeat(200_000));
        write!(writer, "PATCH /services/data/v59.0/sobjects/Account/001Fb0000000001 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer 00Dx!bad\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        assert_eq!(read_response(&mut reader), 401);
        write!(writer, "GET /services/data HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(
            read_response(&mut reader),
            200,
            "the same connection still serves"
        );
    }
}

/// A review found: 200 wrong passwords in a row, then the right one worked. Ten
/// failures lock the user out (Salesforce's default policy) for OAuth and SOAP alike.
#[test]
fn ten_wrong_passwords_lock_the_user_out() {
    let s = server();
    let mut wrong = password_form(&s);
    wrong[4].1 = "not-the-password".into();
    for _ in 0..10 {
        let (st, body) = token(&s, &as_refs(&wrong));
        assert_eq!(
            (st, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
    }
    let (st, body) = token(&s, &as_refs(&password_form(&s)));
    assert_eq!(st, 400, "the right password while locked out: {body}");
    assert_eq!(body["error_description"], "authentication failure");
    let envelope = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Body><urn:login><urn:username>{}</urn:username><urn:password>{}</urn:password></urn:login></soapenv:Body></soapenv:Envelope>"#,
        s.ready.username, s.ready.password
    );
    let r = s
        .http()
        .post(format!("{}/services/Soap/u/59.0", s.base()))
        .header("Content-Type", "text/xml")
        .header("SOAPAction", "login")
        .body(envelope)
        .send()
        .unwrap();
    assert_eq!(r.status(), 500);
    assert!(r.text().unwrap().contains("INVALID_LOGIN"));
    // Tokens issued before the lockout still work.
    assert_eq!(get(&s, "/limits").0, 200);
}

/// A review found: outside the trusted networks (loopback by default) a password
/// login needs the security token after the password, as Salesforce requires.
#[test]
fn untrusted_networks_need_the_security_token() {
    let s = Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            config: Some("trusted_networks = []\n".into()),
            ..Default::default()
        },
    );
    let (st, body) = token(&s, &as_refs(&password_form(&s)));
    assert_eq!(st, 400, "the password alone: {body}");
    let mut with_token = password_form(&s);
    with_token[4].1 = format!("{}{}", s.ready.password, s.ready.security_token);
    let (st, body) = token(&s, &as_refs(&with_token));
    assert_eq!(st, 200, "{body}");
    // From loopback (the default), the password alone is enough.
    let trusted = server();
    assert_eq!(token(&trusted, &as_refs(&password_form(&trusted))).0, 200);
}
