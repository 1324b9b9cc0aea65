//! One record (`org-rest-cdc.md` §2.4): `/sobjects/{X}` (basic information; a create, or
//! a platform event's publish), `/sobjects/{X}/{id}` (read, update, delete) and
//! `/sobjects/{X}/{field}/{value}` (read, upsert, delete by an external id).

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use forcebus_http::shapes::SaveResult;
use forcebus_org::platform::{EventDef, PublishBehavior, ToPublish};
use forcebus_org::{ObjectDef, Op, OrgError, Outcome, Record, RecordId, Work};

use super::{Blob, Reply, Run, Sub};
use crate::data::sobjects::{field_list, field_segment, multiple_choices, upsert_reply};
use crate::error::ApiError;

fn apply(work: &mut Work<'_>, op: Op) -> Result<Outcome, ApiError> {
    work.apply(op).map_err(ApiError::from)
}

/// `GET /sobjects/{X}`: the object's basic information.
pub(super) fn basic(run: &mut Run<'_>, _work: &mut Work<'_>, sub: &Sub) -> Reply {
    Reply::of(crate::data::describe::basic_json(
        run.app,
        run.call,
        sub.segment(1),
    ))
}

/// `POST /sobjects/{X}`: 201 with the save result and the record's `Location`; for a
/// platform event, its publish.
pub(super) fn create(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    let name = sub.segment(1);
    let created = (|| {
        if let Some(def) = run.app.org.platform_event(name) {
            let fields = sub.body.object()?;
            return publish(run, def, fields).map(|v| (v, None));
        }
        let o = &*sub.object(run.app, name)?;
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
        .filter(|r| r.object == o.name && !r.is_deleted)
        .cloned()
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
pub(super) fn retrieve(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    let result = (|| {
        let o = &*sub.object(run.app, sub.segment(1))?;
        let fields = field_list(o, sub.param("fields"))?;
        let rec = live(work, o, sub.segment(2))?;
        Ok(crate::data::record::json(
            &rec,
            o,
            &sub.target.version,
            fields.as_deref(),
        ))
    })();
    Reply::of(result)
}

/// `PATCH /sobjects/{X}/{id}`: 204.
pub(super) fn update(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    let result = (|| {
        let o = &*sub.object(run.app, sub.segment(1))?;
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
pub(super) fn delete(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    let result = (|| {
        let o = &*sub.object(run.app, sub.segment(1))?;
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

/// The record `X`'s external-id `field` names with `value`: none, one, or a 300 listing
/// several.
fn by_external_id(
    run: &Run<'_>,
    work: &Work<'_>,
    o: &ObjectDef,
    field: &str,
    value: &str,
) -> Result<Option<RecordId>, ApiError> {
    field_segment(o, field)?;
    let ids = work.find_by_external_id(&o.name, field, value)?;
    match ids.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(multiple_choices(run.call, o, many)),
    }
}

/// `GET /sobjects/{X}/{Field}/{value}`.
pub(super) fn retrieve_by_external_id(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    if let Some(reply) = blob(run, work, sub) {
        return reply;
    }
    let result = (|| {
        let o = &*sub.object(run.app, sub.segment(1))?;
        let fields = field_list(o, sub.param("fields"))?;
        let id = by_external_id(run, work, o, sub.segment(2), sub.segment(3))?
            .ok_or_else(ApiError::not_found)?;
        let rec = work.get(id).ok_or_else(ApiError::not_found)?;
        Ok(crate::data::record::json(
            rec,
            o,
            &sub.target.version,
            fields.as_deref(),
        ))
    })();
    Reply::of(result)
}

/// `GET /sobjects/{X}/{id}/{BlobField}` (`standard-objects.md` §4.6): the bytes of a
/// record's blob field (`ContentVersion.VersionData`, `Attachment.Body`), with the record's
/// `ContentType` when it has one; `None` when the path names no blob field (an external
/// id read).
fn blob(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Option<Reply> {
    let o = sub.object(run.app, sub.segment(1)).ok()?;
    let field = o
        .field(sub.segment(3))
        .filter(|f| f.ftype == forcebus_meta::FieldType::Base64)?;
    let id =
        forcebus_org::RecordId::parse(sub.segment(2)).filter(|id| id.prefix() == o.key_prefix)?;
    let reply = (|| -> Result<Reply, ApiError> {
        let rec = live(work, &o, &id.to18())?;
        let value = rec.get(&field.name);
        if value.is_null() {
            return Err(ApiError::not_found());
        }
        let content_type = rec
            .get_str("ContentType")
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = match forcebus_org::blobs::key_of(value) {
            Some(key) => {
                let size = run
                    .app
                    .org
                    .blob_size(key)
                    .map_err(|e| ApiError::internal(&e))?
                    .ok_or_else(ApiError::not_found)?;
                Blob::Stored {
                    org: run.app.org.clone(),
                    key: key.to_owned(),
                    size,
                }
            }
            None => {
                use base64::Engine as _;
                let text = value.as_str().unwrap_or_default();
                Blob::Held(
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .map_err(|e| ApiError::internal(&e))?,
                )
            }
        };
        Ok(Reply::blob(content_type, bytes))
    })();
    Some(reply.unwrap_or_else(Reply::from))
}

/// `DELETE /sobjects/{X}/{Field}/{value}`.
pub(super) fn delete_by_external_id(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    let result = (|| {
        let o = &*sub.object(run.app, sub.segment(1))?;
        let id = by_external_id(run, work, o, sub.segment(2), sub.segment(3))?
            .ok_or_else(ApiError::not_found)?;
        let op = Op::Delete {
            object: Some(o.name.clone()),
            id: id.to18(),
        };
        apply(work, op)
    })();
    done(result)
}

/// `PATCH` (or `POST`) `/sobjects/{X}/{Field}/{value}`: 201 on insert; on update 200 from
/// API 46.0 (204 before), both with `created`.
pub(super) fn upsert(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    let result = (|| {
        let o = &*sub.object(run.app, sub.segment(1))?;
        let fields = sub.body.object()?;
        let (field, value) = (sub.segment(2), sub.segment(3));
        by_external_id(run, work, o, field, value)?;
        let op = Op::Upsert {
            object: o.name.clone(),
            field: field.to_owned(),
            value: value.to_owned(),
            fields,
        };
        let Outcome::Upserted { id, created } = apply(work, op)? else {
            return Err(ApiError::internal(&"upsert returned another outcome"));
        };
        let (status, body) = upsert_reply(&sub.target.version, id, created);
        Ok(Reply::new(status, body.unwrap_or(Value::Null)))
    })();
    result.unwrap_or_else(Reply::from)
}
