//! What a resource is given: a request's method, its target (version, path segments,
//! parameters) and its body, whether it came on its own or as a composite subrequest.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, Method};
use serde_json::{Map, Value};

use forcebus_org::Uploaded;
use forcebus_sync::prelude::*;

use crate::error::ApiError;

/// A request a resource answers: its method, its target, and its body.
#[derive(Debug)]
pub(crate) struct Sub {
    pub(crate) method: Method,
    pub(crate) target: Target,
    pub(crate) body: Body,
    /// Files its request uploaded with it (a multipart write of its own; none in a
    /// composite subrequest), for its transaction to take.
    pub(crate) uploads: forcebus_http::upload::Uploads,
}

impl Sub {
    /// The path segment `i` after the version (`sobjects` is 0).
    pub(crate) fn segment(&self, i: usize) -> &str {
        self.target.segments.get(i).map_or("", String::as_str)
    }

    /// A query parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.target.params.get(name).map(String::as_str)
    }

    /// The object named in its path, as its API serves it (the data API's, or the Tooling
    /// API's too when it came that way) and as the caller may see it: one they may not
    /// read does not exist to them.
    pub(crate) fn object(
        &self,
        run: &super::Run<'_>,
        name: &str,
    ) -> Result<std::sync::Arc<forcebus_org::ObjectDef>, ApiError> {
        let access = run.app.org.access(run.call.session.user_id);
        run.app
            .org
            .schema()
            .object_shared(name)
            .filter(|o| (!o.tooling || self.target.tooling) && access.reads(o))
            .ok_or_else(ApiError::not_found)
    }
}

/// A request's body as record fields, read by its front door's rules before the
/// resource runs (so no JSON is parsed under the org's writer lock), and taken by the
/// resource when it comes to it (so an earlier check's error still wins).
#[derive(Debug)]
pub(crate) struct Body(Mutex<Option<Result<Map<String, Value>, ApiError>>>);

impl Body {
    /// A request of its own: its bytes, read by the JSON rules of a REST body, with each
    /// file it uploaded named in its field.
    pub(crate) fn http(headers: &HeaderMap, bytes: &[u8], uploads: &[Uploaded]) -> Self {
        Self::of(
            crate::body::record_fields(headers, bytes).map(|mut fields| {
                for upload in uploads {
                    fields.insert(upload.field.clone(), Value::from(upload.marker()));
                }
                fields
            }),
        )
    }

    /// A composite subrequest's `body`, already JSON (absent when not given).
    pub(crate) fn json(body: Option<Value>) -> Self {
        Self::of(match body {
            Some(Value::Object(m)) => Ok(m),
            None | Some(Value::Null) => Ok(Map::new()),
            Some(other) => Err(ApiError::json_parser(format!(
                "Cannot deserialize instance of sObject from {} value",
                crate::body::token_name(&other)
            ))),
        })
    }

    /// No body (a read).
    pub(crate) fn none() -> Self {
        Self::of(Ok(Map::new()))
    }

    fn of(read: Result<Map<String, Value>, ApiError>) -> Self {
        Self(Mutex::new(Some(read)))
    }

    /// The body as record fields (a JSON object), taken: a resource reads it once.
    pub(crate) fn object(&self) -> Result<Map<String, Value>, ApiError> {
        self.0.locked().take().unwrap_or_else(|| Ok(Map::new()))
    }
}

/// A subrequest's target: the API version of its URL, the path after it, its parameters.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `59.0`.
    pub(crate) version: String,
    /// Path segments after `/services/data/vXX.X/`, percent-decoded.
    pub(crate) segments: Vec<String>,
    /// Query parameters, decoded.
    pub(crate) params: HashMap<String, String>,
    /// Reached through the Tooling API (`/tooling/sobjects/DebugLevel`): its own objects
    /// are served too.
    pub(crate) tooling: bool,
}

/// Reads a URL: `/services/data/vXX.X/...` with an optional query string.
pub(crate) fn parse_url(url: &str, latest: u32) -> Option<Target> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let rest = path.strip_prefix("/services/data/")?;
    let mut parts = rest.split('/').filter(|s| !s.is_empty());
    let version = crate::ctx::parse_version(parts.next()?, latest)?;
    let mut segments: Vec<String> = parts.map(decoded).collect();
    // Salesforce's graph examples sometimes spell it `sobject/`; both are read.
    if segments.first().is_some_and(|s| s == "sobject") {
        segments[0] = "sobjects".into();
    }
    Some(Target {
        version,
        segments,
        params: params_of(query),
        tooling: false,
    })
}

/// The path segments after `/services/data/vXX.X/`, percent-decoded.
pub(super) fn segments_of(path: &str) -> Vec<String> {
    path.strip_prefix("/services/data/")
        .unwrap_or(path)
        .split('/')
        .filter(|s| !s.is_empty())
        .skip(1)
        .map(decoded)
        .collect()
}

/// A query string's parameters, decoded.
pub(super) fn params_of(query: &str) -> HashMap<String, String> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn decoded(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}
