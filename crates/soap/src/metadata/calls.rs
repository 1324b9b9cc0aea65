//! The Metadata API's CRUD calls over SOAP, `/services/Soap/m/{v}` and any path below it
//! (`metadata-tooling.md` §1–§4): `createMetadata`, `readMetadata`, `upsertMetadata`,
//! `deleteMetadata`, `listMetadata` and `describeMetadata` for `CustomObject` (with its
//! nested `fields`) and `CustomField`. Requests are dispatched by the local name of the
//! Body's first child, whatever the path, prefix or `SOAPAction`; results come back one per
//! component, in order, a failed component carrying its `errors` rather than faulting
//! the call. A component's Metadata is read into the same JSON the Tooling API takes, so
//! both APIs share one mapping ([`forcebus_org::declarations`]).
//!
//! `deploy` and `checkDeployStatus` are [`crate::metadata::deploy`]'s, `cancelDeploy` and
//! `deployRecentValidation` [`crate::metadata::quick`]'s, `retrieve` and
//! `checkRetrieveStatus` [`crate::metadata::retrieve`]'s. Types other than these and the
//! channels are refused (`describeMetadata` lists only what works).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use forcebus_org::declarations::{field_config, field_metadata, object_config};
use forcebus_org::{Api, Caller, OrgError, StatusCode as Code};

use crate::metadata::channels;
use crate::partner::xml;
use forcebus_xml::json::{to_json, write_children};
use forcebus_xml::soap;
use forcebus_xml::{Element, escape, parse};

/// The Metadata API's namespace.
const MD: &str = soap::METADATA_NS;

/// Most components one CRUD call takes (Salesforce's limit).
const MAX_COMPONENTS: usize = 10;

/// The types this endpoint serves (and [`crate::metadata::channels`]' two).
const TYPES: [&str; 2] = ["CustomObject", "CustomField"];

/// Whether a type is served.
fn served(kind: &str) -> bool {
    TYPES.contains(&kind) || channels::object_of(kind).is_some()
}

/// A response's envelope: the Metadata namespace the default one, so the operation's
/// response and every descendant are unprefixed and qualified; no attribute on `Body`.
fn envelope(body: &str) -> String {
    soap::envelope(MD, body)
}

/// A fault: HTTP 500, `sf:CODE` and `CODE: message`, no detail (the WSDL declares none).
fn fault(code: &str, message: &str) -> Response {
    xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        soap::fault(MD, code, message),
    )
}

/// A fault about the request itself (bad XML, unknown operation).
fn client_fault(message: &str) -> Response {
    xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        soap::client_fault(message),
    )
}

/// A fault that ends the whole call (what is wrong with one component is that
/// component's `errors` instead).
struct Fault {
    code: &'static str,
    message: String,
}

impl Fault {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn too_many() -> Self {
        Self::new(
            "EXCEEDED_ID_LIMIT",
            format!("Too many components: at most {MAX_COMPONENTS} a call"),
        )
    }

    fn response(&self) -> Response {
        fault(self.code, &self.message)
    }
}

/// `POST /services/Soap/m/{v}[/...]`.
pub(crate) async fn endpoint(
    State(app): State<crate::State>,
    axum::extract::Path(path): axum::extract::Path<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let version = path
        .iter()
        .find(|(k, _)| k == "v")
        .map_or_else(|| "62.0".to_owned(), |(_, v)| v.clone());
    let root = match parse(&body) {
        Ok(r) if r.name == "Envelope" => r,
        Ok(r) => return client_fault(&format!("Expected Envelope, found {}", r.name)),
        Err(e) => return client_fault(&format!("Bad envelope: {e}")),
    };
    let Some(op) = root.child("Body").and_then(|b| b.children.first()) else {
        return client_fault("Missing Body");
    };
    let token = root
        .child("Header")
        .and_then(|h| h.child("SessionHeader"))
        .and_then(|s| s.text_of("sessionId"))
        .map(str::to_owned)
        .or_else(|| crate::ctx::bearer(&headers).map(str::to_owned));
    let Some(session) = token.and_then(|t| app.auth.verify(&t)) else {
        return fault(
            "INVALID_SESSION_ID",
            "Invalid Session ID found in SessionHeader: Illegal Session",
        );
    };
    let caller = Caller {
        user_id: session.user_id,
        api: Api::Soap,
        version: version.clone(),
        client: None,
    };
    let answer = match op.name.as_str() {
        "createMetadata" | "upsertMetadata" | "updateMetadata" => save(&app, &caller, op).await,
        "readMetadata" => read(&app, op),
        "deleteMetadata" => delete(&app, &caller, op).await,
        "renameMetadata" => rename(&app, op).await,
        "listMetadata" => Ok(list(&app, op)),
        "deploy" => Ok(crate::metadata::deploy::deploy(&app, &caller, op).await),
        "retrieve" => crate::metadata::retrieve::retrieve(&app, op)
            .map_err(|e| Fault::new("UNKNOWN_EXCEPTION", e)),
        "checkRetrieveStatus" => crate::metadata::retrieve::check(&app, op)
            .ok_or_else(|| Fault::new("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")),
        "checkDeployStatus" => crate::metadata::deploy::check(&app, op)
            .map_err(|e| Fault::new("INVALID_CROSS_REFERENCE_KEY", e.message)),
        "cancelDeploy" => crate::metadata::quick::cancel_soap(&app, op)
            .map_err(|e| Fault::new(e.code.as_str(), e.message)),
        "deployRecentValidation" => {
            crate::metadata::quick::deploy_recent_validation(&app, &caller, op)
                .await
                .map_err(|e| Fault::new(e.code.as_str(), e.message))
        }
        "describeMetadata" => Ok(describe()),
        other => {
            return client_fault(&format!(
                "No operation available for request {{{MD}}}{other}"
            ));
        }
    };
    match answer {
        Ok(body) => xml(StatusCode::OK, envelope(&body)),
        Err(f) => f.response(),
    }
}

/// A component's result: `SaveResult`, `UpsertResult` (`created`) or `DeleteResult`.
fn result(full_name: &str, outcome: &Result<bool, OrgError>, upsert: bool) -> String {
    let name = escape(full_name);
    match outcome {
        Ok(created) => {
            let created = if upsert {
                format!("<created>{created}</created>")
            } else {
                String::new()
            };
            format!("<result>{created}<fullName>{name}</fullName><success>true</success></result>")
        }
        Err(e) => {
            let created = if upsert {
                "<created>false</created>"
            } else {
                ""
            };
            format!(
                "<result>{created}<errors><message>{}</message><statusCode>{}</statusCode></errors><fullName>{name}</fullName><success>false</success></result>",
                escape(&e.message),
                e.code.as_str()
            )
        }
    }
}

/// The components of a create or upsert call, each with its `xsi:type`.
fn components(op: &Element) -> Result<Vec<&Element>, Fault> {
    let list: Vec<&Element> = op.children_named("metadata").collect();
    if list.len() > MAX_COMPONENTS {
        return Err(Fault::too_many());
    }
    Ok(list)
}

/// `createMetadata` and `upsertMetadata`: each component created (an upsert of an
/// existing one fails, as changing components is not served yet).
async fn save(app: &crate::State, caller: &Caller, op: &Element) -> Result<String, Fault> {
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
    Ok(format!("<{0}Response>{out}</{0}Response>", op.name))
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
        _ => false,
    }
}

/// `updateMetadata` of one component (it replaces the component): a field changed when
/// every record keeps its value; an object's nested fields created or changed.
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
            let fields = object_config(&meta)?.fields;
            crate::blocking(move || {
                let schema = org.schema();
                for f in fields {
                    let known = schema
                        .object(&full)
                        .is_some_and(|o| o.field(&f.name).is_some());
                    if known {
                        org.update_custom_field(&full, f)?;
                    } else {
                        org.add_custom_field(&full, f)?;
                    }
                }
                Ok(())
            })
            .await
        }
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
/// object) or custom object made through the API: one SaveResult named after the new name.
async fn rename(app: &crate::State, op: &Element) -> Result<String, Fault> {
    let kind = op.text_of("type").unwrap_or_default();
    if !served(kind) {
        return Err(Fault::new("INVALID_TYPE", format!("Unknown type: {kind}")));
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
    Ok(format!(
        "<renameMetadataResponse>{}</renameMetadataResponse>",
        result(&new, &outcome, false)
    ))
}

/// `readMetadata`: one `records` per name, in order; `xsi:nil` for a missing one.
fn read(app: &crate::State, op: &Element) -> Result<String, Fault> {
    let kind = op.text_of("type").unwrap_or_default();
    if !served(kind) {
        return Err(Fault::new("INVALID_TYPE", format!("Unknown type: {kind}")));
    }
    let names: Vec<&str> = op
        .children_named("fullNames")
        .map(|e| e.text.trim())
        .collect();
    if names.len() > MAX_COMPONENTS {
        return Err(Fault::too_many());
    }
    let schema = app.org.schema();
    let mut out = String::new();
    for name in names {
        let record = if channels::object_of(kind).is_some() {
            channels::read(app, kind, name)
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
                Some(m)
            })
        };
        match record {
            Some(r) => {
                out.push_str(&format!(r#"<records xsi:type="{kind}">"#));
                write_children(&mut out, &r);
                out.push_str("</records>");
            }
            None => out.push_str(r#"<records xsi:nil="true"/>"#),
        }
    }
    Ok(format!(
        "<readMetadataResponse><result>{out}</result></readMetadataResponse>"
    ))
}

/// `deleteMetadata`: custom fields made through the API.
async fn delete(app: &crate::State, caller: &Caller, op: &Element) -> Result<String, Fault> {
    let kind = op.text_of("type").unwrap_or_default().to_owned();
    if !served(&kind) {
        return Err(Fault::new("INVALID_TYPE", format!("Unknown type: {kind}")));
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
    Ok(format!(
        "<deleteMetadataResponse>{out}</deleteMetadataResponse>"
    ))
}

/// `listMetadata`: the custom objects and fields, as `FileProperties`.
fn list(app: &crate::State, op: &Element) -> String {
    let schema = app.org.schema();
    let runtime = app.org.runtime_schema();
    let mut out = String::new();
    for q in op.children_named("queries").take(3) {
        let kind = q.text_of("type").unwrap_or_default();
        for (full, id) in channels::list(app, kind) {
            let file = channels::file_of(kind, &full);
            out.push_str(&file_properties(&full, &file, &id, kind));
        }
        for o in schema.objects().filter(|o| o.custom && !o.tooling) {
            let file = format!("objects/{}.object", o.name);
            if kind == "CustomObject" {
                let id = runtime
                    .objects
                    .get(&o.name)
                    .map(|r| r.id.clone())
                    .unwrap_or_default();
                out.push_str(&file_properties(&o.name, &file, &id, kind));
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
                    out.push_str(&file_properties(
                        &format!("{}.{}", o.name, f.name),
                        &file,
                        &id,
                        kind,
                    ));
                }
            }
        }
    }
    format!("<listMetadataResponse>{out}</listMetadataResponse>")
}

fn file_properties(full: &str, file: &str, id: &str, kind: &str) -> String {
    let id = forcebus_org::RecordId::parse(id)
        .map(|i| i.to18())
        .unwrap_or_default();
    format!(
        "<result><createdById></createdById><createdByName></createdByName><createdDate>1970-01-01T00:00:00.000Z</createdDate><fileName>{}</fileName><fullName>{}</fullName><id>{id}</id><lastModifiedById></lastModifiedById><lastModifiedByName></lastModifiedByName><lastModifiedDate>1970-01-01T00:00:00.000Z</lastModifiedDate><manageableState>unmanaged</manageableState><type>{kind}</type></result>",
        escape(file),
        escape(full)
    )
}

/// `describeMetadata`: only the types this server serves.
fn describe() -> String {
    "<describeMetadataResponse><result><metadataObjects><childXmlNames>CustomField</childXmlNames><directoryName>objects</directoryName><inFolder>false</inFolder><metaFile>false</metaFile><suffix>object</suffix><xmlName>CustomObject</xmlName></metadataObjects><metadataObjects><directoryName>platformEventChannels</directoryName><inFolder>false</inFolder><metaFile>false</metaFile><suffix>platformEventChannel</suffix><xmlName>PlatformEventChannel</xmlName></metadataObjects><metadataObjects><directoryName>platformEventChannelMembers</directoryName><inFolder>false</inFolder><metaFile>false</metaFile><suffix>platformEventChannelMember</suffix><xmlName>PlatformEventChannelMember</xmlName></metadataObjects><organizationNamespace></organizationNamespace><partialSaveAllowed>true</partialSaveAllowed><testRequired>false</testRequired></result></describeMetadataResponse>".to_owned()
}
