//! The authorization code's exchange (`grant_type=authorization_code`): the code of a
//! sign-in ([`crate::authorize`]) for tokens, once, with its PKCE verifier or the client's
//! secret.

use forcebus_sync::prelude::*;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::{Form, Grant, OAuthError, param};
use crate::Auth;
use crate::secret::secret_eq;

impl Auth {
    /// Exchanges the form's code: the redirect URI must be the one it was issued for, the
    /// verifier must match its challenge; a failed exchange uses the code up.
    pub(super) fn exchange_code(
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::tests::{auth, form};

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
        // A sign-in's code, from the redirect it answers with.
        let signed_in = || {
            let location = auth
                .authorize_sign_in(&request, "admin@example.com", "pw", None)
                .unwrap();
            let query = location.split_once('?').unwrap().1;
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "code")
                .unwrap()
                .1
                .into_owned()
        };
        let code = signed_in();
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
        let code = signed_in();
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
