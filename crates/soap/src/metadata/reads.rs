//! The Metadata API's reading calls: `readMetadata`, `listMetadata` and
//! `describeMetadata`.

use serde_json::Value;

use forcebus_org::Code;
use forcebus_org::declarations::field_metadata;

use crate::metadata::faults::{Fault, MAX_COMPONENTS, served};
use crate::metadata::{channels, permission_sets};
use forcebus_xml::Element;
use forcebus_xml::json::write_children;
use forcebus_xml::write::Writer;

/// `readMetadata`: one `records` per name, in order; `xsi:nil` for a missing one.
pub(crate) fn read(app: &crate::State, op: &Element, version: &str) -> Result<String, Fault> {
    let kind = op.text_of("type").unwrap_or_default();
    if !served(kind) {
        return Err(Fault::new(
            Code::InvalidType,
            format!("Unknown type: {kind}"),
        ));
    }
    let names: Vec<&str> = op
        .children_named("fullNames")
        .map(|e| e.text.trim())
        .collect();
    if names.len() > MAX_COMPONENTS {
        return Err(Fault::too_many());
    }
    let schema = app.org.schema();
    let mut w = Writer::new();
    w.open("readMetadataResponse").open("result");
    for name in names {
        let record = if channels::object_of(kind).is_some() {
            channels::read(app, kind, name)
        } else if kind == crate::metadata::rules::VALIDATION_RULE {
            crate::metadata::rules::read(app, name)
        } else if kind == permission_sets::PERMISSION_SET {
            permission_sets::read(app, name)
        } else if kind == "CustomObject" {
            // Objects and platform events alike, as a retrieve writes them.
            crate::metadata::retrieve::document(app, name, None).map(|mut d| {
                let canonical = schema
                    .object(name)
                    .map_or_else(|| name.to_owned(), |o| o.name.clone());
                d["fullName"] = Value::String(canonical);
                d
            })
        } else {
            name.split_once('.').and_then(|(o, f)| {
                let event = app.org.platform_event(o);
                let object = schema.object(o).or(event.as_ref().map(|e| &e.object))?;
                let def = object.field(f)?;
                let mut m = field_metadata(def);
                m["fullName"] = Value::String(format!("{}.{}", object.name, def.name));
                if !def.custom && !def.picklist.is_empty() && major(version) < STANDARD_VALUE_SETS {
                    old_picklist(&schema, &object.name, def, &mut m);
                }
                Some(m)
            })
        };
        match record {
            Some(r) => {
                let mut fields = String::new();
                write_children(&mut fields, &r);
                w.open_typed("records", kind).fragment(&fields).close();
            }
            None => {
                w.nil("records");
            }
        }
    }
    Ok(w.finish())
}

/// The first API version whose standard picklist fields keep their values in a
/// `StandardValueSet` rather than in the field.
const STANDARD_VALUE_SETS: u32 = 38;

/// The major number of `version` (`37` of `37.0`).
fn major(version: &str) -> u32 {
    version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(u32::MAX)
}

/// A standard picklist field as versions before 38.0 read it: `picklist` with each
/// value's `fullName`, `default` and its flags (`converted` for lead statuses, `closed`,
/// `won`, `probability` and `forecastCategory` for stages, ...), instead of `valueSet`.
fn old_picklist(
    schema: &forcebus_org::Schema,
    object: &str,
    def: &forcebus_org::FieldDef,
    m: &mut Value,
) {
    let values: Vec<Value> = def
        .picklist
        .iter()
        .map(|v| {
            let mut out = serde_json::Map::new();
            out.insert("fullName".into(), Value::from(v.as_str()));
            let flags = forcebus_org::picklists::value_flags(schema, object, &def.name, v);
            for (flag, name) in [
                ("IsClosed", "closed"),
                ("IsConverted", "converted"),
                ("IsReviewed", "reviewed"),
            ] {
                if let Some(b) = flags.get(flag) {
                    out.insert(name.into(), b.clone());
                }
            }
            let default = def.default_picklist.as_deref() == Some(v.as_str());
            out.insert("default".into(), Value::Bool(default));
            for (flag, name) in [
                ("ForecastCategory", "forecastCategory"),
                ("IsHighPriority", "highPriority"),
                ("DefaultProbability", "probability"),
                ("IsWon", "won"),
            ] {
                if let Some(x) = flags.get(flag) {
                    out.insert(name.into(), x.clone());
                }
            }
            Value::Object(out)
        })
        .collect();
    if let Some(o) = m.as_object_mut() {
        o.remove("valueSet");
        o.insert(
            "picklist".into(),
            serde_json::json!({"picklistValues": values, "sorted": false}),
        );
    }
}

/// `listMetadata`: the custom objects and fields, validation rules, permission sets,
/// channels and kept components, as `FileProperties`.
pub(crate) fn list(app: &crate::State, op: &Element) -> String {
    let schema = app.org.schema();
    let runtime = app.org.runtime_schema();
    let mut w = Writer::new();
    w.open("listMetadataResponse");
    for q in op.children_named("queries").take(3) {
        let kind = q.text_of("type").unwrap_or_default();
        for (full, id) in channels::list(app, kind) {
            let file = channels::file_of(kind, &full);
            file_properties(&mut w, &full, &file, &id, kind);
        }
        kept_properties(app, &mut w, kind);
        if kind == crate::metadata::rules::VALIDATION_RULE {
            for (full, file, id) in crate::metadata::rules::list(app) {
                file_properties(&mut w, &full, &file, &id, kind);
            }
        }
        if kind == permission_sets::PERMISSION_SET {
            for (full, file, id) in permission_sets::list(app) {
                file_properties(&mut w, &full, &file, &id, kind);
            }
        }
        if kind == "CustomObject" {
            // Standard and custom objects and platform events together; a standard
            // object has no id (`metadata-tooling.md` §4, `standard-objects.md` §4.13).
            let events = app.org.platform_events();
            let objects = schema.objects().filter(|o| !o.tooling);
            for o in objects.chain(events.iter().map(|e| &e.object)) {
                let file = format!("objects/{}.object", o.name);
                let id = runtime
                    .objects
                    .get(&o.name)
                    .map(|r| r.id.clone())
                    .unwrap_or_default();
                file_properties(&mut w, &o.name, &file, &id, kind);
            }
        }
        if kind == "CustomField" {
            let events = app.org.platform_events();
            let objects = schema.objects().filter(|o| !o.tooling);
            for o in objects.chain(events.iter().map(|e| &e.object)) {
                for f in o.fields.iter().filter(|f| f.custom) {
                    let id = runtime
                        .field(&o.name, &f.name)
                        .map(|r| r.id.clone())
                        .unwrap_or_default();
                    let file = format!("objects/{}.object", o.name);
                    let full = format!("{}.{}", o.name, f.name);
                    file_properties(&mut w, &full, &file, &id, kind);
                }
            }
        }
    }
    w.finish()
}

/// The `FileProperties` of the components of `kind` kept as deployed: an Apex class's or
/// trigger's id is its record's.
fn kept_properties(app: &crate::State, w: &mut Writer, kind: &str) {
    let kept = app.org.components_of(kind);
    if kept.is_empty() {
        return;
    }
    let ids: std::collections::HashMap<String, String> =
        if matches!(kind, "ApexClass" | "ApexTrigger") {
            app.org
                .scan(kind, |r| {
                    let name = r.get_str("Name")?.to_ascii_lowercase();
                    (!r.is_deleted).then(|| (name, r.id.to18()))
                })
                .into_iter()
                .collect()
        } else {
            std::collections::HashMap::new()
        };
    for c in kept {
        let id = ids
            .get(&c.full_name.to_ascii_lowercase())
            .map_or("", String::as_str);
        let created = c.created.replace("+0000", "Z");
        let modified = c.modified.replace("+0000", "Z");
        w.open("result")
            .text("createdById", "")
            .text("createdByName", "")
            .text("createdDate", &created)
            .text("fileName", c.main_file())
            .text("fullName", &c.full_name)
            .text("id", id)
            .text("lastModifiedById", "")
            .text("lastModifiedByName", "")
            .text("lastModifiedDate", &modified)
            .text("manageableState", "unmanaged")
            .text("type", &c.kind)
            .close();
    }
}

/// A component's `FileProperties`.
fn file_properties(w: &mut Writer, full: &str, file: &str, id: &str, kind: &str) {
    let id = forcebus_org::RecordId::parse(id)
        .map(|i| i.to18())
        .unwrap_or_default();
    let epoch = "1970-01-01T00:00:00.000Z";
    w.open("result")
        .text("createdById", "")
        .text("createdByName", "")
        .text("createdDate", epoch)
        .text("fileName", file)
        .text("fullName", full)
        .text("id", &id)
        .text("lastModifiedById", "")
        .text("lastModifiedByName", "")
        .text("lastModifiedDate", epoch)
        .text("manageableState", "unmanaged")
        .text("type", kind)
        .close();
}

/// `describeMetadata`: every type of the table that has files of its own (a child type
/// appears only in its parent's `childXmlNames`), in name order.
pub(crate) fn describe() -> String {
    let mut w = Writer::new();
    w.open("describeMetadataResponse").open("result");
    for t in crate::metadata::types::all() {
        let Some(directory) = t.directory else {
            continue;
        };
        w.open("metadataObjects");
        for child in &t.children {
            w.text("childXmlNames", child);
        }
        w.text("directoryName", directory)
            .value("inFolder", t.in_folder)
            .value("metaFile", t.meta_file);
        if let Some(suffix) = t.suffix {
            w.text("suffix", suffix);
        }
        w.text("xmlName", t.name).close();
    }
    w.text("organizationNamespace", "")
        .value("partialSaveAllowed", true)
        .value("testRequired", false);
    w.finish()
}
