//! Making and deleting orgs at run time.

use forcebus_sync::prelude::*;
use std::sync::Arc;

use anyhow::Context;

use forcebus_org::RecordId;

use super::{BLOCKS, MAX_ORGS, Tenants};
use crate::config::UserConfig;
use crate::made::{Made, OrgConfig, OrgInfo, Slot};
use crate::tenant::Tenant;

/// Why an org was not made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CreateError {
    /// The server holds [`MAX_ORGS`] already.
    #[error("This server holds the most orgs it may ({MAX_ORGS}); delete one first.")]
    Full,
    /// The name is empty or too long.
    #[error("name must have 1 to 80 characters")]
    Name,
    /// `config.users` is an empty list.
    #[error("config.users must name at least one user")]
    NoUsers,
    /// Another org has a user of this name.
    #[error("The username {0} is taken by another org: usernames are unique across the server.")]
    UsernameTaken(String),
    /// The org's directory could not be written.
    #[error("cannot write the org's directory: {0:#}")]
    Directory(anyhow::Error),
    /// The org could not be opened from its config (an object or event it declares, say).
    #[error("{0:#}")]
    Open(anyhow::Error),
}

impl CreateError {
    /// Whether the request was at fault (rather than the server).
    pub(crate) fn is_input(&self) -> bool {
        !matches!(self, Self::Directory(_))
    }
}

impl Tenants {
    /// Makes an org named `name` (its id when none) from `config`.
    pub(crate) fn create(
        &self,
        name: Option<String>,
        config: OrgConfig,
    ) -> Result<(Arc<Made>, Arc<Tenant>), CreateError> {
        let _making = self.making.locked();
        if self.orgs.read_locked().len() >= MAX_ORGS {
            return Err(CreateError::Full);
        }
        let id = forcebus_org::org::new_org_id();
        let name = name.unwrap_or_else(|| id.to18());
        if name.trim().is_empty() || name.chars().count() > 80 {
            return Err(CreateError::Name);
        }
        // A generated user is written down, so its password holds after a restart.
        let users = config
            .users
            .clone()
            .unwrap_or_else(|| vec![default_user(id)]);
        let info = OrgInfo {
            name,
            created: forcebus_org::clock::format_datetime(self.default.org.clock().now()),
            config: OrgConfig {
                users: Some(users.clone()),
                ..config
            },
            block: self.free_block(),
        };
        if users.is_empty() {
            return Err(CreateError::NoUsers);
        }
        for u in &users {
            let taken = self.default.org.user_by_username(&u.username).is_some()
                || self.by_username(&u.username).is_some();
            if taken {
                return Err(CreateError::UsernameTaken(u.username.clone()));
            }
        }
        let home = self
            .registry
            .add(id, &info)
            .map_err(CreateError::Directory)?;
        let tenant = self
            .open_tenant(id, &info, home.clone())
            .and_then(|mut t| {
                let user = RecordId::parse(&t.admin_id).context("the default user's id")?;
                t.access_token = t.auth.issue(user, false)?.access_token;
                Ok(t)
            })
            .map_err(|e| {
                if self.registry.mark_deleted(id, &home).is_ok() {
                    self.registry.purge(&home);
                }
                CreateError::Open(e)
            })?;
        if self.started.load(std::sync::atomic::Ordering::SeqCst) {
            tenant.start(self.config.serve_times().retention_sweep);
        }
        let tenant = Arc::new(tenant);
        let made = self.insert(id, Made::new(id, info, home, tenant.clone()));
        Ok((made, tenant))
    }

    /// A block of the record counter no org holds.
    fn free_block(&self) -> u64 {
        use rand::Rng as _;
        let taken: std::collections::HashSet<u64> =
            self.made().iter().map(|m| m.info.block).collect();
        let mut rng = rand::thread_rng();
        loop {
            let b = rng.gen_range(1..BLOCKS);
            if !taken.contains(&b) {
                return b;
            }
        }
    }

    /// Deletes the org `id`: its tokens stop working at once, its streams end, its data
    /// leaves the disk. `Ok(false)` when there is no such org made at run time.
    pub(crate) fn delete(&self, id: &str) -> anyhow::Result<bool> {
        let Some(key) = RecordId::parse(id).map(|i| i.as15().to_owned()) else {
            return Ok(false);
        };
        let Some(made) = self.orgs.write_locked().remove(&key) else {
            return Ok(false);
        };
        self.signins.forget(&key);
        // Never opened again, even by a request that found it before.
        let transition = made.transition();
        let open = std::mem::replace(&mut *made.slot(), Slot::Deleted);
        let tenant = match open {
            Slot::Open(t) => Some(t),
            Slot::Resting(_) | Slot::Deleted => None,
        };
        if let Some(t) = &tenant {
            t.stop_streams();
        }
        self.registry.mark_deleted(made.id, &made.home)?;
        if let Some(t) = &tenant {
            t.stop();
        }
        let home = made.home.clone();
        drop(transition);
        drop((tenant, made));
        self.registry.purge(&home);
        Ok(true)
    }
}

/// The user an org gets when its config names none: `admin@<orgId>.forcebus.local`, a
/// random password.
pub(super) fn default_user(id: RecordId) -> UserConfig {
    UserConfig {
        username: format!("admin@{}.forcebus.local", id.as15().to_ascii_lowercase()),
        password: crate::secrets::random_text(16),
        security_token: None,
        first_name: "Admin".to_owned(),
        last_name: "User".to_owned(),
        email: None,
    }
}
