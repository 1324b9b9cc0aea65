//! Request bodies: media type, JSON parsing, and the object shape writes need.

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value};

use forcebus_org::Code;

use crate::error::ApiError;

/// Parses a JSON body, answering as Salesforce does for other media types and bad JSON.
pub fn json(headers: &HeaderMap, bytes: &[u8]) -> Result<Value, ApiError> {
    if let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !media.is_empty() && !media.contains("json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Code::UnsupportedMediaType,
                format!("Content type '{media}' not supported"),
            ));
        }
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Eof => "Unexpected end-of-input".to_owned(),
            _ => {
                let text = e.to_string();
                text.split(" at line").next().unwrap_or(&text).to_owned()
            }
        };
        ApiError::json_parser(format!(
            "{what} at [line:{}, column:{}]",
            e.line(),
            e.column()
        ))
    })
}

/// A JSON object body (record fields).
pub fn object(headers: &HeaderMap, bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match json(headers, bytes)? {
        Value::Object(m) => Ok(m),
        other => Err(ApiError::json_parser(format!(
            "Cannot deserialize instance of sObject from {} value or request may be missing a required field",
            token_name(&other)
        ))),
    }
}

/// Jackson's name for the first token of a value.
pub fn token_name(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER_INT",
        Value::Bool(_) => "VALUE_TRUE",
        Value::Null => "VALUE_NULL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn headers(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
        h
    }

    #[test]
    fn bad_json_names_line_and_column() {
        let e = object(&headers("application/json"), b"{\"Name\": }").unwrap_err();
        let body = format!("{e:?}");
        assert!(
            body.contains("JSON_PARSER_ERROR") && body.contains("[line:1, column:10]"),
            "{body}"
        );
    }

    #[test]
    fn other_media_types_are_refused() {
        let e = json(&headers("application/x-www-form-urlencoded"), b"a=b").unwrap_err();
        assert!(format!("{e:?}").contains("UNSUPPORTED_MEDIA_TYPE"));
        assert!(json(&headers("application/json; charset=UTF-8"), b"{}").is_ok());
        assert!(object(&HeaderMap::new(), b"[1]").is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = object(&headers("application/json"), &bytes);
        }
    }
}
