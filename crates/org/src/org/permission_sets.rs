//! Permission sets as Metadata components, for the Metadata API: a set read back from
//! the org's `PermissionSet`, `ObjectPermissions` and `FieldPermissions` records, a
//! declared one checked against the schema and applied (reported as a deploy reports a
//! component: created, changed or unchanged), and a set deleted with what it grants.

use serde_json::Value;

use crate::access::declared::{FieldGrant, ObjectGrant, PermissionSetConfig};
use crate::caller::Caller;
use crate::id::RecordId;
use crate::org::deploy::Deployed;
use crate::record::Record;
use crate::txn::Op;
use crate::{Code, Org, OrgError};

/// The prefix of a `PermissionSet` field that is a user permission.
const PERMISSIONS: &str = "Permissions";

impl Org {
    /// Every permission set of the org that is not a profile's own: its name and id, in
    /// the order they were made.
    pub fn permission_set_names(&self) -> Vec<(String, RecordId)> {
        self.scan("PermissionSet", |p| {
            if p.is_deleted || p.get("IsOwnedByProfile") == true {
                return None;
            }
            Some((p.get_str("Name")?.to_owned(), p.id))
        })
    }

    /// Permission set `name` (any case; not a profile's own) as Metadata declares it,
    /// read from its records: its label, description, user permissions, and the object
    /// and field permissions of its `ObjectPermissions` and `FieldPermissions` rows.
    pub fn permission_set_config(&self, name: &str) -> Option<PermissionSetConfig> {
        let id = self.permission_set_id(name)?;
        let set = self.get(id)?;
        Some(self.config_of(&set))
    }

    fn config_of(&self, set: &Record) -> PermissionSetConfig {
        let schema = self.schema();
        let object_name = |o: &str| {
            schema
                .object(o)
                .map_or_else(|| o.to_owned(), |d| d.name.clone())
        };
        let mut user_permissions: Vec<String> = set
            .fields
            .keys()
            .filter(|k| k.len() > PERMISSIONS.len() && k.starts_with(PERMISSIONS))
            .filter(|k| set.get(k) == true)
            .map(|k| k[PERMISSIONS.len()..].to_owned())
            .collect();
        user_permissions.sort();
        let mut out = PermissionSetConfig {
            name: set.get_str("Name").unwrap_or_default().to_owned(),
            label: set.get_str("Label").map(str::to_owned),
            description: set.get_str("Description").map(str::to_owned),
            user_permissions,
            ..PermissionSetConfig::default()
        };
        let flag = |r: &Record, f: &str| r.get(f) == true;
        for (object, grant) in self.grants_of(set.id, "ObjectPermissions", |r| ObjectGrant {
            read: flag(r, "PermissionsRead"),
            create: flag(r, "PermissionsCreate"),
            edit: flag(r, "PermissionsEdit"),
            delete: flag(r, "PermissionsDelete"),
            view_all: flag(r, "PermissionsViewAllRecords"),
            modify_all: flag(r, "PermissionsModifyAllRecords"),
        }) {
            out.objects.insert(object_name(&object), grant);
        }
        for (field, grant) in self.grants_of(set.id, "FieldPermissions", |r| FieldGrant {
            read: flag(r, "PermissionsRead"),
            edit: flag(r, "PermissionsEdit"),
        }) {
            let field = canonical_field(&schema, &field).unwrap_or(field);
            out.fields.insert(field, grant);
        }
        out
    }

    /// The grant rows of `kind` under permission set `parent`: each one's object (or
    /// `Object.Field`) and what `read` makes of it.
    fn grants_of<G>(
        &self,
        parent: RecordId,
        kind: &str,
        read: impl Fn(&Record) -> G,
    ) -> Vec<(String, G)> {
        let key = if kind == "FieldPermissions" {
            "Field"
        } else {
            "SobjectType"
        };
        self.scan(kind, |r| {
            if r.is_deleted || r.get_str("ParentId").and_then(RecordId::parse) != Some(parent) {
                return None;
            }
            Some((r.get_str(key)?.to_owned(), read(r)))
        })
    }

    /// `declared` with every name the schema's spelling: its objects, fields and user
    /// permissions. A name the org does not have is refused with Salesforce's message.
    pub fn canonical_permission_set(
        &self,
        declared: &PermissionSetConfig,
    ) -> Result<PermissionSetConfig, OrgError> {
        let schema = self.schema();
        let mut out = PermissionSetConfig {
            objects: Default::default(),
            fields: Default::default(),
            user_permissions: Vec::new(),
            ..declared.clone()
        };
        for (object, grant) in &declared.objects {
            let def = schema.object(object).ok_or_else(|| {
                OrgError::new(
                    Code::InvalidCrossReferenceKey,
                    format!("In field: object - no CustomObject named {object} found"),
                )
            })?;
            out.objects.insert(def.name.clone(), *grant);
        }
        for (field, grant) in &declared.fields {
            let name = canonical_field(&schema, field).ok_or_else(|| {
                OrgError::new(
                    Code::InvalidCrossReferenceKey,
                    format!("In field: field - no CustomField named {field} found"),
                )
            })?;
            out.fields.insert(name, *grant);
        }
        let set = schema.object("PermissionSet");
        for p in &declared.user_permissions {
            let field = format!("{PERMISSIONS}{p}");
            let def = set.and_then(|d| d.field(&field)).ok_or_else(|| {
                OrgError::new(Code::InvalidInput, format!("Unknown user permission: {p}"))
            })?;
            let name = def.name[PERMISSIONS.len()..].to_owned();
            if !out.user_permissions.contains(&name) {
                out.user_permissions.push(name);
            }
        }
        out.user_permissions.sort();
        Ok(out)
    }

    /// Deploys permission set `declared`: checked against the schema, then (when
    /// `apply`) made or brought up to date. Created when the org had no set of its name,
    /// Unchanged when applying it would change nothing, else Changed.
    pub fn deploy_permission_set(
        &self,
        declared: &PermissionSetConfig,
        apply: bool,
    ) -> Result<Deployed, OrgError> {
        let canonical = self.canonical_permission_set(declared)?;
        let outcome = match self.permission_set_config(&canonical.name) {
            None => Deployed::Created,
            Some(now) if now.applied(&canonical) == now => return Ok(Deployed::Unchanged),
            Some(_) => Deployed::Changed,
        };
        if apply {
            self.ensure_permission_sets(std::slice::from_ref(&canonical))
                .map_err(|e| OrgError::new(Code::InvalidInput, e.to_string()))?;
        }
        Ok(outcome)
    }

    /// Whether the org's permission set of `declared`'s name is exactly what `declared`
    /// says (nothing granted since by another hand): a retrieve may then give back the
    /// file it was deployed from.
    pub fn permission_set_is(&self, declared: &PermissionSetConfig) -> bool {
        let Ok(canonical) = self.canonical_permission_set(declared) else {
            return false;
        };
        let Some(now) = self.permission_set_config(&canonical.name) else {
            return false;
        };
        let alone = PermissionSetConfig {
            name: now.name.clone(),
            ..PermissionSetConfig::default()
        };
        alone.applied(&canonical) == now
    }

    /// Deletes permission set `name` (not a profile's own) with its object and field
    /// permissions and its assignments.
    pub fn delete_permission_set(&self, name: &str) -> Result<(), OrgError> {
        let id = self.permission_set_id(name).ok_or_else(|| {
            OrgError::new(
                Code::InvalidCrossReferenceKey,
                format!("In field: fullName - no PermissionSet named {name} found"),
            )
        })?;
        let mut ops = Vec::new();
        for (kind, key) in [
            ("ObjectPermissions", "ParentId"),
            ("FieldPermissions", "ParentId"),
            ("PermissionSetAssignment", "PermissionSetId"),
            ("PermissionSetGroupComponent", "PermissionSetId"),
        ] {
            ops.extend(self.scan(kind, |r| {
                (!r.is_deleted && r.get_str(key).and_then(RecordId::parse) == Some(id)).then(|| {
                    Op::Delete {
                        object: None,
                        id: r.id.to18(),
                    }
                })
            }));
        }
        ops.push(Op::Delete {
            object: None,
            id: id.to18(),
        });
        self.run_setup(ops)
    }

    /// Runs `ops` as the org's own setup, all or none.
    fn run_setup(&self, ops: Vec<Op>) -> Result<(), OrgError> {
        let Some(owner) = self.scan("User", |r| Some(r.id)).into_iter().next() else {
            return Ok(());
        };
        let mode = crate::Mode {
            all_or_none: true,
            bulk_load: false,
            seed: false,
        };
        let failed =
            |e: forcebus_store::StoreError| OrgError::new(Code::UnknownException, e.to_string());
        let result = self
            .execute(&Caller::org_setup(owner), ops, mode)
            .map_err(failed)?
            .wait()
            .map_err(failed)?;
        result
            .results
            .into_iter()
            .find_map(Result::err)
            .map_or(Ok(()), Err)
    }
}

/// `Object.Field` as the schema spells it, if the org has that field.
fn canonical_field(schema: &crate::meta::Schema, full: &str) -> Option<String> {
    let (object, field) = full.split_once('.')?;
    let def = schema.object(object)?;
    let f = def.field(field)?;
    Some(format!("{}.{}", def.name, f.name))
}

/// The JSON of a permission set's Metadata document, with its `fullName` first.
#[must_use]
pub fn permission_set_document(set: &PermissionSetConfig) -> Value {
    let mut doc = serde_json::Map::new();
    doc.insert("fullName".into(), Value::from(set.name.as_str()));
    if let Value::Object(rest) = set.to_metadata() {
        doc.extend(rest);
    }
    Value::Object(doc)
}
