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
//! - [`Auth`] (here): the org's authentication, over its parts:
//! - [`tokens`]: issuing, verifying, extending and revoking tokens; [`hold`]: tokens held
//!   by live streaming connections, which do not expire; `secret`: digests and
//!   constant-time comparison.
//! - [`grant`]: the OAuth grant types of `/services/oauth2/token`.
//! - [`authorize`]: `/services/oauth2/authorize`: redirect URIs, sign-in, codes;
//!   [`browser`]: the sessions of browsers signed in at Salesforce's login URL.
//! - [`login`]: password logins: lockout and the security token from untrusted networks.
//! - [`passwords`]: passwords set through the API, and the password policy.

/// The client id of forcebus's web console, a public client of every org
/// ([`authorize`]: its code goes back only to the console on the server's own origin).
pub const CONSOLE_CLIENT: &str = "forcebus-console";
/// Where the console takes its code back, under the server's own origin.
pub const CONSOLE_PATH: &str = "/forcebus/console/";

pub mod authorize;
pub mod browser;
pub mod config;
pub mod directory;
pub mod grant;
pub mod hold;
pub mod login;
pub mod passwords;
mod secret;
pub mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::Duration;

use forcebus_org::RecordId;
use forcebus_store::{Store, StoreError};

use crate::authorize::PendingCode;
use crate::tokens::TokenRecord;

pub use authorize::AuthorizeRequest;
pub use browser::BrowserSession;
pub use config::{AppConfig, AuthConfig, UserCredentials};
pub use directory::{Directory, DirectoryUser};
pub use grant::{Grant, OAuthError};
pub use hold::Hold;
pub use login::Network;
pub use secret::secret_eq;
pub use tokens::{Issued, Session};

/// Users, the app, and every live token.
#[derive(Debug)]
pub struct Auth {
    pub(crate) directory: Arc<dyn Directory>,
    store: Arc<dyn Store>,
    pub(crate) config: AuthConfig,
    tokens: RwLock<HashMap<String, TokenRecord>>,
    pub(crate) codes: Mutex<HashMap<String, PendingCode>>,
    /// Counts the times tokens were forgotten (revoked, or found expired): streams opened
    /// with a token watch it and check their token again when it moves.
    forgotten: tokio::sync::watch::Sender<u64>,
    /// Failed password logins per user.
    lockouts: crate::login::Lockouts,
    /// Passwords set through the API.
    passwords: crate::passwords::Passwords,
    /// Tokens held by live streaming connections: they do not expire.
    pub(crate) holds: crate::hold::Holds,
    /// Browsers signed in through the login page.
    pub(crate) browser: crate::browser::BrowserSessions,
}

impl Auth {
    /// Loads live tokens from the store.
    pub fn open(
        directory: Arc<dyn Directory>,
        store: Arc<dyn Store>,
        config: AuthConfig,
    ) -> Result<Self, StoreError> {
        let tokens = crate::tokens::load(store.as_ref(), directory.now())?;
        let passwords = crate::passwords::Passwords::load(store.as_ref())?;
        Ok(Self {
            directory,
            passwords,
            store,
            config,
            tokens: RwLock::new(tokens),
            codes: Mutex::new(HashMap::new()),
            forgotten: tokio::sync::watch::Sender::new(0),
            lockouts: Default::default(),
            holds: Default::default(),
            browser: Default::default(),
        })
    }

    /// Moves whenever tokens are revoked or found expired. A stream opened with a token
    /// waits on it and ends once [`Auth::verify`] no longer accepts its token, so no
    /// stream outlives its credentials.
    pub fn revocations(&self) -> tokio::sync::watch::Receiver<u64> {
        self.forgotten.subscribe()
    }

    /// The org's identity, time and users.
    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.directory
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    fn timeout(&self) -> Duration {
        Duration::from_std(self.config.session_timeout).unwrap_or(Duration::hours(2))
    }

    /// The default user's id.
    pub fn default_user(&self) -> Option<RecordId> {
        let first = self.config.users.first()?;
        self.directory.user(&first.username).map(|u| u.id)
    }
}

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
