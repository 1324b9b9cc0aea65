//! Users' access: each user's [`Access`] worked out from the org's records once and kept
//! until a record it reads changes; the standard profiles every org is born with, the
//! permission sets a project declares, and the profiles and permission sets of the users
//! the server is told of, all made at start (without change events, as the org's other
//! own records).

use std::sync::Arc;

use forcebus_store::StoreError;
use forcebus_sync::prelude::*;
use serde_json::{Map, Value};

use crate::Org;
use crate::access::declared::PermissionSetConfig;
use crate::access::profiles::{self, SYSTEM_ADMINISTRATOR};
use crate::access::{Access, load};
use crate::caller::Caller;
use crate::id::RecordId;
use crate::txn::Op;
use crate::users::UserSeed;

/// Whether a commit touching `object` changes some user's access: one of the records
/// access is read from (users, profiles, permission sets, roles, groups), or a share
/// object's row.
pub(crate) fn touches_access(object: &str) -> bool {
    object.ends_with("Share") || profiles::USER_ADMINISTRATION.contains(&object)
}

impl Org {
    /// `user`'s access now.
    pub fn access(&self, user: RecordId) -> Arc<Access> {
        if let Some(known) = self.access.read_locked().get(&user) {
            return known.clone();
        }
        let schema = self.schema();
        let access = Arc::new(load::access_of(
            &self.read(),
            &schema,
            user,
            &self.sharing_rules,
        ));
        self.access.write_locked().insert(user, access.clone());
        access
    }

    /// `access`'s user's access to the record `id` now (none when the org has no such
    /// record).
    pub fn level_of(&self, access: &Access, id: RecordId) -> crate::access::sharing::Level {
        let schema = self.schema();
        let state = self.read();
        let Some(r) = state.records.get(&id) else {
            return crate::access::sharing::Level::None;
        };
        let Some(def) = schema.object(&r.object) else {
            return crate::access::sharing::Level::None;
        };
        access
            .gate(&schema, def)
            .level(r, &|id| state.records.get(&id))
    }

    /// The rows of `UserRecordAccess` a query `plan` asks for, as `viewer` (none: the org
    /// itself) may see them; none when the query is of another object.
    pub(crate) fn record_access_rows(
        &self,
        plan: &forcebus_soql::bind::Plan<'_>,
        viewer: Option<&Access>,
    ) -> Result<Vec<crate::record::Record>, forcebus_soql::SoqlError> {
        use crate::access::record_access::{OBJECT, asked, row};
        use crate::access::sharing::Level;
        if plan.object.name != OBJECT {
            return Ok(Vec::new());
        }
        let (user, records) = asked(plan)?;
        let theirs = self.access(user);
        let mut rows = Vec::with_capacity(records.len());
        for (n, id) in records.into_iter().enumerate() {
            if viewer.is_some_and(|v| self.level_of(v, id) < Level::Read) {
                continue;
            }
            let level = self.level_of(&theirs, id);
            rows.push(row(plan.object, n as u64, user, id, level));
        }
        Ok(rows)
    }

    /// Forgets every user's access (a record it is read from changed).
    pub(crate) fn access_changed(&self) {
        self.access.write_locked().clear();
    }

    /// The id of the profile named `name` (any case), if the org has it.
    pub fn profile_id(&self, name: &str) -> Option<RecordId> {
        self.scan("Profile", |p| {
            p.get_str("Name")
                .filter(|_| !p.is_deleted)
                .filter(|n| n.eq_ignore_ascii_case(name))
                .map(|_| p.id)
        })
        .into_iter()
        .next()
    }

    /// The id of the permission set named `name` (any case; not a profile's own).
    pub fn permission_set_id(&self, name: &str) -> Option<RecordId> {
        self.scan("PermissionSet", |p| {
            (!p.is_deleted
                && p.get("IsOwnedByProfile") != true
                && p.get_str("Name")
                    .is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .then_some(p.id)
        })
        .into_iter()
        .next()
    }

    /// Makes a user now, as a test asks for one: the permission sets `sets` made or
    /// brought up to date first, then the user (unless one has the username) with the
    /// profile and permission sets `seed` names. The user's id.
    pub fn declare_user(
        &self,
        seed: &UserSeed,
        sets: &[PermissionSetConfig],
    ) -> Result<RecordId, crate::OrgError> {
        let refused = |e: StoreError| match e {
            StoreError::Config(why) => crate::OrgError::new(crate::Code::InvalidInput, why),
            other => crate::OrgError::new(crate::Code::UnknownException, other.to_string()),
        };
        if seed
            .profile
            .as_deref()
            .is_some_and(|p| self.profile_id(p).is_none())
        {
            return Err(crate::OrgError::new(
                crate::Code::InvalidInput,
                format!(
                    "the org has no profile named {:?}",
                    seed.profile.as_deref().unwrap_or_default()
                ),
            ));
        }
        self.ensure_permission_sets(sets).map_err(refused)?;
        let id = self.ensure_user(seed).map_err(refused)?;
        self.ensure_user_access(std::slice::from_ref(seed))
            .map_err(refused)?;
        // The caller is answered once all of it is durable.
        if let Some(commit) = self.last_seed.locked().take() {
            commit.wait().map_err(refused)?;
        }
        Ok(id)
    }

    /// Makes the standard profiles the org lacks, each with the permission set it owns.
    pub(crate) fn ensure_standard_profiles(&self) -> Result<(), StoreError> {
        if self.schema().object("Profile").is_none() {
            return Ok(());
        }
        let missing: Vec<_> = profiles::STANDARD
            .iter()
            .filter(|p| self.profile_id(p.name).is_none())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let ops = missing
            .iter()
            .map(|p| Op::Seed {
                object: "Profile".into(),
                fields: with_perms(
                    [
                        ("Name", Value::from(p.name)),
                        ("UserType", Value::from(p.user_type)),
                        // The Salesforce license every standard profile is of (the
                        // catalogue has no `UserLicense` records to point to).
                        ("UserLicenseId", Value::from(self.mint("100", 0).to18())),
                    ],
                    p.perms,
                ),
            })
            .collect();
        self.seed_ops(ops)?;
        let ops = missing
            .iter()
            .filter_map(|p| {
                let id = self.profile_id(p.name)?;
                Some(Op::Seed {
                    object: "PermissionSet".into(),
                    fields: with_perms(
                        [
                            ("Name", Value::from(format!("X{}", id.as15()))),
                            ("Label", Value::from(id.as15())),
                            ("ProfileId", Value::from(id.to18())),
                            ("IsOwnedByProfile", Value::Bool(true)),
                            ("IsCustom", Value::Bool(false)),
                        ],
                        p.perms,
                    ),
                })
            })
            .collect();
        self.seed_ops(ops)
    }

    /// Makes or brings up to date each declared permission set and what it grants.
    /// Grants are added and changed, never taken away (an admin's own stay).
    pub(crate) fn ensure_permission_sets(
        &self,
        sets: &[PermissionSetConfig],
    ) -> Result<(), StoreError> {
        for set in sets {
            let mut fields = declared_set_fields(&self.schema(), set)?;
            match self.permission_set_id(&set.name) {
                None => {
                    fields.insert("IsCustom".into(), Value::Bool(true));
                    self.seed_ops(vec![Op::Seed {
                        object: "PermissionSet".into(),
                        fields,
                    }])?;
                }
                Some(id) => self.seed_ops(vec![update(id, fields)])?,
            }
            let Some(parent) = self.permission_set_id(&set.name) else {
                continue;
            };
            self.ensure_grants(parent, set, true)?;
        }
        Ok(())
    }

    /// Makes or brings up to date what `set` grants as rows of permission set `parent`:
    /// its field permissions, and its object permissions when `objects`.
    pub(crate) fn ensure_grants(
        &self,
        parent: RecordId,
        set: &PermissionSetConfig,
        objects: bool,
    ) -> Result<(), StoreError> {
        let mut ops = Vec::new();
        for (object, grant) in set.objects.iter().filter(|_| objects) {
            let values = grant_fields([
                ("PermissionsRead", grant.read),
                ("PermissionsCreate", grant.create),
                ("PermissionsEdit", grant.edit),
                ("PermissionsDelete", grant.delete),
                ("PermissionsViewAllRecords", grant.view_all),
                ("PermissionsModifyAllRecords", grant.modify_all),
            ]);
            ops.push(self.grant_op("ObjectPermissions", parent, object, None, values));
        }
        for (field, grant) in &set.fields {
            let object = field.split('.').next().unwrap_or_default();
            let values = grant_fields([
                ("PermissionsRead", grant.read || grant.edit),
                ("PermissionsEdit", grant.edit),
            ]);
            ops.push(self.grant_op("FieldPermissions", parent, object, Some(field), values));
        }
        self.seed_ops(ops)
    }

    /// The op that makes a grant row of `parent` for `object` (and `field`), or brings
    /// the one it has up to date.
    fn grant_op(
        &self,
        kind: &str,
        parent: RecordId,
        object: &str,
        field: Option<&String>,
        mut values: Map<String, Value>,
    ) -> Op {
        let existing = self
            .scan(kind, |r| {
                let same = !r.is_deleted
                    && r.get_str("ParentId").and_then(RecordId::parse) == Some(parent)
                    && r.get_str("SobjectType")
                        .is_some_and(|o| o.eq_ignore_ascii_case(object))
                    && field.is_none_or(|f| {
                        r.get_str("Field")
                            .is_some_and(|x| x.eq_ignore_ascii_case(f))
                    });
                same.then_some(r.id)
            })
            .into_iter()
            .next();
        match existing {
            Some(id) => update(id, values),
            None => {
                values.insert("ParentId".into(), Value::from(parent.to18()));
                values.insert("SobjectType".into(), Value::from(object));
                if let Some(f) = field {
                    values.insert("Field".into(), Value::from(f.as_str()));
                }
                Op::Seed {
                    object: kind.into(),
                    fields: values,
                }
            }
        }
    }

    /// Gives each seed user the profile it names (System Administrator when it names
    /// none, as every user was before profiles) unless it has one, and assigns it the
    /// permission sets it names.
    pub(crate) fn ensure_user_access(&self, seeds: &[UserSeed]) -> Result<(), StoreError> {
        for seed in seeds {
            let Some(user) = self.user_by_username(&seed.username) else {
                continue;
            };
            let wanted = seed.profile.as_deref().unwrap_or(SYSTEM_ADMINISTRATOR);
            let profile = self.profile_id(wanted).ok_or_else(|| {
                StoreError::Config(format!(
                    "user {}: the org has no profile named {wanted:?}",
                    seed.username
                ))
            })?;
            let mut ops = Vec::new();
            let current = user.get_str("ProfileId").and_then(RecordId::parse);
            if current != Some(profile) && (current.is_none() || seed.profile.is_some()) {
                let mut values = Map::new();
                values.insert("ProfileId".into(), Value::from(profile.to18()));
                ops.push(update(user.id, values));
            }
            for name in &seed.permission_sets {
                // A permission set, or else a permission set group, of that name.
                let (set, key) = match self.permission_set_id(name) {
                    Some(set) => (set, "PermissionSetId"),
                    None => self
                        .permission_set_group_id(name)
                        .map(|g| (g, "PermissionSetGroupId"))
                        .ok_or_else(|| {
                            StoreError::Config(format!(
                                "user {}: the org has no permission set named {name:?}",
                                seed.username
                            ))
                        })?,
                };
                if !self.assigned(user.id, set, key) {
                    let mut values = Map::new();
                    values.insert("AssigneeId".into(), Value::from(user.id.to18()));
                    values.insert(key.into(), Value::from(set.to18()));
                    values.insert("IsActive".into(), Value::Bool(true));
                    ops.push(Op::Seed {
                        object: "PermissionSetAssignment".into(),
                        fields: values,
                    });
                }
            }
            self.seed_ops(ops)?;
        }
        Ok(())
    }

    /// Whether `user` is assigned `set` (a permission set or group, as `key` names it).
    fn assigned(&self, user: RecordId, set: RecordId, key: &str) -> bool {
        !self
            .scan("PermissionSetAssignment", |a| {
                (!a.is_deleted
                    && a.get_str("AssigneeId").and_then(RecordId::parse) == Some(user)
                    && a.get_str(key).and_then(RecordId::parse) == Some(set))
                .then_some(())
            })
            .is_empty()
    }

    /// Runs the org's own `ops` as its first user, without change events, and waits.
    pub(crate) fn seed_ops(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let Some(owner) = self.scan("User", |r| Some(r.id)).into_iter().next() else {
            return Ok(());
        };
        let mode = crate::Mode {
            all_or_none: true,
            bulk_load: false,
            seed: true,
        };
        // Not waited for, as the org's other own records: what a lost commit held is made
        // again at the next start (every `ensure_` is idempotent), and a later durable
        // commit makes it durable ([`Org::declare_user`] waits for its last).
        let (result, commit) = self
            .execute(&Caller::org_setup(owner), ops, mode)?
            .into_parts();
        for r in result.results {
            if let Err(e) = r {
                return Err(StoreError::Config(format!("the org's access records: {e}")));
            }
        }
        *self.last_seed.locked() = Some(commit);
        Ok(())
    }
}

pub(crate) fn update(id: RecordId, fields: Map<String, Value>) -> Op {
    Op::Update {
        object: None,
        id: id.to18(),
        fields,
    }
}

/// `values` and every user permission of `perms` as `Permissions*` fields.
fn with_perms<const N: usize>(
    values: [(&str, Value); N],
    perms: crate::access::UserPerms,
) -> Map<String, Value> {
    let mut out: Map<String, Value> = values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    for (name, on) in [
        ("PermissionsApiEnabled", perms.api_enabled),
        ("PermissionsViewAllData", perms.view_all_data),
        ("PermissionsModifyAllData", perms.modify_all_data),
        (
            "PermissionsCustomizeApplication",
            perms.customize_application,
        ),
        ("PermissionsModifyMetadata", perms.modify_metadata),
        ("PermissionsManageUsers", perms.manage_users),
    ] {
        out.insert(name.into(), Value::Bool(on));
    }
    out
}

fn grant_fields<const N: usize>(values: [(&str, bool); N]) -> Map<String, Value> {
    values
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::Bool(v)))
        .collect()
}

/// A declared permission set's own fields: its name, label, description and user
/// permissions (each a `Permissions*` field of the catalogue's, by the name Metadata
/// uses; one it does not have is refused).
pub(crate) fn declared_set_fields(
    schema: &crate::meta::Schema,
    set: &PermissionSetConfig,
) -> Result<Map<String, Value>, StoreError> {
    let mut out = Map::new();
    out.insert("Name".into(), Value::from(set.name.as_str()));
    out.insert(
        "Label".into(),
        Value::from(set.label.clone().unwrap_or_else(|| set.name.clone())),
    );
    if let Some(d) = &set.description {
        out.insert("Description".into(), Value::from(d.as_str()));
    }
    let def = schema.object("PermissionSet");
    for p in &set.user_permissions {
        let field = format!("Permissions{p}");
        match def.and_then(|d| d.field(&field)) {
            Some(f) => out.insert(f.name.clone(), Value::Bool(true)),
            None => {
                return Err(StoreError::Config(format!(
                    "permission set {}: no user permission named {p:?}",
                    set.name
                )));
            }
        };
    }
    Ok(out)
}
