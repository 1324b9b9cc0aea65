//! What start-up prints: the banner on stderr (for a person: where everything listens and
//! how to sign in) and, once every listener accepts, the one JSON ready line on stdout and
//! in the data dir's `ready.json` (for tools: `forcebus env`, test harnesses).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use serde::Serialize;

use forcebus_auth::UserCredentials;

use forcebus_config::Config;
use forcebus_config::datadir::shown;

/// The facts start-up reports, gathered once the server is built and listening.
#[derive(Debug)]
pub(crate) struct Startup {
    /// The HTTP (and TLS) address actually bound.
    pub(crate) http: SocketAddr,
    /// The gRPC address actually bound.
    pub(crate) grpc: SocketAddr,
    /// The org id, 18 characters.
    pub(crate) org_id: String,
    /// The default user's id, 18 characters.
    pub(crate) user_id: String,
    /// The default user, with its security token.
    pub(crate) user: UserCredentials,
    /// The connected app's client id.
    pub(crate) client_id: String,
    /// The connected app's client secret.
    pub(crate) client_secret: String,
    /// An access token of the default user, issued at start.
    pub(crate) access_token: String,
    /// The admin endpoints' key.
    pub(crate) admin_key: String,
    /// The CA certificate clients should trust, as an absolute path where it exists.
    pub(crate) ca: String,
}

/// Prints the banner on stderr.
pub(crate) fn print_banner(config: &Config, s: &Startup) {
    let http = s.http;
    let grpc = s.grpc;
    let token = &s.access_token;
    let ca = &s.ca;
    let data = match &config.store {
        Some(url) => format!("{} (PostgreSQL)", forcebus_store::postgres::shown(url)),
        None if config.in_memory => "in memory".to_owned(),
        None => format!("{} (SQLite)", shown(&config.data_dir)),
    };
    eprintln!(
        "\nforcebus {} — a local Salesforce org\n\n  Console             http://{http}/forcebus/console/  (sign in as below, or with the admin key)\n  REST, OAuth, SOAP   http://{http}  (TLS on the same port: https://{http})\n  Streaming API       http://{http}/cometd/{v}.0\n  Pub/Sub API (gRPC)  {grpc}  (TLS and plaintext HTTP/2 on the same port)\n  Org id              {org_id}\n  Username            {user}\n  Password            {pw}  (security token {st})\n  Client id           {cid}\n  Client secret       {cs}\n  Access token        {token}\n  Admin key           {admin_key}  (test controls: /forcebus/v1/control)\n  CA certificate      {ca}\n  Data                {data}\n\n  Try: curl -H 'Authorization: Bearer {token}' http://{http}/services/data/v{v}.0/sobjects/Account/describe\n  Or:  eval \"$(forcebus env{dir_flag})\"   (exports SF_INSTANCE_URL, SF_ACCESS_TOKEN and the CA for clients)\n",
        env!("CARGO_PKG_VERSION"),
        org_id = s.org_id,
        user = s.user.username,
        pw = s.user.password,
        st = s.user.security_token,
        cid = s.client_id,
        cs = s.client_secret,
        admin_key = s.admin_key,
        v = config.api_version,
        dir_flag = if config.data_dir == Path::new(".forcebus") {
            String::new()
        } else {
            format!(" --data-dir {}", shown(&config.data_dir))
        },
    );
}

/// The ready line: everything a client needs to connect, as one JSON object (its keys in
/// this order). It shows as that JSON.
#[derive(Debug, Serialize)]
pub(crate) struct ReadyLine {
    /// Always `ready`.
    event: &'static str,
    /// The HTTP (and TLS) address, `host:port`.
    http: String,
    /// The Pub/Sub API's address, `host:port`.
    grpc: String,
    instance_url: String,
    /// The web console's URL.
    console: String,
    org_id: String,
    user_id: String,
    username: String,
    password: String,
    security_token: String,
    client_id: String,
    client_secret: String,
    access_token: String,
    admin_key: String,
    /// The CA certificate's path.
    ca_cert: String,
    /// `66.0`.
    api_version: String,
}

impl std::fmt::Display for ReadyLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = serde_json::to_string(self).map_err(|_| std::fmt::Error)?;
        f.write_str(&line)
    }
}

/// The ready line of a server started with `config`.
pub(crate) fn ready_line(config: &Config, s: &Startup) -> ReadyLine {
    ReadyLine {
        event: "ready",
        http: s.http.to_string(),
        grpc: s.grpc.to_string(),
        instance_url: format!("http://{}", s.http),
        console: format!("http://{}{}", s.http, forcebus_console::PATH),
        org_id: s.org_id.clone(),
        user_id: s.user_id.clone(),
        username: s.user.username.clone(),
        password: s.user.password.clone(),
        security_token: s.user.security_token.clone(),
        client_id: s.client_id.clone(),
        client_secret: s.client_secret.clone(),
        access_token: s.access_token.clone(),
        admin_key: s.admin_key.clone(),
        ca_cert: s.ca.clone(),
        api_version: format!("{}.0", config.api_version),
    }
}

/// Prints the ready line on stdout, flushed at once (a harness waits for it).
pub(crate) fn print_ready(ready: &ReadyLine) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{ready}")?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_is_one_json_object_with_its_keys_in_order() {
        let s = Startup {
            http: "127.0.0.1:8080".parse().unwrap(),
            grpc: "127.0.0.1:7443".parse().unwrap(),
            org_id: "00D".into(),
            user_id: "005".into(),
            user: UserCredentials {
                username: "u".into(),
                password: "p".into(),
                security_token: "st".into(),
                first_name: String::new(),
                last_name: "User".into(),
                email: None,
                profile: None,
                permission_sets: Vec::new(),
            },
            client_id: "ci".into(),
            client_secret: "cs".into(),
            access_token: "at".into(),
            admin_key: "ak".into(),
            ca: "/ca.pem".into(),
        };
        let config = Config::default();
        let line = ready_line(&config, &s).to_string();
        assert_eq!(
            line,
            format!(
                r#"{{"event":"ready","http":"127.0.0.1:8080","grpc":"127.0.0.1:7443","instance_url":"http://127.0.0.1:8080","console":"http://127.0.0.1:8080{}","org_id":"00D","user_id":"005","username":"u","password":"p","security_token":"st","client_id":"ci","client_secret":"cs","access_token":"at","admin_key":"ak","ca_cert":"/ca.pem","api_version":"{}.0"}}"#,
                forcebus_console::PATH,
                config.api_version
            )
        );
    }
}
