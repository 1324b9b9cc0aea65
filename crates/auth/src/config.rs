//! Authentication configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A user who can log in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserCredentials {
    /// Login name, e.g. `admin@forcebus.local`.
    pub username: String,
    /// Password.
    pub password: String,
    /// Security token: logins may append it to the password.
    pub security_token: String,
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    #[serde(default = "default_last_name")]
    pub last_name: String,
    /// Email; defaults to the username.
    #[serde(default)]
    pub email: Option<String>,
    /// The profile's name; System Administrator when unset.
    #[serde(default)]
    pub profile: Option<String>,
    /// The permission sets assigned, by name.
    #[serde(default)]
    pub permission_sets: Vec<String>,
}

fn default_last_name() -> String {
    "User".to_owned()
}

/// The connected app clients authenticate as.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// OAuth client id (consumer key).
    pub client_id: String,
    /// OAuth client secret (consumer secret).
    pub client_secret: String,
    /// Username the client-credentials flow runs as; the first user when unset.
    #[serde(default)]
    pub run_as: Option<String>,
    /// PEM certificate (or its path) whose key signs JWT-bearer assertions.
    #[serde(default)]
    pub certificate: Option<String>,
    /// Allowed `redirect_uri` values of the authorization-code flow; any when empty.
    #[serde(default)]
    pub callback_urls: Vec<String>,
}

/// Everything the auth crate needs.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Users; the first is the default (authorization-code and client-credentials flows).
    pub users: Vec<UserCredentials>,
    /// The connected app.
    pub app: AppConfig,
    /// Inactivity after which an access token expires.
    pub session_timeout: Duration,
    /// Networks from which a password login needs no security token (loopback by default);
    /// from anywhere else the password must be followed by the user's security token.
    pub trusted_networks: Vec<crate::Network>,
}
