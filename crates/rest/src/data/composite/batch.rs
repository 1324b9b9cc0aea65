//! `POST /composite/batch` (`data-apis.md` §4.2): up to 25 independent subrequests, run in
//! order, each exactly as if it had been sent alone: it goes through the router with the
//! batch's credentials, commits on its own and counts against the API limits. Later
//! failures leave earlier commits in place; `haltOnError` answers every subrequest after
//! the first failure with 412 `BATCH_PROCESSING_HALTED` instead of running it.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value};
use tower::ServiceExt as _;

use forcebus_org::Code;

use super::malformed;
use crate::ctx::Call;
use crate::error::ApiError;
use crate::shapes::composite::{BatchHalted, BatchResult, BatchResults};
use crate::shapes::{respond, to_value};

/// Most subrequests in one batch.
pub(crate) const MAX_SUBREQUESTS: usize = 25;
/// The oldest API version a subrequest may name.
const OLDEST_VERSION: f32 = 34.0;

struct Subrequest {
    method: Method,
    /// `/services/data/vXX.X/...`.
    uri: String,
    body: Option<Vec<u8>>,
}

fn subrequest(v: Value, batch_version: &str) -> Result<Subrequest, ApiError> {
    let Value::Object(mut m) = v else {
        return Err(malformed("Each batch subrequest must be a JSON object"));
    };
    let method = m
        .get("method")
        .and_then(Value::as_str)
        .and_then(|s| match s.to_ascii_uppercase().as_str() {
            "GET" => Some(Method::GET),
            "POST" => Some(Method::POST),
            "PATCH" => Some(Method::PATCH),
            "PUT" => Some(Method::PUT),
            "DELETE" => Some(Method::DELETE),
            "HEAD" => Some(Method::HEAD),
            _ => None,
        })
        .ok_or_else(|| malformed("Each batch subrequest needs a valid method"))?;
    let url = m
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("Each batch subrequest needs a url"))?
        .to_owned();
    let relative = url.trim_start_matches('/');
    let relative = relative.strip_prefix("services/data/").unwrap_or(relative);
    let version: f32 = relative
        .strip_prefix('v')
        .and_then(|r| r.split(['/', '?']).next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| malformed(format!("Invalid batch subrequest url: {url}")))?;
    let newest: f32 = batch_version.parse().unwrap_or(f32::MAX);
    if !(OLDEST_VERSION..=newest).contains(&version) {
        return Err(malformed(format!(
            "The version of a batch subrequest must be between {OLDEST_VERSION:.1} and \
             {batch_version}: {url}"
        )));
    }
    let body = match m.remove("richInput") {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::to_vec(&v).expect("JSON values serialise")),
    };
    Ok(Subrequest {
        method,
        uri: format!("/services/data/{relative}"),
        body,
    })
}

fn parse(call: &Call, m: &mut Map<String, Value>) -> Result<(bool, Vec<Subrequest>), ApiError> {
    let halt = m
        .remove("haltOnError")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let Some(Value::Array(items)) = m.remove("batchRequests") else {
        return Err(malformed("The batchRequests array is required"));
    };
    if let Some(k) = m.keys().next() {
        return Err(ApiError::json_parser(format!("Unrecognized field \"{k}\"")));
    }
    if items.is_empty() || items.len() > MAX_SUBREQUESTS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::LimitExceeded,
            format!("A batch must contain between 1 and {MAX_SUBREQUESTS} subrequests"),
        ));
    }
    let subs = items
        .into_iter()
        .map(|v| subrequest(v, &call.version))
        .collect::<Result<_, _>>()?;
    Ok((halt, subs))
}

/// Sends one subrequest through the router as the batch's own client.
async fn send(router: Router, outer: &axum::http::request::Parts, sub: Subrequest) -> (u16, Value) {
    let mut req = Request::builder().method(sub.method).uri(&sub.uri);
    for name in [header::AUTHORIZATION, header::HOST, header::ACCEPT_LANGUAGE] {
        if let Some(v) = outer.headers.get(&name) {
            req = req.header(name, v.clone());
        }
    }
    if sub.body.is_some() {
        req = req.header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let Ok(mut req) = req.body(Body::from(sub.body.unwrap_or_default())) else {
        let (status, body) = ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::MalformedUrl,
            "Invalid batch subrequest url",
        )
        .into_parts();
        return (status.as_u16(), body);
    };
    if let Some(conn) = outer.extensions.get::<forcebus_http::ConnInfo>() {
        req.extensions_mut().insert(*conn);
    }
    let req = forcebus_http::normalize_path(req);
    let resp: Response = match router.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let result = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, result)
}

/// `POST /composite/batch`.
pub(crate) async fn batch(
    call: Call,
    State(app): State<crate::State>,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, app.config.max_body_bytes)
        .await
        .map_err(|_| ApiError::json_parser("The request body could not be read"))?;
    let mut m = crate::body::object(&parts.headers, &bytes)?;
    let (halt, subs) = parse(&call, &mut m)?;
    // The whole REST API with every layer, as a request of its own would meet it.
    let router = forcebus_http::serve(
        app.core.clone(),
        crate::routes_of(app.clone()),
        Router::new(),
    );
    let mut results = Vec::with_capacity(subs.len());
    let mut failed = false;
    for sub in subs {
        if failed && halt {
            let halted = [BatchHalted {
                error_code: Code::BatchProcessingHalted.as_str(),
                message: "Batch processing halted per request",
            }];
            results.push(BatchResult {
                status_code: 412,
                result: to_value(&halted),
            });
            continue;
        }
        let (status_code, result) = send(router.clone(), &parts, sub).await;
        failed |= status_code >= 400;
        results.push(BatchResult {
            status_code,
            result,
        });
    }
    let body = BatchResults {
        has_errors: failed,
        results,
    };
    Ok(respond(StatusCode::OK, &body))
}
