//! A deploy's zip read (`metadata-tooling.md` §5.2, §8): its `package.xml` (at the root or
//! in one folder), the `objects/<Name>.object` files its `CustomObject` and `CustomField`
//! members name, the files of its `PlatformEventChannel` and `PlatformEventChannelMember`
//! members, its `PermissionSet` members' `permissionsets/<Name>.permissionset` files, and
//! the destructive manifests beside it (`destructiveChangesPre.xml`,
//! `destructiveChanges.xml`, `destructiveChangesPost.xml`). What it names but this server
//! cannot deploy becomes a failed component, not a failed deploy. Unzipping is bounded:
//! entries, and the total unpacked size.

use std::collections::BTreeMap;
use std::io::Read as _;

use serde_json::{Map, Value};

use forcebus_org::custom::ObjectConfig;
use forcebus_org::declarations::{nested_fields, nested_validation_rules, object_config};
use forcebus_org::org::deploy::{Component, Declared, Deletion};
use forcebus_org::{Code, OrgError};

use crate::metadata::verbatim::{Files, Members, Zip};
use crate::metadata::{channels, permission_sets};
use forcebus_xml::{Element, parse};

/// Most entries a deploy zip may hold.
const MAX_ENTRIES: usize = 10_000;
/// Most bytes a deploy zip may unpack to.
const MAX_UNPACKED: u64 = 64 << 20;

/// The destructive manifests, and whether each goes after the declarations.
const DESTRUCTIVE: [(&str, bool); 3] = [
    ("destructiveChangesPre.xml", false),
    ("destructiveChanges.xml", false),
    ("destructiveChangesPost.xml", true),
];

/// What a deploy's zip asks for.
#[derive(Debug, Default)]
pub(crate) struct Package {
    /// Objects and platform events, with the fields named.
    pub(crate) declared: Vec<Declared>,
    /// Components the destructive manifests name.
    pub(crate) deletions: Vec<Deletion>,
    /// Members named that cannot be deployed, each a failure.
    pub(crate) refused: Vec<Component>,
    /// Platform event channels and members.
    pub(crate) channels: Vec<channels::Declared>,
    /// Channels and members the destructive manifests name: type, full name, manifest.
    pub(crate) channel_deletions: Vec<(&'static str, String, String)>,
    /// Components kept as sent, each with the file its message names.
    pub(crate) verbatim: Vec<(forcebus_org::components::StoredComponent, String)>,
    /// Members reported deployed without a change of their own (a `ValidationRule` in
    /// an `.object` file).
    pub(crate) accepted: Vec<Component>,
    /// Permission sets, applied to the org's records.
    pub(crate) permission_sets: Vec<permission_sets::Declared>,
    /// Permission sets the destructive manifests name: full name, manifest.
    pub(crate) permission_set_deletions: Vec<(String, String)>,
}

/// The text of the zip's file `path`, if it has one in UTF-8.
pub(crate) fn text<'a>(files: &'a Files, path: &str) -> Option<&'a str> {
    files.get(path).and_then(|b| std::str::from_utf8(b).ok())
}

/// Reads a deploy's zip.
pub(crate) fn read_package(bytes: &[u8]) -> Result<Package, String> {
    let files = unzip(bytes)?;
    let (base, manifest) = files
        .iter()
        .find(|(name, _)| {
            name.rsplit('/').next() == Some("package.xml") && name.matches('/').count() <= 1
        })
        .map(|(name, text)| {
            (
                name.trim_end_matches("package.xml").to_owned(),
                text.clone(),
            )
        })
        .ok_or("No package.xml found")?;
    let package = parse(&manifest).map_err(|e| format!("package.xml is not well-formed: {e}"))?;
    let mut out = Package::default();
    let mut kept = Zip::new(&files, &base);
    let mut taken = Members::default();
    let mut objects: BTreeMap<String, Option<Only>> = BTreeMap::new();
    for (kind, member) in members(&package) {
        match (kind, member.split_once('.')) {
            ("CustomObject", _) => {
                objects.insert(member, None);
            }
            ("CustomField" | "ValidationRule", Some((o, f))) => name_part(&mut objects, kind, o, f),
            (permission_sets::PERMISSION_SET, _) => {
                let (sets, refused) = (&mut out.permission_sets, &mut out.refused);
                let before = sets.len();
                permission_sets::from_zip((&files, &base), &member, sets, refused);
                // Its file kept too, for a retrieve while the org holds what it says.
                if out.permission_sets.len() > before
                    && let Some(t) = crate::metadata::types::named(kind)
                {
                    kept.member(&mut taken, t, &member);
                }
            }
            _ => match channels::type_of(kind) {
                Some(kind) => channel(&mut out, &files, &base, kind, member),
                None => match crate::metadata::types::named(kind) {
                    Some(t) => kept.member(&mut taken, t, &member),
                    None => out
                        .refused
                        .push(not_deployed(kind, &member, "package.xml", &files)),
                },
            },
        }
    }
    out.verbatim = taken.verbatim;
    out.accepted = taken.accepted;
    out.refused.extend(taken.refused);
    for (name, only) in objects {
        let file = format!("{base}objects/{name}.object");
        let Some(text) = text(&files, &file) else {
            out.refused.push(Component {
                kind: "CustomObject".to_owned(),
                full_name: name.clone(),
                file,
                outcome: Err(OrgError::new(Code::InvalidInput, format!("An object '{name}' of type CustomObject was named in package.xml, but was not found in zipped directory"))),
            });
            continue;
        };
        match declaration(&name, text, only.as_ref()) {
            Ok(config) => out.declared.push(Declared {
                name,
                config,
                whole: only.is_none(),
                file,
            }),
            Err(e) => out.refused.push(Component {
                kind: "CustomObject".to_owned(),
                full_name: name,
                file,
                outcome: Err(e),
            }),
        }
    }
    for (manifest, post) in DESTRUCTIVE {
        if let Some(text) = text(&files, &format!("{base}{manifest}")) {
            destructive(&mut out, manifest, text, post)?;
        }
    }
    Ok(out)
}

/// A manifest's `(type, member)` pairs, in order.
fn members(package: &Element) -> Vec<(&str, String)> {
    package
        .children_named("types")
        .flat_map(|types| {
            let kind = types.text_of("name").unwrap_or_default();
            types
                .children_named("members")
                .map(move |m| (kind, m.text.trim().to_owned()))
        })
        .collect()
}

/// A destructive manifest's members, as deletions.
fn destructive(out: &mut Package, manifest: &str, text: &str, post: bool) -> Result<(), String> {
    let root = parse(text.as_bytes()).map_err(|e| format!("{manifest} is not well-formed: {e}"))?;
    for (kind, member) in members(&root) {
        let kind = match kind {
            permission_sets::PERMISSION_SET => {
                out.permission_set_deletions
                    .push((member, manifest.to_owned()));
                continue;
            }
            "CustomObject" => "CustomObject",
            "CustomField" => "CustomField",
            other => {
                let kept = crate::metadata::types::named(other)
                    .filter(|t| t.directory.is_some())
                    .map(|t| t.name);
                match (channels::type_of(other), kept) {
                    (Some(kind), _) => {
                        out.channel_deletions
                            .push((kind, member, manifest.to_owned()))
                    }
                    (None, Some(kind)) => out.deletions.push(Deletion {
                        kind,
                        full_name: member,
                        file: manifest.to_owned(),
                        post,
                    }),
                    (None, None) => {
                        out.refused
                            .push(not_deployed(other, &member, manifest, &Files::new()))
                    }
                }
                continue;
            }
        };
        out.deletions.push(Deletion {
            kind,
            full_name: member,
            file: manifest.to_owned(),
            post,
        });
    }
    Ok(())
}

/// A channel or member of the package, read from its file.
fn channel(out: &mut Package, files: &Files, base: &str, kind: &'static str, full: String) {
    let file = format!("{base}{}", channels::file_of(kind, &full));
    let failed = |problem: String| Component {
        kind: kind.to_owned(),
        full_name: full.clone(),
        file: file.clone(),
        outcome: Err(OrgError::new(Code::InvalidInput, problem)),
    };
    let Some(text) = text(files, &file) else {
        let problem = format!(
            "An object '{full}' of type {kind} was named in package.xml, but was not found in zipped directory"
        );
        out.refused.push(failed(problem));
        return;
    };
    match parse(text.as_bytes()) {
        Ok(root) => out.channels.push(channels::Declared {
            kind,
            meta: channels::metadata_json(&root),
            full,
            file,
        }),
        Err(e) => out.refused.push(failed(format!("Error parsing file: {e}"))),
    }
}

/// A member of a type this server does not deploy, reported against its own file when
/// the zip has one of its name (`classes/Hello.cls`), else against its manifest.
fn not_deployed(kind: &str, member: &str, manifest: &str, files: &Files) -> Component {
    let mut named: Vec<&String> = files
        .keys()
        .filter(|path| {
            let file = path.rsplit('/').next().unwrap_or(path);
            let file = file.strip_suffix("-meta.xml").unwrap_or(file);
            file.rsplit_once('.')
                .is_some_and(|(stem, _)| stem == member)
        })
        .collect();
    named.sort_by_key(|p| (p.ends_with("-meta.xml"), (*p).clone()));
    Component {
        kind: kind.to_owned(),
        full_name: member.to_owned(),
        file: named
            .first()
            .map_or_else(|| manifest.to_owned(), |p| (*p).clone()),
        outcome: Err(OrgError::new(
            Code::InvalidType,
            format!("Unknown type name '{kind}' specified in package.xml"),
        )),
    }
}

/// Enters field or rule `part` of `object` (a `kind` member) in `objects`; a whole object
/// (None) keeps all its fields and rules.
fn name_part(objects: &mut BTreeMap<String, Option<Only>>, kind: &str, object: &str, part: &str) {
    let entry = objects
        .entry(object.to_owned())
        .or_insert_with(|| Some(Only::default()));
    if let Some(only) = entry {
        let list = if kind == "CustomField" {
            &mut only.fields
        } else {
            &mut only.rules
        };
        list.push(part.to_owned());
    }
}

/// The parts of an object a package names without the object itself.
#[derive(Debug, Default)]
struct Only {
    /// Its `CustomField` members.
    fields: Vec<String>,
    /// Its `ValidationRule` members.
    rules: Vec<String>,
}

/// An `.object` file as a declaration; with `only`, just those fields and rules.
fn declaration(name: &str, text: &str, only: Option<&Only>) -> Result<ObjectConfig, OrgError> {
    let root = parse(text.as_bytes())
        .map_err(|e| OrgError::new(Code::InvalidInput, format!("Error parsing file: {e}")))?;
    let meta: Map<String, Value> = forcebus_xml::json::to_json(&root);
    let mut config = if (name.ends_with("__c") || name.ends_with("__e")) && only.is_none() {
        object_config(&meta)?
    } else {
        ObjectConfig {
            fields: nested_fields(&meta)?,
            validation_rules: nested_validation_rules(&meta)?,
            enable_history: meta
                .get("enableHistory")
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            ..ObjectConfig::default()
        }
    };
    if let Some(only) = only {
        let named = |list: &[String], name: &str| list.iter().any(|o| o.eq_ignore_ascii_case(name));
        config.fields.retain(|f| named(&only.fields, &f.name));
        config
            .validation_rules
            .retain(|r| named(&only.rules, &r.name));
    }
    Ok(config)
}

/// The zip's files by path, within the bounds.
fn unzip(bytes: &[u8]) -> Result<Files, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("The ZipFile is not a zip archive: {e}"))?;
    if archive.len() > MAX_ENTRIES {
        return Err(format!("The zip holds more than {MAX_ENTRIES} files"));
    }
    let mut total = 0u64;
    let mut out = Files::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("The zip is damaged: {e}"))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().trim_start_matches("./").to_owned();
        let mut text = Vec::new();
        let room = MAX_UNPACKED.saturating_sub(total);
        (&mut entry)
            .take(room + 1)
            .read_to_end(&mut text)
            .map_err(|e| format!("{name} cannot be read: {e}"))?;
        total += text.len() as u64;
        if total > MAX_UNPACKED {
            return Err(format!("The zip unpacks to more than {MAX_UNPACKED} bytes"));
        }
        out.insert(name, text);
    }
    Ok(out)
}
