//! The server's configuration: built-in defaults, then a TOML file, then `FORCEBUS_*`
//! environment variables, then command-line flags. Validated once at start-up.
//!
//! [`Config`] mirrors the file: flat keys, units in their names (`_secs`, `_hours`), as
//! users write them. The crates never see it; each gets its own typed struct composed
//! from it.
//!
//! - [`load`]: merging the sources, and errors that say where a bad value was written.
//! - [`validate`]: the checks a configuration must pass.
//! - [`compose`]: the crates' configurations (and the server's own timings) from it.
//! - [`EXAMPLE`]: the commented example file, every key with its default.
//! - [`datadir`]: the data directory the configuration names: its lock, its permissions,
//!   and the ready file through which the client commands find a running server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use forcebus_org::custom::ObjectConfig;
use forcebus_org::platform::EventConfig;
use forcebus_store::Durability;

mod compose;
pub mod datadir;
mod load;
#[cfg(test)]
mod tests;
mod validate;

pub use compose::ServeTimes;

/// `forcebus.example.toml`: every key, commented, with its default value and unit.
/// `forcebus config --example` prints it; a test checks it parses to the defaults.
pub const EXAMPLE: &str = include_str!("../../../forcebus.example.toml");

/// Everything `forcebus serve` reads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// HTTP listen address (REST, OAuth, SOAP, CometD); plain HTTP and TLS on one port.
    pub listen: SocketAddr,
    /// gRPC listen address (Pub/Sub API).
    pub grpc_listen: SocketAddr,
    /// Threads running connections and their protocols (the async runtime's workers);
    /// unset, one fewer than the cores the process may use ([`Config::worker_threads`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_threads: Option<usize>,
    /// Directory for the database and the generated certificates.
    pub data_dir: PathBuf,
    /// Keep all data in memory (certificates still go to `data_dir`).
    pub in_memory: bool,
    /// Serve the web console's files from this folder instead of the embedded ones (work
    /// on the console); the `--console-dir` flag only, not a file key.
    #[serde(skip)]
    pub console_dir: Option<PathBuf>,
    /// `full`: fsync every commit; `normal`: survive a killed process but not a power cut.
    pub durability: Durability,
    /// A PostgreSQL database (`postgres://user:password@host:port/db`) holding every org's
    /// data instead of the data dir's SQLite files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// With `store`: seconds after a node last renewed its lease that it expires, and the
    /// live nodes take over the orgs it served.
    pub lease_secs: u64,
    /// An OpenTelemetry collector's OTLP/HTTP endpoint (`http://127.0.0.1:4318`): the
    /// request, commit and delivery spans are exported there. Off when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_endpoint: Option<String>,
    /// This node's id among the servers on one database; the host name and process id
    /// when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// With `store`: the host name or address other nodes reach this one at, when it
    /// listens on every address (`0.0.0.0`); else the address this machine reaches the
    /// database from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertise: Option<String>,
    /// PEM certificate chain to serve instead of the generated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// Host names and IP addresses the generated certificate covers besides `localhost`,
    /// `127.0.0.1` and `::1` (a container's service name, a host's address).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_names: Vec<String>,
    /// The org's name.
    pub org_name: String,
    /// The org's edition (`Organization.OrganizationType`), e.g. `Developer Edition`.
    pub org_edition: String,
    /// `production`, `sandbox` or `scratch` (`Organization.IsSandbox` and
    /// `TrialExpirationDate`, which the sf CLI reads).
    pub org_kind: forcebus_org::OrgKind,
    /// Newest API version served; every version from 31 up to it is accepted.
    pub api_version: u32,
    /// Seconds of inactivity after which an access token expires.
    pub session_timeout_secs: u64,
    /// Networks (`address/prefix`) from which a password login needs no security token;
    /// from anywhere else the password must be followed by it, as Salesforce requires
    /// outside its trusted IP ranges.
    pub trusted_networks: Vec<String>,
    /// Memory all open query cursors may hold together, in bytes; past it the least
    /// recently used cursor goes and its locator answers `INVALID_QUERY_LOCATOR`. A cursor
    /// keeps the ids of its rows (15 bytes a row), not the rows.
    pub query_cursor_max_bytes: usize,
    /// Largest Bulk API 2.0 upload, in bytes (Salesforce's 150 MB once base64-encoded).
    pub bulk_max_upload_bytes: u64,
    /// Milliseconds a queued bulk job (or 1.0 batch) waits before it starts.
    pub bulk_processing_delay_ms: u64,
    /// Largest accepted HTTP request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest file a multipart record write streams in, in bytes (Salesforce's own
    /// limits, 2 GB for a ContentVersion and 500 MB for other objects, apply below it).
    pub max_file_bytes: u64,
    /// Daily API request allocation reported by `/limits`.
    pub daily_api_requests: u64,
    /// Answer `REQUEST_LIMIT_EXCEEDED` once the allocation is used up.
    pub enforce_api_limit: bool,
    /// A folder of sObject describe files (`sf sobject describe --json`) whose custom
    /// objects and fields the org gets at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub describes: Option<PathBuf>,
    /// An sfdx project whose objects, fields and platform events the org gets at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<PathBuf>,
    /// The admin endpoints' key; generated and kept in the data dir when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_key: Option<String>,
    /// Seconds a client has to send a request body once its headers arrived; past it the
    /// request fails and the connection closes.
    pub request_body_timeout_secs: u64,
    /// Seconds to let in-flight requests finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Hours change and platform events are kept for replay.
    pub event_retention_hours: u64,
    /// Hours PushTopic notifications are kept for replay.
    pub pushtopic_retention_hours: u64,
    /// Total event payload bytes kept; the oldest go first past this.
    pub event_log_max_bytes: u64,
    /// Seconds between retention sweeps of the event log.
    pub retention_sweep_secs: u64,
    /// Seconds an org made through the admin API may go unused (no request, stream,
    /// session, Bulk job or test control) before it is unloaded from memory until its
    /// next request; 0: never.
    pub org_idle_unload_secs: u64,
    /// Streaming API: seconds a connect is held when nothing is pending (`advice.timeout`).
    pub streaming_connect_hold_secs: u64,
    /// Streaming API: seconds a session lives without a connect.
    pub streaming_session_timeout_secs: u64,
    /// Streaming API: concurrent clients allowed per user.
    pub streaming_max_clients: usize,
    /// Pub/Sub API: seconds without a response after which a Subscribe with credit gets a keepalive.
    pub pubsub_keepalive_secs: u64,
    /// Pub/Sub API: seconds a Subscribe with no credit left waits for a FetchRequest before it ends.
    pub pubsub_idle_timeout_secs: u64,
    /// Pub/Sub API: seconds a PublishStream waits for a PublishRequest before it ends.
    pub pubsub_publish_idle_timeout_secs: u64,
    /// Pub/Sub API: most events a Subscribe may have requested and not yet received
    /// (Salesforce's 100; more is a forcebus extension for self-hosted use).
    pub pubsub_max_requested: u32,
    /// Merge identical updates and deletes of several records in one transaction into one change event.
    pub cdc_merge: bool,
    /// Changes in one transaction past which change events become GAP_OVERFLOW.
    pub cdc_overflow_threshold: usize,
    /// Largest change event in bytes; larger ones become header-only GAP_* events.
    pub max_event_bytes: usize,
    /// Objects that publish change events; every object when unset (Salesforce selects none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdc_entities: Option<Vec<String>>,
    /// Users; the first is the default user. Security tokens default to a generated one.
    pub users: Vec<UserConfig>,
    /// The connected app; id and secret default to generated values.
    pub app: AppSettings,
    /// Custom objects, and custom fields on standard objects.
    #[serde(default)]
    pub objects: BTreeMap<String, ObjectConfig>,
    /// Platform event definitions (`Name__e`), created or replaced at start.
    #[serde(default)]
    pub platform_events: BTreeMap<String, EventConfig>,
    /// Permission sets (`[[permission_sets]]`), made or brought up to date at start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permission_sets: Vec<forcebus_org::access::declared::PermissionSetConfig>,
}

/// A configured user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Security token; generated and kept in the data dir when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_token: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    #[serde(default = "default_last_name")]
    pub last_name: String,
    /// Email; defaults to the username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The profile's name (`Minimum Access - API Only Integrations`, a custom one);
    /// System Administrator when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The permission sets assigned, by name (the config file's, the project's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permission_sets: Vec<String>,
}

fn default_last_name() -> String {
    "User".to_owned()
}

/// The connected app as configured.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AppSettings {
    /// Client id; generated and kept in the data dir when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Client secret; generated and kept in the data dir when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Username the client-credentials flow runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<String>,
    /// Path to (or text of) the PEM certificate that verifies JWT-bearer assertions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Allowed redirect URIs of the authorization-code flow; any when empty.
    #[serde(default)]
    pub callback_urls: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            grpc_listen: "127.0.0.1:7443".parse().expect("valid address"),
            worker_threads: None,
            data_dir: PathBuf::from(".forcebus"),
            in_memory: false,
            console_dir: None,
            durability: Durability::Full,
            store: None,
            lease_secs: 5,
            otlp_endpoint: None,
            node_id: None,
            advertise: None,
            tls_cert: None,
            tls_key: None,
            tls_names: Vec::new(),
            org_name: "forcebus".to_owned(),
            org_edition: "Developer Edition".to_owned(),
            org_kind: forcebus_org::OrgKind::Production,
            api_version: 68,
            session_timeout_secs: 7200,
            trusted_networks: vec!["127.0.0.0/8".to_owned(), "::1/128".to_owned()],
            query_cursor_max_bytes: 64 << 20,
            bulk_max_upload_bytes: 100_000_000,
            bulk_processing_delay_ms: 0,
            max_body_bytes: 50 * 1024 * 1024,
            max_file_bytes: 2 * 1024 * 1024 * 1024,
            daily_api_requests: 15_000,
            enforce_api_limit: false,
            admin_key: None,
            project: None,
            describes: None,
            request_body_timeout_secs: 60,
            shutdown_grace_secs: 10,
            event_retention_hours: 72,
            pushtopic_retention_hours: 24,
            event_log_max_bytes: 1 << 30,
            retention_sweep_secs: 60,
            org_idle_unload_secs: 900,
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
                profile: None,
                permission_sets: Vec::new(),
            }],
            app: AppSettings::default(),
            objects: BTreeMap::new(),
            platform_events: BTreeMap::new(),
            permission_sets: Vec::new(),
        }
    }
}

/// Flag values that override every other source.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// `--grpc-listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_listen: Option<SocketAddr>,
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--project`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<PathBuf>,
    /// `--describes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub describes: Option<PathBuf>,
    /// `--in-memory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_memory: Option<bool>,
    /// `--store`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// `--tls-cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// `--tls-name`, each time given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_names: Option<Vec<String>>,
}

/// The configuration a command other than `serve` reads to find the data dir (its
/// `--config` and `--data-dir`), loaded the way `serve` loads it.
pub fn configured(config: Option<PathBuf>, data_dir: Option<PathBuf>) -> anyhow::Result<Config> {
    let overrides = Overrides {
        data_dir,
        ..Overrides::default()
    };
    Config::load(config.as_deref(), &overrides)
}
