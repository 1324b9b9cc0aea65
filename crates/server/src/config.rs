//! The server's configuration: built-in defaults, then a TOML file, then `FORCEBUS_*`
//! environment variables, then command-line flags. Validated once at start-up.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
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
    /// The org's name.
    pub(crate) org_name: String,
    /// Newest REST API version served; every version from 20 up to it is accepted.
    pub(crate) api_version: u32,
    /// Seconds of inactivity after which an access token expires.
    pub(crate) session_timeout_secs: u64,
    /// Largest accepted HTTP request body, in bytes.
    pub(crate) max_body_bytes: usize,
    /// Daily API request allocation reported by `/limits`.
    pub(crate) daily_api_requests: u64,
    /// Answer `REQUEST_LIMIT_EXCEEDED` once the allocation is used up.
    pub(crate) enforce_api_limit: bool,
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
            org_name: "forcebus".to_owned(),
            api_version: 62,
            session_timeout_secs: 7200,
            max_body_bytes: 10 * 1024 * 1024,
            daily_api_requests: 15_000,
            enforce_api_limit: false,
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
}

/// The top-level keys of the configuration, as environment variables may name them.
fn top_level_keys() -> Vec<String> {
    match toml::Value::try_from(Config::default()) {
        Ok(toml::Value::Table(t)) => t
            .keys()
            .cloned()
            .chain(["tls_cert", "tls_key", "objects", "platform_events"].map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

impl Config {
    /// Merges defaults, the TOML file, `FORCEBUS_*` variables and flags, then validates.
    pub(crate) fn load(
        file: Option<&std::path::Path>,
        overrides: &Overrides,
    ) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                bail!("config file {} does not exist", path.display());
            }
            fig = fig.merge(Toml::file(path));
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
        let config: Config = fig
            .merge(env)
            .merge(Serialized::defaults(overrides))
            .extract()
            .context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !(20..=99).contains(&self.api_version) {
            bail!("api_version must be in 20..=99; got {}", self.api_version);
        }
        if self.session_timeout_secs < 60 {
            bail!(
                "session_timeout_secs must be at least 60; got {}",
                self.session_timeout_secs
            );
        }
        if self.users.is_empty() {
            bail!("users must list at least one user");
        }
        for (i, u) in self.users.iter().enumerate() {
            if !u.username.contains('@') {
                bail!(
                    "users[{i}].username must look like an email address; got {:?}",
                    u.username
                );
            }
            if u.password.is_empty() {
                bail!("users[{i}].password must not be empty");
            }
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            bail!("tls_cert and tls_key must be given together");
        }
        if self.event_retention_hours == 0
            || self.pushtopic_retention_hours == 0
            || self.retention_sweep_secs == 0
        {
            bail!(
                "event_retention_hours, pushtopic_retention_hours and retention_sweep_secs must be at least 1"
            );
        }
        for (i, (name, c)) in self.platform_events.iter().enumerate() {
            forcebus_org::platform::EventDef::build(name, c, &format!("e{i:02}"))
                .map_err(anyhow::Error::msg)?;
        }
        if self.pubsub_keepalive_secs == 0
            || self.pubsub_idle_timeout_secs == 0
            || self.pubsub_publish_idle_timeout_secs == 0
        {
            bail!(
                "pubsub_keepalive_secs, pubsub_idle_timeout_secs and pubsub_publish_idle_timeout_secs must be at least 1"
            );
        }
        if self.pubsub_max_requested == 0 || self.pubsub_max_requested > 1_000_000 {
            bail!("pubsub_max_requested must be between 1 and 1000000");
        }
        if self.max_body_bytes < 1024 {
            bail!(
                "max_body_bytes must be at least 1024; got {}",
                self.max_body_bytes
            );
        }
        Ok(())
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
        assert!(err.contains("api_version must be in 20..=99"), "{err}");
        std::fs::write(&file, "bogus = 1\n").unwrap();
        assert!(Config::load(Some(&file), &Overrides::default()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
