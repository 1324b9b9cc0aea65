//! The list of orgs made at run time, kept where their data is: `orgs/<orgId>/org.json`
//! in the data dir, or rows of the PostgreSQL database (with `--store`), so a restart (or
//! another node on the same database) opens them again. A deletion is written down before
//! the data goes, so a crash midway still leaves the org deleted, and what it left behind
//! is removed at the next start.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use forcebus_org::RecordId;
use forcebus_store::{Batch, Database, Durability, PostgresStore, Store};

use crate::hosted::OrgInfo;
use crate::tenant::Home;

/// The database key under which the list is kept (no org has it).
const LIST: &str = "";
pub(crate) use crate::hosted::DEFAULT_KEY;

/// Where the list of made orgs is kept.
#[derive(Debug)]
pub(crate) enum Registry {
    /// `orgs/<orgId>/org.json` under this directory (`orgs/` of the data dir).
    Files(PathBuf),
    /// Values of the database's [`LIST`] key, space `orgs`; Bulk files under `orgs/<orgId>/`
    /// of the data dir.
    Database {
        db: Arc<Database>,
        list: PostgresStore,
        dir: PathBuf,
    },
    /// Nowhere: the orgs live in memory and go with the process.
    Memory,
}

impl Registry {
    /// The list of a server whose data dir is `data_dir` (`None`: in memory), with its
    /// orgs in `db` when it has one.
    pub(crate) fn new(data_dir: Option<PathBuf>, db: Option<Arc<Database>>) -> Self {
        match (data_dir, db) {
            (Some(dir), Some(db)) => Self::Database {
                list: PostgresStore::open(db.clone(), LIST, Durability::Full),
                db,
                dir: dir.join("orgs"),
            },
            (Some(dir), None) => Self::Files(dir.join("orgs")),
            (None, _) => Self::Memory,
        }
    }

    /// Every org listed, with its home; orgs deleted midway are finished off first.
    pub(crate) fn list(&self) -> anyhow::Result<Vec<(RecordId, OrgInfo, Home)>> {
        match self {
            Self::Files(root) => Ok(list_files(root)),
            Self::Database { db, list, dir } => {
                let mut orgs = Vec::new();
                for (key, value) in list.load_values("orgs")? {
                    let Some(id) = RecordId::parse(&key) else {
                        continue;
                    };
                    match serde_json::from_str::<OrgInfo>(&value) {
                        Ok(info) => orgs.push((id, info, database_home(db, dir, id))),
                        Err(e) => {
                            tracing::error!(org = %key, error = %e, "An org's listing is unreadable; it is not served.");
                        }
                    }
                }
                // What an interrupted deletion left.
                for key in db.orgs()? {
                    let listed = orgs.iter().any(|(id, ..)| id.to18() == key);
                    if !listed && key != LIST && key != DEFAULT_KEY {
                        erase_unlisted(db, &key)?;
                        let _ = std::fs::remove_dir_all(dir.join(&key));
                    }
                }
                Ok(orgs)
            }
            Self::Memory => Ok(Vec::new()),
        }
    }

    /// The org `id` as listed, with its home: `None` when it is not (deleted, or never
    /// made). Only a shared database lists orgs another node made.
    pub(crate) fn lookup(&self, id: RecordId) -> anyhow::Result<Option<(OrgInfo, Home)>> {
        let Self::Database { db, list, dir } = self else {
            return Ok(None);
        };
        let Some(value) = list.load_value("orgs", &id.to18())? else {
            return Ok(None);
        };
        let info = serde_json::from_str::<OrgInfo>(&value)
            .with_context(|| format!("the listing of the org {} is unreadable", id.to18()))?;
        Ok(Some((info, database_home(db, dir, id))))
    }

    /// Where the org `id` lives (once listed).
    pub(crate) fn home_of(&self, id: RecordId) -> Home {
        match self {
            Self::Files(root) => Home::Dir(root.join(id.to18())),
            Self::Database { db, dir, .. } => database_home(db, dir, id),
            Self::Memory => Home::Memory(crate::scratch::made_org(&id.to18())),
        }
    }

    /// Lists a new org (or its listing again, changed).
    pub(crate) fn add(&self, id: RecordId, info: &OrgInfo) -> anyhow::Result<()> {
        match self {
            Self::Files(root) => write_info(&root.join(id.to18()), info),
            Self::Database { list, .. } => {
                let mut b = Batch::new();
                b.put("orgs", &id.to18(), Some(serde_json::to_string(info)?));
                list.commit(&b)?;
                Ok(())
            }
            Self::Memory => Ok(()),
        }
    }

    /// Writes down that the org at `home` is deleted: it is never opened again, even if
    /// its data outlives a crash.
    pub(crate) fn mark_deleted(&self, id: RecordId, home: &Home) -> anyhow::Result<()> {
        match (self, home) {
            (Self::Database { list, .. }, _) => {
                let mut b = Batch::new();
                b.put("orgs", &id.to18(), None);
                list.commit(&b)?;
            }
            (_, Home::Dir(dir)) => {
                forcebus_config::datadir::private_options()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(dir.join("deleted"))
                    .and_then(|f| f.sync_all())
                    .context("cannot mark the org deleted")?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Removes the data of a deleted (or never opened) org.
    pub(crate) fn purge(&self, home: &Home) {
        match home {
            Home::Dir(dir) | Home::Memory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Home::Database { dir, .. } => {
                if let Some(store) = home.store(Durability::Full)
                    && let Err(e) = store.erase()
                {
                    tracing::warn!(error = %e, "A deleted org's rows stay until the next start.");
                }
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

fn database_home(db: &Arc<Database>, dir: &std::path::Path, id: RecordId) -> Home {
    Home::Database {
        db: db.clone(),
        key: id.to18(),
        dir: dir.join(id.to18()),
        fence: forcebus_store::postgres::fence(forcebus_store::NOT_HELD),
    }
}

/// Removes what an org no longer listed left in the database (a deletion cut short):
/// unless a live node holds its lease (it is making or deleting the org right now), its
/// lease is taken first, so nothing removes rows a node serving it writes.
fn erase_unlisted(db: &Arc<Database>, key: &str) -> anyhow::Result<()> {
    let epoch = match db.lease(key)? {
        None => forcebus_store::UNFENCED,
        Some(view) if view.live => return Ok(()),
        Some(_) => match db.claim(key, "forcebus-cleanup")? {
            Some((epoch, _)) => epoch,
            None => return Ok(()),
        },
    };
    let fence = forcebus_store::postgres::fence(epoch);
    PostgresStore::fenced(db.clone(), key, Durability::Full, fence).erase()?;
    tracing::info!(org = %key, "Removed what a deleted org left.");
    Ok(())
}

/// The orgs under `root`, finishing any deletion a crash interrupted.
fn list_files(root: &std::path::Path) -> Vec<(RecordId, OrgInfo, Home)> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut orgs = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        if dir.join("deleted").exists() {
            let _ = std::fs::remove_dir_all(&dir);
            continue;
        }
        let Some(id) = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(RecordId::parse)
        else {
            continue;
        };
        let info: OrgInfo = match std::fs::read(dir.join("org.json"))
            .map_err(anyhow::Error::from)
            .and_then(|b| serde_json::from_slice(&b).map_err(Into::into))
        {
            Ok(info) => info,
            Err(e) => {
                tracing::error!(org = %id.to18(), error = %e, "An org's org.json is unreadable; it is not served.");
                continue;
            }
        };
        orgs.push((id, info, Home::Dir(dir)));
    }
    orgs
}

fn write_info(dir: &std::path::Path, info: &OrgInfo) -> anyhow::Result<()> {
    forcebus_config::datadir::create_private_dir(dir)?;
    let tmp = dir.join("org.json.tmp");
    {
        use std::io::Write as _;
        let mut f = forcebus_config::datadir::private_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(info)?)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join("org.json"))?;
    Ok(())
}
