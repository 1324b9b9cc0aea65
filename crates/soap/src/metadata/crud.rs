//! The Metadata API's CRUD calls: `createMetadata`, `upsertMetadata`, `updateMetadata`,
//! `renameMetadata` and `deleteMetadata` (custom objects and fields, validation rules,
//! permission sets, platform event channels), one result per component, in order; a failed
//! component carries its `errors` rather than faulting the call.

use forcebus_org::declarations::{field_config, object_config};
use forcebus_org::{Caller, Code, OrgError};

use crate::metadata::faults::{Fault, MAX_COMPONENTS, TYPES, components, served};
use crate::metadata::{channels, permission_sets, rules};
use forcebus_xml::Element;
use forcebus_xml::json::to_json;
use forcebus_xml::write::Writer;

/// A component's result: `SaveResult`, `UpsertResult` (`created`) or `DeleteResult`.
pub(crate) fn result(full_name: &str, outcome: &Result<bool, OrgError>, upsert: bool) -> String {
    let mut w = Writer::new();
    w.open("result");
    if upsert {
        w.value("created", matches!(outcome, Ok(true)));
    }
    if let Err(e) = outcome {
        w.open("errors")
            .text("message", &e.message)
            .text("statusCode", e.code.as_str())
            .close();
    }
    w.text("fullName", full_name)
        .value("success", outcome.is_ok());
    w.finish()
}

/// A call's response element around its results (already XML).
fn response(call: &str, results: &str) -> String {
    let mut w = Writer::new();
    w.open(&format!("{call}Response")).fragment(results);
    w.finish()
}

/// `createMetadata` and `upsertMetadata`: each component created (an upsert of an
/// existing one fails, as changing components is not served yet).
pub(crate) async fn save(
    app: &crate::State,
    caller: &Caller,
    op: &Element,
) -> Result<String, Fault> {
    let upsert = op.name == "upsertMetadata";
    let mut out = String::new();
    for m in components(op)? {
        let full = m.text_of("fullName").unwrap_or_default().to_owned();
        if let Some(kind) = m
            .xsi_type
            .as_deref()
            .filter(|k| channels::object_of(k).is_some())
        {
            let allowed = match op.name.as_str() {
                "createMetadata" => (true, false),
                "updateMetadata" => (false, true),
                _ => (true, true),
            };
            let meta = channels::metadata_json(m);
            let outcome = channels::save(app, caller.clone(), kind, &full, meta, allowed).await;
            out.push_str(&result(&full, &outcome, upsert));
            continue;
        }
        if m.xsi_type.as_deref() == Some(permission_sets::PERMISSION_SET) {
            let outcome = match (op.name.as_str(), permission_sets::exists(app, &full)) {
                ("updateMetadata", false) => Err(OrgError::new(
                    Code::InvalidCrossReferenceKey,
                    format!("In field: fullName - no PermissionSet named {full} found"),
                )),
                (call, _) => permission_sets::save(app, m, &full, call == "createMetadata").await,
            };
            out.push_str(&result(&full, &outcome, upsert));
            continue;
        }
        let exists = exists(app, m.xsi_type.as_deref(), &full);
        let outcome = match (op.name.as_str(), exists) {
            ("createMetadata", _) | ("upsertMetadata", false) => {
                create_one(app, m, &full).await.map(|()| true)
            }
            (_, true) => update_one(app, m, &full).await.map(|()| false),
            (_, false) => Err(OrgError::new(
                Code::InvalidCrossReferenceKey,
                format!(
                    "In field: fullName - no {} named {full} found",
                    m.xsi_type.as_deref().unwrap_or("component")
                ),
            )),
        };
        out.push_str(&result(&full, &outcome, upsert));
    }
    Ok(response(&op.name, &out))
}

/// Whether the component `full` of type `kind` is in the org.
fn exists(app: &crate::State, kind: Option<&str>, full: &str) -> bool {
    let schema = app.org.schema();
    match (kind, full.split_once('.')) {
        (Some("CustomField"), Some((o, f))) => {
            schema.object(o).is_some_and(|o| o.field(f).is_some())
                || app
                    .org
                    .platform_event(o)
                    .is_some_and(|e| e.object.field(f).is_some())
        }
        (Some("CustomObject"), _) => schema.object(full).is_some(),
        (Some(rules::VALIDATION_RULE), _) => rules::exists(app, full),
        _ => false,
    }
}

/// `updateMetadata` of one component (it replaces the component): a field changed when
/// every record keeps its value; an object's labels, settings and name field replaced,
/// its nested fields created or changed.
async fn update_one(app: &crate::State, m: &Element, full: &str) -> Result<(), OrgError> {
    let meta = to_json(m);
    let org = app.org.clone();
    let full = full.to_owned();
    let done = match m.xsi_type.as_deref() {
        Some("CustomField") => {
            let (object, field) = full.split_once('.').unwrap_or((full.as_str(), ""));
            let config = field_config(field, &meta)?;
            let object = object.to_owned();
            crate::blocking(move || org.update_custom_field(&object, config).map(|_| ())).await
        }
        Some("CustomObject") => {
            let config = object_config(&meta)?;
            crate::blocking(move || org.update_custom_object(&full, config)).await
        }
        Some(rules::VALIDATION_RULE) => return rules::save(app, m, &full).await,
        other => return Err(unsupported(other.unwrap_or("(no xsi:type)"))),
    };
    done.map_err(|e| OrgError::new(Code::UnknownException, format!("{e:?}")))?
}

async fn create_one(app: &crate::State, m: &Element, full: &str) -> Result<(), OrgError> {
    let meta = to_json(m);
    let org = app.org.clone();
    let full = full.to_owned();
    let done = match m.xsi_type.as_deref() {
        Some("CustomField") => {
            let (object, field) = full.split_once('.').ok_or_else(|| {
                OrgError::new(
                    Code::InvalidInput,
                    format!("A CustomField's fullName is Object.Field__c: {full}"),
                )
            })?;
            let config = field_config(field, &meta)?;
            let object = object.to_owned();
            crate::blocking(move || org.add_custom_field(&object, config)).await
        }
        Some("CustomObject") if full.ends_with("__e") => {
            let c = object_config(&meta)?;
            let config = forcebus_org::platform::EventConfig {
                label: c.label,
                plural_label: c.plural_label,
                fields: c.fields,
                ..Default::default()
            };
            crate::blocking(move || {
                if org.platform_event(&full).is_some() {
                    return Err(OrgError::new(
                        Code::DuplicateDeveloperName,
                        format!("There is already a platform event named {full}."),
                    ));
                }
                org.define_platform_event(&full, config)
                    .map(|_| String::new())
                    .map_err(|e| OrgError::new(Code::InvalidInput, e))
            })
            .await
        }
        Some("CustomObject") => {
            let config = object_config(&meta)?;
            crate::blocking(move || org.add_custom_object(&full, config)).await
        }
        Some(rules::VALIDATION_RULE) if rules::exists(app, &full) => {
            return Err(OrgError::new(
                Code::DuplicateDeveloperName,
                format!("There is already a validation rule named {full}."),
            ));
        }
        Some(rules::VALIDATION_RULE) => return rules::save(app, m, &full).await,
        other => return Err(unsupported(other.unwrap_or("(no xsi:type)"))),
    };
    done.map_err(|e| OrgError::new(Code::UnknownException, format!("{e:?}")))?
        .map(|_| ())
}

fn unsupported(kind: &str) -> OrgError {
    OrgError::new(
        Code::InvalidType,
        format!(
            "Metadata type {kind} is not supported; this server serves {}.",
            TYPES
                .iter()
                .chain(&channels::TYPES)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

/// `renameMetadata` of a custom field (`Object.Old__c` to `Object.New__c`, the same
/// object) or custom object made through the API: one SaveResult named after the old
/// name, as real orgs answer (jsforce's own suite asserts it; the Metadata API guide
/// says the new name).
pub(crate) async fn rename(app: &crate::State, op: &Element) -> Result<String, Fault> {
    let kind = op.text_of("type").unwrap_or_default();
    if !served(kind) {
        return Err(Fault::new(
            Code::InvalidType,
            format!("Unknown type: {kind}"),
        ));
    }
    let old = op.text_of("oldFullName").unwrap_or_default().to_owned();
    let new = op.text_of("newFullName").unwrap_or_default().to_owned();
    let outcome = match (kind, old.split_once('.'), new.split_once('.')) {
        ("CustomField", Some((object, from)), Some((same, to)))
            if object.eq_ignore_ascii_case(same) =>
        {
            let org = app.org.clone();
            let (object, from, to) = (object.to_owned(), from.to_owned(), to.to_owned());
            match crate::blocking(move || org.rename_custom_field(&object, &from, &to)).await {
                Ok(Err(e)) if e.code == Code::NotFound => Err(OrgError::new(
                    Code::InvalidCrossReferenceKey,
                    format!("In field: fullName - no CustomField named {old} found"),
                )),
                Ok(r) => r.map(|()| false),
                Err(e) => Err(OrgError::new(Code::UnknownException, format!("{e:?}"))),
            }
        }
        ("CustomField", _, _) => Err(OrgError::new(
            Code::InvalidInput,
            format!(
                "A field is renamed on its object: Object.Old__c to Object.New__c, not {old} to {new}"
            ),
        )),
        ("CustomObject", None, None) if !old.ends_with("__e") => {
            let org = app.org.clone();
            let (from, to) = (old.clone(), new.clone());
            match crate::blocking(move || org.rename_custom_object(&from, &to)).await {
                Ok(Err(e)) if e.code == Code::NotFound => Err(OrgError::new(
                    Code::InvalidCrossReferenceKey,
                    format!("In field: fullName - no CustomObject named {old} found"),
                )),
                Ok(r) => r.map(|()| false),
                Err(e) => Err(OrgError::new(Code::UnknownException, format!("{e:?}"))),
            }
        }
        _ => Err(OrgError::new(
            Code::InvalidInput,
            format!(
                "{kind} {old} cannot be renamed to {new}: custom objects and fields are renamed here, platform events and channels are not."
            ),
        )),
    };
    Ok(response("renameMetadata", &result(&old, &outcome, false)))
}

/// `deleteMetadata`: custom fields made through the API.
pub(crate) async fn delete(
    app: &crate::State,
    caller: &Caller,
    op: &Element,
) -> Result<String, Fault> {
    let kind = op.text_of("type").unwrap_or_default().to_owned();
    if !served(&kind) {
        return Err(Fault::new(
            Code::InvalidType,
            format!("Unknown type: {kind}"),
        ));
    }
    let names: Vec<String> = op
        .children_named("fullNames")
        .map(|e| e.text.trim().to_owned())
        .collect();
    if names.len() > MAX_COMPONENTS {
        return Err(Fault::too_many());
    }
    let mut out = String::new();
    for name in names {
        if channels::object_of(&kind).is_some() {
            let outcome = channels::delete(app, caller.clone(), &kind, &name).await;
            out.push_str(&result(&name, &outcome.map(|()| false), false));
            continue;
        }
        let outcome = match (kind.as_str(), name.split_once('.')) {
            ("CustomField", Some((object, field))) => {
                let (org, object, field) = (app.org.clone(), object.to_owned(), field.to_owned());
                match crate::blocking(move || org.delete_custom_field(&object, &field)).await {
                    Ok(Err(e)) if e.code == Code::NotFound => Err(OrgError::new(
                        Code::InvalidCrossReferenceKey,
                        format!("In field: fullName - no CustomField named {name} found"),
                    )),
                    Ok(r) => r.map(|()| false),
                    Err(e) => Err(OrgError::new(Code::UnknownException, format!("{e:?}"))),
                }
            }
            ("CustomField", None) => Err(OrgError::new(
                Code::InvalidInput,
                format!("A CustomField's fullName is Object.Field__c: {name}"),
            )),
            (rules::VALIDATION_RULE, _) => rules::delete(app, &name).await.map(|()| false),
            (permission_sets::PERMISSION_SET, _) => {
                permission_sets::delete(app, &name).await.map(|()| false)
            }
            _ => {
                let (org, object) = (app.org.clone(), name.clone());
                let deleted = crate::blocking(move || {
                    if object.ends_with("__e") {
                        org.delete_platform_event(&object)
                    } else {
                        org.delete_custom_object(&object)
                    }
                })
                .await;
                match deleted {
                    Ok(Err(e)) if e.code == Code::NotFound => Err(OrgError::new(
                        Code::InvalidCrossReferenceKey,
                        format!("In field: fullName - no CustomObject named {name} found"),
                    )),
                    Ok(r) => r.map(|()| false),
                    Err(e) => Err(OrgError::new(Code::UnknownException, format!("{e:?}"))),
                }
            }
        };
        out.push_str(&result(&name, &outcome, false));
    }
    Ok(response("deleteMetadata", &out))
}
