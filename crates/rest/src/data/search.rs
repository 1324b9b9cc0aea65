//! SOSL over REST (`data-apis.md` §5): `GET /search?q=FIND {...} ...` and
//! `/parameterizedSearch` (GET with parameters, POST with the same as JSON), which is
//! turned into the SOSL statement it stands for.
//!
//! The answer is `{"searchRecords": [...]}` (a bare array up to API 35.0), each record
//! with `attributes.type`, objects in `RETURNING` order; `WITH METADATA = 'LABELS'` adds
//! `metadata.entityMetadata` with the labels of the fields returned.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

use forcebus_org::Code;
use forcebus_soql::sosl::{Found, MAX_LIMIT, parse_search};

use crate::ctx::Call;
use crate::error::{ApiError, json_response};
use crate::shapes::query::{
    EntitySearchMetadata, FieldLevelSearchMetadata, SearchResult, SearchResultsMetadata,
};
use crate::shapes::respond;

/// Runs a SOSL statement and shapes the answer.
async fn answer(app: crate::State, call: &Call, text: String) -> Result<Response, ApiError> {
    let search = parse_search(&text).map_err(|e| crate::data::query::soql_error(&e, &text))?;
    let org = app.org.clone();
    let version = call.version.clone();
    let want_labels = search.metadata_labels;
    let viewer = Some(call.session.user_id);
    let (records, metadata) = crate::blocking(move || {
        let schema = org.schema();
        let found = org.search(&schema, viewer, &search, &version, &|o| !o.tooling)?;
        let metadata = want_labels.then(|| SearchResultsMetadata {
            entity_metadata: labels(&found),
        });
        let records: Vec<Value> = found.into_iter().flat_map(|f| f.rows).collect();
        Ok::<_, forcebus_soql::SoqlError>((records, metadata))
    })
    .await?
    .map_err(|e| crate::data::query::soql_error(&e, &text))?;
    let old_shape = call.version.parse::<f32>().unwrap_or(59.0) <= 35.0;
    if old_shape {
        return Ok(json_response(StatusCode::OK, &Value::Array(records)));
    }
    let body = SearchResult {
        search_records: records,
        metadata,
    };
    Ok(respond(StatusCode::OK, &body))
}

/// `metadata.entityMetadata`: each object's returned fields with their labels.
fn labels(found: &[Found<'_>]) -> Vec<EntitySearchMetadata> {
    found
        .iter()
        .filter(|f| !f.rows.is_empty())
        .map(|f| EntitySearchMetadata {
            entity_name: f.object.name.clone(),
            field_metadata: f.rows[0]
                .as_object()
                .into_iter()
                .flat_map(|m| m.keys())
                .filter_map(|k| f.object.field(k))
                .map(|fd| FieldLevelSearchMetadata {
                    name: fd.name.clone(),
                    label: fd.label.clone(),
                })
                .collect(),
        })
        .collect()
}

/// `GET /search?q=...`.
pub(crate) async fn search(
    call: Call,
    State(app): State<crate::State>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let text = q
        .get("q")
        .cloned()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                Code::MalformedSearch,
                "No search term found. The search term must be enclosed in braces.",
            )
        })?;
    answer(app, &call, text).await
}

/// A term of `/parameterizedSearch`, which is plain text: braces and backslashes escaped.
fn escape_term(q: &str) -> String {
    let mut out = String::with_capacity(q.len());
    for c in q.chars() {
        if matches!(c, '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One object of a parameterized search.
#[derive(Debug, Default)]
struct Object {
    name: String,
    fields: Option<String>,
    filter: Option<String>,
    order_by: Option<String>,
    limit: Option<String>,
}

/// A parameterized search, from GET parameters or a POST body.
#[derive(Debug, Default)]
struct Parameterized {
    q: String,
    fields: Option<String>,
    scope: Option<String>,
    objects: Vec<Object>,
    overall_limit: Option<String>,
    default_limit: Option<String>,
    offset: Option<String>,
    metadata: Option<String>,
}

fn bad_parameter(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidInput, message)
}

/// A number parameter as SOSL text, checked: at most 2,000.
fn number(name: &str, v: &str) -> Result<String, ApiError> {
    match v.trim().parse::<u64>() {
        Ok(n) if n <= MAX_LIMIT => Ok(n.to_string()),
        _ => Err(bad_parameter(format!(
            "{name} must be a number between 0 and {MAX_LIMIT}: {v}"
        ))),
    }
}

impl Parameterized {
    /// The SOSL statement these parameters stand for.
    fn statement(&self) -> Result<String, ApiError> {
        if self.q.trim().is_empty() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                Code::MissingArgument,
                "Missing argument: q",
            ));
        }
        let mut s = format!("FIND {{{}}}", escape_term(&self.q));
        if let Some(scope) = &self.scope {
            let scope = scope.trim().to_ascii_uppercase();
            if !matches!(
                scope.as_str(),
                "ALL" | "NAME" | "EMAIL" | "PHONE" | "SIDEBAR"
            ) {
                return Err(bad_parameter(format!("Invalid value for in: {scope}")));
            }
            s.push_str(&format!(" IN {scope} FIELDS"));
        }
        if self.offset.is_some() && self.objects.len() != 1 {
            return Err(bad_parameter("offset needs exactly one sobject"));
        }
        let specs = self
            .objects
            .iter()
            .map(|o| self.object_spec(o))
            .collect::<Result<Vec<_>, _>>()?;
        if !specs.is_empty() {
            s.push_str(" RETURNING ");
            s.push_str(&specs.join(", "));
        }
        if self
            .metadata
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("LABELS"))
        {
            s.push_str(" WITH METADATA = 'LABELS'");
        }
        if let Some(l) = &self.overall_limit {
            s.push_str(&format!(" LIMIT {}", number("overallLimit", l)?));
        }
        Ok(s)
    }

    fn object_spec(&self, o: &Object) -> Result<String, ApiError> {
        let fields = o.fields.as_ref().or(self.fields.as_ref());
        let mut spec = format!("{}({}", o.name, fields.map_or("Id", |f| f.as_str()));
        if let Some(w) = &o.filter {
            spec.push_str(&format!(" WHERE {w}"));
        }
        if let Some(ob) = &o.order_by {
            spec.push_str(&format!(" ORDER BY {ob}"));
        }
        if let Some(l) = o.limit.as_ref().or(self.default_limit.as_ref()) {
            spec.push_str(&format!(" LIMIT {}", number("limit", l)?));
        }
        if let Some(off) = &self.offset {
            spec.push_str(&format!(" OFFSET {}", number("offset", off)?));
        }
        spec.push(')');
        Ok(spec)
    }

    fn from_params(params: &[(String, String)]) -> Self {
        let mut p = Self::default();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        p.q = get("q").unwrap_or_default();
        p.fields = get("fields");
        p.scope = get("in");
        p.overall_limit = get("overallLimit");
        p.default_limit = get("defaultLimit");
        p.offset = get("offset");
        p.metadata = get("metadata");
        for (k, v) in params {
            if k == "sobject" {
                p.objects.push(Object {
                    name: v.clone(),
                    fields: get(&format!("{v}.fields")),
                    filter: get(&format!("{v}.where")),
                    order_by: get(&format!("{v}.orderBy")),
                    limit: get(&format!("{v}.limit")),
                });
            }
        }
        p
    }

    fn from_json(m: &Map<String, Value>) -> Result<Self, ApiError> {
        let text = |v: Option<&Value>| -> Option<String> {
            match v? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Array(a) => Some(
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                _ => None,
            }
        };
        let mut p = Self {
            q: text(m.get("q")).unwrap_or_default(),
            fields: text(m.get("fields")),
            scope: text(m.get("in")),
            overall_limit: text(m.get("overallLimit")),
            default_limit: text(m.get("defaultLimit")),
            offset: text(m.get("offset")),
            metadata: text(m.get("metadata")),
            objects: Vec::new(),
        };
        for o in m
            .get("sobjects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = o
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad_parameter("Each sobject needs a name"))?;
            p.objects.push(Object {
                name: name.to_owned(),
                fields: text(o.get("fields")),
                filter: text(o.get("where")),
                order_by: text(o.get("orderBy")),
                limit: text(o.get("limit")),
            });
        }
        Ok(p)
    }
}

/// `GET /parameterizedSearch?q=...&sobject=Account&Account.fields=Id,Name...`.
pub(crate) async fn parameterized_get(
    call: Call,
    State(app): State<crate::State>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let text = Parameterized::from_params(&params).statement()?;
    answer(app, &call, text).await
}

/// `POST /parameterizedSearch` with `{"q", "fields", "sobjects": [...], ...}`.
pub(crate) async fn parameterized_post(
    call: Call,
    State(app): State<crate::State>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let m = crate::body::object(&headers, &bytes)?;
    let text = Parameterized::from_json(&m)?.statement()?;
    answer(app, &call, text).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_become_the_statement_they_stand_for() {
        let params: Vec<(String, String)> = [
            ("q", "Acme {x}"),
            ("sobject", "Account"),
            ("Account.fields", "Id,Name"),
            ("Account.where", "Industry = 'Energy'"),
            ("Account.limit", "5"),
            ("sobject", "Contact"),
            ("defaultLimit", "3"),
            ("in", "name"),
            ("overallLimit", "20"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        assert_eq!(
            Parameterized::from_params(&params).statement().unwrap(),
            "FIND {Acme \\{x\\}} IN NAME FIELDS RETURNING Account(Id,Name WHERE Industry = 'Energy' LIMIT 5), Contact(Id LIMIT 3) LIMIT 20"
        );
        let bad = [
            ("q".to_owned(), "x".to_owned()),
            ("overallLimit".to_owned(), "5000".to_owned()),
        ];
        assert!(Parameterized::from_params(&bad).statement().is_err());
        assert!(Parameterized::from_params(&[]).statement().is_err());
    }
}
