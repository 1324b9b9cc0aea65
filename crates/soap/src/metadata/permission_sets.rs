//! `PermissionSet` through the Metadata API: a deploy's `permissionsets/<Name>.permissionset`
//! files applied to the org's records (each created, changed or unchanged; one naming an
//! object, field or user permission the org lacks fails with Salesforce's message), and
//! the CRUD and reading calls and retrieves, which give a set back as Metadata built from
//! the org's `PermissionSet`, `ObjectPermissions` and `FieldPermissions` records.

use std::sync::Arc;

use serde_json::Value;

use forcebus_org::components::StoredComponent;

use forcebus_org::access::declared::PermissionSetConfig;
use forcebus_org::org::deploy::{Component, Deployed};
use forcebus_org::org::permission_sets::permission_set_document;
use forcebus_org::{Code, OrgError};
use forcebus_xml::json::to_json;
use forcebus_xml::{Element, parse};

use crate::metadata::verbatim::Files;

/// The type's name.
pub(crate) const PERMISSION_SET: &str = "PermissionSet";

/// A permission set a deploy's zip declares.
#[derive(Debug, Clone)]
pub(crate) struct Declared {
    pub(crate) config: PermissionSetConfig,
    /// Its file in the zip.
    pub(crate) file: String,
}

/// The file of set `full` in a zip (under the package's root).
pub(crate) fn file_of(full: &str) -> String {
    format!("permissionsets/{full}.permissionset")
}

/// The sets a package's member `member` names (`*`: every one in the zip), read from
/// the zip's `files` under `base` into `sets`; a member whose file is missing or
/// unreadable is a failed component, in `refused`.
pub(crate) fn from_zip(
    (files, base): (&Files, &str),
    member: &str,
    sets: &mut Vec<Declared>,
    refused: &mut Vec<Component>,
) {
    let names: Vec<String> = if member == "*" {
        let dir = format!("{base}permissionsets/");
        files
            .keys()
            .filter_map(|p| p.strip_prefix(&dir)?.strip_suffix(".permissionset"))
            .filter(|n| !n.contains('/'))
            .map(str::to_owned)
            .collect()
    } else {
        vec![member.to_owned()]
    };
    for name in names {
        let file = format!("{base}{}", file_of(&name));
        let failed = |problem: String| Component {
            kind: PERMISSION_SET.to_owned(),
            full_name: name.clone(),
            file: file.clone(),
            outcome: Err(OrgError::new(Code::InvalidInput, problem)),
        };
        let Some(bytes) = files.get(&file) else {
            refused.push(failed(format!(
                "An object '{name}' of type PermissionSet was named in package.xml, but was not found in zipped directory"
            )));
            continue;
        };
        match parse(bytes) {
            Ok(root) => {
                let meta = Value::Object(to_json(&root));
                sets.push(Declared {
                    config: PermissionSetConfig::from_metadata(&name, &meta),
                    file,
                });
            }
            Err(e) => refused.push(failed(format!("Error parsing file: {e}"))),
        }
    }
}

/// A deploy's permission sets: deletions (each a destructive manifest's member, with the
/// manifest), then sets made, changed or unchanged; applied when `apply` (and, with
/// `rollback`, only when every one of them passes its check), else only checked.
pub(crate) async fn deploy(
    app: &crate::State,
    declared: Vec<Declared>,
    deletions: Vec<(String, String)>,
    (apply, rollback): (bool, bool),
) -> Vec<Component> {
    let org = app.org.clone();
    let done = crate::blocking(move || {
        let pass = |apply: bool| {
            let mut report = Vec::new();
            for (full, file) in &deletions {
                let outcome = match (org.permission_set_id(full), apply) {
                    (None, _) => Ok(Deployed::Missing),
                    (Some(_), false) => Ok(Deployed::Deleted),
                    (Some(_), true) => org.delete_permission_set(full).map(|()| Deployed::Deleted),
                };
                report.push(component(full.clone(), file.clone(), outcome));
            }
            for d in &declared {
                let outcome = org.deploy_permission_set(&d.config, apply);
                report.push(component(d.config.name.clone(), d.file.clone(), outcome));
            }
            report
        };
        if apply && rollback {
            let checked = pass(false);
            if checked.iter().any(|c| c.outcome.is_err()) {
                return checked;
            }
        }
        pass(apply)
    })
    .await;
    done.unwrap_or_default()
}

fn component(full_name: String, file: String, outcome: Result<Deployed, OrgError>) -> Component {
    Component {
        kind: PERMISSION_SET.to_owned(),
        full_name,
        file,
        outcome,
    }
}

/// Whether the org has set `full`.
pub(crate) fn exists(app: &crate::State, full: &str) -> bool {
    app.org.permission_set_id(full).is_some()
}

/// Makes set `full` from component `m`, or brings the one of that name up to date
/// (`create`: refused when it exists). Whether it was made.
pub(crate) async fn save(
    app: &crate::State,
    m: &Element,
    full: &str,
    create: bool,
) -> Result<bool, OrgError> {
    if create && exists(app, full) {
        return Err(OrgError::new(
            Code::DuplicateDeveloperName,
            format!("There is already a permission set named {full}."),
        ));
    }
    let config = PermissionSetConfig::from_metadata(full, &Value::Object(to_json(m)));
    let org = app.org.clone();
    crate::blocking(move || org.deploy_permission_set(&config, true))
        .await
        .map_err(|e| OrgError::new(Code::UnknownException, format!("{e:?}")))?
        .map(|d| d == Deployed::Created)
}

/// Deletes set `full`.
pub(crate) async fn delete(app: &crate::State, full: &str) -> Result<(), OrgError> {
    let (org, full) = (app.org.clone(), full.to_owned());
    crate::blocking(move || org.delete_permission_set(&full))
        .await
        .map_err(|e| OrgError::new(Code::UnknownException, format!("{e:?}")))?
}

/// Set `full` as `readMetadata` shows it, if the org has it.
pub(crate) fn read(app: &crate::State, full: &str) -> Option<Value> {
    app.org
        .permission_set_config(full)
        .map(|c| permission_set_document(&c))
}

/// What a retrieve's member `member` names (that set, or `*` every one of the org),
/// entered in `wanted` to be built from the org's records, or in `kept` when the org
/// holds exactly what the file it was deployed from declares (that file is given back
/// byte for byte, with what this server does not model: `classAccesses`, ...).
pub(crate) fn wanted(
    app: &crate::State,
    member: &str,
    (wanted, kept): (
        &mut Vec<(&'static str, String)>,
        &mut Vec<Arc<StoredComponent>>,
    ),
) {
    let names: Vec<String> = if member == "*" {
        list(app).into_iter().map(|(full, _, _)| full).collect()
    } else {
        vec![member.to_owned()]
    };
    for name in names {
        let file = app.org.component(PERMISSION_SET, &name).filter(|c| {
            let main = c.files.iter().find(|(p, _)| p.ends_with(".permissionset"));
            main.and_then(|(_, bytes)| parse(bytes).ok())
                .map(|root| {
                    PermissionSetConfig::from_metadata(&name, &Value::Object(to_json(&root)))
                })
                .is_some_and(|declared| app.org.permission_set_is(&declared))
        });
        match file {
            Some(c) if !kept.iter().any(|k| Arc::ptr_eq(k, &c)) => kept.push(c),
            Some(_) => {}
            None => wanted.push((PERMISSION_SET, name)),
        }
    }
}

/// Every set of the org (not profiles' own), for `listMetadata`: its full name, its file
/// and its id.
pub(crate) fn list(app: &crate::State) -> Vec<(String, String, String)> {
    app.org
        .permission_set_names()
        .into_iter()
        .map(|(name, id)| (file_of(&name), name, id.to18()))
        .map(|(file, name, id)| (name, file, id))
        .collect()
}
