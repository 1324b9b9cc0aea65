//! The OAuth 2.0 grants of `/services/oauth2/token` (the authorization-code flow's first
//! half, `/services/oauth2/authorize`, is in [`crate::authorize`]).
//!
//! Error pairs follow `org-rest-cdc.md` §1.1: clients read `error` and
//! `error_description`, and simple-salesforce and jsforce show them to users.

use forcebus_sync::prelude::*;
use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use forcebus_org::RecordId;

use crate::Auth;
use crate::secret::secret_eq;
use crate::tokens::Issued;

/// A failed grant: the `error` / `error_description` pair of the response body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    /// Machine-readable code, e.g. `invalid_grant`.
    pub error: &'static str,
    /// Human text, e.g. `authentication failure`.
    pub description: String,
}

impl OAuthError {
    pub(crate) fn new(error: &'static str, description: &str) -> Self {
        Self {
            error,
            description: description.to_owned(),
        }
    }
    fn auth_failure() -> Self {
        Self::new("invalid_grant", "authentication failure")
    }
    pub(crate) fn bad_client_id() -> Self {
        Self::new("invalid_client_id", "client identifier invalid")
    }
    fn bad_secret() -> Self {
        Self::new("invalid_client", "invalid client credentials")
    }
    fn bad_assertion() -> Self {
        Self::new("invalid_grant", "invalid assertion")
    }
    pub(crate) fn internal() -> Self {
        Self::new("server_error", "internal server error")
    }
}

/// A successful grant.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The tokens.
    pub issued: Issued,
    /// `scope` to report, for the flows that report one.
    pub scope: Option<&'static str>,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
}

pub(crate) type Form = HashMap<String, String>;

pub(crate) fn param<'a>(form: &'a Form, key: &str) -> Option<&'a str> {
    form.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

impl Auth {
    /// Runs the grant named by `grant_type`. `basic` is the client id and secret of an
    /// `Authorization: Basic` header, which the client-credentials flow may use; `from`
    /// is the client's address (password logins need the security token from untrusted
    /// networks).
    pub fn token_grant(
        &self,
        form: &Form,
        basic: Option<(String, String)>,
        from: Option<std::net::IpAddr>,
    ) -> Result<Grant, OAuthError> {
        let (id_in_header, secret_in_header) = basic.unzip();
        let client_id = param(form, "client_id").or(id_in_header.as_deref());
        let secret = param(form, "client_secret").or(secret_in_header.as_deref());
        match param(form, "grant_type") {
            Some("password") => {
                self.check_client(client_id, secret, true)?;
                let (Some(username), Some(password)) =
                    (param(form, "username"), param(form, "password"))
                else {
                    return Err(OAuthError::auth_failure());
                };
                let user = self
                    .check_password(username, password, from)
                    .ok_or_else(OAuthError::auth_failure)?;
                self.grant(user, false, None, None)
            }
            Some("client_credentials") => {
                self.check_client(client_id, secret, true)?;
                let run_as = match &self.config.app.run_as {
                    Some(name) => self.directory.user(name).map(|u| u.id),
                    None => self.default_user(),
                };
                let user = run_as.ok_or_else(|| {
                    OAuthError::new("invalid_grant", "no client credentials user enabled")
                })?;
                self.grant(user, false, None, Some("api"))
            }
            Some("refresh_token") => {
                self.check_client(client_id, secret, false)?;
                let token = param(form, "refresh_token")
                    .ok_or_else(|| OAuthError::new("invalid_request", "refresh_token required"))?;
                let (user, parent) = self.verify_refresh(token).ok_or_else(|| {
                    OAuthError::new("invalid_grant", "expired access/refresh token")
                })?;
                self.grant(user, false, Some(parent), Some("api refresh_token"))
            }
            Some("authorization_code") => self.exchange_code(form, client_id, secret),
            Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => self.jwt_bearer(form),
            _ => Err(OAuthError::new(
                "unsupported_grant_type",
                "grant type not supported",
            )),
        }
    }

    fn grant(
        &self,
        user: RecordId,
        refresh: bool,
        parent: Option<String>,
        scope: Option<&'static str>,
    ) -> Result<Grant, OAuthError> {
        let issued = self.issue_from(user, refresh, parent).map_err(|e| {
            tracing::error!(error = %e, "Could not store a new token.");
            OAuthError::internal()
        })?;
        Ok(Grant { issued, scope })
    }

    /// Checks the client id, and the secret when `need_secret` or when one is given.
    fn check_client(
        &self,
        id: Option<&str>,
        secret: Option<&str>,
        need_secret: bool,
    ) -> Result<(), OAuthError> {
        let app = &self.config.app;
        if id != Some(app.client_id.as_str()) {
            return Err(OAuthError::bad_client_id());
        }
        match secret {
            Some(s) if !secret_eq(s, &app.client_secret) => Err(OAuthError::bad_secret()),
            None if need_secret => Err(OAuthError::bad_secret()),
            _ => Ok(()),
        }
    }

    fn exchange_code(
        &self,
        form: &Form,
        client_id: Option<&str>,
        secret: Option<&str>,
    ) -> Result<Grant, OAuthError> {
        let code = param(form, "code")
            .ok_or_else(|| OAuthError::new("invalid_request", "code required"))?;
        let pending = self
            .codes
            .locked()
            .remove(code)
            .filter(|p| p.expires_at > self.directory.now())
            .ok_or_else(|| OAuthError::new("invalid_grant", "invalid authorization code"))?;
        let verifier = param(form, "code_verifier");
        if pending.client_id == crate::CONSOLE_CLIENT {
            // The console is a public client: its PKCE verifier (checked below) is all.
            if client_id != Some(crate::CONSOLE_CLIENT) || verifier.is_none() {
                return Err(OAuthError::bad_client_id());
            }
        } else {
            // A PKCE verifier stands in for the secret (public clients); otherwise the
            // secret is due.
            self.check_client(
                client_id,
                secret,
                pending.challenge.is_none() || verifier.is_none(),
            )?;
        }
        if let Some(uri) = param(form, "redirect_uri")
            && uri != pending.redirect_uri
        {
            return Err(OAuthError::new(
                "redirect_uri_mismatch",
                "redirect_uri must match configuration",
            ));
        }
        if let Some((challenge, method)) = &pending.challenge {
            let verifier = verifier
                .ok_or_else(|| OAuthError::new("invalid_grant", "invalid code verifier"))?;
            let computed = match method.as_str() {
                "plain" => verifier.to_owned(),
                _ => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            };
            if !secret_eq(&computed, challenge) {
                return Err(OAuthError::new("invalid_grant", "invalid code verifier"));
            }
        }
        self.grant(pending.user, true, None, Some("api refresh_token"))
    }

    fn jwt_bearer(&self, form: &Form) -> Result<Grant, OAuthError> {
        let assertion = param(form, "assertion").ok_or_else(OAuthError::bad_assertion)?;
        let pem = self
            .config
            .app
            .certificate
            .as_deref()
            .ok_or_else(OAuthError::bad_assertion)?;
        let key = decoding_key(pem).ok_or_else(|| {
            tracing::error!("The connected app certificate is not an RSA certificate.");
            OAuthError::bad_assertion()
        })?;
        let mut validation = Validation::new(Algorithm::RS256);
        // The sf CLI tries several audiences (login, test, the instance): accept any.
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
            .map_err(|_| OAuthError::bad_assertion())?
            .claims;
        if claims.iss != self.config.app.client_id {
            return Err(OAuthError::bad_client_id());
        }
        let user = self
            .directory
            .user(&claims.sub)
            .filter(|u| {
                self.config
                    .users
                    .iter()
                    .any(|c| c.username.eq_ignore_ascii_case(&claims.sub))
                    || u.active == Some(true)
            })
            .ok_or_else(|| {
                OAuthError::new("invalid_grant", "user hasn't approved this consumer")
            })?;
        self.grant(user.id, false, None, Some("api"))
    }
}

/// The RSA public key of a PEM certificate.
fn decoding_key(pem: &str) -> Option<DecodingKey> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let cert = pem.parse_x509().ok()?;
    let spki = cert.public_key();
    Some(DecodingKey::from_rsa_der(&spki.subject_public_key.data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::tests::auth_with;
    use forcebus_org::ManualClock;
    use forcebus_store::SqliteStore;
    use std::sync::Arc;

    fn auth() -> Auth {
        let clock = Arc::new(ManualClock::new("2024-05-01T00:00:00Z".parse().unwrap()));
        auth_with(Arc::new(SqliteStore::in_memory().unwrap()), clock)
    }

    fn form(pairs: &[(&str, &str)]) -> Form {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn password_grant_checks_client_and_user() {
        let auth = auth();
        let ok = form(&[
            ("grant_type", "password"),
            ("client_id", "cid"),
            ("client_secret", "secret"),
            ("username", "admin@example.com"),
            ("password", "pw"),
        ]);
        let g = auth.token_grant(&ok, None, None).unwrap();
        assert!(g.issued.refresh_token.is_none());
        let mut bad = ok.clone();
        bad.insert("password".into(), "nope".into());
        assert_eq!(
            auth.token_grant(&bad, None, None).unwrap_err(),
            OAuthError::auth_failure()
        );
        let mut bad = ok.clone();
        bad.insert("client_id".into(), "x".into());
        assert_eq!(
            auth.token_grant(&bad, None, None).unwrap_err().error,
            "invalid_client_id"
        );
        let mut bad = ok;
        bad.insert("client_secret".into(), "x".into());
        assert_eq!(
            auth.token_grant(&bad, None, None).unwrap_err().error,
            "invalid_client"
        );
        assert_eq!(
            auth.token_grant(&form(&[("grant_type", "magic")]), None, None)
                .unwrap_err()
                .error,
            "unsupported_grant_type"
        );
    }

    #[test]
    fn client_credentials_accepts_a_basic_header() {
        let auth = auth();
        let g = auth
            .token_grant(
                &form(&[("grant_type", "client_credentials")]),
                Some(("cid".into(), "secret".into())),
                None,
            )
            .unwrap();
        assert_eq!(Some(g.issued.user_id), auth.default_user());
    }

    #[test]
    fn the_console_is_a_public_client_of_its_own_server_only() {
        let auth = auth();
        let verifier = "the-console-verifier-with-plenty-of-entropy-0123456789";
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let origin = "http://127.0.0.1:8080";
        let ask = |redirect: &str, method: Option<&str>| {
            let mut pairs = vec![
                ("response_type", "code"),
                ("client_id", "forcebus-console"),
                ("redirect_uri", redirect),
                ("code_challenge", challenge.as_str()),
            ];
            if let Some(m) = method {
                pairs.push(("code_challenge_method", m));
            }
            auth.authorize_request(&form(&pairs), origin)
        };
        let home = "http://127.0.0.1:8080/forcebus/console/";
        for bad in [
            "http://evil.example/forcebus/console/",
            "http://127.0.0.1:9999/forcebus/console/",
            "http://127.0.0.1:8080/elsewhere",
        ] {
            assert_eq!(
                ask(bad, Some("S256")).unwrap_err().error,
                "redirect_uri_mismatch"
            );
        }
        assert_eq!(
            ask(home, Some("plain")).unwrap_err().error,
            "invalid_request"
        );
        let request = ask(home, None).expect("S256 by default");
        let location = auth
            .authorize_sign_in(&request, "admin@example.com", "pw", None)
            .unwrap();
        let query = location.split_once('?').unwrap().1;
        let code = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let exchange = |client: &str, v: Option<&str>| {
            let mut pairs = vec![
                ("grant_type", "authorization_code"),
                ("client_id", client),
                ("code", code.as_str()),
            ];
            if let Some(v) = v {
                pairs.push(("code_verifier", v));
            }
            auth.token_grant(&form(&pairs), None, None)
        };
        assert_eq!(
            exchange("cid", Some(verifier)).unwrap_err().error,
            "invalid_client_id"
        );
        // A failed exchange uses the code up, as any: sign in again.
        let location = auth
            .authorize_sign_in(&request, "admin@example.com", "pw", None)
            .unwrap();
        let query = location.split_once('?').unwrap().1;
        let code = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let g = auth
            .token_grant(
                &form(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", "forcebus-console"),
                    ("code", &code),
                    ("code_verifier", verifier),
                ]),
                None,
                None,
            )
            .expect("the verifier is all the console needs");
        assert_eq!(Some(g.issued.user_id), auth.default_user());
    }

    /// Checks an authorization request and signs the test user in for it.
    fn sign_in(auth: &Auth, pairs: &[(&str, &str)]) -> String {
        let request = auth
            .authorize_request(&form(pairs), "http://localhost:8080")
            .unwrap();
        auth.authorize_sign_in(&request, "admin@example.com", "pw", None)
            .expect("signed in")
    }

    #[test]
    fn authorization_code_with_pkce_then_refresh() {
        let auth = auth();
        let verifier = "a-very-long-verifier-string-of-enough-entropy-0123456789";
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let location = sign_in(
            &auth,
            &[
                ("response_type", "code"),
                ("client_id", "cid"),
                ("redirect_uri", "http://localhost:1717/cb"),
                ("state", "xyz"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        );
        let query = location.split_once('?').unwrap().1;
        let params: Form = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(params["state"], "xyz");
        let exchange = |v: &str| {
            auth.token_grant(
                &form(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", "cid"),
                    ("code", &params["code"]),
                    ("redirect_uri", "http://localhost:1717/cb"),
                    ("code_verifier", v),
                ]),
                None,
                None,
            )
        };
        assert_eq!(exchange("wrong").unwrap_err().error, "invalid_grant");
        // A failed exchange burns the code, as a real authorization server does.
        assert_eq!(
            exchange(verifier).unwrap_err().description,
            "invalid authorization code"
        );
        let location = sign_in(
            &auth,
            &[
                ("response_type", "code"),
                ("client_id", "cid"),
                ("redirect_uri", "http://localhost:1717/cb"),
                ("code_challenge", &challenge),
            ],
        );
        let query = location.split_once('?').unwrap().1;
        let code = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        assert!(code.starts_with("00D"), "a code names its org: {code}");
        let g = auth
            .token_grant(
                &form(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", "cid"),
                    ("code", &code),
                    ("code_verifier", verifier),
                ]),
                None,
                None,
            )
            .unwrap();
        let refresh = g.issued.refresh_token.unwrap();
        let again = auth
            .token_grant(
                &form(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", "cid"),
                    ("refresh_token", &refresh),
                ]),
                None,
                None,
            )
            .unwrap();
        assert!(auth.verify(&again.issued.access_token).is_some());
        auth.revoke(&refresh).unwrap();
        assert!(auth.verify(&again.issued.access_token).is_none());
    }
}
