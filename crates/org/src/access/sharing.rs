//! Record access: which records of an object a user may read, edit or delete, as
//! Salesforce's sharing decides it. For a user who is not an administrator, access to a
//! record is the most of:
//!
//! - the object's organization-wide default (`sharingModel`): Private gives nothing,
//!   Public Read Only gives read, Public Read/Write (and no default, as every object had
//!   before sharing) gives edit; Controlled by Parent gives what the master record gives;
//! - ownership: the owner, and every user above the owner in the role hierarchy, have
//!   full access;
//! - shares: a share object's row (`AccountShare`, `Invoice__Share`) granting the user,
//!   or a public group they are a member of, `Read`, `Edit` or `All`;
//! - sharing rules: a criteria-based rule shares the records meeting its criteria, an
//!   owner-based one those its `sharedFrom` users own, with its `sharedTo` users;
//! - the object permissions View All and Modify All, and the user permission View All
//!   Data;
//!
//! and never more than the object permissions allow (edit needs Edit, delete needs
//! Delete). [`Reach`] is what a user's access to records rests on, worked out with their
//! [`Access`](super::Access); [`Gate`] decides one object's records, row by row.

use crate::FastMap;
use crate::id::RecordId;
use crate::meta::{FieldType, ObjectDef, Schema};
use crate::record::Record;

use super::{Access, ObjectPerms, profiles};

/// How much of a record a user may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing: the record does not exist to them.
    #[default]
    None,
    /// Read it.
    Read,
    /// Read and edit it.
    Edit,
    /// Read, edit, delete, transfer and share it.
    All,
}

impl Level {
    /// A share row's access level (`Read`, `Edit`, `All`).
    pub fn parse(text: &str) -> Self {
        match text {
            "All" => Self::All,
            "Edit" => Self::Edit,
            "Read" => Self::Read,
            _ => Self::None,
        }
    }

    /// The name `UserRecordAccess.MaxAccessLevel` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Read => "Read",
            Self::Edit => "Edit",
            Self::All => "All",
        }
    }
}

/// What a user's record access rests on.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    /// The user and every user below them in the role hierarchy: whose records they have
    /// full access to.
    pub(crate) below: forcebus_record::FastSet<RecordId>,
    /// Records shared with the user or a group they are a member of, with the most any
    /// share grants.
    pub(crate) shared: FastMap<RecordId, Level>,
    /// The sharing rules that share with the user.
    pub(crate) rules: Vec<RuleGrant>,
}

/// A sharing rule as it applies to one user: what it grants on which records.
#[derive(Debug, Clone)]
pub(crate) struct RuleGrant {
    /// The object, lower case.
    pub(crate) object: String,
    /// `Read` or `Edit`.
    pub(crate) level: Level,
    /// Which records.
    pub(crate) test: RuleTest,
}

/// Which records a sharing rule shares.
#[derive(Debug, Clone)]
pub(crate) enum RuleTest {
    /// Those meeting every criterion.
    Criteria(Vec<crate::meta::SummaryFilter>),
    /// Those owned by these users.
    OwnedBy(Vec<RecordId>),
}

impl RuleGrant {
    fn shares(&self, r: &Record) -> bool {
        match &self.test {
            RuleTest::Criteria(items) => items.iter().all(|f| crate::criteria::passes(r, f)),
            RuleTest::OwnedBy(owners) => r
                .get_str("OwnerId")
                .and_then(RecordId::parse)
                .is_some_and(|o| owners.contains(&o)),
        }
    }
}

/// An object's default for its records, as sharing reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Default_ {
    Private,
    Read,
    ReadWrite,
    Parent,
}

fn default_of(def: &ObjectDef) -> Default_ {
    match def.sharing_model.as_deref() {
        Some("Private") => Default_::Private,
        Some("Read") => Default_::Read,
        Some("ControlledByParent") => Default_::Parent,
        _ => Default_::ReadWrite,
    }
}

/// Decides one object's records for one user.
#[derive(Debug)]
pub struct Gate<'a> {
    access: &'a Access,
    perms: ObjectPerms,
    default: Default_,
    /// Records of this object are governed by sharing (a business object of a user who is
    /// not an administrator); `false`: object permissions alone decide.
    shared: bool,
    /// The master's field and its gate, for a default controlled by the parent.
    parent: Option<(&'a str, Box<Gate<'a>>)>,
    /// The sharing rules of this object that share with the user.
    rules: Vec<&'a RuleGrant>,
}

/// How deep a chain of masters is followed (Salesforce allows three levels).
const MAX_MASTERS: usize = 3;

impl Access {
    /// The gate of `def`'s records for this user.
    pub fn gate<'a>(&'a self, schema: &'a Schema, def: &'a ObjectDef) -> Gate<'a> {
        self.gate_at(schema, def, 0)
    }

    fn gate_at<'a>(&'a self, schema: &'a Schema, def: &'a ObjectDef, depth: usize) -> Gate<'a> {
        let perms = self.object(def);
        let shared =
            !self.is_everything() && profiles::permissionable(&def.name) && !perms.modify_all;
        let default = default_of(def);
        let parent = (shared && default == Default_::Parent && depth < MAX_MASTERS)
            .then(|| master_of(def))
            .flatten()
            .and_then(|(field, to)| {
                let parent = schema.object(to)?;
                Some((field, Box::new(self.gate_at(schema, parent, depth + 1))))
            });
        let lower = def.name.to_ascii_lowercase();
        Gate {
            access: self,
            perms,
            default,
            shared,
            parent,
            rules: self
                .reach
                .rules
                .iter()
                .filter(|g| g.object == lower)
                .collect(),
        }
    }
}

/// The master-detail field of `def` and the object it names (for Contact, controlled
/// by its account through a lookup, `AccountId`).
fn master_of(def: &ObjectDef) -> Option<(&str, &str)> {
    def.fields
        .iter()
        .find(|f| f.ftype == FieldType::Reference && f.cascade_delete && !f.nillable)
        .or_else(|| {
            (def.name == "Contact")
                .then(|| def.field("AccountId"))
                .flatten()
        })
        .and_then(|f| Some((f.name.as_str(), f.reference_to.first()?.as_str())))
}

impl Gate<'_> {
    /// Whether every record of the object is readable (nothing to filter).
    pub fn reads_all(&self) -> bool {
        self.perms.read
            && (!self.shared
                || self.perms.view_all
                || self.access.perms.view_all_data
                || matches!(self.default, Default_::Read | Default_::ReadWrite))
    }

    /// Whether the object's readable records are found through the owner index and the
    /// shares (a Private default).
    pub fn by_owner(&self) -> bool {
        !self.reads_all()
            && self.perms.read
            && self.default == Default_::Private
            && self.rules.is_empty()
    }

    /// The users whose records this user has full access to.
    pub fn owners(&self) -> impl Iterator<Item = &RecordId> {
        self.access.reach.below.iter()
    }

    /// The records shared with this user (of every object).
    pub fn shared(&self) -> impl Iterator<Item = (&RecordId, &Level)> {
        self.access.reach.shared.iter()
    }

    /// This user's access to `r`; `get` reads a master record.
    pub fn level<'r>(&self, r: &Record, get: &dyn Fn(RecordId) -> Option<&'r Record>) -> Level {
        if !self.perms.read {
            return Level::None;
        }
        let most = if self.perms.modify_all || self.access.is_everything() {
            return Level::All;
        } else if self.perms.delete {
            Level::All
        } else if self.perms.edit {
            Level::Edit
        } else {
            Level::Read
        };
        if !self.shared {
            return most;
        }
        let owner = r.get_str("OwnerId").and_then(RecordId::parse);
        if owner.is_some_and(|o| self.access.reach.below.contains(&o)) {
            return most;
        }
        let mut level = match self.default {
            Default_::Private => Level::None,
            Default_::Read => Level::Read,
            Default_::ReadWrite => Level::Edit,
            Default_::Parent => match &self.parent {
                Some((field, gate)) => r
                    .get_str(field)
                    .and_then(RecordId::parse)
                    .and_then(get)
                    .map_or(Level::None, |p| gate.level(p, get).min(Level::Edit)),
                None => Level::None,
            },
        };
        if let Some(shared) = self.access.reach.shared.get(&r.id) {
            level = level.max(*shared);
        }
        for rule in &self.rules {
            if rule.level > level && rule.shares(r) {
                level = rule.level;
            }
        }
        if self.perms.view_all || self.access.perms.view_all_data {
            level = level.max(Level::Read);
        }
        level.min(most)
    }
}
