//! The crates' own configurations, composed from the file's flat keys. Each crate takes a
//! typed struct (times as [`Duration`]); the units written in the key names (`_secs`,
//! `_hours`) are read here and nowhere else.

use std::time::Duration;

use anyhow::Context;

use forcebus_auth::{AppConfig, AuthConfig, Network, UserCredentials};
use forcebus_bayeux::BayeuxConfig;
use forcebus_eventlog::LogConfig;
use forcebus_http::RestConfig;
use forcebus_org::OrgOptions;
use forcebus_org::cdc::CdcConfig;
use forcebus_pubsub::PubSubConfig;

use super::Config;

/// The server's own timings and bounds: its listeners and its background sweeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeTimes {
    /// How long in-flight requests may finish on shutdown.
    pub shutdown_grace: Duration,
    /// How long a client has to send a request body once its headers arrived.
    pub request_body_timeout: Duration,
    /// The largest request body a handler takes (`max_body_bytes`).
    pub request_body_max: usize,
    /// How often the event log drops what is past retention.
    pub retention_sweep: Duration,
    /// How long a made org may go unused before it is unloaded (`None`: never).
    pub org_idle_unload: Option<Duration>,
}

/// `hours` as a duration (saturating: a huge value means "for ever", not a wrap).
fn hours(hours: u64) -> Duration {
    Duration::from_secs(hours.saturating_mul(3600))
}

impl Config {
    /// `trusted_networks`, parsed.
    pub fn networks(&self) -> Result<Vec<Network>, String> {
        self.trusted_networks.iter().map(|n| n.parse()).collect()
    }

    /// The users as the auth crate takes them, with generated tokens filled in.
    pub fn credentials(&self, generated_token: &str) -> Vec<UserCredentials> {
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
                profile: u.profile.clone(),
                permission_sets: u.permission_sets.clone(),
            })
            .collect()
    }

    /// The connected app, with generated id and secret filled in and the certificate read.
    pub fn app(&self, generated_id: &str, generated_secret: &str) -> anyhow::Result<AppConfig> {
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

    /// Authentication: `users` (see [`Config::credentials`]), the connected `app` (see
    /// [`Config::app`]), the session timeout and the trusted networks.
    pub fn auth(&self, users: Vec<UserCredentials>, app: AppConfig) -> anyhow::Result<AuthConfig> {
        Ok(AuthConfig {
            users,
            app,
            session_timeout: Duration::from_secs(self.session_timeout_secs),
            trusted_networks: self.networks().map_err(anyhow::Error::msg)?,
        })
    }

    /// The REST API: versions, body size and the daily allocation.
    pub fn rest(&self) -> RestConfig {
        RestConfig {
            latest_version: self.api_version,
            max_body_bytes: self.max_body_bytes,
            max_file_bytes: self.max_file_bytes,
            daily_api_requests: self.daily_api_requests,
            enforce_api_limit: self.enforce_api_limit,
            // The generated key fills this in when the file sets none.
            admin_key: self.admin_key.clone().unwrap_or_default(),
        }
    }

    /// The Streaming API (CometD).
    pub fn bayeux(&self) -> BayeuxConfig {
        BayeuxConfig {
            connect_hold: Duration::from_secs(self.streaming_connect_hold_secs),
            session_timeout: Duration::from_secs(self.streaming_session_timeout_secs),
            max_clients: self.streaming_max_clients,
            ..BayeuxConfig::default()
        }
    }

    /// The Pub/Sub API (gRPC).
    pub fn pubsub(&self) -> PubSubConfig {
        PubSubConfig {
            keepalive: Duration::from_secs(self.pubsub_keepalive_secs),
            idle_timeout: Duration::from_secs(self.pubsub_idle_timeout_secs),
            publish_idle_timeout: Duration::from_secs(self.pubsub_publish_idle_timeout_secs),
            max_event_bytes: self.max_event_bytes,
            max_requested: self.pubsub_max_requested,
            ..PubSubConfig::default()
        }
    }

    /// The event log: retention of change and platform events and of PushTopic
    /// notifications, and the size cap.
    pub fn event_log(&self) -> LogConfig {
        LogConfig {
            retention: [
                (
                    forcebus_events::CLASS_EVENTS,
                    hours(self.event_retention_hours),
                ),
                (
                    forcebus_events::CLASS_NOTIFICATIONS,
                    hours(self.pushtopic_retention_hours),
                ),
            ]
            .into(),
            max_bytes: self.event_log_max_bytes,
            ..LogConfig::default()
        }
    }

    /// Change data capture.
    pub fn cdc(&self) -> CdcConfig {
        CdcConfig {
            merge: self.cdc_merge,
            overflow_threshold: self.cdc_overflow_threshold,
            max_event_bytes: self.max_event_bytes,
            entities: self.cdc_entities.clone(),
        }
    }

    /// The org: its event log, CDC and platform events.
    pub fn org_options(&self) -> OrgOptions {
        OrgOptions {
            log: self.event_log(),
            cdc: self.cdc(),
            platform_events: self.platform_events.clone(),
            profile: forcebus_org::OrgProfile {
                edition: self.org_edition.clone(),
                kind: self.org_kind,
            },
            id: None,
            first_record: 0,
            record_types: std::collections::BTreeMap::new(),
            permission_sets: self.permission_sets.clone(),
            sharing_rules: Vec::new(),
            profiles: Vec::new(),
            permission_set_groups: Vec::new(),
        }
    }

    /// The async runtime's worker threads: `worker_threads`, else one fewer than the
    /// cores this process may use, and at least one. The rest of the server's work runs on
    /// threads of its own (each request's org work on the blocking pool; group commit, the
    /// checkpointer and a bulk job's worker on theirs): on a machine of two cores, a second
    /// worker only took their core from them, and handed tasks between the two workers
    /// (2026-11-28, alternating runs with one: replay read 11–15% faster on average,
    /// publish 8% faster, a Bayeux delivery 8% cheaper).
    pub fn worker_threads(&self) -> usize {
        self.worker_threads.unwrap_or_else(default_workers)
    }

    /// The server's own timings.
    pub fn serve_times(&self) -> ServeTimes {
        ServeTimes {
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            request_body_timeout: Duration::from_secs(self.request_body_timeout_secs),
            request_body_max: self.max_body_bytes,
            retention_sweep: Duration::from_secs(self.retention_sweep_secs),
            org_idle_unload: (self.org_idle_unload_secs > 0)
                .then(|| Duration::from_secs(self.org_idle_unload_secs)),
        }
    }
}

/// The default worker threads: [`workers_for`] the cores this process may use.
pub(crate) fn default_workers() -> usize {
    workers_for(std::thread::available_parallelism().map_or(1, usize::from))
}

/// The default worker threads on a machine of `cores`.
pub(crate) fn workers_for(cores: usize) -> usize {
    cores.saturating_sub(1).max(1)
}
