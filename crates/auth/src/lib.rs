//! Identity for forcebus: user credentials, the connected app, access and refresh tokens,
//! and the OAuth 2.0 grants that issue them.
//!
//! Every front door (REST, SOAP, CometD, gRPC) checks tokens here. Tokens are stored as
//! SHA-256 digests in the `token` space of the store, so they survive a restart and a copy
//! of the data directory does not leak live sessions.
//!
//! Layout:
//! - [`directory`]: what authentication needs of an org (id, clock, users by name).
//! - [`config`]: users, the connected app, session timeout.
//! - [`tokens`]: issuing, verifying, extending and revoking tokens; [`hold`]: tokens held
//!   by live streaming connections, which do not expire.
//! - [`grant`]: the OAuth grant types of `/services/oauth2/token`.
//! - [`authorize`]: `/services/oauth2/authorize`: redirect URIs, sign-in, codes.
//! - [`login`]: password logins: lockout and the security token from untrusted networks.
//! - [`passwords`]: passwords set through the API, and the password policy.

pub mod authorize;
pub mod config;
pub mod directory;
pub mod grant;
pub mod hold;
pub mod login;
pub mod passwords;
pub mod tokens;

pub use authorize::AuthorizeRequest;
pub use config::{AppConfig, AuthConfig, UserCredentials};
pub use directory::{Directory, DirectoryUser};
pub use grant::{Grant, OAuthError};
pub use hold::Hold;
pub use login::Network;
pub use tokens::{Auth, Issued, Session, secret_eq};

/// The token of an `Authorization` header value: `Bearer x`, `OAuth x` (jsforce), or a
/// bare `x` (EMP Connector). Every front door reads tokens this way.
pub fn bearer_token(header: &str) -> Option<&str> {
    let raw = header.trim();
    let token = match raw.split_once(' ') {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth") =>
        {
            rest.trim()
        }
        Some(_) => return None,
        // A scheme with nothing after it is no token.
        None if raw.eq_ignore_ascii_case("bearer") || raw.eq_ignore_ascii_case("oauth") => {
            return None;
        }
        None => raw,
    };
    (!token.is_empty()).then_some(token)
}
