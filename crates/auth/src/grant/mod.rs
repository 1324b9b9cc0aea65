//! The OAuth 2.0 grants of `/services/oauth2/token` (the authorization-code flow's first
//! half, `/services/oauth2/authorize`, is in [`crate::authorize`]): the password, client
//! credentials and refresh grants here, the authorization code's exchange in `code`, the
//! JWT bearer grant in `jwt`.
//!
//! Error pairs follow `org-rest-cdc.md` §1.1: clients read `error` and
//! `error_description`, and simple-salesforce and jsforce show them to users.

use std::collections::HashMap;

use forcebus_org::RecordId;

use crate::Auth;
use crate::secret::secret_eq;
use crate::tokens::Issued;

mod code;
mod jwt;

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
        // A deactivated user gets no new token by any grant (their old ones stopped).
        if !self.directory.may_sign_in(user) {
            return Err(OAuthError::new("invalid_grant", "inactive user"));
        }
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
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tokens::tests::auth_with;
    use forcebus_org::ManualClock;
    use forcebus_store::SqliteStore;
    use std::sync::Arc;

    /// An org's authentication on a clock stopped at 2024-05-01.
    pub(crate) fn auth() -> Auth {
        let clock = Arc::new(ManualClock::new("2024-05-01T00:00:00Z".parse().unwrap()));
        auth_with(Arc::new(SqliteStore::in_memory().unwrap()), clock)
    }

    /// A form of `pairs`.
    pub(crate) fn form(pairs: &[(&str, &str)]) -> Form {
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
}
