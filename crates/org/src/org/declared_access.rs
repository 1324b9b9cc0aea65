//! Profiles and permission set groups as a project declares them, made at start: a
//! profile named as a standard one brings that profile's own permission set up to date
//! (its user and field permissions; a standard profile's object permissions stay what
//! [`crate::access::profiles`] grants), another name makes a custom `Profile` and the
//! permission set it owns; a group makes a `PermissionSetGroup` and a
//! `PermissionSetGroupComponent` for each set it lists. Everything is added, never taken
//! away.

use forcebus_store::StoreError;
use serde_json::{Map, Value};

use crate::Org;
use crate::access::declared::{PermissionSetConfig, PermissionSetGroupConfig};
use crate::access::profiles;
use crate::id::RecordId;
use crate::org::access::{declared_set_fields, update};
use crate::txn::Op;

impl Org {
    /// Makes or brings up to date each declared profile (`profiles`: each a profile's
    /// name and what it grants, as a `.profile-meta.xml` declares it).
    pub(crate) fn ensure_profiles(
        &self,
        declared: &[PermissionSetConfig],
    ) -> Result<(), StoreError> {
        if declared.is_empty() || self.schema().object("Profile").is_none() {
            return Ok(());
        }
        for profile in declared {
            let standard = profiles::STANDARD
                .iter()
                .any(|p| p.name.eq_ignore_ascii_case(&profile.name));
            let perms = self.user_permission_fields(profile)?;
            // The profile's own fields for them (where `Profile` has the field too).
            let schema = self.schema();
            let mut on_profile = perms.clone();
            on_profile.retain(|k, _| {
                schema
                    .object("Profile")
                    .is_some_and(|p| p.field(k).is_some())
            });
            let id = match self.profile_id(&profile.name) {
                Some(id) => {
                    self.seed_ops(vec![update(id, on_profile)])?;
                    id
                }
                None => self.make_profile(profile, &on_profile)?,
            };
            let own = match self.profile_set_id(id) {
                Some(set) => {
                    self.seed_ops(vec![update(set, perms)])?;
                    set
                }
                None => self.make_profile_set(id, perms)?,
            };
            self.ensure_grants(own, profile, !standard)?;
        }
        Ok(())
    }

    /// The `Permissions*` fields `declared`'s user permissions turn on.
    fn user_permission_fields(
        &self,
        declared: &PermissionSetConfig,
    ) -> Result<Map<String, Value>, StoreError> {
        let mut out = declared_set_fields(&self.schema(), declared)?;
        out.retain(|k, _| k.starts_with("Permissions"));
        Ok(out)
    }

    /// Makes custom profile `declared` (its user permissions `perms`); its id.
    fn make_profile(
        &self,
        declared: &PermissionSetConfig,
        perms: &Map<String, Value>,
    ) -> Result<RecordId, StoreError> {
        let mut fields = perms.clone();
        fields.insert("Name".into(), Value::from(declared.name.as_str()));
        fields.insert("UserType".into(), Value::from("Standard"));
        // The Salesforce license, as the standard profiles have it.
        let license = self.mint("100", 0).to18();
        fields.insert("UserLicenseId".into(), Value::from(license));
        if let Some(d) = &declared.description {
            fields.insert("Description".into(), Value::from(d.as_str()));
        }
        self.seed_ops(vec![Op::Seed {
            object: "Profile".into(),
            fields,
        }])?;
        self.profile_id(&declared.name).ok_or_else(|| {
            StoreError::Config(format!("profile {}: it could not be made", declared.name))
        })
    }

    /// The permission set profile `profile` owns, if it has one.
    fn profile_set_id(&self, profile: RecordId) -> Option<RecordId> {
        self.scan("PermissionSet", |p| {
            (!p.is_deleted
                && p.get("IsOwnedByProfile") == true
                && p.get_str("ProfileId").and_then(RecordId::parse) == Some(profile))
            .then_some(p.id)
        })
        .into_iter()
        .next()
    }

    /// Makes the permission set custom profile `profile` owns (with `perms`); its id.
    fn make_profile_set(
        &self,
        profile: RecordId,
        mut fields: Map<String, Value>,
    ) -> Result<RecordId, StoreError> {
        for (k, v) in [
            ("Name", Value::from(format!("X{}", profile.as15()))),
            ("Label", Value::from(profile.as15())),
            ("ProfileId", Value::from(profile.to18())),
            ("IsOwnedByProfile", Value::Bool(true)),
            ("IsCustom", Value::Bool(true)),
        ] {
            fields.insert(k.into(), v);
        }
        self.seed_ops(vec![Op::Seed {
            object: "PermissionSet".into(),
            fields,
        }])?;
        self.profile_set_id(profile).ok_or_else(|| {
            StoreError::Config(format!(
                "profile {}: its permission set could not be made",
                profile.as15()
            ))
        })
    }

    /// The id of the permission set group named `name` (any case), if the org has it.
    pub fn permission_set_group_id(&self, name: &str) -> Option<RecordId> {
        self.scan("PermissionSetGroup", |g| {
            (!g.is_deleted
                && g.get_str("DeveloperName")
                    .is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .then_some(g.id)
        })
        .into_iter()
        .next()
    }

    /// Makes or brings up to date each declared permission set group, and gives it a
    /// component for each set it lists (a set the org lacks stops the start).
    pub(crate) fn ensure_permission_set_groups(
        &self,
        groups: &[PermissionSetGroupConfig],
    ) -> Result<(), StoreError> {
        if groups.is_empty() || self.schema().object("PermissionSetGroup").is_none() {
            return Ok(());
        }
        for group in groups {
            let mut fields = Map::new();
            let label = group.label.as_deref().unwrap_or(&group.name);
            fields.insert("MasterLabel".into(), Value::from(label));
            if let Some(d) = &group.description {
                fields.insert("Description".into(), Value::from(d.as_str()));
            }
            let op = match self.permission_set_group_id(&group.name) {
                Some(id) => update(id, fields),
                None => {
                    fields.insert("DeveloperName".into(), Value::from(group.name.as_str()));
                    fields.insert("Status".into(), Value::from("Updated"));
                    Op::Seed {
                        object: "PermissionSetGroup".into(),
                        fields,
                    }
                }
            };
            self.seed_ops(vec![op])?;
            let Some(id) = self.permission_set_group_id(&group.name) else {
                continue;
            };
            let mut ops = Vec::new();
            for name in &group.permission_sets {
                let set = self.permission_set_id(name).ok_or_else(|| {
                    StoreError::Config(format!(
                        "permission set group {}: the org has no permission set named {name:?}",
                        group.name
                    ))
                })?;
                if !self.in_group(id, set) {
                    let mut fields = Map::new();
                    fields.insert("PermissionSetGroupId".into(), Value::from(id.to18()));
                    fields.insert("PermissionSetId".into(), Value::from(set.to18()));
                    ops.push(Op::Seed {
                        object: "PermissionSetGroupComponent".into(),
                        fields,
                    });
                }
            }
            self.seed_ops(ops)?;
        }
        Ok(())
    }

    fn in_group(&self, group: RecordId, set: RecordId) -> bool {
        let id = |r: &crate::record::Record, f: &str| r.get_str(f).and_then(RecordId::parse);
        !self
            .scan("PermissionSetGroupComponent", |c| {
                (!c.is_deleted
                    && id(c, "PermissionSetGroupId") == Some(group)
                    && id(c, "PermissionSetId") == Some(set))
                .then_some(())
            })
            .is_empty()
    }
}
