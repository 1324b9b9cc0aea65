//! A record by an external id (`org-rest-cdc.md` §2.4): `/sobjects/{X}/{field}/{value}`
//! read, upserted (`PATCH`, or `POST`) and deleted; several records with the value are a
//! 300 listing them.

use axum::http::StatusCode;
use serde_json::Value;

use forcebus_http::shapes::SaveResult;
use forcebus_org::{ObjectDef, Op, Outcome, RecordId, Work};

use super::{apply, done, field_list};
use crate::ctx::Call;
use crate::data::dispatch::{Reply, Run, Sub};
use crate::error::ApiError;

/// 300 with the record URLs, when an external id matches several records.
fn multiple_choices(call: &Call, o: &ObjectDef, ids: &[RecordId]) -> ApiError {
    let urls: Vec<String> = ids
        .iter()
        .map(|id| format!("{}/sobjects/{}/{}", call.base(), o.name, id.to18()))
        .collect();
    ApiError::raw(StatusCode::MULTIPLE_CHOICES, Value::from(urls))
}

/// `/sobjects/{X}/{a}/{b}` names a resource only when `a` is a field of `X`: otherwise it is
/// an unknown sub-resource, `NOT_FOUND` (a field that is not an external id gets
/// Salesforce's "Provided external ID field does not exist" instead).
fn field_segment(o: &ObjectDef, field: &str) -> Result<(), ApiError> {
    match o.field(field) {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found()),
    }
}

/// An upsert's status and body: 201 on insert; on update 200 from API 46.0, 204 (no body)
/// before; `created` from 46.0.
fn upsert_reply(version: &str, id: RecordId, created: bool) -> (StatusCode, Option<Value>) {
    let new_shape = version.parse::<f32>().unwrap_or(59.0) >= 46.0;
    match (created, new_shape) {
        (true, true) => (
            StatusCode::CREATED,
            Some(SaveResult::upserted(id, true).to_value()),
        ),
        (true, false) => (StatusCode::CREATED, Some(SaveResult::ok(id).to_value())),
        (false, true) => (
            StatusCode::OK,
            Some(SaveResult::upserted(id, false).to_value()),
        ),
        (false, false) => (StatusCode::NO_CONTENT, None),
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
pub(crate) fn retrieve_by_external_id(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    if let Some(reply) = super::blob::blob(run, work, sub) {
        return reply;
    }
    let result = (|| {
        let o = &*sub.object(run, sub.segment(1))?;
        let access = run.app.org.access(run.call.session.user_id);
        let fields = field_list(o, sub.param("fields"), &access)?
            .or_else(|| super::seen_fields(o, &access, &sub.target.version));
        let id = by_external_id(run, work, o, sub.segment(2), sub.segment(3))?
            .ok_or_else(ApiError::not_found)?;
        let rec = work.read(id).ok_or_else(ApiError::not_found)?;
        Ok(crate::shapes::record::json(
            &rec,
            o,
            &sub.target.version,
            fields.as_deref(),
        ))
    })();
    Reply::of(result)
}

/// `DELETE /sobjects/{X}/{Field}/{value}`.
pub(crate) fn delete_by_external_id(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    let result = (|| {
        let o = &*sub.object(run, sub.segment(1))?;
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
pub(crate) fn upsert(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    let result = (|| {
        let o = &*sub.object(run, sub.segment(1))?;
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
