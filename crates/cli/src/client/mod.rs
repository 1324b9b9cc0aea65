//! The small client the commands share: where a running server is (from `--url` and
//! `--key`, else its data dir's ready line), one HTTP/1.1 exchange with it, and the
//! bodies of the APIs it speaks as types, with the server's own error message on a
//! failure.
//!
//! - [`http`]: one exchange over a plain socket, JSON in and out.
//! - [`ready`]: the ready line, where the server and its secrets are.
//! - [`admin`]: forcebus's own APIs (the orgs, the test controls); [`rest`]: the REST
//!   API (errors, queries, searches, save results, describes); [`bulk`]: Bulk API 2.0's
//!   jobs.

pub(crate) mod admin;
pub(crate) mod bulk;
mod http;
pub(crate) mod ready;
pub(crate) mod rest;

use std::path::Path;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

pub(crate) use http::{Answer, Body, exchange, send};
use ready::{Credential, ReadyLine};

/// Where the server is and the key to use.
#[derive(Debug, Args)]
pub(crate) struct Target {
    /// The server's HTTP address, `host:port` or `http://host:port`, with --key [default:
    /// from the data dir's ready.json].
    #[arg(long, value_name = "URL", global = true, requires = "key")]
    url: Option<String>,
    /// The admin key or an access token of the org [default: from ready.json].
    #[arg(long, value_name = "KEY", global = true)]
    key: Option<String>,
}

/// One call of the server's admin endpoints; prints its JSON answer, or fails with the
/// server's message.
pub(crate) fn call(
    target: &Target,
    data_dir: &Path,
    method: &str,
    path: &str,
    body: &Body,
) -> anyhow::Result<()> {
    if let Some(answer) = answer(target, data_dir, method, path, body)? {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    }
    Ok(())
}

/// A new access token of org `org` (an org made with `forcebus org create`), through the
/// admin API with the data dir's admin key.
pub(crate) fn org_token(data_dir: &Path, org: &str) -> anyhow::Result<String> {
    let admin = Resolved::find(None, None, Credential::AdminKey, data_dir)?;
    let path = format!("/forcebus/v1/orgs/{org}/token");
    let (status, text) = send(&admin.addr, "POST", &path, &admin.key, &Body::NONE)?;
    if status != 200 {
        let message = server_message(&text);
        bail!("no token for the org {org}: the server answered {status}: {message}");
    }
    serde_json::from_str::<admin::IssuedToken>(&text)
        .ok()
        .and_then(|t| t.access_token)
        .context("the server's answer has no access_token")
}

/// The server's JSON answer to `method path` (`None` for a 204), or why it failed.
pub(crate) fn answer(
    target: &Target,
    data_dir: &Path,
    method: &str,
    path: &str,
    body: &Body,
) -> anyhow::Result<Option<Value>> {
    let found = Resolved::find(
        target.url.as_deref(),
        target.key.as_deref(),
        Credential::AdminKey,
        data_dir,
    )?;
    let (status, text) = send(&found.addr, method, path, &found.key, body)?;
    if status == 204 {
        return Ok(None);
    }
    if !(200..300).contains(&status) {
        let message = server_message(&text);
        bail!("the server answered {status}: {message}");
    }
    Ok(Some(
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// What an error answer says: its first message, else the answer itself.
fn server_message(text: &str) -> String {
    rest::ApiError::first(text)
        .and_then(|e| e.message)
        .unwrap_or_else(|| rest::one_line(text))
}

/// A running server found from flags or its data dir's ready line.
pub(crate) struct Resolved {
    /// Its plain HTTP `host:port`.
    pub(crate) addr: String,
    /// The key or token to send.
    pub(crate) key: String,
    /// The ready line, when it was read.
    pub(crate) ready: Option<ReadyLine>,
}

impl Resolved {
    /// `url` and `key` when given, else the ready line's `http` and `credential`.
    pub(crate) fn find(
        url: Option<&str>,
        key: Option<&str>,
        credential: Credential,
        data_dir: &Path,
    ) -> anyhow::Result<Self> {
        let ready = if url.is_some() && key.is_some() {
            None
        } else {
            Some(ReadyLine::of_running(data_dir)?)
        };
        let addr = match url {
            Some(u) => u,
            None => ready::required(ready.as_ref().and_then(|r| r.http.as_deref()), "http")?,
        };
        let key = match key {
            Some(k) => k,
            None => ready::required(
                ready.as_ref().and_then(|r| credential.of(r)),
                credential.key(),
            )?,
        };
        let addr = addr
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        if addr.starts_with("https://") {
            bail!("--url takes the plain HTTP address (host:port); TLS is served on the same port");
        }
        let key = key.to_owned();
        Ok(Self { addr, key, ready })
    }

    /// The REST API's version the server speaks (`66.0`), from its ready line.
    pub(crate) fn api_version(&self) -> &str {
        self.ready
            .as_ref()
            .and_then(|r| r.api_version.as_deref())
            .unwrap_or("66.0")
    }
}
