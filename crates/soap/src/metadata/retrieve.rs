//! The Metadata API's `retrieve` and `checkRetrieveStatus` (`metadata-tooling.md` §7):
//! the `CustomObject`, `CustomField`, `PlatformEventChannel` and
//! `PlatformEventChannelMember` members (and `PermissionSet`s, built from the org's
//! records) of an `unpackaged` manifest written back
//! as a zip in the Metadata API's format (`package.xml` and `objects/<Name>.object`, in
//! `unpackaged/` unless `singlePackage`), so `sf project retrieve start` brings the org's
//! objects, fields and platform events into a project; and the components of every other
//! type, given back as they were deployed, byte for byte ([`crate::metadata::verbatim`]).
//! A retrieve is done at once.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};

use forcebus_org::clock::format_datetime;
use forcebus_org::declarations::field_metadata;

use forcebus_org::components::StoredComponent;

use crate::metadata::{channels, permission_sets, verbatim};
use forcebus_xml::Element;
use forcebus_xml::json::write_children;
use forcebus_xml::write::Writer;

/// Retrieve results kept (the oldest go first).
const MAX_KEPT: usize = 100;

/// A finished retrieve.
#[derive(Debug, Clone)]
struct Retrieved {
    zip: String,
    files: Files,
    problems: Vec<String>,
}

/// The org's retrieves, by id (`09S…`).
#[derive(Debug)]
pub(crate) struct Retrieves(crate::metadata::async_results::AsyncResults<Retrieved>);

impl Default for Retrieves {
    fn default() -> Self {
        Self(crate::metadata::async_results::AsyncResults::new(
            "09S", MAX_KEPT,
        ))
    }
}

/// `retrieve`: builds the zip now, answers `Queued` with the id to poll.
pub(crate) fn retrieve(app: &crate::State, op: &Element) -> Result<String, String> {
    let request = op.children.first().ok_or("retrieve needs a request")?;
    let single = request
        .text_of("singlePackage")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut objects: Objects = BTreeMap::new();
    let mut problems = Vec::new();
    let mut wanted = Vec::new();
    let mut kept: Vec<Arc<StoredComponent>> = Vec::new();
    if let Some(unpackaged) = request.child("unpackaged") {
        for types in unpackaged.children_named("types") {
            let kind = types.text_of("name").unwrap_or_default();
            for m in types
                .children_named("members")
                .map(|m| m.text.trim().to_owned())
            {
                match (kind, m.split_once('.')) {
                    ("CustomObject", _) => {
                        objects.insert(m, None);
                    }
                    ("CustomField" | "ValidationRule", Some((o, f))) => {
                        if let Some(named) = objects
                            .entry(o.to_owned())
                            .or_insert_with(|| Some(Named::default()))
                        {
                            let list = if kind == "CustomField" {
                                &mut named.fields
                            } else {
                                &mut named.rules
                            };
                            list.push(f.to_owned());
                        }
                    }
                    (permission_sets::PERMISSION_SET, _) => {
                        permission_sets::wanted(app, &m, (&mut wanted, &mut kept));
                    }
                    _ => match channels::type_of(kind) {
                        Some(kind) if m == "*" => wanted.extend(
                            channels::list(app, kind)
                                .into_iter()
                                .map(|(full, _)| (kind, full)),
                        ),
                        Some(kind) => wanted.push((kind, m)),
                        None => {
                            let found = crate::metadata::types::named(kind)
                                .map(|t| verbatim::wanted(&app.org, t, &m))
                                .unwrap_or_default();
                            if found.is_empty() && m != "*" {
                                problems.push(format!(
                                    "Entity of type '{kind}' named '{m}' cannot be found"
                                ));
                            }
                            for c in found {
                                if !kept.iter().any(|k| Arc::ptr_eq(k, &c)) {
                                    kept.push(c);
                                }
                            }
                        }
                    },
                }
            }
        }
    }
    let version = request.text_of("apiVersion").unwrap_or("62.0").to_owned();
    let (files, zip) = build(
        app,
        (&objects, &wanted, &kept),
        single,
        &version,
        &mut problems,
    )?;
    let id = app.retrieves.0.keep(&app.org, |_| Retrieved {
        zip,
        files,
        problems,
    });
    Ok(format!(
        "<retrieveResponse><result><done>false</done><id>{id}</id><state>Queued</state></result></retrieveResponse>"
    ))
}

/// `checkRetrieveStatus`: the RetrieveResult, with the zip unless `includeZip` is false.
pub(crate) fn check(app: &crate::State, op: &Element) -> Option<String> {
    let id = op
        .text_of("asyncProcessId")
        .or_else(|| op.children.first().map(|c| c.text.trim()))?;
    let r = app.retrieves.0.get(id)?;
    let id = forcebus_org::RecordId::parse(id)?.to18();
    let include_zip = op
        .text_of("includeZip")
        .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    let now = format_datetime(app.org.clock().now()).replace("+0000", "Z");
    let mut w = Writer::new();
    w.open("checkRetrieveStatusResponse")
        .open("result")
        .value("done", true);
    for (file, full, kind) in &r.files {
        w.open("fileProperties")
            .text("createdById", "005000000000000AAA")
            .text("createdByName", "forcebus")
            .text("createdDate", &now)
            .text("fileName", file)
            .text("fullName", full)
            .text("id", "")
            .text("lastModifiedById", "005000000000000AAA")
            .text("lastModifiedByName", "forcebus")
            .text("lastModifiedDate", &now)
            .text("manageableState", "unmanaged")
            .text("type", kind)
            .close();
    }
    w.text("id", &id);
    for p in &r.problems {
        w.open("messages")
            .text("fileName", "package.xml")
            .text("problem", p)
            .close();
    }
    w.text("status", "Succeeded").value("success", true);
    if include_zip {
        w.text("zipFile", &r.zip);
    }
    Some(w.finish())
}

type Files = Vec<(String, String, String)>;

/// What a retrieve asks for: objects, channels and members, kept components.
type Asked<'a> = (
    &'a Objects,
    &'a [(&'static str, String)],
    &'a [Arc<StoredComponent>],
);

/// The objects a retrieve names: each whole (`None`), or the fields and rules named.
type Objects = BTreeMap<String, Option<Named>>;

/// The parts of an object a retrieve names without the object itself.
#[derive(Debug, Default)]
pub(crate) struct Named {
    /// Its `CustomField` members.
    fields: Vec<String>,
    /// Its `ValidationRule` members.
    rules: Vec<String>,
}

/// An object as a `CustomObject` document: its custom fields and validation rules (all, or
/// the ones named), and unless only those are named, its labels and settings. None for an
/// unknown object.
pub(crate) fn document(app: &crate::State, name: &str, only: Option<&Named>) -> Option<Value> {
    let event = app.org.platform_event(name);
    let schema = app.org.schema();
    let object = match &event {
        Some(e) => &e.object,
        None => schema.object(name).filter(|o| !o.tooling)?,
    };
    let fields: Vec<Value> = object
        .fields
        .iter()
        .filter(|f| f.custom)
        .filter(|f| only.is_none_or(|o| named(&o.fields, &f.name)))
        .map(field_metadata)
        .collect();
    let rules: Vec<Value> = object
        .validation_rules
        .iter()
        .filter(|r| only.is_none_or(|o| named(&o.rules, &r.name)))
        .map(forcebus_org::declarations::validation_rule_metadata)
        .collect();
    let mut doc = json!({"fields": fields});
    if !rules.is_empty() {
        doc["validationRules"] = Value::Array(rules);
    }
    if only.is_none() {
        doc["label"] = json!(object.label);
        doc["pluralLabel"] = json!(object.label_plural);
        doc["deploymentStatus"] = json!("Deployed");
        if event.is_some() {
            doc["eventType"] = json!("HighVolume");
            doc["publishBehavior"] = json!("PublishImmediately");
        } else if name.ends_with("__c") {
            let runtime = app.org.runtime_schema();
            let config = runtime.objects.get(&object.name).map(|o| &o.config);
            let settings = forcebus_org::declarations::object_metadata(
                &object.label,
                &object.label_plural,
                config,
            );
            if let (Value::Object(doc), Value::Object(settings)) = (&mut doc, settings) {
                doc.extend(settings);
            }
        }
    }
    Some(doc)
}

/// The fields and validation rules of object `name`'s document `doc` (in `file`), each
/// named in the manifest's `members` and the result's `files`.
fn list_parts(
    name: &str,
    doc: &Value,
    file: &str,
    (members, files): (&mut BTreeMap<String, Vec<String>>, &mut Files),
) {
    for (key, kind) in [
        ("fields", "CustomField"),
        ("validationRules", "ValidationRule"),
    ] {
        for f in doc[key].as_array().into_iter().flatten() {
            let full = format!("{name}.{}", f["fullName"].as_str().unwrap_or_default());
            members
                .entry(kind.to_owned())
                .or_default()
                .push(full.clone());
            files.push((file.to_owned(), full, kind.to_owned()));
        }
    }
}

/// Whether `list` names `name` (any case).
fn named(list: &[String], name: &str) -> bool {
    list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// `package.xml` naming `members` by type.
fn package_xml(members: &BTreeMap<String, Vec<String>>, version: &str) -> String {
    let mut w = Writer::new();
    w.fragment(r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata">"#);
    for (kind, list) in members {
        w.open("types");
        for m in list {
            w.text("members", m);
        }
        w.text("name", kind).close();
    }
    w.text("version", version).fragment("</Package>");
    w.finish()
}

/// The zip (base64) of `objects` (all of an object's custom fields, or the named ones),
/// and its files' properties.
fn build(
    app: &crate::State,
    (objects, wanted, kept): Asked<'_>,
    single: bool,
    version: &str,
    problems: &mut Vec<String>,
) -> Result<(Files, String), String> {
    let base = if single { "" } else { "unpackaged/" };
    let mut files: Files = Vec::new();
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let put = |zip: &mut zip::ZipWriter<_>, path: String, text: &str| -> Result<(), String> {
        zip.start_file(path, options).map_err(|e| e.to_string())?;
        zip.write_all(text.as_bytes()).map_err(|e| e.to_string())
    };
    put_kept(&mut zip, base, kept, (&mut members, &mut files))?;
    for (name, only) in objects {
        let Some(doc) = document(app, name, only.as_ref()) else {
            problems.push(format!(
                "Entity of type 'CustomObject' named '{name}' cannot be found"
            ));
            continue;
        };
        let file = format!("{base}objects/{name}.object");
        if only.is_none() {
            members
                .entry("CustomObject".to_owned())
                .or_default()
                .push(name.clone());
            files.push((file.clone(), name.clone(), "CustomObject".to_owned()));
        }
        list_parts(name, &doc, &file, (&mut members, &mut files));
        let mut xml = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">"#,
        );
        write_children(&mut xml, &doc);
        xml.push_str("</CustomObject>");
        put(&mut zip, file, &xml)?;
    }
    for (kind, full) in wanted {
        let (doc, file) = setting(app, kind, full);
        let Some(doc) = doc else {
            problems.push(format!(
                "Entity of type '{kind}' named '{full}' cannot be found"
            ));
            continue;
        };
        let file = format!("{base}{file}");
        members
            .entry((*kind).to_owned())
            .or_default()
            .push(full.clone());
        files.push((file.clone(), full.clone(), (*kind).to_owned()));
        let mut settings = doc;
        settings["fullName"] = Value::Null;
        let mut xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><{kind} xmlns="http://soap.sforce.com/2006/04/metadata">"#
        );
        write_children(&mut xml, &settings);
        xml.push_str(&format!("</{kind}>"));
        put(&mut zip, file, &xml)?;
    }
    put(
        &mut zip,
        format!("{base}package.xml"),
        &package_xml(&members, version),
    )?;
    files.push((
        format!("{base}package.xml"),
        format!("{base}package.xml"),
        "Package".to_owned(),
    ));
    let bytes = zip.finish().map_err(|e| e.to_string())?.into_inner();
    Ok((
        files,
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ))
}

/// A channel's, a member's or a permission set's document, and its file in a zip.
fn setting(app: &crate::State, kind: &str, full: &str) -> (Option<Value>, String) {
    if kind == permission_sets::PERMISSION_SET {
        (
            permission_sets::read(app, full),
            permission_sets::file_of(full),
        )
    } else {
        (
            channels::read(app, kind, full),
            channels::file_of(kind, full),
        )
    }
}

/// The kept components' files, as they were deployed, under `base`; each named in the
/// manifest's `members` and the result's `files`.
fn put_kept(
    zip: &mut zip::ZipWriter<std::io::Cursor<Vec<u8>>>,
    base: &str,
    kept: &[Arc<StoredComponent>],
    (members, files): (&mut BTreeMap<String, Vec<String>>, &mut Files),
) -> Result<(), String> {
    for c in kept {
        members
            .entry(c.kind.clone())
            .or_default()
            .push(c.full_name.clone());
        let main = format!("{base}{}", c.main_file());
        files.push((main, c.full_name.clone(), c.kind.clone()));
        for (path, bytes) in &c.files {
            let options = zip::write::SimpleFileOptions::default();
            zip.start_file(format!("{base}{path}"), options)
                .map_err(|e| e.to_string())?;
            zip.write_all(bytes).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
