//! The server's configuration: built-in defaults, then a TOML file, then `FORCEBUS_*`
//! environment variables, then command-line flags. Validated once at start-up.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use forcebus_auth::{AppConfig, UserCredentials};
use forcebus_org::custom::ObjectConfig;
use forcebus_org::platform::EventConfig;
use forcebus_store::Durability;

/// Everything `forcebus serve` reads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// HTTP listen address (REST, OAuth, SOAP, CometD); plain HTTP and TLS on one port.
    pub(crate) listen: SocketAddr,
    /// gRPC listen address (Pub/Sub API).
    pub(crate) grpc_listen: SocketAddr,
    /// Directory for the database and the generated certificates.
    pub(crate) data_dir: PathBuf,
    /// Keep all data in memory (certificates still go to `data_dir`).
    pub(crate) in_memory: bool,
    /// `full`: fsync every commit; `normal`: survive a killed process but not a power cut.
    pub(crate) durability: Durability,
    /// PEM certificate chain to serve instead of the generated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Host names and IP addresses the generated certificate covers besides `localhost`,
    /// `127.0.0.1` and `::1` (a container's service name, a host's address).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) tls_names: Vec<String>,
    /// The org's name.
    pub(crate) org_name: String,
    /// Newest REST API version served; every version from 20 up to it is accepted.
    pub(crate) api_version: u32,
    /// Seconds of inactivity after which an access token expires.
    pub(crate) session_timeout_secs: u64,
    /// Networks (`address/prefix`) from which a password login needs no security token;
    /// from anywhere else the password must be followed by it, as Salesforce requires
    /// outside its trusted IP ranges.
    pub(crate) trusted_networks: Vec<String>,
    /// Memory all open query cursors may hold together, in bytes; past it the least
    /// recently used cursor goes and its locator answers `INVALID_QUERY_LOCATOR`. A cursor
    /// keeps the ids of its rows (15 bytes a row), not the rows.
    pub(crate) query_cursor_max_bytes: usize,
    /// Largest accepted HTTP request body, in bytes.
    pub(crate) max_body_bytes: usize,
    /// Daily API request allocation reported by `/limits`.
    pub(crate) daily_api_requests: u64,
    /// Answer `REQUEST_LIMIT_EXCEEDED` once the allocation is used up.
    pub(crate) enforce_api_limit: bool,
    /// Seconds a client has to send a request body once its headers arrived; past it the
    /// request fails and the connection closes.
    pub(crate) request_body_timeout_secs: u64,
    /// Seconds to let in-flight requests finish on shutdown.
    pub(crate) shutdown_grace_secs: u64,
    /// Hours change and platform events are kept for replay.
    pub(crate) event_retention_hours: u64,
    /// Hours PushTopic notifications are kept for replay.
    pub(crate) pushtopic_retention_hours: u64,
    /// Total event payload bytes kept; the oldest go first past this.
    pub(crate) event_log_max_bytes: u64,
    /// Seconds between retention sweeps of the event log.
    pub(crate) retention_sweep_secs: u64,
    /// Streaming API: seconds a connect is held when nothing is pending (`advice.timeout`).
    pub(crate) streaming_connect_hold_secs: u64,
    /// Streaming API: seconds a session lives without a connect.
    pub(crate) streaming_session_timeout_secs: u64,
    /// Streaming API: concurrent clients allowed per user.
    pub(crate) streaming_max_clients: usize,
    /// Pub/Sub API: seconds without a response after which a Subscribe with credit gets a keepalive.
    pub(crate) pubsub_keepalive_secs: u64,
    /// Pub/Sub API: seconds a Subscribe with no credit left waits for a FetchRequest before it ends.
    pub(crate) pubsub_idle_timeout_secs: u64,
    /// Pub/Sub API: seconds a PublishStream waits for a PublishRequest before it ends.
    pub(crate) pubsub_publish_idle_timeout_secs: u64,
    /// Pub/Sub API: most events a Subscribe may have requested and not yet received
    /// (Salesforce's 100; more is a forcebus extension for self-hosted use).
    pub(crate) pubsub_max_requested: u32,
    /// Merge identical updates and deletes of several records in one transaction into one change event.
    pub(crate) cdc_merge: bool,
    /// Changes in one transaction past which change events become GAP_OVERFLOW.
    pub(crate) cdc_overflow_threshold: usize,
    /// Largest change event in bytes; larger ones become header-only GAP_* events.
    pub(crate) max_event_bytes: usize,
    /// Objects that publish change events; every object when unset (Salesforce selects none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cdc_entities: Option<Vec<String>>,
    /// Users; the first is the default user. Security tokens default to a generated one.
    pub(crate) users: Vec<UserConfig>,
    /// The connected app; id and secret default to generated values.
    pub(crate) app: AppSettings,
    /// Custom objects, and custom fields on standard objects.
    #[serde(default)]
    pub(crate) objects: BTreeMap<String, ObjectConfig>,
    /// Platform event definitions (`Name__e`), created or replaced at start.
    #[serde(default)]
    pub(crate) platform_events: BTreeMap<String, EventConfig>,
}

/// A configured user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserConfig {
    /// Login name.
    pub(crate) username: String,
    /// Password.
    pub(crate) password: String,
    /// Security token; generated and kept in the data dir when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) security_token: Option<String>,
    /// First name.
    #[serde(default)]
    pub(crate) first_name: String,
    /// Last name.
    #[serde(default = "default_last_name")]
    pub(crate) last_name: String,
    /// Email; defaults to the username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
}

fn default_last_name() -> String {
    "User".to_owned()
}

/// The connected app as configured.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppSettings {
    /// Client id; generated and kept in the data dir when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_id: Option<String>,
    /// Client secret; generated and kept in the data dir when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_secret: Option<String>,
    /// Username the client-credentials flow runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) run_as: Option<String>,
    /// Path to (or text of) the PEM certificate that verifies JWT-bearer assertions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) certificate: Option<String>,
    /// Allowed redirect URIs of the authorization-code flow; any when empty.
    #[serde(default)]
    pub(crate) callback_urls: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            grpc_listen: "127.0.0.1:7443".parse().expect("valid address"),
            data_dir: PathBuf::from(".forcebus"),
            in_memory: false,
            durability: Durability::Full,
            tls_cert: None,
            tls_key: None,
            tls_names: Vec::new(),
            org_name: "forcebus".to_owned(),
            api_version: 62,
            session_timeout_secs: 7200,
            trusted_networks: vec!["127.0.0.0/8".to_owned(), "::1/128".to_owned()],
            query_cursor_max_bytes: 64 << 20,
            max_body_bytes: 10 * 1024 * 1024,
            daily_api_requests: 15_000,
            enforce_api_limit: false,
            request_body_timeout_secs: 60,
            shutdown_grace_secs: 10,
            event_retention_hours: 72,
            pushtopic_retention_hours: 24,
            event_log_max_bytes: 1 << 30,
            retention_sweep_secs: 60,
            streaming_connect_hold_secs: 110,
            streaming_session_timeout_secs: 40,
            streaming_max_clients: 2000,
            pubsub_keepalive_secs: 60,
            pubsub_idle_timeout_secs: 60,
            pubsub_publish_idle_timeout_secs: 70,
            pubsub_max_requested: 100,
            cdc_merge: true,
            cdc_overflow_threshold: 100_000,
            max_event_bytes: 1 << 20,
            cdc_entities: None,
            users: vec![UserConfig {
                username: "admin@forcebus.local".to_owned(),
                password: "forcebus".to_owned(),
                security_token: None,
                first_name: "Admin".to_owned(),
                last_name: "User".to_owned(),
                email: None,
            }],
            app: AppSettings::default(),
            objects: BTreeMap::new(),
            platform_events: BTreeMap::new(),
        }
    }
}

/// Flag values that override every other source.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) grpc_listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) in_memory: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tls_key: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tls_names: Option<Vec<String>>,
}

/// The top-level keys of the configuration, as environment variables may name them.
fn top_level_keys() -> Vec<String> {
    match toml::Value::try_from(Config::default()) {
        Ok(toml::Value::Table(t)) => t
            .keys()
            .cloned()
            .chain(
                [
                    "tls_cert",
                    "tls_key",
                    "tls_names",
                    "objects",
                    "platform_events",
                ]
                .map(String::from),
            )
            .collect(),
        _ => Vec::new(),
    }
}

/// A value that failed validation: its key and what is wrong with it.
#[derive(Debug)]
struct Invalid {
    key: &'static str,
    message: String,
}

/// Where the merged values came from, to say where a bad one was written.
struct Sources<'a> {
    fig: &'a Figment,
    /// The config file's text, when there is one.
    text: Option<&'a str>,
}

impl Sources<'_> {
    /// Whether `key`'s value was written in the config file.
    fn set_in_file(&self, key: &str) -> bool {
        self.fig
            .find_metadata(key)
            .is_some_and(|md| matches!(md.source, Some(figment::Source::File(_))))
    }

    /// A figment error as a person wants it: the file, line and key, or the variable or
    /// flag, then what is wrong (without figment's `default.` profile prefix).
    fn explain(&self, errors: figment::Error) -> anyhow::Error {
        let lines: Vec<String> = errors
            .into_iter()
            .map(|e| {
                // For an unknown field, figment's path already ends with its name.
                let path = e.path.clone();
                let key = path.join(".");
                let what = match &e.kind {
                    figment::error::Kind::UnknownField(field, _) => {
                        format!("unknown key `{field}`")
                    }
                    kind => kind.to_string(),
                };
                match &e.metadata {
                    Some(md) if matches!(md.source, Some(figment::Source::File(_))) => {
                        let file = md.source.as_ref().map(ToString::to_string);
                        let at = self.text.and_then(|t| line_of(t, &path));
                        place(file.as_deref().unwrap_or("?"), at, &key, &what)
                    }
                    Some(md) if md.name.contains("environment") && !path.is_empty() => {
                        format!("{}: {what}", env_var(&path))
                    }
                    _ if key.is_empty() => what,
                    _ => format!("{key}: {what}"),
                }
            })
            .collect();
        anyhow::anyhow!("invalid configuration: {}", lines.join("; "))
    }

    /// A validation failure of `key`, placed where its value came from.
    fn locate(&self, key: &str, message: &str) -> anyhow::Error {
        let text = match self.fig.find_metadata(key) {
            Some(md) => match &md.source {
                Some(figment::Source::File(file)) => {
                    let path: Vec<String> = key.split('.').map(str::to_owned).collect();
                    let at = self.text.and_then(|t| line_of(t, &path));
                    place(&file.display().to_string(), at, key, message)
                }
                _ if md.name.contains("environment") => {
                    format!("{}: {key} {message}", env_var(&[key.to_owned()]))
                }
                // Serialized providers are named after their type.
                _ if md.name.ends_with("Overrides") => {
                    format!("--{}: {key} {message}", key.replace('_', "-"))
                }
                _ => format!("{key} {message}"),
            },
            None => format!("{key} {message}"),
        };
        anyhow::anyhow!("invalid configuration: {text}")
    }
}

/// `config file F, line N: key: what` (a syntax error has no key; its text has the line).
fn place(file: &str, line: Option<usize>, key: &str, what: &str) -> String {
    match (line, key) {
        (_, "") => format!("config file {file}: {what}"),
        (Some(n), _) => format!("config file {file}, line {n}: {key}: {what}"),
        (None, _) => format!("config file {file}: {key}: {what}"),
    }
}

/// The variable that sets `path`: `FORCEBUS_APP__CLIENT_ID` for `app.client_id`.
fn env_var(path: &[String]) -> String {
    format!("FORCEBUS_{}", path.join("__").to_ascii_uppercase())
}

/// The 1-based line where the deepest existing key of `path` is written in `text`.
fn line_of(text: &str, path: &[String]) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut span = None;
    for segment in path {
        let Some((key, item)) = table.get_key_value(segment) else {
            break;
        };
        span = key.span().or(span);
        match item.as_table_like() {
            Some(t) => table = t,
            None => break,
        }
    }
    let offset = span?.start;
    Some(text[..offset].matches('\n').count() + 1)
}

impl Config {
    /// Merges defaults, the TOML file, `FORCEBUS_*` variables and flags, then validates.
    /// Errors name where the bad value came from: the file and line, the variable, or the
    /// flag. Paths given in the file are relative to the file's directory.
    pub(crate) fn load(
        file: Option<&std::path::Path>,
        overrides: &Overrides,
    ) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        let mut text = None;
        if let Some(path) = file {
            let read = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the config file {}", path.display()))?;
            text = Some(read);
            fig = fig.merge(Toml::file_exact(path));
        }
        // Only variables naming a configuration key are ours; others that share the prefix
        // (FORCEBUS_BIN in a test harness, say) are left alone with a warning.
        let known = top_level_keys();
        for (key, _) in std::env::vars() {
            if let Some(rest) = key.strip_prefix("FORCEBUS_") {
                let top = rest.split("__").next().unwrap_or("").to_ascii_lowercase();
                if !known.contains(&top) {
                    eprintln!("forcebus: ignoring {key}: not a configuration key");
                }
            }
        }
        let env = Env::prefixed("FORCEBUS_").split("__").filter(move |k| {
            let top = k
                .as_str()
                .split('.')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            known.contains(&top)
        });
        let fig = fig.merge(env).merge(Serialized::defaults(overrides));
        let source = Sources {
            fig: &fig,
            text: text.as_deref(),
        };
        let mut config: Config = fig.extract().map_err(|e| source.explain(e))?;
        config
            .validate()
            .map_err(|Invalid { key, message }| source.locate(key, &message))?;
        if let Some(dir) = file.and_then(|f| f.parent()) {
            config.resolve_file_paths(&source, dir);
        }
        Ok(config)
    }

    /// Makes the paths that came from the config file relative to its directory, not to
    /// the working directory: a file that says `data_dir = "data"` means the same
    /// directory wherever the server is started from.
    fn resolve_file_paths(&mut self, source: &Sources<'_>, dir: &std::path::Path) {
        let rebase = |key: &str, p: &mut PathBuf| {
            if source.set_in_file(key) && p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        rebase("data_dir", &mut self.data_dir);
        if let Some(p) = &mut self.tls_cert {
            rebase("tls_cert", p);
        }
        if let Some(p) = &mut self.tls_key {
            rebase("tls_key", p);
        }
        if let Some(c) = &mut self.app.certificate
            && !c.contains("-----BEGIN")
            && source.set_in_file("app.certificate")
            && std::path::Path::new(c).is_relative()
        {
            *c = dir.join(&*c).display().to_string();
        }
    }

    fn validate(&self) -> Result<(), Invalid> {
        let fail = |key: &'static str, message: String| Err(Invalid { key, message });
        if !(20..=99).contains(&self.api_version) {
            return fail(
                "api_version",
                format!("must be in 20..=99; got {}", self.api_version),
            );
        }
        if self.session_timeout_secs < 60 {
            return fail(
                "session_timeout_secs",
                format!("must be at least 60; got {}", self.session_timeout_secs),
            );
        }
        if let Err(e) = self.networks() {
            return fail("trusted_networks", e);
        }
        if self.users.is_empty() {
            return fail("users", "must list at least one user".into());
        }
        for (i, u) in self.users.iter().enumerate() {
            if !u.username.contains('@') {
                return fail(
                    "users",
                    format!(
                        "users[{i}].username must look like an email address; got {:?}",
                        u.username
                    ),
                );
            }
            if u.password.is_empty() {
                return fail("users", format!("users[{i}].password must not be empty"));
            }
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return fail(
                "tls_cert",
                "tls_cert and tls_key must be given together".into(),
            );
        }
        for (key, value) in [
            ("event_retention_hours", self.event_retention_hours),
            ("pushtopic_retention_hours", self.pushtopic_retention_hours),
            ("retention_sweep_secs", self.retention_sweep_secs),
            ("request_body_timeout_secs", self.request_body_timeout_secs),
            ("pubsub_keepalive_secs", self.pubsub_keepalive_secs),
            ("pubsub_idle_timeout_secs", self.pubsub_idle_timeout_secs),
            (
                "pubsub_publish_idle_timeout_secs",
                self.pubsub_publish_idle_timeout_secs,
            ),
        ] {
            if value == 0 {
                return fail(key, "must be at least 1; got 0".into());
            }
        }
        for (i, (name, c)) in self.platform_events.iter().enumerate() {
            if let Err(e) = forcebus_org::platform::EventDef::build(name, c, &format!("e{i:02}")) {
                return fail("platform_events", e.to_string());
            }
        }
        if self.pubsub_max_requested == 0 || self.pubsub_max_requested > 1_000_000 {
            return fail(
                "pubsub_max_requested",
                format!(
                    "must be between 1 and 1000000; got {}",
                    self.pubsub_max_requested
                ),
            );
        }
        if self.max_body_bytes < 1024 {
            return fail(
                "max_body_bytes",
                format!("must be at least 1024; got {}", self.max_body_bytes),
            );
        }
        Ok(())
    }

    /// `trusted_networks`, parsed.
    pub(crate) fn networks(&self) -> Result<Vec<forcebus_auth::Network>, String> {
        self.trusted_networks.iter().map(|n| n.parse()).collect()
    }

    /// The users as the auth crate takes them, with generated tokens filled in.
    pub(crate) fn credentials(&self, generated_token: &str) -> Vec<UserCredentials> {
        self.users
            .iter()
            .map(|u| UserCredentials {
                username: u.username.clone(),
                password: u.password.clone(),
                security_token: u
                    .security_token
                    .clone()
                    .unwrap_or_else(|| generated_token.to_owned()),
                first_name: u.first_name.clone(),
                last_name: u.last_name.clone(),
                email: u.email.clone(),
            })
            .collect()
    }

    /// The connected app, with generated id and secret filled in and the certificate read.
    pub(crate) fn app(
        &self,
        generated_id: &str,
        generated_secret: &str,
    ) -> anyhow::Result<AppConfig> {
        let certificate = match &self.app.certificate {
            Some(c) if c.contains("-----BEGIN") => Some(c.clone()),
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("app.certificate: cannot read {path}"))?,
            ),
            None => None,
        };
        Ok(AppConfig {
            client_id: self
                .app
                .client_id
                .clone()
                .unwrap_or_else(|| generated_id.to_owned()),
            client_secret: self
                .app
                .client_secret
                .clone()
                .unwrap_or_else(|| generated_secret.to_owned()),
            run_as: self.app.run_as.clone(),
            certificate,
            callback_urls: self.app.callback_urls.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip_through_toml() {
        let c = Config::default();
        c.validate().unwrap();
        let text = toml::to_string(&c).unwrap();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn flags_override_the_file() {
        let dir = std::env::temp_dir().join(format!("fb-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("forcebus.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\norg_name = \"Acme\"\n").unwrap();
        let o = Overrides {
            listen: Some("127.0.0.1:9001".parse().unwrap()),
            ..Default::default()
        };
        let c = Config::load(Some(&file), &o).unwrap();
        assert_eq!(c.listen.port(), 9001);
        assert_eq!(c.org_name, "Acme");
        std::fs::write(&file, "api_version = 5\n").unwrap();
        let err = format!(
            "{:#}",
            Config::load(Some(&file), &Overrides::default()).unwrap_err()
        );
        assert!(err.contains("api_version: must be in 20..=99"), "{err}");
        std::fs::write(&file, "bogus = 1\n").unwrap();
        assert!(Config::load(Some(&file), &Overrides::default()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
