//! The ready line as a client reads it: the one JSON object a server prints once it
//! listens, and keeps in its data dir's `ready.json` while it runs. Only the keys the
//! commands use are read; a key the line lacks is an error that names it.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// The ready line of a running server.
#[derive(Debug, Deserialize)]
pub(crate) struct ReadyLine {
    /// Its plain HTTP `host:port`.
    pub(crate) http: Option<String>,
    /// Its Pub/Sub API's `host:port`.
    pub(crate) grpc: Option<String>,
    pub(crate) instance_url: Option<String>,
    /// The default org's id.
    pub(crate) org_id: Option<String>,
    /// The default user's credentials.
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) security_token: Option<String>,
    /// The connected app's.
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    /// An access token of the default user.
    pub(crate) access_token: Option<String>,
    /// The admin API's key.
    pub(crate) admin_key: Option<String>,
    /// The CA certificate's path.
    pub(crate) ca_cert: Option<String>,
    /// `66.0`.
    pub(crate) api_version: Option<String>,
}

/// Which of the ready line's secrets a command sends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Credential {
    /// The admin key (the admin API, the test controls).
    AdminKey,
    /// The default user's access token (the data APIs).
    AccessToken,
}

impl ReadyLine {
    /// The ready line of the server running on `data_dir`.
    pub(crate) fn of_running(data_dir: &Path) -> anyhow::Result<Self> {
        let line = forcebus_config::datadir::running_ready_line(data_dir)?;
        serde_json::from_str(&line).context("the ready file is damaged")
    }
}

impl Credential {
    /// Its key in the ready line.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::AdminKey => "admin_key",
            Self::AccessToken => "access_token",
        }
    }

    /// Its value in `line`.
    pub(crate) fn of(self, line: &ReadyLine) -> Option<&str> {
        match self {
            Self::AdminKey => line.admin_key.as_deref(),
            Self::AccessToken => line.access_token.as_deref(),
        }
    }
}

/// `value`, the ready line's `key`, or an error saying the line has none.
pub(crate) fn required<'a>(value: Option<&'a str>, key: &str) -> anyhow::Result<&'a str> {
    value.with_context(|| format!("the ready line has no {key}"))
}
