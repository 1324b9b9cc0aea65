//! The JWT bearer grant (`urn:ietf:params:oauth:grant-type:jwt-bearer`): an assertion
//! signed with the key of the connected app's certificate, naming the app and the user.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::{Form, Grant, OAuthError, param};
use crate::Auth;

/// The assertion's claims read: who issued it (the app) and whom it is for (the user).
#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
}

impl Auth {
    /// Checks the form's assertion against the app's certificate; a token for its user.
    pub(super) fn jwt_bearer(&self, form: &Form) -> Result<Grant, OAuthError> {
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
