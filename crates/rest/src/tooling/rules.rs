//! The Tooling API's `ValidationRule` (`metadata-tooling.md` §14): created
//! (`{"FullName": "Account.Score_Range", "Metadata": {"errorConditionFormula",
//! "errorMessage", "errorDisplayField", "active", "description"}}`), read, changed
//! (`{"Metadata": {...}}`, the whole new rule) and deleted; queried as rows of every rule
//! the schema has ([`row`]). A rule takes effect at once on every write, and survives a
//! restart; its formula is compiled before it is kept (a bad one is refused with
//! Salesforce's message).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use forcebus_meta::{ObjectDef, ValidationRuleDef};
use forcebus_org::declarations::{validation_rule_config, validation_rule_metadata};
use forcebus_org::{Code, OrgError};

use crate::ctx::Call;
use crate::error::{ApiError, json_response};
use crate::shapes::record::Attributes;
use crate::shapes::to_value;
use crate::shapes::tooling::ValidationRuleRow;
use crate::tooling::schema::to18;
use forcebus_http::shapes::SaveResult;

/// `ValidationRule`.
pub(crate) const VALIDATION_RULE: &str = "ValidationRule";

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::from(OrgError::new(Code::InvalidInput, message))
}

fn metadata(body: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    body.get("Metadata")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| invalid("Metadata is required."))
}

/// `POST /tooling/sobjects/ValidationRule`.
pub(crate) async fn create(
    app: &crate::AppState,
    body: &Map<String, Value>,
) -> Result<Response, ApiError> {
    let full = body
        .get("FullName")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("FullName is required."))?;
    let (object, name) = full.split_once('.').ok_or_else(|| {
        invalid(format!(
            "A ValidationRule's FullName is Object.Rule_Name: {full}"
        ))
    })?;
    let config = validation_rule_config(name, &metadata(body)?)?;
    let (org, object) = (app.org.clone(), object.to_owned());
    let id = crate::blocking(move || org.put_validation_rule(&object, config)).await??;
    Ok(json_response(
        StatusCode::CREATED,
        &SaveResult::tooling(to18(&id)).to_value(),
    ))
}

/// `PATCH /tooling/sobjects/ValidationRule/{id}` `{"Metadata": {...}}`: 204.
pub(crate) async fn update(
    app: &crate::AppState,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Response, ApiError> {
    let (object, name) = {
        let runtime = app.org.runtime_schema();
        let (object, r) = runtime
            .validation_rule_by_id(id)
            .ok_or_else(ApiError::not_found)?;
        (object.to_owned(), r.config.name.clone())
    };
    let config = validation_rule_config(&name, &metadata(body)?)?;
    let org = app.org.clone();
    crate::blocking(move || org.put_validation_rule(&object, config)).await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /tooling/sobjects/ValidationRule/{id}`: 204.
pub(crate) async fn delete(app: &crate::AppState, id: &str) -> Result<Response, ApiError> {
    let (org, id) = (app.org.clone(), id.to_owned());
    crate::blocking(move || org.delete_validation_rule(&id)).await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /tooling/sobjects/ValidationRule/{id}`.
pub(crate) fn retrieve(call: &Call, app: &crate::AppState, id: &str) -> Result<Response, ApiError> {
    let runtime = app.org.runtime_schema();
    let (object, r) = runtime
        .validation_rule_by_id(id)
        .ok_or_else(ApiError::not_found)?;
    let schema = app.org.schema();
    let o = schema.object(object).ok_or_else(ApiError::not_found)?;
    let def = o
        .validation_rules
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(&r.config.name))
        .ok_or_else(ApiError::not_found)?;
    let mut body = to_value(&row(o, def, to18(&r.id), &durable(app, o)));
    body["attributes"] = to_value(&Attributes {
        kind: VALIDATION_RULE,
        url: format!(
            "{}/tooling/sobjects/{VALIDATION_RULE}/{}",
            call.base(),
            to18(&r.id)
        ),
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// An object's `EntityDefinitionId`: its `CustomObject` id when made at runtime, else its
/// name.
fn durable(app: &crate::AppState, o: &ObjectDef) -> String {
    app.org
        .runtime_schema()
        .objects
        .get(&o.name)
        .map_or_else(|| o.name.clone(), |r| to18(&r.id))
}

/// Rule `r` of `o` as a `ValidationRule` row.
pub(crate) fn row<'a>(
    o: &'a ObjectDef,
    r: &'a ValidationRuleDef,
    id: String,
    entity: &'a str,
) -> ValidationRuleRow<'a> {
    ValidationRuleRow {
        id,
        validation_name: &r.name,
        active: r.active,
        description: r.description.as_deref(),
        entity_definition_id: entity,
        error_display_field: r.display_field.as_deref(),
        error_message: &r.message,
        full_name: format!("{}.{}", o.name, r.name),
        namespace_prefix: (),
        manageable_state: "unmanaged",
        metadata: validation_rule_metadata(r),
    }
}
