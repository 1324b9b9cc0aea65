//! An sfdx project's schema, loaded at start (`forcebus serve --project DIR`, or the config
//! key `project`), so the emulated org has production's objects, fields and platform
//! events as the team keeps them in source control (`metadata-tooling.md` §9).
//!
//! The project's `sfdx-project.json` names its package directories; every `objects`
//! folder below them is read in source format: `objects/<Name>/<Name>.object-meta.xml`
//! (a `CustomObject`), `objects/<Name>/fields/*.field-meta.xml` (its `CustomField`s) and
//! `objects/<Name>/recordTypes/*.recordType-meta.xml` (its record types) and
//! `objects/<Name>/validationRules/*.validationRule-meta.xml` (its validation rules).
//! `__c` folders are custom objects, `__e` folders platform events, others fields added to
//! a standard object. Every `permissionsets` folder's `*.permissionset-meta.xml` is a
//! permission set, every `profiles` folder's `*.profile-meta.xml` a profile (a standard
//! one's own permissions added to, or a custom one), every `permissionsetgroups` folder's
//! `*.permissionsetgroup-meta.xml` a permission set group, made in the org at start;
//! every `sharingRules` folder's `<Object>.sharingRules-meta.xml` holds that object's
//! sharing rules. What a file declares goes through the Metadata API's mapping
//! ([`forcebus_org::declarations`]); a file it cannot read stops the start, naming the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Map, Value};

use forcebus_org::access::declared::{PermissionSetConfig, PermissionSetGroupConfig};
use forcebus_org::access::rules::SharingRuleConfig;
use forcebus_org::custom::{FieldConfig, ObjectConfig, RecordTypeConfig, ValidationRuleConfig};
use forcebus_org::declarations::{field_config, object_config, validation_rule_config};
use forcebus_org::platform::EventConfig;

/// Largest metadata file read (a field file is a few hundred bytes).
const MAX_FILE_BYTES: u64 = 1 << 20;
/// Most folders walked looking for `objects` folders.
const MAX_DIRS: usize = 10_000;

/// What a project declares.
#[derive(Debug, Default)]
pub(crate) struct Project {
    /// Custom objects and fields on standard objects, as the config file declares them.
    pub(crate) objects: BTreeMap<String, ObjectConfig>,
    /// Platform events.
    pub(crate) platform_events: BTreeMap<String, EventConfig>,
    /// Permission sets (`permissionsets/*.permissionset-meta.xml`).
    pub(crate) permission_sets: Vec<PermissionSetConfig>,
    /// Sharing rules (`sharingRules/<Object>.sharingRules-meta.xml`).
    pub(crate) sharing_rules: Vec<SharingRuleConfig>,
    /// Profiles (`profiles/*.profile-meta.xml`), each by its name with what it grants.
    pub(crate) profiles: Vec<PermissionSetConfig>,
    /// Permission set groups (`permissionsetgroups/*.permissionsetgroup-meta.xml`).
    pub(crate) permission_set_groups: Vec<PermissionSetGroupConfig>,
}

/// Reads the project at `dir`.
pub(crate) fn load(dir: &Path) -> anyhow::Result<Project> {
    let manifest = dir.join("sfdx-project.json");
    let text = std::fs::read_to_string(&manifest).with_context(|| {
        format!(
            "{} is not an sfdx project (no readable sfdx-project.json)",
            dir.display()
        )
    })?;
    let doc: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", manifest.display()))?;
    let packages: Vec<PathBuf> = doc["packageDirectories"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|p| p["path"].as_str())
                .map(|p| dir.join(p))
                .collect()
        })
        .unwrap_or_default();
    if packages.is_empty() {
        bail!("{} names no packageDirectories", manifest.display());
    }
    let mut project = Project::default();
    let mut seen = 0;
    for package in packages {
        for dir in metadata_dirs(&package, &mut seen)? {
            if dir.ends_with("permissionsets") {
                read_permission_sets(&dir, &mut project)?;
            } else if dir.ends_with("sharingRules") {
                read_sharing_rules(&dir, &mut project)?;
            } else if dir.ends_with("profiles") {
                for (name, meta) in access_files(&dir, ".profile-meta.xml", "Profile")? {
                    let profile = PermissionSetConfig::from_metadata(&name, &meta);
                    project.profiles.push(profile);
                }
            } else if dir.ends_with("permissionsetgroups") {
                let suffix = ".permissionsetgroup-meta.xml";
                for (name, meta) in access_files(&dir, suffix, "PermissionSetGroup")? {
                    let group = PermissionSetGroupConfig::from_metadata(&name, &meta);
                    project.permission_set_groups.push(group);
                }
            } else {
                read_objects(&dir, &mut project)?;
            }
        }
    }
    Ok(project)
}

/// One `sharingRules` folder: each `<Object>.sharingRules-meta.xml`.
fn read_sharing_rules(dir: &Path, project: &mut Project) -> anyhow::Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files {
        let Some(object) = file
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".sharingRules-meta.xml"))
        else {
            continue;
        };
        let meta = Value::Object(read(&file, "SharingRules")?);
        project
            .sharing_rules
            .extend(forcebus_org::access::rules::from_metadata(object, &meta));
    }
    Ok(())
}

/// One `permissionsets` folder: each `<Name>.permissionset-meta.xml`.
fn read_permission_sets(dir: &Path, project: &mut Project) -> anyhow::Result<()> {
    for (name, meta) in access_files(dir, ".permissionset-meta.xml", "PermissionSet")? {
        project
            .permission_sets
            .push(PermissionSetConfig::from_metadata(&name, &meta));
    }
    Ok(())
}

/// The files of folder `dir` named `<Name>{suffix}`, in name order: each one's name and
/// its Metadata (a `kind`).
fn access_files(dir: &Path, suffix: &str, kind: &str) -> anyhow::Result<Vec<(String, Value)>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let Some(name) = file
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(suffix))
        else {
            continue;
        };
        out.push((name.to_owned(), Value::Object(read(&file, kind)?)));
    }
    Ok(out)
}

/// Every folder named `objects`, `permissionsets`, `profiles`, `permissionsetgroups` or
/// `sharingRules` under `root`.
fn metadata_dirs(root: &Path, seen: &mut usize) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        *seen += 1;
        if *seen > MAX_DIRS {
            bail!("the project has more than {MAX_DIRS} folders");
        }
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let access = [
                "permissionsets",
                "profiles",
                "permissionsetgroups",
                "sharingRules",
            ];
            if path
                .file_name()
                .is_some_and(|n| n == "objects" || access.iter().any(|a| n == *a))
            {
                out.push(path);
            } else {
                todo.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// One `objects` folder: each object folder's object file and field files.
fn read_objects(objects: &Path, project: &mut Project) -> anyhow::Result<()> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(objects)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    names.sort();
    for folder in names {
        let name = folder
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let object_file = folder.join(format!("{name}.object-meta.xml"));
        let meta = if object_file.exists() {
            Some(read(&object_file, "CustomObject")?)
        } else {
            None
        };
        let fields = read_fields(&folder.join("fields"))?;
        if name.ends_with("__e") {
            let config = meta
                .as_ref()
                .map(object_config)
                .transpose()
                .map_err(|e| anyhow::anyhow!("{}: {}", object_file.display(), e.message))?;
            project.platform_events.insert(
                name,
                EventConfig {
                    label: config.as_ref().and_then(|c| c.label.clone()),
                    plural_label: config.and_then(|c| c.plural_label),
                    fields,
                    ..EventConfig::default()
                },
            );
            continue;
        }
        let mut config = match (&meta, name.ends_with("__c")) {
            (Some(m), true) => object_config(m)
                .map_err(|e| anyhow::anyhow!("{}: {}", object_file.display(), e.message))?,
            (None, true) => bail!(
                "{} is missing: a custom object needs its object file",
                object_file.display()
            ),
            // A standard object's file: whether it keeps field history, and its
            // organization-wide default.
            (Some(m), false) => ObjectConfig {
                enable_history: m
                    .get("enableHistory")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v == "true"),
                sharing_model: m
                    .get("sharingModel")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                ..ObjectConfig::default()
            },
            _ => ObjectConfig::default(),
        };
        config.fields.extend(fields);
        config.record_types = read_record_types(&folder.join("recordTypes"))?;
        config
            .validation_rules
            .extend(read_validation_rules(&folder.join("validationRules"))?);
        if !config.fields.is_empty()
            || !config.record_types.is_empty()
            || !config.validation_rules.is_empty()
            || config.enable_history
            || config.sharing_model.is_some()
            || name.ends_with("__c")
        {
            project.objects.insert(name, config);
        }
    }
    Ok(())
}

/// A component file of an object folder: its path, the name it declares, its Metadata.
type Component = (PathBuf, String, Map<String, Value>);

/// The files of `dir` ending in `suffix`, in name order, each read as a `kind` with the
/// name it declares (its `fullName`, else the file's name without `suffix`); none when
/// there is no such folder.
fn components(dir: &Path, suffix: &str, kind: &str) -> anyhow::Result<Vec<Component>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let meta = read(&file, kind)?;
            let stem = file
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(suffix))
                .unwrap_or_default();
            let name = meta
                .get("fullName")
                .and_then(Value::as_str)
                .unwrap_or(stem)
                .to_owned();
            Ok((file, name, meta))
        })
        .collect()
}

/// An object folder's `fields/*.field-meta.xml`, in name order.
fn read_fields(dir: &Path) -> anyhow::Result<Vec<FieldConfig>> {
    components(dir, ".field-meta.xml", "CustomField")?
        .into_iter()
        .map(|(file, name, meta)| {
            field_config(&name, &meta)
                .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.message))
        })
        .collect()
}

/// An object folder's `validationRules/*.validationRule-meta.xml`, in name order.
fn read_validation_rules(dir: &Path) -> anyhow::Result<Vec<ValidationRuleConfig>> {
    components(dir, ".validationRule-meta.xml", "ValidationRule")?
        .into_iter()
        .map(|(file, name, meta)| {
            validation_rule_config(&name, &meta)
                .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.message))
        })
        .collect()
}

/// An object folder's `recordTypes/*.recordType-meta.xml`, in name order: each one's
/// API name (its `fullName`, else the file's), label, whether it is active, description.
fn read_record_types(dir: &Path) -> anyhow::Result<Vec<RecordTypeConfig>> {
    let types = components(dir, ".recordType-meta.xml", "RecordType")?;
    Ok(types
        .into_iter()
        .map(|(_, developer, meta)| {
            let text = |k: &str| meta.get(k).and_then(Value::as_str).map(str::to_owned);
            RecordTypeConfig {
                name: text("label").unwrap_or_else(|| developer.clone()),
                developer_name: Some(developer),
                active: text("active").is_none_or(|a| a == "true"),
                description: text("description"),
            }
        })
        .collect())
}

/// A metadata file's root element (which must be `kind`) as Metadata JSON.
fn read(file: &Path, kind: &str) -> anyhow::Result<Map<String, Value>> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    if size > MAX_FILE_BYTES {
        bail!("{} is larger than {MAX_FILE_BYTES} bytes", file.display());
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let root = forcebus_xml::parse(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not well-formed XML: {e}", file.display()))?;
    if root.name != kind {
        bail!("{} holds a {}, not a {kind}", file.display(), root.name);
    }
    Ok(forcebus_xml::json::to_json(&root))
}
