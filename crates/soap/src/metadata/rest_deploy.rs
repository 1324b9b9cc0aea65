//! The Metadata API's REST deploy (`metadata-tooling.md` §6),
//! `{base}/metadata/deployRequest[/{id}]`, the resource SDR uses when the sf CLI's
//! `org-metadata-rest-deploy` is set, and jsforce's `metadata.deployRest`:
//!
//! - `POST` `multipart/form-data`: the zip in the part named `file`, the options in the
//!   JSON part (`entity_content` from jsforce, `json` in the docs: picked by its content
//!   type) → 201 with the deploy request;
//! - `POST` JSON `{"validatedDeployRequestId": "0Af…"}`, the id also accepted in the path:
//!   a quick deploy of that validation → 201 with the new request;
//! - `GET …/{id}[?includeDetails=true]` → 200, the request with its `deployResult` in
//!   JSON (real booleans and numbers, `null` for absent, `details` an object);
//! - `PATCH …/{id}` `{"deployResult": {"status": "Canceling"}}`: a cancel.
//!
//! The deploys are the SOAP API's ([`crate::metadata::deploy`]): a deploy made through one
//! is read or canceled through the other (the sf CLI cancels REST deploys over SOAP).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

use forcebus_org::Code;

use crate::ctx::Call;
use crate::error::{ApiError, json_response};
use crate::metadata::deploy::{DeployResult, Message, start};
use crate::metadata::options::DeployOptions;
use crate::multipart;

/// The media type of a request, lowercased, without parameters.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A `400 INVALID_INPUT` about the request.
fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidInput, message)
}

/// `POST {base}/metadata/deployRequest`: a deploy (multipart) or a quick deploy (JSON).
pub(crate) async fn create(
    call: Call,
    State(app): State<crate::State>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if media_type(&headers).starts_with("multipart/") {
        let (zip, options) = deploy_parts(&headers, &body)?;
        let id = start(&app, &call.caller(), zip, options, None).await;
        return created(&app, &call, &id);
    }
    quick_deploy(&call, &app, &headers, &body, None).await
}

/// `POST {base}/metadata/deployRequest/{id}`: a quick deploy of the validation `id`.
pub(crate) async fn create_validated(
    call: Call,
    State(app): State<crate::State>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    quick_deploy(&call, &app, &headers, &body, Some(&id)).await
}

/// `GET {base}/metadata/deployRequest/{id}[?includeDetails=true]`.
pub(crate) async fn status(
    call: Call,
    State(app): State<crate::State>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let details = q
        .get("includeDetails")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let r = app.deploys.get(&id).ok_or_else(ApiError::not_found)?;
    let result = deploy_result(&r, details);
    Ok(json_response(StatusCode::OK, &request(&call, &r, result)))
}

/// `PATCH {base}/metadata/deployRequest/{id}` with `{"deployResult": {"status":
/// "Canceling"}}`: a cancel, answered 202 with the request were there a deploy still
/// running; every deploy here is done, so a known id is refused as Salesforce refuses
/// to cancel a completed deploy (`metadata_quick::cancel`).
pub(crate) async fn cancel(
    call: Call,
    State(app): State<crate::State>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = crate::body::json(&headers, &body)?;
    if body.pointer("/deployResult/status").and_then(Value::as_str) != Some("Canceling") {
        return Err(bad_request(
            "The only change a deploy request takes is {\"deployResult\": {\"status\": \"Canceling\"}}",
        ));
    }
    let r = app.deploys.get(&id).ok_or_else(ApiError::not_found)?;
    crate::metadata::quick::cancel(&app, &r.id)?;
    let result = deploy_result(&r, false);
    Ok(json_response(
        StatusCode::ACCEPTED,
        &request(&call, &r, result),
    ))
}

/// The zip (the part named `file`) and the options (the JSON part, if any) of a
/// multipart deploy.
fn deploy_parts(headers: &HeaderMap, body: &Bytes) -> Result<(Bytes, DeployOptions), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let parts = multipart::boundary(content_type)
        .and_then(|b| multipart::parse(body, &b))
        .map_err(|e| bad_request(e.to_string()))?;
    let zip = parts
        .iter()
        .find(|p| p.name.as_deref() == Some("file"))
        .ok_or_else(|| bad_request("The request has no zip file: send it in a part named file"))?;
    let json = parts.iter().find(|p| {
        p.content_type
            .as_deref()
            .is_some_and(|c| c.contains("json"))
    });
    let options = match json {
        None => DeployOptions::default(),
        Some(part) => {
            let value: Value = serde_json::from_slice(part.body).map_err(|e| {
                ApiError::json_parser(format!(
                    "The JSON part is not valid JSON: {e} (line:{}, column:{})",
                    e.line(),
                    e.column()
                ))
            })?;
            DeployOptions::from_json(&value).map_err(ApiError::json_parser)?
        }
    };
    Ok((body.slice_ref(zip.body), options))
}

/// A quick deploy: the validation named in the JSON body (`validatedDeployRequestId`)
/// or the path (`in_path`); both, if given, must agree.
async fn quick_deploy(
    call: &Call,
    app: &crate::State,
    headers: &HeaderMap,
    body: &[u8],
    in_path: Option<&str>,
) -> Result<Response, ApiError> {
    let in_body = if body.iter().all(u8::is_ascii_whitespace) && in_path.is_some() {
        None
    } else {
        let v = crate::body::json(headers, body)?;
        match v.get("validatedDeployRequestId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(ApiError::json_parser(
                    "validatedDeployRequestId must be a string",
                ));
            }
        }
    };
    let id = match (in_path, in_body.as_deref()) {
        (Some(p), Some(b)) if !p.eq_ignore_ascii_case(b) => {
            return Err(bad_request(
                "The validatedDeployRequestId of the body is not the one in the path",
            ));
        }
        (Some(id), _) | (None, Some(id)) => id.to_owned(),
        (None, None) => {
            return Err(bad_request(
                "A deploy request is multipart/form-data with the zip in a part named file, or JSON with a validatedDeployRequestId",
            ));
        }
    };
    let new = crate::metadata::quick::deploy_validated(app, &call.caller(), &id).await?;
    created(app, call, &new)
}

/// The answer to a new deploy request, 201: the request with its result as it was asked
/// for (`Pending`, no details yet; a poll reads the rest, as from Salesforce).
fn created(app: &crate::State, call: &Call, id: &str) -> Result<Response, ApiError> {
    let r = app.deploys.get(id).ok_or_else(|| {
        ApiError::internal(&format!("the deploy {id} was kept and is gone already"))
    })?;
    let result = PendingResult::of(&r.id, &r.options, &r.created);
    Ok(json_response(
        StatusCode::CREATED,
        &request(call, &r, result),
    ))
}

/// A deploy request as the resource answers it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeployRequest<'a, R> {
    id: &'a str,
    /// The validation it applies again (a quick deploy), else `null`.
    validated_deploy_request_id: Option<&'a str>,
    url: String,
    deploy_options: &'a DeployOptions,
    deploy_result: R,
}

/// A deploy request: its id, the validation it applies, its URL, options and `result`.
fn request<'a, R: Serialize>(call: &Call, r: &'a DeployResult, result: R) -> DeployRequest<'a, R> {
    DeployRequest {
        id: &r.id,
        validated_deploy_request_id: r.validated.as_deref(),
        url: format!("{}/metadata/deployRequest/{}", call.base(), r.id),
        deploy_options: &r.options,
        deploy_result: result,
    }
}

/// A new deploy request's `deployResult`: pending, no counts and no details yet.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PendingResult<'a> {
    id: &'a str,
    status: &'static str,
    done: bool,
    success: bool,
    check_only: bool,
    ignore_warnings: bool,
    rollback_on_error: bool,
    number_components_deployed: u32,
    number_components_total: u32,
    number_component_errors: u32,
    number_tests_completed: u32,
    number_tests_total: u32,
    number_test_errors: u32,
    details: Option<()>,
    created_date: &'a str,
}

impl<'a> PendingResult<'a> {
    fn of(id: &'a str, options: &DeployOptions, created: &'a str) -> Self {
        Self {
            id,
            status: "Pending",
            done: false,
            success: false,
            check_only: options.check_only,
            ignore_warnings: options.ignore_warnings,
            rollback_on_error: options.rollback_on_error,
            number_components_deployed: 0,
            number_components_total: 0,
            number_component_errors: 0,
            number_tests_completed: 0,
            number_tests_total: 0,
            number_test_errors: 0,
            details: None,
            created_date: created,
        }
    }
}

/// A finished deploy's `deployResult`: the SOAP DeployResult's names and counts with
/// JSON types; `details` always an object (SDR reads `details.componentFailures`
/// unguarded), with the messages when asked for.
fn deploy_result(r: &DeployResult, details: bool) -> Value {
    let (errors, deployed, total) = r.counts();
    let (failures, successes) = if details {
        r.messages()
    } else {
        (Vec::new(), Vec::new())
    };
    let failures: Vec<JsonMessage<'_>> = failures
        .iter()
        .map(|m| JsonMessage::of(m, &r.created))
        .collect();
    let successes: Vec<JsonMessage<'_>> = successes
        .iter()
        .map(|m| JsonMessage::of(m, &r.created))
        .collect();
    let result = RestDeployResult {
        id: &r.id,
        status: r.status,
        done: true,
        success: r.success(),
        check_only: r.options.check_only,
        ignore_warnings: r.options.ignore_warnings,
        rollback_on_error: r.options.rollback_on_error,
        run_tests_enabled: false,
        number_components_deployed: deployed,
        number_components_total: total,
        number_component_errors: errors,
        number_tests_completed: 0,
        number_tests_total: 0,
        number_test_errors: 0,
        created_by: &r.created_by.0,
        created_by_name: &r.created_by.1,
        created_date: &r.created,
        start_date: &r.created,
        completed_date: &r.created,
        last_modified_date: &r.created,
        canceled_by: None,
        canceled_by_name: None,
        error_message: r.error.as_deref(),
        error_status_code: r.error.as_ref().map(|_| Code::UnknownException.as_str()),
        state_detail: None,
        messages: [],
        retrieve_result: None,
        run_test_result: None,
        details: Details {
            all_component_messages: failures.iter().chain(&successes).collect(),
            component_failures: &failures,
            component_successes: &successes,
            retrieve_result: None,
            run_test_result: RunTestResult::default(),
        },
    };
    serde_json::to_value(result).unwrap_or(Value::Null)
}

/// The REST deploy's `deployResult`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RestDeployResult<'a> {
    id: &'a str,
    status: &'a str,
    done: bool,
    success: bool,
    check_only: bool,
    ignore_warnings: bool,
    rollback_on_error: bool,
    run_tests_enabled: bool,
    number_components_deployed: usize,
    number_components_total: usize,
    number_component_errors: usize,
    number_tests_completed: u32,
    number_tests_total: u32,
    number_test_errors: u32,
    created_by: &'a str,
    created_by_name: &'a str,
    created_date: &'a str,
    start_date: &'a str,
    completed_date: &'a str,
    last_modified_date: &'a str,
    canceled_by: Option<&'a str>,
    canceled_by_name: Option<&'a str>,
    error_message: Option<&'a str>,
    error_status_code: Option<&'a str>,
    state_detail: Option<&'a str>,
    messages: [(); 0],
    retrieve_result: Option<()>,
    run_test_result: Option<()>,
    details: Details<'a>,
}

/// `deployResult.details`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Details<'a> {
    all_component_messages: Vec<&'a JsonMessage<'a>>,
    component_failures: &'a [JsonMessage<'a>],
    component_successes: &'a [JsonMessage<'a>],
    retrieve_result: Option<()>,
    run_test_result: RunTestResult,
}

/// An empty `runTestResult` (no Apex tests run).
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct RunTestResult {
    num_failures: u32,
    num_tests_run: u32,
    total_time: f64,
    successes: [(); 0],
    failures: [(); 0],
    code_coverage: [(); 0],
    code_coverage_warnings: [(); 0],
    flow_coverage: [(); 0],
    flow_coverage_warnings: [(); 0],
}

/// A DeployMessage in JSON: the SOAP fields (`null` for absent ones) and the four a
/// REST answer adds.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonMessage<'a> {
    changed: bool,
    column_number: Option<u32>,
    component_type: &'a str,
    created: bool,
    created_date: &'a str,
    deleted: bool,
    file_name: &'a str,
    for_package_manifest_file: bool,
    full_name: &'a str,
    id: Option<&'a str>,
    known_packaging_problem: bool,
    line_number: Option<u32>,
    problem: Option<&'a str>,
    problem_type: Option<&'a str>,
    requires_production_test_run: bool,
    success: bool,
    warning: bool,
}

impl<'a> JsonMessage<'a> {
    fn of(m: &'a Message<'a>, created: &'a str) -> Self {
        Self {
            changed: m.changed,
            column_number: None,
            component_type: m.component_type,
            created: m.created,
            created_date: created,
            deleted: m.deleted,
            file_name: &m.file_name,
            for_package_manifest_file: m.component_type.is_empty(),
            full_name: m.full_name,
            id: None,
            known_packaging_problem: false,
            line_number: None,
            problem: m.problem.as_deref(),
            problem_type: m.problem.as_ref().map(|_| m.problem_type),
            requires_production_test_run: false,
            success: m.success,
            warning: m.problem_type == "Warning",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_result_keeps_its_key_order() {
        let options = DeployOptions {
            check_only: true,
            ..DeployOptions::default()
        };
        let pending = PendingResult::of("0Af1", &options, "2024-05-01T00:00:00.000Z");
        assert_eq!(
            serde_json::to_string(&pending).unwrap(),
            concat!(
                r#"{"id":"0Af1","status":"Pending","done":false,"success":false,"checkOnly":true,"#,
                r#""ignoreWarnings":false,"rollbackOnError":true,"numberComponentsDeployed":0,"#,
                r#""numberComponentsTotal":0,"numberComponentErrors":0,"numberTestsCompleted":0,"#,
                r#""numberTestsTotal":0,"numberTestErrors":0,"details":null,"#,
                r#""createdDate":"2024-05-01T00:00:00.000Z"}"#
            )
        );
    }
}
