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

/// A write's record fields: a JSON object, or a `multipart/form-data` body holding the
/// record as a JSON part and blob fields as binary parts (`standard-objects.md` §4.5): each
/// part with a `filename` is the blob field its `name` names (`VersionData`, `Body`), in
/// any order; the blob becomes the field's base64 value.
pub fn record_fields(headers: &HeaderMap, bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return object(headers, bytes);
    }
    let bad = |what: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::JsonParserError,
            format!("Multipart message: {what}"),
        )
    };
    let parts = crate::multipart::boundary(content_type)
        .and_then(|b| crate::multipart::parse(bytes, &b))
        .map_err(|e| bad(&e.to_string()))?;
    let entity = parts
        .iter()
        .find(|p| p.filename.is_none())
        .ok_or_else(|| bad("no part holds the record's fields as JSON"))?;
    let mut json_headers = HeaderMap::new();
    json_headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    let mut fields = object(&json_headers, entity.body)?;
    for blob in parts.iter().filter(|p| p.filename.is_some()) {
        let name = blob
            .name
            .clone()
            .ok_or_else(|| bad("a binary part has no name"))?;
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(blob.body);
        fields.insert(name, Value::String(encoded));
    }
    Ok(fields)
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
    fn a_multipart_record_takes_its_binary_part_as_the_blob_field_in_any_order() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"VersionData\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XX\r\nContent-Disposition: form-data; name=\"entity_content\"\r\nContent-Type: application/json\r\n\r\n{\"Title\": \"A\"}\r\n--XX--\r\n";
        let fields = record_fields(&headers("multipart/form-data; boundary=XX"), body).unwrap();
        assert_eq!(fields["Title"], "A");
        assert_eq!(fields["VersionData"], "aGVsbG8=");
        let no_entity = b"--XX\r\nContent-Disposition: form-data; name=\"Body\"; filename=\"a\"\r\n\r\nx\r\n--XX--\r\n";
        let e = record_fields(&headers("multipart/form-data; boundary=XX"), no_entity).unwrap_err();
        assert!(format!("{e:?}").contains("JSON_PARSER_ERROR"), "{e:?}");
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
