//! The checks a configuration must pass before anything starts.

use super::Config;

/// A value that failed validation: its key and what is wrong with it.
#[derive(Debug)]
pub(super) struct Invalid {
    pub(super) key: &'static str,
    pub(super) message: String,
}

/// A failed check of `key`.
fn fail(key: &'static str, message: String) -> Result<(), Invalid> {
    Err(Invalid { key, message })
}

impl Config {
    /// The first value that is out of range, missing or inconsistent, if any.
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if !(31..=99).contains(&self.api_version) {
            return fail(
                "api_version",
                format!(
                    "must be in 31..=99 (older versions are retired); got {}",
                    self.api_version
                ),
            );
        }
        if !forcebus_meta::standard::editions().contains(&self.org_edition) {
            return fail(
                "org_edition",
                format!(
                    "must be one of {}; got {:?}",
                    forcebus_meta::standard::editions().join(", "),
                    self.org_edition
                ),
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
        if let Some(key) = &self.admin_key
            && (key.len() < 16 || !key.bytes().all(|b| b.is_ascii_graphic()))
        {
            return fail(
                "admin_key",
                "must be at least 16 printable ASCII characters without spaces".into(),
            );
        }
        self.validate_users()?;
        self.validate_store()?;
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return fail(
                "tls_cert",
                "tls_cert and tls_key must be given together".into(),
            );
        }
        self.validate_durations()?;
        for (i, (name, c)) in self.platform_events.iter().enumerate() {
            if let Err(e) = forcebus_org::platform::EventDef::build(name, c, &format!("e{i:02}")) {
                return fail("platform_events", e.to_string());
            }
        }
        if let Some(n) = self.worker_threads
            && !(1..=1024).contains(&n)
        {
            return fail(
                "worker_threads",
                format!("must be between 1 and 1024; got {n}"),
            );
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
        if self.max_file_bytes < 1024 {
            return fail(
                "max_file_bytes",
                format!("must be at least 1024; got {}", self.max_file_bytes),
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

    /// At least one user; each with an email-like name and a password.
    /// `store` and what goes with it.
    fn validate_store(&self) -> Result<(), Invalid> {
        if !(1..=3600).contains(&self.lease_secs) {
            return fail(
                "lease_secs",
                format!("must be in 1..=3600; got {}", self.lease_secs),
            );
        }
        if let Some(store) = &self.store {
            if !(store.starts_with("postgres://") || store.starts_with("postgresql://")) {
                return fail(
                    "store",
                    "must be a PostgreSQL URL: postgres://user:password@host:port/database".into(),
                );
            }
            if self.in_memory {
                return fail(
                    "store",
                    "keeps the data in PostgreSQL; in_memory keeps it nowhere: choose one".into(),
                );
            }
        }
        Ok(())
    }

    fn validate_users(&self) -> Result<(), Invalid> {
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
        Ok(())
    }

    /// Periods and timeouts that would mean "never" or "at once" at zero.
    fn validate_durations(&self) -> Result<(), Invalid> {
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
        Ok(())
    }
}
