//! `/services/oauth2/authorize`, the first half of the authorization-code flow: the
//! request is checked, a person signs in, and the browser is sent back to the app's
//! `redirect_uri` with a code that [`crate::grant`] exchanges for tokens.
//!
//! - A `redirect_uri` must be one of the connected app's `callback_urls`; with none
//!   configured, only loopback URIs (`http://localhost:1717/OauthRedirect`, as the `sf`
//!   CLI uses) are allowed, so a code can never be sent to another host.
//! - Signing in checks the username and password as every password login does (lockout,
//!   the security token from untrusted networks): on the one-step sign-in page
//!   ([`Auth::authorize_sign_in`]), or at Salesforce's login URL, whose browser session
//!   ([`crate::browser`]) then approves the request ([`Auth::authorize_approved`]) or
//!   denies it ([`Auth::authorize_denied`]). Either way the code is issued here, once.
//! - Codes live 15 minutes, are used once, and at most [`MAX_PENDING_CODES`] wait at a
//!   time (the oldest goes first). A code names its org as a token does (`00D…!…`), so a
//!   server of many orgs exchanges it at the org that issued it.
//! - forcebus's own web console signs in as the public client [`CONSOLE_CLIENT`], which
//!   every org knows: its `redirect_uri` must be the console on the very server and
//!   origin that shows the sign-in page, and it must use PKCE (S256), which stands in for
//!   a secret when its code is exchanged.

use chrono::{DateTime, Duration, Utc};
use forcebus_sync::prelude::*;
use rand::Rng;

use forcebus_org::RecordId;

use crate::grant::{Form, OAuthError, param};
use crate::{Auth, CONSOLE_CLIENT, CONSOLE_PATH};

/// Most codes waiting to be exchanged at once.
pub const MAX_PENDING_CODES: usize = 1_000;

/// How long a code may wait to be exchanged.
fn code_lifetime() -> Duration {
    Duration::minutes(15)
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone)]
pub(crate) struct PendingCode {
    pub(crate) user: RecordId,
    /// The client it was issued to.
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: Option<(String, String)>,
    pub(crate) expires_at: DateTime<Utc>,
}

/// A checked authorization request: what the sign-in page carries to its POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// The app's client id.
    pub client_id: String,
    /// Where the browser goes back to.
    pub redirect_uri: String,
    /// The app's `state`, returned as is.
    pub state: Option<String>,
    /// PKCE: the challenge and its method (`S256` or `plain`).
    pub challenge: Option<(String, String)>,
}

impl AuthorizeRequest {
    /// The request as form fields, to carry through the sign-in page.
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
        ];
        if let Some(s) = &self.state {
            out.push(("state", s));
        }
        if let Some((c, m)) = &self.challenge {
            out.push(("code_challenge", c));
            out.push(("code_challenge_method", m));
        }
        out
    }
}

/// Whether `uri` points at this machine (`localhost`, `127.x.x.x`, `[::1]`) over http(s).
pub fn is_loopback_uri(uri: &str) -> bool {
    let Some(rest) = uri
        .strip_prefix("http://")
        .or_else(|| uri.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The app's `redirect_uri` with `pairs` and the app's `state` added to its query.
fn back_to_app(request: &AuthorizeRequest, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(pairs);
    if let Some(state) = &request.state {
        query.append_pair("state", state);
    }
    let sep = if request.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{sep}{}", request.redirect_uri, query.finish())
}

impl Auth {
    /// Checks an authorization request (`GET` or the sign-in page's `POST`) that reached
    /// the server at `origin` (`http://127.0.0.1:8080`).
    pub fn authorize_request(
        &self,
        query: &Form,
        origin: &str,
    ) -> Result<AuthorizeRequest, OAuthError> {
        if param(query, "response_type") != Some("code") {
            return Err(OAuthError::new(
                "unsupported_response_type",
                "response type not supported",
            ));
        }
        let client_id = param(query, "client_id").unwrap_or_default();
        let console = client_id == CONSOLE_CLIENT;
        if client_id != self.config.app.client_id && !console {
            return Err(OAuthError::bad_client_id());
        }
        let redirect_uri = param(query, "redirect_uri").ok_or_else(|| {
            OAuthError::new("invalid_request", "missing required redirect_uri parameter")
        })?;
        let callbacks = &self.config.app.callback_urls;
        let allowed = if console {
            redirect_uri == format!("{origin}{CONSOLE_PATH}")
        } else if callbacks.is_empty() {
            is_loopback_uri(redirect_uri)
        } else {
            callbacks.iter().any(|c| c == redirect_uri)
        };
        if !allowed {
            return Err(OAuthError::new(
                "redirect_uri_mismatch",
                "redirect_uri must match configuration",
            ));
        }
        let challenge = match (
            param(query, "code_challenge"),
            param(query, "code_challenge_method"),
        ) {
            (Some(c), Some(m @ ("S256" | "plain"))) => Some((c.to_owned(), m.to_owned())),
            (Some(c), None) => Some((c.to_owned(), "S256".to_owned())),
            (Some(_), Some(_)) => {
                return Err(OAuthError::new(
                    "invalid_request",
                    "invalid code_challenge_method",
                ));
            }
            (None, _) => None,
        };
        if console && challenge.as_ref().is_none_or(|(_, m)| m != "S256") {
            return Err(OAuthError::new(
                "invalid_request",
                "the console signs in with PKCE (code_challenge_method S256)",
            ));
        }
        Ok(AuthorizeRequest {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            state: param(query, "state").map(str::to_owned),
            challenge,
        })
    }

    /// Signs a person in for `request`: on success, the redirect location carrying a new
    /// code (and the app's `state`); `None` when the username or password is wrong or
    /// the user is locked out.
    pub fn authorize_sign_in(
        &self,
        request: &AuthorizeRequest,
        username: &str,
        password: &str,
        from: Option<std::net::IpAddr>,
    ) -> Option<String> {
        let user = self.check_password(username, password, from)?;
        Some(self.issue_code(request, user))
    }

    /// The approval page's *Allow* for `request` by a signed-in browser: the redirect
    /// location carrying a new code, as [`Auth::authorize_sign_in`]'s.
    pub fn authorize_approved(
        &self,
        request: &AuthorizeRequest,
        session: &crate::BrowserSession,
    ) -> String {
        self.issue_code(request, session.user)
    }

    /// The approval page's *Deny*: the redirect location telling the app so (RFC 6749
    /// §4.1.2.1, Salesforce's `access_denied` / `end-user denied authorization`).
    pub fn authorize_denied(request: &AuthorizeRequest) -> String {
        back_to_app(
            request,
            &[
                ("error", "access_denied"),
                ("error_description", "end-user denied authorization"),
            ],
        )
    }

    /// A new code for `user`, kept until exchanged, and the location carrying it.
    fn issue_code(&self, request: &AuthorizeRequest, user: RecordId) -> String {
        let random: String = {
            let mut rng = rand::thread_rng();
            (0..48)
                .map(|_| {
                    char::from(
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                            [rng.gen_range(0..62)],
                    )
                })
                .collect()
        };
        let code = format!("{}!{random}", self.directory.org_id().to18());
        let now = self.directory.now();
        let pending = PendingCode {
            user,
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            challenge: request.challenge.clone(),
            expires_at: now + code_lifetime(),
        };
        {
            let mut codes = self.codes.locked();
            codes.retain(|_, c| c.expires_at > now);
            while codes.len() >= MAX_PENDING_CODES {
                let oldest = codes
                    .iter()
                    .min_by_key(|(_, c)| c.expires_at)
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => codes.remove(&k),
                    None => break,
                };
            }
            codes.insert(code.clone(), pending);
        }
        back_to_app(request, &[("code", &code)])
    }

    /// How many codes wait to be exchanged (for tests of the bound).
    pub fn pending_codes(&self) -> usize {
        self.codes.locked().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_uris_count_as_loopback() {
        for ok in [
            "http://localhost:1717/OauthRedirect",
            "http://127.0.0.1/cb",
            "https://127.8.9.10:8443/x?y=1",
            "http://[::1]:9000/cb",
            "http://LOCALHOST/cb",
        ] {
            assert!(is_loopback_uri(ok), "{ok}");
        }
        for bad in [
            "http://evil.example/cb",
            "http://localhost.evil.example/cb",
            "http://localhost@evil.example/cb",
            "https://10.0.0.1/cb",
            "myapp://callback",
            "//localhost/cb",
            "javascript:alert(1)",
        ] {
            assert!(!is_loopback_uri(bad), "{bad}");
        }
    }
}

#[cfg(test)]
mod bound_tests {
    use super::*;
    use crate::grant::Form;

    #[test]
    fn pending_codes_are_bounded() {
        let clock = std::sync::Arc::new(forcebus_org::ManualClock::new(
            "2024-05-01T00:00:00Z".parse().unwrap(),
        ));
        let store = std::sync::Arc::new(forcebus_store::SqliteStore::in_memory().unwrap());
        let auth = crate::tokens::tests::auth_with(store, clock);
        let query: Form = [
            ("response_type", "code"),
            ("client_id", "cid"),
            ("redirect_uri", "http://localhost:1717/cb"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let request = auth
            .authorize_request(&query, "http://localhost:8080")
            .unwrap();
        for _ in 0..MAX_PENDING_CODES + 50 {
            auth.authorize_sign_in(&request, "admin@example.com", "pw", None)
                .unwrap();
        }
        assert_eq!(auth.pending_codes(), MAX_PENDING_CODES);
    }
}
