//! One record (`org-rest-cdc.md` §2.4): `/sobjects/{X}` (a create, or a platform event's
//! publish; its `GET`, the object's basic information, is describe's),
//! `/sobjects/{X}/{id}` (read, update, delete), and what the record resources share: an
//! object by name and a `fields=` list.
//!
//! - `external_id`: `/sobjects/{X}/{field}/{value}`, the same by an external id;
//! - `blob`: `/sobjects/{X}/{id}/{BlobField}`, a blob field's bytes.

mod blob;
mod external_id;

pub(crate) use external_id::{delete_by_external_id, retrieve_by_external_id, upsert};

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use forcebus_http::shapes::SaveResult;
use forcebus_org::access::Access;
use forcebus_org::access::sharing::Level;
use forcebus_org::platform::{EventDef, PublishBehavior, ToPublish};
use forcebus_org::{Code, ObjectDef, Op, OrgError, Outcome, Record, RecordId, Work};

use crate::data::dispatch::{Reply, Run, Sub};
use crate::error::ApiError;

/// A data object by name, any case (not a tooling one): `NOT_FOUND` otherwise.
pub(crate) fn object(
    app: &crate::AppState,
    call: &crate::ctx::Call,
    name: &str,
) -> Result<Arc<ObjectDef>, ApiError> {
    let access = app.org.access(call.session.user_id);
    app.org
        .schema()
        .object_shared(name)
        .filter(|o| !o.tooling && access.reads(o))
        .ok_or_else(ApiError::not_found)
}

/// The fields a read of `o` shows `access` at API version `version` when the client
/// names none: `None` when they see them all.
pub(crate) fn seen_fields(o: &ObjectDef, access: &Access, version: &str) -> Option<Vec<String>> {
    if access.is_everything() {
        return None;
    }
    let major = forcebus_meta::major_version(version);
    Some(
        o.fields
            .iter()
            .filter(|f| f.exists_at(major) && access.sees(o, f))
            .map(|f| f.name.clone())
            .collect(),
    )
}

/// Checks a `fields=` list against the object; `None` when absent.
pub(crate) fn field_list(
    o: &ObjectDef,
    raw: Option<&str>,
    access: &Access,
) -> Result<Option<Vec<String>>, ApiError> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(None);
    };
    raw.split(',')
        .map(str::trim)
        .map(|name| {
            o.field(name)
                .filter(|f| access.sees(o, f))
                .map(|f| f.name.clone())
                .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    Code::InvalidField,
                    format!(
                        "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                        o.name
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn apply(work: &mut Work<'_>, op: Op) -> Result<Outcome, ApiError> {
    work.apply(op).map_err(ApiError::from)
}

/// `POST /sobjects/{X}`: 201 with the save result and the record's `Location`; for a
/// platform event, its publish.
pub(crate) fn create(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    let name = sub.segment(1);
    let created = (|| {
        if let Some(def) = run.app.org.platform_event(name) {
            let fields = sub.body.object()?;
            return publish(run, def, fields).map(|v| (v, None));
        }
        let o = &*sub.object(run, name)?;
        let fields = sub.body.object()?;
        let op = Op::Create {
            object: o.name.clone(),
            fields,
        };
        let id = apply(work, op)?.id();
        let location = format!("{}/sobjects/{}/{}", run.call.base(), o.name, id.to18());
        Ok((SaveResult::ok(id).to_value(), Some(location)))
    })();
    match created {
        Ok((body, location)) => Reply {
            location,
            ..Reply::new(StatusCode::CREATED, body)
        },
        Err(e) => e.into(),
    }
}

/// A platform event: published now (`PublishImmediately`), or after the transaction
/// commits (`PublishAfterCommit`, dropped if it rolls back); validated now either way.
fn publish(
    run: &mut Run<'_>,
    def: Arc<EventDef>,
    fields: Map<String, Value>,
) -> Result<Value, ApiError> {
    let caller = run.call.caller();
    let created_by = caller.user_id.to18();
    let now = forcebus_org::clock::format_datetime(run.app.org.clock().now());
    let prepared = def.check(&fields, &created_by, &now)?;
    let uuid = prepared.uuid.clone();
    let item: ToPublish = (def.clone(), fields.into(), Some(uuid.clone()));
    let published = if def.config.publish_behavior == PublishBehavior::PublishAfterCommit {
        run.after.events.push(item);
        Ok(forcebus_org::platform::Published { uuid, replay_id: 0 })
    } else {
        let (results, commit) = run
            .app
            .org
            .publish(&caller, &[item], true)
            .map_err(|e| ApiError::internal(&e))?
            .into_parts();
        run.after.published.push(commit);
        results
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::internal(&"a publish of one event gave no result"))?
    };
    let published = published.map_err(ApiError::from)?;
    Ok(crate::data::platform::result_json(&def, &Ok(published)))
}

/// The live record `id` of `o` in `work`: an id that does not parse is answered as
/// Salesforce answers an unknown external id.
fn live(work: &Work<'_>, o: &ObjectDef, id: &str) -> Result<Record, ApiError> {
    let rid =
        RecordId::parse(id).ok_or_else(|| ApiError::from(OrgError::not_an_external_id(id)))?;
    work.get(rid)
        .filter(|r| r.object == o.name && !r.is_deleted && work.level(r) >= Level::Read)
        .and_then(|_| work.read(rid))
        .ok_or_else(ApiError::not_found)
}

/// The id a write names, which must parse.
fn checked_id(id: &str) -> Result<(), ApiError> {
    match RecordId::parse(id) {
        Some(_) => Ok(()),
        None => Err(ApiError::from(OrgError::not_an_external_id(id))),
    }
}

/// `GET /sobjects/{X}/{id}[?fields=A,B]`.
pub(crate) fn retrieve(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    let result = (|| {
        let o = &*sub.object(run, sub.segment(1))?;
        let access = run.app.org.access(run.call.session.user_id);
        let fields = field_list(o, sub.param("fields"), &access)?
            .or_else(|| seen_fields(o, &access, &sub.target.version));
        let rec = live(work, o, sub.segment(2))?;
        Ok(crate::shapes::record::json(
            &rec,
            o,
            &sub.target.version,
            fields.as_deref(),
        ))
    })();
    Reply::of(result)
}

/// `PATCH /sobjects/{X}/{id}`: 204.
pub(crate) fn update(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    let result = (|| {
        let o = &*sub.object(run, sub.segment(1))?;
        let fields = sub.body.object()?;
        let id = sub.segment(2);
        checked_id(id)?;
        let op = Op::Update {
            object: Some(o.name.clone()),
            id: id.to_owned(),
            fields,
        };
        apply(work, op)
    })();
    done(result)
}

/// `DELETE /sobjects/{X}/{id}`: 204; the record goes to the Recycle Bin.
pub(crate) fn delete(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    let result = (|| {
        let o = &*sub.object(run, sub.segment(1))?;
        let id = sub.segment(2);
        checked_id(id)?;
        let op = Op::Delete {
            object: Some(o.name.clone()),
            id: id.to_owned(),
        };
        apply(work, op)
    })();
    done(result)
}

/// 204 for a write done.
fn done(result: Result<Outcome, ApiError>) -> Reply {
    match result {
        Ok(_) => Reply::new(StatusCode::NO_CONTENT, Value::Null),
        Err(e) => e.into(),
    }
}
