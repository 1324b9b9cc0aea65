//! Permission sets as a project or the config file declares them: the Metadata API's
//! `PermissionSet` (`objectPermissions`, `fieldPermissions`, `userPermissions`), made
//! into the org's `PermissionSet`, `ObjectPermissions` and `FieldPermissions` records at
//! start.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use forcebus_schema::declarations::repeated;

/// One declared permission set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionSetConfig {
    /// The API name (`Name`).
    pub name: String,
    /// The label; the name when unset.
    #[serde(default)]
    pub label: Option<String>,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// User permissions granted, by name (`ApiEnabled`, `ViewAllData`, ...).
    #[serde(default)]
    pub user_permissions: Vec<String>,
    /// Object permissions, by object name.
    #[serde(default)]
    pub objects: BTreeMap<String, ObjectGrant>,
    /// Field permissions, by `Object.Field`.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldGrant>,
}

/// What a permission set grants on one object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ObjectGrant {
    /// Read.
    pub read: bool,
    /// Create.
    pub create: bool,
    /// Edit.
    pub edit: bool,
    /// Delete.
    pub delete: bool,
    /// View all records.
    pub view_all: bool,
    /// Modify all records.
    pub modify_all: bool,
}

/// What a permission set grants on one field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldGrant {
    /// Read.
    pub read: bool,
    /// Edit.
    pub edit: bool,
}

impl PermissionSetConfig {
    /// A permission set from its Metadata (as `forcebus-xml` reads a
    /// `.permissionset-meta.xml` file into JSON) named `name`.
    pub fn from_metadata(name: &str, meta: &Value) -> Self {
        let text = |v: &Value, key: &str| v.get(key).and_then(scalar);
        let flag = |v: &Value, key: &str| text(v, key).is_some_and(|t| t == "true");
        let mut out = Self {
            name: name.to_owned(),
            label: text(meta, "label"),
            description: text(meta, "description"),
            ..Self::default()
        };
        for p in repeated(meta.get("userPermissions")) {
            if flag(p, "enabled")
                && let Some(n) = text(p, "name")
            {
                out.user_permissions.push(n);
            }
        }
        for p in repeated(meta.get("objectPermissions")) {
            if let Some(object) = text(p, "object") {
                out.objects.insert(
                    object,
                    ObjectGrant {
                        read: flag(p, "allowRead"),
                        create: flag(p, "allowCreate"),
                        edit: flag(p, "allowEdit"),
                        delete: flag(p, "allowDelete"),
                        view_all: flag(p, "viewAllRecords"),
                        modify_all: flag(p, "modifyAllRecords"),
                    },
                );
            }
        }
        for p in repeated(meta.get("fieldPermissions")) {
            if let Some(field) = text(p, "field") {
                out.fields.insert(
                    field,
                    FieldGrant {
                        read: flag(p, "readable"),
                        edit: flag(p, "editable"),
                    },
                );
            }
        }
        out
    }

    /// The permission set as a `PermissionSet` Metadata document (the JSON
    /// `forcebus_xml::json::write_children` writes as XML): its description, field
    /// permissions, label, object permissions and user permissions, in the order the
    /// Metadata API's schema gives them.
    #[must_use]
    pub fn to_metadata(&self) -> Value {
        let mut doc = Map::new();
        if let Some(d) = &self.description {
            doc.insert("description".into(), Value::from(d.as_str()));
        }
        let fields: Vec<Value> = self
            .fields
            .iter()
            .map(|(field, g)| json!({"editable": g.edit, "field": field, "readable": g.read || g.edit}))
            .collect();
        if !fields.is_empty() {
            doc.insert("fieldPermissions".into(), Value::Array(fields));
        }
        let label = self.label.as_deref().unwrap_or(&self.name);
        doc.insert("label".into(), Value::from(label));
        let objects: Vec<Value> = self
            .objects
            .iter()
            .map(|(object, g)| {
                json!({
                    "allowCreate": g.create,
                    "allowDelete": g.delete,
                    "allowEdit": g.edit,
                    "allowRead": g.read,
                    "modifyAllRecords": g.modify_all,
                    "object": object,
                    "viewAllRecords": g.view_all,
                })
            })
            .collect();
        if !objects.is_empty() {
            doc.insert("objectPermissions".into(), Value::Array(objects));
        }
        let users: Vec<Value> = self
            .user_permissions
            .iter()
            .map(|name| json!({"enabled": true, "name": name}))
            .collect();
        if !users.is_empty() {
            doc.insert("userPermissions".into(), Value::Array(users));
        }
        Value::Object(doc)
    }

    /// What the permission set becomes when `declared` is applied over it, as
    /// `Org::ensure_permission_sets` applies one: the label replaced, the description
    /// when one is given, user permissions added, each object's and field's grant added
    /// or replaced (a field's edit brings its read).
    #[must_use]
    pub fn applied(&self, declared: &Self) -> Self {
        let mut out = self.clone();
        out.label = Some(
            declared
                .label
                .clone()
                .unwrap_or_else(|| declared.name.clone()),
        );
        if declared.description.is_some() {
            out.description.clone_from(&declared.description);
        }
        for p in &declared.user_permissions {
            if !out
                .user_permissions
                .iter()
                .any(|q| q.eq_ignore_ascii_case(p))
            {
                out.user_permissions.push(p.clone());
            }
        }
        out.user_permissions.sort();
        out.objects
            .extend(declared.objects.iter().map(|(k, v)| (k.clone(), *v)));
        out.fields.extend(declared.fields.iter().map(|(k, g)| {
            let grant = FieldGrant {
                read: g.read || g.edit,
                edit: g.edit,
            };
            (k.clone(), grant)
        }));
        out
    }
}

/// One declared permission set group: the Metadata API's `PermissionSetGroup`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionSetGroupConfig {
    /// The API name (`DeveloperName`).
    pub name: String,
    /// The label (`MasterLabel`); the name when unset.
    #[serde(default)]
    pub label: Option<String>,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// The permission sets it holds, by name.
    #[serde(default)]
    pub permission_sets: Vec<String>,
}

impl PermissionSetGroupConfig {
    /// A group from its Metadata (a `.permissionsetgroup-meta.xml` file as JSON) named
    /// `name`: its label, description and `permissionSets`.
    pub fn from_metadata(name: &str, meta: &Value) -> Self {
        let permission_sets = match meta.get("permissionSets") {
            Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
            Some(one) => scalar(one).into_iter().collect(),
            None => Vec::new(),
        };
        Self {
            name: name.to_owned(),
            label: meta.get("label").and_then(scalar),
            description: meta.get("description").and_then(scalar),
            permission_sets,
        }
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_reads_every_kind_of_permission() {
        let meta = json!({
            "label": "Sync",
            "userPermissions": {"enabled": "true", "name": "ApiEnabled"},
            "objectPermissions": [
                {"object": "Account", "allowRead": "true", "allowEdit": "true"},
                {"object": "Invoice__c", "allowRead": "true", "allowCreate": true}
            ],
            "fieldPermissions": [{"field": "Account.Rating", "readable": "true", "editable": "false"}]
        });
        let ps = PermissionSetConfig::from_metadata("Sync_Integration", &meta);
        assert_eq!(ps.label.as_deref(), Some("Sync"));
        assert_eq!(ps.user_permissions, ["ApiEnabled"]);
        assert!(ps.objects["Account"].edit && !ps.objects["Account"].create);
        assert!(ps.objects["Invoice__c"].create);
        assert_eq!(
            ps.fields["Account.Rating"],
            FieldGrant {
                read: true,
                edit: false
            }
        );
    }
}
