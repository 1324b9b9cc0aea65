//! Files uploaded with their record (`standard-objects.md` §4.5): a `multipart/form-data`
//! `POST /sobjects/{Object}` or `PATCH /sobjects/{Object}/{id}` to an object with a blob
//! field is not read whole like other bodies. Its binary parts stream into the store as
//! they arrive ([`forcebus_org::Upload`], a piece at a time), bounded by Salesforce's
//! limits (2 GB for a `ContentVersion`, 500 MB for other objects) rather than the
//! server's body limit; its JSON part is read (within that limit) and goes on as the
//! request's body, with each binary part's field naming its upload. The write's
//! transaction takes them; whatever it does not take is removed once the request ends
//! (or the client goes away).
//!
//! The caller is checked first, as the handler would, so no stranger's bytes are stored.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt as _;

use forcebus_org::{Code, FieldType, Org, Upload, Uploaded};

use crate::Core;
use crate::ctx::Call;
use crate::error::ApiError;

/// Largest `ContentVersion` file (multipart REST).
const MAX_CONTENT_VERSION: u64 = 2 * 1024 * 1024 * 1024;
/// Largest file of any other object (multipart REST).
const MAX_OTHER: u64 = 500 * 1024 * 1024;
/// Bytes gathered before they are handed to the store (off the async workers).
const HAND_OVER: usize = 4 * 1024 * 1024;

/// The uploads a request carries to its handler (a request extension): the handler's
/// transaction may take them; the rest are removed when the last holder lets go.
#[derive(Debug, Clone, Default)]
pub struct Uploads(Arc<Held>);

impl Uploads {
    /// The files, for the transaction.
    pub fn files(&self) -> &[Uploaded] {
        &self.0.files
    }
}

#[derive(Debug, Default)]
struct Held {
    org: Option<Arc<Org>>,
    /// The finished uploads: what the write does not take goes at the end (an upload
    /// not finished removes itself when dropped).
    files: Vec<Uploaded>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(org) = self.org.take() else {
            return;
        };
        let tokens: Vec<String> = self.files.iter().map(|f| f.token.clone()).collect();
        if tokens.is_empty() {
            return;
        }
        let discard = move || {
            for token in tokens {
                if let Err(e) = org.discard_upload(&token) {
                    tracing::warn!(error = %e, "An upload's bytes could not be removed.");
                }
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(discard)),
            Err(_) => discard(),
        }
    }
}

/// Where a file part's bytes go: the org's store ([`Upload`]), or memory in tests.
pub(crate) trait FileSink: Send + 'static {
    /// Appends bytes.
    fn write(&mut self, data: &[u8]) -> Result<(), ApiError>;
}

impl FileSink for Upload {
    fn write(&mut self, data: &[u8]) -> Result<(), ApiError> {
        Upload::write(self, data).map_err(|e| ApiError::internal(&e))
    }
}

/// The most an upload `req` may carry, if it is one (a multipart write of a record of an
/// object with a blob field): bytes a file, and files (one a blob field).
pub(crate) fn limit(core: &Core, req: &Request) -> Option<(u64, usize)> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if !multipart {
        return None;
    }
    let rest = req.uri().path().strip_prefix("/services/data/")?;
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let object = match (req.method(), segments.as_slice()) {
        (&Method::POST, [_, "sobjects", object]) | (&Method::PATCH, [_, "sobjects", object, _]) => {
            *object
        }
        _ => return None,
    };
    let schema = core.org.schema();
    let def = schema.object(object)?;
    let blob_fields = def
        .fields
        .iter()
        .filter(|f| f.ftype == FieldType::Base64)
        .count();
    if blob_fields == 0 {
        return None;
    }
    let salesforce = if def.name == "ContentVersion" {
        MAX_CONTENT_VERSION
    } else {
        MAX_OTHER
    };
    Some((salesforce.min(core.config.max_file_bytes), blob_fields))
}

/// Reads the multipart upload `req`: its files into the store, its JSON part into the
/// body of the request it returns (with [`Uploads`] as an extension); or the response
/// that ends it (a bad caller, a bad body, a file over `limit`).
pub(crate) async fn spool(
    core: Arc<Core>,
    req: Request,
    (limit, max_files): (u64, usize),
) -> Result<Request, Response> {
    let (mut parts, body) = req.into_parts();
    Call::from_request_parts(&mut parts, &core)
        .await
        .map_err(IntoResponse::into_response)?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        bad("The Content-Type must be multipart/form-data with a boundary").into_response()
    })?;
    let max_entity = core.config.max_body_bytes;
    let mut held = Held {
        org: Some(core.org.clone()),
        files: Vec::new(),
    };
    let mut files: Vec<(String, Option<Upload>)> = Vec::new();
    let entity = receive(
        body,
        &boundary,
        (limit, max_entity, max_files),
        || core.org.upload(),
        &mut files,
    )
    .await?;
    for (field, upload) in files {
        let upload = upload.expect("a file received whole is back in its slot");
        let uploaded = crate::blocking(move || upload.finish(&field))
            .await
            .map_err(IntoResponse::into_response)?
            .map_err(|e| ApiError::internal(&e).into_response())?;
        held.files.push(uploaded);
    }
    let mut headers = HeaderMap::new();
    std::mem::swap(&mut headers, &mut parts.headers);
    for (name, value) in &headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            parts.headers.append(name, value.clone());
        }
    }
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.extensions.insert(Uploads(Arc::new(held)));
    Ok(Request::from_parts(parts, axum::body::Body::from(entity)))
}

/// Reads a multipart body: returns its JSON part (within `max_entity`); each file part
/// (within `limit`, at most `max_files` of them) goes to a sink of `start`'s, pushed to
/// `files` with its field name as soon as it begins, so a caller whose read fails still
/// has every sink begun.
pub(crate) async fn receive<W: FileSink>(
    body: axum::body::Body,
    boundary: &str,
    (limit, max_entity, max_files): (u64, usize, usize),
    mut start: impl FnMut() -> W,
    files: &mut Vec<(String, Option<W>)>,
) -> Result<Vec<u8>, Response> {
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limit.saturating_add(max_entity as u64))
            .per_field(limit),
    );
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut entity: Option<Vec<u8>> = None;
    while let Some(part) = multipart.next_field().await.map_err(refused)? {
        if part.file_name().is_none() {
            let bytes = read_entity(part, max_entity).await?;
            entity.get_or_insert(bytes);
            continue;
        }
        let field = part
            .name()
            .ok_or_else(|| bad("a binary part has no name").into_response())?
            .to_owned();
        if files.len() == max_files {
            return Err(bad("more binary parts than the object has blob fields").into_response());
        }
        files.push((field, Some(start())));
        let slot = &mut files.last_mut().expect("just pushed").1;
        write_file(part, slot).await?;
    }
    entity.ok_or_else(|| bad("no part holds the record's fields as JSON").into_response())
}

/// The JSON part, within the server's body limit.
async fn read_entity(mut part: multer::Field<'_>, max: usize) -> Result<Vec<u8>, Response> {
    let mut out = Vec::new();
    while let Some(chunk) = part.chunk().await.map_err(refused)? {
        if out.len() + chunk.len() > max {
            return Err(crate::too_large().into_response());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A file part into the sink in `slot`, handed over in runs off the async workers (the
/// sink is out of its slot while a run is written).
async fn write_file<W: FileSink>(
    mut part: multer::Field<'_>,
    slot: &mut Option<W>,
) -> Result<(), Response> {
    let mut run: Vec<u8> = Vec::with_capacity(HAND_OVER);
    loop {
        let chunk = part.chunk().await.map_err(refused)?;
        let end = chunk.is_none();
        if let Some(chunk) = chunk {
            run.extend_from_slice(&chunk);
        }
        if run.len() >= HAND_OVER || (end && !run.is_empty()) {
            let mut sink = slot.take().expect("the sink is back after each run");
            let data = std::mem::replace(&mut run, Vec::with_capacity(HAND_OVER));
            let (sink, wrote) = crate::blocking(move || {
                let wrote = sink.write(&data);
                (sink, wrote)
            })
            .await
            .map_err(IntoResponse::into_response)?;
            *slot = Some(sink);
            wrote.map_err(IntoResponse::into_response)?;
        }
        if end {
            return Ok(());
        }
    }
}

/// A multipart failure as Salesforce-shaped errors: over a size limit, 413; the client
/// gone or its body unreadable, 400.
fn refused(e: multer::Error) -> Response {
    match e {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::RequestEntityTooLarge,
                "The file is larger than the server accepts (Salesforce takes 2 GB for a \
                 ContentVersion, 500 MB for other objects).",
            )
            .into_response()
        }
        other => bad(&other.to_string()).into_response(),
    }
}

fn bad(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        Code::JsonParserError,
        format!("Multipart message: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A file kept in memory.
    impl FileSink for Vec<u8> {
        fn write(&mut self, data: &[u8]) -> Result<(), ApiError> {
            self.extend_from_slice(data);
            Ok(())
        }
    }

    type Received = (Result<Vec<u8>, u16>, Vec<(String, Option<Vec<u8>>)>);

    fn run(body: Vec<u8>, boundary: &str, (limit, max_entity): (u64, usize)) -> Received {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut files = Vec::new();
        let got = rt.block_on(receive(
            axum::body::Body::from(body),
            boundary,
            (limit, max_entity, 2),
            Vec::new,
            &mut files,
        ));
        (got.map_err(|r| r.status().as_u16()), files)
    }

    fn part(name: &str, filename: Option<&str>, body: &[u8]) -> Vec<u8> {
        let file = filename.map_or(String::new(), |f| format!("; filename=\"{f}\""));
        let mut out =
            format!("--B\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n")
                .into_bytes();
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
        out
    }

    #[test]
    fn files_go_to_their_sinks_and_the_json_part_comes_back() {
        let big: Vec<u8> = (0..(HAND_OVER + 5000) as u32).map(|i| i as u8).collect();
        let mut body = part("VersionData", Some("a.bin"), &big);
        body.extend(part("entity_content", None, b"{\"Title\": \"T\"}"));
        body.extend(part("Other", Some("b.bin"), b""));
        body.extend_from_slice(b"--B--\r\n");
        let (got, files) = run(body, "B", (1 << 30, 1024));
        assert_eq!(got.unwrap(), b"{\"Title\": \"T\"}");
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].0, "VersionData");
        assert_eq!(files[0].1.as_deref(), Some(big.as_slice()));
        assert_eq!(files[1].1.as_deref(), Some(&b""[..]));
    }

    #[test]
    fn limits_and_missing_parts_are_refused() {
        let mut body = part("VersionData", Some("a.bin"), &[7u8; 3000]);
        body.extend(part("entity_content", None, b"{}"));
        body.extend_from_slice(b"--B--\r\n");
        assert_eq!(
            run(body.clone(), "B", (2000, 1024)).0,
            Err(413),
            "file limit"
        );
        let mut big_json = part("entity_content", None, &[b' '; 2000]);
        big_json.extend_from_slice(b"--B--\r\n");
        assert_eq!(
            run(big_json, "B", (1 << 20, 1024)).0,
            Err(413),
            "JSON limit"
        );
        let mut only_file = part("VersionData", Some("a"), b"x");
        only_file.extend_from_slice(b"--B--\r\n");
        let (got, files) = run(only_file, "B", (1 << 20, 1024));
        assert_eq!(got, Err(400));
        assert_eq!(files.len(), 1, "the sink begun is handed back");
        let mut nameless =
            b"--B\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n".to_vec();
        nameless.extend_from_slice(b"--B--\r\n");
        assert_eq!(run(nameless, "B", (1 << 20, 1024)).0, Err(400));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever the bytes, a multipart body is read or refused with a 400 or 413,
        /// never a panic, and no file part outgrows the limit.
        #[test]
        fn any_body_is_read_or_refused(
            chunks in proptest::collection::vec(
                prop_oneof![
                    Just(b"--B\r\n".to_vec()),
                    Just(b"--B--\r\n".to_vec()),
                    Just(b"Content-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n".to_vec()),
                    Just(b"Content-Disposition: form-data; name=\"e\"\r\n\r\n".to_vec()),
                    Just(b"\r\n".to_vec()),
                    proptest::collection::vec(any::<u8>(), 0..64),
                ],
                0..24,
            )
        ) {
            let body: Vec<u8> = chunks.concat();
            let (got, files) = run(body, "B", (40, 40));
            if let Err(status) = got {
                prop_assert!(status == 400 || status == 413, "{status}");
            }
            for (_, file) in files {
                prop_assert!(file.map_or(0, |f| f.len()) <= 40);
            }
        }
    }
}
