//! `PlatformEventChannel` and `PlatformEventChannelMember` through the Metadata API
//! (`metadata-tooling.md` §11.3): the same records the Tooling API writes
//! ([`forcebus_org::org::event_settings`]), named by full name (`SalesEvents__chn`,
//! `SalesEvents_chn_AccountChangeEvent`, `ChangeEvents_Employee_ChangeEvent`), in the
//! Metadata API's XML. A member's channel and entity are fixed once it exists; its filter
//! and enriched fields may change.

use serde_json::{Map, Value, json};

use forcebus_org::org::deploy::{Component, Deployed};
use forcebus_org::{Caller, Code, OrgError, Record};

use forcebus_org::org::event_settings::{CHANNEL, MEMBER, setting_metadata};
use forcebus_xml::Element;

/// The Metadata types served here.
pub(crate) const TYPES: [&str; 2] = ["PlatformEventChannel", "PlatformEventChannelMember"];

/// The Tooling object behind a Metadata type.
pub(crate) fn object_of(kind: &str) -> Option<&'static str> {
    match kind {
        "PlatformEventChannel" => Some(CHANNEL),
        "PlatformEventChannelMember" => Some(MEMBER),
        _ => None,
    }
}

/// A served type's name, as a `'static` one.
pub(crate) fn type_of(kind: &str) -> Option<&'static str> {
    TYPES.into_iter().find(|t| *t == kind)
}

/// One channel or member a deploy declares.
#[derive(Debug, Clone)]
pub(crate) struct Declared {
    pub(crate) kind: &'static str,
    pub(crate) full: String,
    pub(crate) file: String,
    pub(crate) meta: Map<String, Value>,
}

/// A deploy's channels and members: deletions (members before their channels), then
/// channels before members, each made, changed or unchanged; applied when `apply`, else
/// only checked against what exists.
pub(crate) async fn deploy(
    app: &crate::State,
    caller: &Caller,
    declared: &[Declared],
    deletions: &[(&'static str, String, String)],
    apply: bool,
) -> Vec<Component> {
    let mut report = Vec::new();
    let mut deletions = deletions.to_vec();
    deletions.sort_by_key(|(kind, _, _)| *kind != "PlatformEventChannelMember");
    for (kind, full, file) in deletions {
        let there = object_of(kind)
            .and_then(|o| app.org.setting_by_full_name(o, &full))
            .is_some();
        let outcome = match (there, apply) {
            (false, _) => Ok(Deployed::Missing),
            (true, false) => Ok(Deployed::Deleted),
            (true, true) => delete(app, caller.clone(), kind, &full)
                .await
                .map(|()| Deployed::Deleted),
        };
        report.push(Component {
            kind: kind.to_owned(),
            full_name: full,
            file,
            outcome,
        });
    }
    let mut declared = declared.to_vec();
    declared.sort_by_key(|d| d.kind != "PlatformEventChannel");
    for d in declared {
        let now = read(app, d.kind, &d.full);
        let outcome = match now {
            Some(now) if same(&now, &d.meta) => Ok(Deployed::Unchanged),
            now if !apply => Ok(if now.is_some() {
                Deployed::Changed
            } else {
                Deployed::Created
            }),
            _ => save(
                app,
                caller.clone(),
                d.kind,
                &d.full,
                d.meta.clone(),
                (true, true),
            )
            .await
            .map(|created| {
                if created {
                    Deployed::Created
                } else {
                    Deployed::Changed
                }
            }),
        };
        report.push(Component {
            kind: d.kind.to_owned(),
            full_name: d.full,
            file: d.file,
            outcome,
        });
    }
    report
}

/// Whether a component's settings are already `meta` (the text of each one given).
fn same(now: &Value, meta: &Map<String, Value>) -> bool {
    meta.iter().all(|(k, v)| match (k.as_str(), v) {
        ("enrichedFields", Value::Array(list)) => {
            let names = |l: &[Value]| -> Vec<String> {
                l.iter()
                    .filter_map(|e| e["name"].as_str().map(str::to_owned))
                    .collect()
            };
            names(list) == names(now[k].as_array().map_or(&[][..], Vec::as_slice))
        }
        (_, Value::String(s)) => now[k].as_str() == Some(s.as_str()),
        _ => now[k] == *v,
    })
}

/// Where a component sits in a deploy or retrieve zip.
pub(crate) fn file_of(kind: &str, full: &str) -> String {
    match kind {
        "PlatformEventChannel" => format!("platformEventChannels/{full}.platformEventChannel"),
        _ => format!("platformEventChannelMembers/{full}.platformEventChannelMember"),
    }
}

/// A component's XML as the Tooling API's `Metadata` JSON (one `enrichedFields` is a
/// list of one).
pub(crate) fn metadata_json(m: &Element) -> Map<String, Value> {
    let mut meta = forcebus_xml::json::to_json(m);
    meta.remove("fullName");
    if let Some(one @ Value::Object(_)) = meta.get_mut("enrichedFields") {
        *one = Value::Array(vec![one.take()]);
    }
    meta
}

/// Creates (`Ok(true)`) or replaces (`Ok(false)`) the component `full` from `meta`; `create`
/// and `update` say which the call allows (an upsert allows both).
pub(crate) async fn save(
    app: &crate::State,
    caller: Caller,
    kind: &str,
    full: &str,
    mut meta: Map<String, Value>,
    (create, update): (bool, bool),
) -> Result<bool, OrgError> {
    let object = object_of(kind).ok_or_else(OrgError::not_found)?;
    match app.org.setting_by_full_name(object, full) {
        None if create => {
            let body = json!({"FullName": full, "Metadata": meta});
            let body = body.as_object().expect("an object");
            create_setting(app, caller, object, body)
                .await
                .map(|_| true)
        }
        None => Err(OrgError::new(
            Code::InvalidCrossReferenceKey,
            format!("In field: fullName - no {kind} named {full} found"),
        )),
        Some(_) if !update => Err(OrgError::new(
            Code::DuplicateDeveloperName,
            format!("There is already a {kind} named {full}."),
        )),
        Some(r) => {
            fixed_once_made(&r, &mut meta)?;
            let body = json!({"Metadata": meta});
            let body = body.as_object().expect("an object");
            update_setting(app, caller, &r, body).await.map(|()| false)
        }
    }
}

/// A member's channel and entity, restated as they are, are dropped from a replacement;
/// a different one is refused.
fn fixed_once_made(r: &Record, meta: &mut Map<String, Value>) -> Result<(), OrgError> {
    for (key, field) in [
        ("eventChannel", "EventChannel"),
        ("selectedEntity", "SelectedEntity"),
    ] {
        let Some(given) = meta.remove(key) else {
            continue;
        };
        if r.object == MEMBER && given.as_str() != r.get_str(field) {
            return Err(OrgError::new(
                Code::FieldIntegrityException,
                format!("{key} cannot be changed once the member exists"),
            ));
        }
    }
    Ok(())
}

/// Deletes the component `full`.
pub(crate) async fn delete(
    app: &crate::State,
    caller: Caller,
    kind: &str,
    full: &str,
) -> Result<(), OrgError> {
    let object = object_of(kind).ok_or_else(OrgError::not_found)?;
    let r = app.org.setting_by_full_name(object, full).ok_or_else(|| {
        OrgError::new(
            Code::InvalidCrossReferenceKey,
            format!("In field: fullName - no {kind} named {full} found"),
        )
    })?;
    let ops = app.org.setting_delete(&r)?;
    forcebus_http::transact_one(&app.org, caller, ops)
        .await
        .map(drop)
}

/// The component `full` as a Metadata record (`fullName` and its settings).
pub(crate) fn read(app: &crate::AppState, kind: &str, full: &str) -> Option<Value> {
    let r = app.org.setting_by_full_name(object_of(kind)?, full)?;
    let mut meta = setting_metadata(&r);
    meta["fullName"] = json!(full_name(&r));
    if meta["enrichedFields"].as_array().is_some_and(Vec::is_empty) {
        meta["enrichedFields"] = Value::Null;
    }
    Some(meta)
}

/// A record's full name.
fn full_name(r: &Record) -> String {
    let dev = r.get_str("DeveloperName").unwrap_or_default();
    if r.object == CHANNEL {
        forcebus_org::channels::channel_full_name(dev)
    } else {
        dev.to_owned()
    }
}

/// Every component of `kind`: full name and record id.
pub(crate) fn list(app: &crate::AppState, kind: &str) -> Vec<(String, String)> {
    let Some(object) = object_of(kind) else {
        return Vec::new();
    };
    app.org.scan(object, |r| {
        (!r.is_deleted).then(|| (full_name(r), r.id.to18()))
    })
}

/// Creates a channel or member from its Metadata.
async fn create_setting(
    app: &crate::State,
    caller: Caller,
    object: &str,
    body: &Map<String, Value>,
) -> Result<forcebus_org::RecordId, OrgError> {
    let op = app.org.setting_create(object, body)?;
    forcebus_http::transact_one(&app.org, caller, vec![op]).await
}

/// Changes a channel or member from its Metadata.
async fn update_setting(
    app: &crate::State,
    caller: Caller,
    r: &Record,
    body: &Map<String, Value>,
) -> Result<(), OrgError> {
    let op = app.org.setting_update(r, body)?;
    forcebus_http::transact_one(&app.org, caller, vec![op])
        .await
        .map(drop)
}
