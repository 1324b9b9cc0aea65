//! The Tooling API's schema objects (`metadata-tooling.md` §14.1): `CustomField`
//! (`{"FullName": "Account.Tier__c", "Metadata": {"label", "type", "length", ...}}`) and
//! `CustomObject` (`{"FullName": "Employee__c", "Metadata": {"label", "pluralLabel"}}`),
//! created, read and deleted. A change takes effect at once (describe, SOQL, writes, the
//! change events' schema id) and survives a restart; `org::schema` does the work,
//! this module speaks the `Metadata` JSON (the Metadata API's types, lower camel case).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use forcebus_org::declarations::{field_config, field_metadata, object_config};
use forcebus_org::{Code, OrgError};

use crate::ctx::Call;
use crate::error::{ApiError, json_response};
use crate::shapes::record::Attributes;
use crate::shapes::to_value;
use crate::shapes::tooling::{
    CustomFieldRecord, CustomObjectMetadata, CustomObjectRecord, NameField,
};
use forcebus_http::shapes::SaveResult;

/// `CustomField`.
pub(crate) const CUSTOM_FIELD: &str = "CustomField";
/// `CustomObject`.
pub(crate) const CUSTOM_OBJECT: &str = "CustomObject";

/// The schema object `name` names, if it is one.
pub(crate) fn schema_object(name: &str) -> Option<&'static str> {
    [CUSTOM_FIELD, CUSTOM_OBJECT]
        .into_iter()
        .find(|o| o.eq_ignore_ascii_case(name))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::from(OrgError::new(Code::InvalidInput, message))
}

/// `POST /tooling/sobjects/{CustomField|CustomObject}`.
pub(crate) async fn create(
    app: &crate::AppState,
    object: &'static str,
    body: &Map<String, Value>,
) -> Result<Response, ApiError> {
    let full = body
        .get("FullName")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("FullName is required."))?
        .to_owned();
    let meta = body
        .get("Metadata")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| invalid("Metadata is required."))?;
    let org = app.org.clone();
    let id = if object == CUSTOM_FIELD {
        let (parent, field) = full.split_once('.').ok_or_else(|| {
            invalid(format!(
                "A CustomField's FullName is Object.Field__c: {full}"
            ))
        })?;
        let config = field_config(field, &meta)?;
        let parent = parent.to_owned();
        crate::blocking(move || org.add_custom_field(&parent, config)).await??
    } else {
        let config = object_config(&meta)?;
        crate::blocking(move || org.add_custom_object(&full, config)).await??
    };
    let id = forcebus_org::RecordId::parse(&id).map_or(id, |i| i.to18());
    Ok(json_response(
        StatusCode::CREATED,
        &SaveResult::tooling(id.to_string()).to_value(),
    ))
}

/// `GET /tooling/sobjects/{CustomField|CustomObject}/{id}`.
pub(crate) fn retrieve(
    call: &Call,
    app: &crate::AppState,
    object: &'static str,
    id: &str,
) -> Result<Response, ApiError> {
    let runtime = app.org.runtime_schema();
    let url = format!("{}/tooling/sobjects/{object}/{id}", call.base());
    let body = if object == CUSTOM_FIELD {
        let (parent, f) = runtime
            .field_by_id(&id15(id)?)
            .ok_or_else(ApiError::not_found)?;
        let table = runtime
            .objects
            .get(parent)
            .map_or_else(|| parent.to_owned(), |o| to18(&o.id));
        let c = &f.config;
        to_value(&CustomFieldRecord {
            attributes: Attributes {
                kind: CUSTOM_FIELD,
                url,
            },
            id: to18(&f.id),
            developer_name: c.name.trim_end_matches("__c"),
            table_enum_or_id: table,
            namespace_prefix: (),
            manageable_state: "unmanaged",
            full_name: format!("{parent}.{}", c.name),
            length: c.length,
            description: (),
            inline_help_text: (),
            metadata: app
                .org
                .schema()
                .object(parent)
                .and_then(|o| o.field(&c.name))
                .map(field_metadata)
                .unwrap_or(Value::Null),
        })
    } else {
        let (name, o) = runtime
            .objects
            .iter()
            .find(|(_, o)| o.id.eq_ignore_ascii_case(&id15(id).unwrap_or_default()))
            .ok_or_else(ApiError::not_found)?;
        let label = o
            .config
            .label
            .clone()
            .unwrap_or_else(|| name.trim_end_matches("__c").replace('_', " "));
        let plural = o
            .config
            .plural_label
            .clone()
            .unwrap_or_else(|| format!("{label}s"));
        to_value(&CustomObjectRecord {
            attributes: Attributes {
                kind: CUSTOM_OBJECT,
                url,
            },
            id: to18(&o.id),
            developer_name: name.trim_end_matches("__c"),
            namespace_prefix: (),
            manageable_state: "unmanaged",
            sharing_model: "ReadWrite",
            external_sharing_model: "Private",
            full_name: name,
            description: (),
            metadata: CustomObjectMetadata {
                name_field: NameField {
                    label: format!("{label} Name"),
                    kind: "Text",
                },
                label,
                plural_label: plural,
                deployment_status: "Deployed",
                sharing_model: "ReadWrite",
            },
        })
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `PATCH /tooling/sobjects/CustomField/{id}` `{"Metadata": {...}}` (the whole new
/// declaration): 204 when every record keeps its value, else the reason.
pub(crate) async fn update(
    app: &crate::AppState,
    object: &'static str,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Response, ApiError> {
    if object == CUSTOM_OBJECT {
        return Err(ApiError::from(OrgError::new(
            Code::InvalidInput,
            "Changing a custom object is not supported yet; change its fields instead.",
        )));
    }
    let runtime = app.org.runtime_schema();
    let (parent, f) = runtime
        .field_by_id(&id15(id)?)
        .ok_or_else(ApiError::not_found)?;
    let meta = body
        .get("Metadata")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| invalid("Metadata is required."))?;
    let config = field_config(&f.config.name, &meta)?;
    let (org, parent) = (app.org.clone(), parent.to_owned());
    crate::blocking(move || org.update_custom_field(&parent, config)).await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /tooling/sobjects/{CustomField|CustomObject}/{id}`: 204 (a custom object goes
/// with its records).
pub(crate) async fn delete(
    app: &crate::AppState,
    object: &'static str,
    id: &str,
) -> Result<Response, ApiError> {
    let runtime = app.org.runtime_schema();
    if object == CUSTOM_OBJECT {
        let id = id15(id)?;
        let name = runtime
            .objects
            .iter()
            .find(|(_, o)| o.id.eq_ignore_ascii_case(&id))
            .map(|(name, _)| name.clone())
            .ok_or_else(ApiError::not_found)?;
        let org = app.org.clone();
        crate::blocking(move || org.delete_custom_object(&name)).await??;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let (parent, f) = runtime
        .field_by_id(&id15(id)?)
        .ok_or_else(ApiError::not_found)?;
    let (parent, field) = (parent.to_owned(), f.config.name.clone());
    let org = app.org.clone();
    crate::blocking(move || org.delete_custom_field(&parent, &field)).await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn id15(id: &str) -> Result<String, ApiError> {
    forcebus_org::RecordId::parse(id)
        .map(|i| i.as15().to_owned())
        .ok_or_else(ApiError::not_found)
}

/// An id in its 18-character form (as given when it is not an id).
pub(crate) fn to18(id: &str) -> String {
    forcebus_org::RecordId::parse(id).map_or_else(|| id.to_owned(), |i| i.to18())
}
