//! Who may do what: a user's object permissions, field-level security and user
//! permissions, as the union of their profile's permission set and every permission set
//! assigned to them (directly or through a permission set group), as Salesforce grants
//! access.
//!
//! Where access comes from is the org's own records, as on Salesforce: `Profile`,
//! `PermissionSet` (one owned by each profile, `IsOwnedByProfile`), `ObjectPermissions`
//! and `FieldPermissions` (children of a permission set), `PermissionSetAssignment`,
//! `PermissionSetGroupComponent`. An admin writes them through any API; [`load`] reads
//! them into an [`Access`] per user, which the org keeps until one of them changes.
//!
//! - [`profiles`]: the standard profiles every org is born with and what each grants
//!   without records (a standard profile's object permissions cannot be edited).
//! - [`load`]: a user's access worked out from the records.
//! - [`fields`]: which fields field-level security governs.
//! - [`sharing`]: record access (organization-wide defaults, the role hierarchy, shares);
//!   [`record_access`]: the rows of `UserRecordAccess` a query asks for.
//! - [`declared`]: permission sets as a project or the config file declares them;
//!   [`rules`]: sharing rules as a project declares them.

pub mod declared;
pub mod fields;
pub(crate) mod load;
pub mod profiles;
pub mod record_access;
pub mod rules;
pub mod sharing;

use crate::FastMap;
use crate::id::RecordId;
use crate::meta::{FieldDef, ObjectDef};

/// What a user may do with one object's records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectPerms {
    /// Read its records.
    pub read: bool,
    /// Create records.
    pub create: bool,
    /// Edit records.
    pub edit: bool,
    /// Delete records.
    pub delete: bool,
    /// Read every record, whoever owns it.
    pub view_all: bool,
    /// Edit and delete every record, whoever owns it.
    pub modify_all: bool,
}

impl ObjectPerms {
    /// Every permission.
    pub const ALL: Self = Self {
        read: true,
        create: true,
        edit: true,
        delete: true,
        view_all: true,
        modify_all: true,
    };
    /// Read alone.
    pub const READ: Self = Self {
        read: true,
        create: false,
        edit: false,
        delete: false,
        view_all: false,
        modify_all: false,
    };
    /// Read, create, edit and delete.
    pub const CRED: Self = Self {
        read: true,
        create: true,
        edit: true,
        delete: true,
        view_all: false,
        modify_all: false,
    };

    /// Both sets of permissions together.
    #[must_use]
    pub fn union(self, o: Self) -> Self {
        Self {
            read: self.read || o.read,
            create: self.create || o.create,
            edit: self.edit || o.edit,
            delete: self.delete || o.delete,
            view_all: self.view_all || o.view_all,
            modify_all: self.modify_all || o.modify_all,
        }
    }

    /// As Salesforce settles a set: each permission brings the ones it needs (edit needs
    /// read, modify all needs everything).
    #[must_use]
    pub fn settled(mut self) -> Self {
        if self.modify_all {
            return Self::ALL;
        }
        self.read |= self.create || self.edit || self.delete || self.view_all;
        self.edit |= self.delete;
        self
    }
}

/// What a user may do with one field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldPerms {
    /// See the field (describe, queries, reads).
    pub read: bool,
    /// Set it on create and update (as far as the field itself may be written).
    pub edit: bool,
}

/// The user permissions forcebus enforces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserPerms {
    /// `ApiEnabled`: the APIs may be used at all.
    pub api_enabled: bool,
    /// `ViewAllData`: every object and record read.
    pub view_all_data: bool,
    /// `ModifyAllData`: every object, field and record, and the Metadata API.
    pub modify_all_data: bool,
    /// `CustomizeApplication`: the schema (Tooling API).
    pub customize_application: bool,
    /// `ModifyMetadata`: the Metadata API.
    pub modify_metadata: bool,
    /// `ManageUsers`: users, profiles' and permission sets' records.
    pub manage_users: bool,
}

impl UserPerms {
    /// Both sets together.
    #[must_use]
    pub fn union(self, o: Self) -> Self {
        Self {
            api_enabled: self.api_enabled || o.api_enabled,
            view_all_data: self.view_all_data || o.view_all_data,
            modify_all_data: self.modify_all_data || o.modify_all_data,
            customize_application: self.customize_application || o.customize_application,
            modify_metadata: self.modify_metadata || o.modify_metadata,
            manage_users: self.manage_users || o.manage_users,
        }
    }
}

/// A user's access: what their profile and permission sets grant, together.
#[derive(Debug, Clone)]
pub struct Access {
    /// The user.
    pub user: RecordId,
    /// Whether the user is active (`IsActive`): a deactivated user's tokens stop working.
    pub active: bool,
    /// Their user permissions.
    pub perms: UserPerms,
    /// What their standard profile grants without records.
    pub(crate) baseline: profiles::Baseline,
    /// Object permissions granted by records, by lower-case object name.
    pub(crate) objects: FastMap<String, ObjectPerms>,
    /// Field permissions granted by records, by lower-case `Object.Field`.
    pub(crate) fields: FastMap<String, FieldPerms>,
    /// What their access to records rests on: the role hierarchy below them, the
    /// records shared with them.
    pub(crate) reach: sharing::Reach,
}

impl Access {
    /// Nothing at all: a user the org does not have.
    pub fn nothing(user: RecordId) -> Self {
        Self {
            user,
            active: false,
            perms: UserPerms::default(),
            baseline: profiles::Baseline::Nothing,
            objects: FastMap::default(),
            fields: FastMap::default(),
            reach: sharing::Reach::default(),
        }
    }

    /// Everything: the administrator's access (and the org's own, for what it makes).
    pub fn everything(user: RecordId) -> Self {
        Self {
            user,
            active: true,
            perms: UserPerms {
                api_enabled: true,
                view_all_data: true,
                modify_all_data: true,
                customize_application: true,
                modify_metadata: true,
                manage_users: true,
            },
            baseline: profiles::Baseline::Everything,
            objects: FastMap::default(),
            fields: FastMap::default(),
            reach: sharing::Reach::default(),
        }
    }

    /// Whether nothing is ever refused (`ModifyAllData`): the common case, checked first
    /// so an administrator pays nothing.
    pub fn is_everything(&self) -> bool {
        self.perms.modify_all_data
    }

    /// Whether the user may change the schema through the Tooling API.
    pub fn customizes(&self) -> bool {
        self.perms.modify_all_data || self.perms.customize_application
    }

    /// Whether the user may use the Metadata API.
    pub fn uses_metadata_api(&self) -> bool {
        self.perms.modify_all_data || self.perms.modify_metadata
    }

    /// What the user may do with `object`'s records.
    pub fn object(&self, object: &ObjectDef) -> ObjectPerms {
        if self.is_everything() {
            return ObjectPerms::ALL;
        }
        // An object the Tooling API serves too (Apex, record types, static resources) is
        // setup: every user reads it, changing it needs Customize Application.
        // PushTopics and a user's preferences are every API user's to write.
        let setup = (object.tooling || object.also_tooling)
            && !matches!(object.name.as_str(), "PushTopic" | "UserPreference");
        self.object_named(&object.name, setup)
    }

    /// [`Access::object`] by the object's name (`setup`: one only Customize Application
    /// changes). An object whose access its parent controls (an opportunity's products, a
    /// case's comments) follows its parent's.
    pub fn object_named(&self, name: &str, setup: bool) -> ObjectPerms {
        if self.is_everything() {
            return ObjectPerms::ALL;
        }
        if setup && !profiles::permissionable(name) && !self.customizes() {
            return ObjectPerms::READ;
        }
        let name = profiles::controlling(name);
        let mut perms = if profiles::permissionable(name) {
            let granted = self
                .objects
                .get(name.to_ascii_lowercase().as_str())
                .copied()
                .unwrap_or_default();
            granted.union(self.baseline.object(name))
        } else {
            profiles::open_object(name, self.perms)
        };
        if self.perms.view_all_data {
            perms = perms.union(ObjectPerms {
                view_all: true,
                ..ObjectPerms::READ
            });
        }
        perms.settled()
    }

    /// Whether the user may see `object` at all (describe, queries).
    pub fn reads(&self, object: &ObjectDef) -> bool {
        self.is_everything() || self.object(object).read
    }

    /// What the user may do with `field` of `object` (nothing when the object is not
    /// readable). Whether the field itself may be written (a formula, an audit field) is
    /// the field's own business, checked apart.
    pub fn field(&self, object: &ObjectDef, field: &FieldDef) -> FieldPerms {
        if self.is_everything() {
            return FieldPerms {
                read: true,
                edit: true,
            };
        }
        let on_object = self.object(object);
        if !on_object.read {
            return FieldPerms::default();
        }
        let writes = on_object.create || on_object.edit;
        // An object every user reads (users, record types, setup objects) shows them
        // every field.
        if !profiles::permissionable(profiles::controlling(&object.name))
            || !fields::permissionable(field)
            || self.baseline.grants_field(&object.name, field)
        {
            return FieldPerms {
                read: true,
                edit: writes,
            };
        }
        let key = format!("{}.{}", object.name, field.name).to_ascii_lowercase();
        let granted = self.fields.get(&key).copied().unwrap_or_default();
        FieldPerms {
            read: granted.read || granted.edit,
            edit: granted.edit && writes,
        }
    }

    /// Whether the user sees `field` of `object`.
    pub fn sees(&self, object: &ObjectDef, field: &FieldDef) -> bool {
        self.is_everything() || self.field(object, field).read
    }
}

impl Access {
    /// A change event of `object` as this user may see it: the fields field-level
    /// security hides from them left out of its body and of its header's field lists
    /// (change events ignore sharing, as Salesforce's do). Both streaming APIs use it.
    pub fn hide_in_change_event(
        &self,
        object: &ObjectDef,
        doc: &mut forcebus_events::change::ChangeEvent,
    ) {
        let sees = |name: &str| {
            let top = name.split('.').next().unwrap_or(name);
            object.field(top).is_none_or(|f| self.sees(object, f))
        };
        doc.fields.retain(|k, _| sees(k));
        let h = &mut doc.header;
        for list in [
            &mut h.changed_fields,
            &mut h.nulled_fields,
            &mut h.diff_fields,
        ] {
            list.retain(|n| sees(n));
        }
    }
}

/// What a query by a user may name: the objects `visible` allows (the Tooling API's
/// endpoint sees fewer) that the user may read, and the fields they see.
pub struct Sight<'a> {
    /// The objects the endpoint shows.
    pub visible: &'a dyn Fn(&ObjectDef) -> bool,
    /// The querying user's access (`None`: the org itself, which sees everything).
    pub access: Option<&'a Access>,
}

impl std::fmt::Debug for Sight<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sight")
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl forcebus_soql::Visible for Sight<'_> {
    fn object(&self, object: &ObjectDef) -> bool {
        (self.visible)(object) && self.access.is_none_or(|a| a.reads(object))
    }

    fn field(&self, object: &ObjectDef, field: &FieldDef) -> bool {
        self.access.is_none_or(|a| a.sees(object, field))
    }
}
