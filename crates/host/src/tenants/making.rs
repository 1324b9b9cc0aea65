//! Making and deleting orgs at run time.

use forcebus_sync::prelude::*;
use std::sync::Arc;

use anyhow::Context;

use forcebus_org::RecordId;

use forcebus_store::kinds;

use super::{BLOCKS, MAX_ORGS, Tenants};
use crate::hosted::{Hosted, Kind, OrgConfig, OrgInfo};
use crate::tenant::Tenant;
use forcebus_config::UserConfig;

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
    /// On a shared database, another org's connected app has this client id.
    #[error("The client id {0} is taken by another org: client ids are unique across the server.")]
    ClientIdTaken(String),
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
    /// Makes an org named `name` (its id when none) from `config`, served by this node.
    pub(crate) fn create(
        &self,
        name: Option<String>,
        config: OrgConfig,
    ) -> Result<(Arc<Hosted>, Arc<Tenant>, String), CreateError> {
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
        if users.is_empty() {
            return Err(CreateError::NoUsers);
        }
        let client_id = config.app.as_ref().and_then(|a| a.client_id.clone());
        let block = self.take_names(id, &users, client_id.as_deref())?;
        let created = match self.default.current() {
            Some(t) => t.org.clock().now(),
            None => chrono::Utc::now(),
        };
        let mut info = OrgInfo {
            name,
            created: forcebus_org::clock::format_datetime(created),
            client_id: config.app.as_ref().and_then(|a| a.client_id.clone()),
            config: OrgConfig {
                users: Some(users),
                ..config
            },
            block,
        };
        let epoch = self.lease_new(id).inspect_err(|_| self.release_names(id))?;
        // Known (and this node's) before it is listed, so a node's round that finds it
        // listed finds it here, being made.
        let home = self.registry.home_of(id);
        let made = Hosted::resting(id, Kind::Made, info.clone(), home.clone());
        made.ownership.hold(epoch);
        let made = self.insert(id, made);
        let opened = self
            .registry
            .add(id, &info)
            .map_err(CreateError::Directory)
            .and_then(|()| {
                self.reopened(&made)
                    .map_err(|e| CreateError::Open(e.into()))
            })
            .and_then(|t| {
                let user = RecordId::parse(&t.admin_id)
                    .context("the default user's id")
                    .and_then(|u| Ok(t.auth.issue(u, false)?.access_token))
                    .map_err(CreateError::Open)?;
                Ok((t, user))
            });
        let (tenant, token) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                self.forget(&made);
                if self.registry.mark_deleted(id, &home).is_ok() {
                    self.registry.purge(&made.fenced_home());
                }
                return Err(e);
            }
        };
        if self.cluster.is_some() {
            info.client_id = Some(tenant.app.client_id.clone());
            self.remember_client_id(id, &info);
        }
        Ok((made, tenant, token))
    }

    /// The new org's block of the record counter, its usernames checked against every
    /// org's (on a shared database, taken there with the block and the client id its
    /// config gives, all or none).
    fn take_names(
        &self,
        id: RecordId,
        users: &[UserConfig],
        client_id: Option<&str>,
    ) -> Result<u64, CreateError> {
        let Some(cluster) = &self.cluster else {
            for u in users {
                let taken = self
                    .default
                    .tenancy
                    .open()
                    .is_some_and(|d| d.org.user_by_username(&u.username).is_some())
                    || self
                        .signins
                        .by_username(&u.username)
                        .and_then(|key| self.by_id(&key))
                        .is_some();
                if taken {
                    return Err(CreateError::UsernameTaken(u.username.clone()));
                }
            }
            return Ok(self.free_block());
        };
        for _ in 0..8 {
            let block = self.free_block();
            let mut names: Vec<(&str, String)> = users
                .iter()
                .map(|u| (kinds::USERNAME, u.username.to_ascii_lowercase()))
                .collect();
            names.push((kinds::BLOCK, block.to_string()));
            names.extend(client_id.map(|c| (kinds::CLIENT_ID, c.to_owned())));
            match cluster.data.take_names(&id.to18(), &names) {
                Ok(Ok(())) => return Ok(block),
                Ok(Err((kind, _))) if kind == kinds::BLOCK => {}
                Ok(Err((kind, name))) if kind == kinds::CLIENT_ID => {
                    return Err(CreateError::ClientIdTaken(name));
                }
                Ok(Err((_, name))) => {
                    let shown = users
                        .iter()
                        .find(|u| u.username.eq_ignore_ascii_case(&name))
                        .map_or(name, |u| u.username.clone());
                    return Err(CreateError::UsernameTaken(shown));
                }
                Err(e) => return Err(CreateError::Directory(e.into())),
            }
        }
        Err(CreateError::Directory(anyhow::anyhow!(
            "no free block of record ids was found"
        )))
    }

    /// On a shared database, lets go of the names [`Self::take_names`] took for an org
    /// that was not made after all (best effort: what stays is only refused to others).
    fn release_names(&self, id: RecordId) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        for kind in [kinds::USERNAME, kinds::BLOCK, kinds::CLIENT_ID] {
            if let Err(e) = cluster.data.set_names(&id.to18(), kind, &[]) {
                tracing::warn!(org = %id.to18(), error = %e, "Cannot let go of an unmade org's names.");
            }
        }
    }

    /// The epoch a new org's commits check: on a shared database, of the lease this node
    /// makes for it (1), before it is listed.
    fn lease_new(&self, id: RecordId) -> Result<i64, CreateError> {
        let Some(cluster) = &self.cluster else {
            return Ok(forcebus_store::UNFENCED);
        };
        match cluster.data.create_lease(&id.to18(), &cluster.node) {
            Ok(true) => Ok(1),
            Ok(false) => Err(CreateError::Directory(anyhow::anyhow!(
                "the org id {} has a lease already",
                id.to18()
            ))),
            Err(e) => Err(CreateError::Directory(e.into())),
        }
    }

    /// On a shared database, writes the org's client id down (in its listing, and among
    /// the names), so sign-ins with it find the org on any node.
    fn remember_client_id(&self, id: RecordId, info: &OrgInfo) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        let client_id = info.client_id.clone().unwrap_or_default();
        let written = self.registry.add(id, info).and_then(|()| {
            Ok(cluster
                .data
                .set_names(&id.to18(), kinds::CLIENT_ID, &[client_id])?)
        });
        if let Err(e) = written {
            tracing::warn!(org = %id.to18(), error = %format!("{e:#}"), "Cannot record the org's client id.");
        }
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
    /// leaves the disk (or the database, with its lease and names). `Ok(false)` when there
    /// is no such org made at run time.
    pub(crate) fn delete(&self, id: &str) -> anyhow::Result<bool> {
        let Some(key) = RecordId::parse(id).map(|i| i.as15().to_owned()) else {
            return Ok(false);
        };
        let Some(made) = self.orgs.write_locked().remove(&key) else {
            return Ok(false);
        };
        self.signins.forget(&key);
        // Never opened again, even by a request that found it before.
        let transition = made.tenancy.transition();
        let tenant = made.tenancy.delete();
        if let Some(t) = &tenant {
            t.stop_streams();
        }
        self.registry.mark_deleted(made.id, &made.home)?;
        if let Some(t) = &tenant {
            t.stop();
        }
        let home = made.fenced_home();
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
        profile: None,
        permission_sets: Vec::new(),
    }
}
