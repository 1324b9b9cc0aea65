//! `multipart/form-data` bodies (RFC 7578 over RFC 2046's multipart syntax), read whole:
//! the parts of a buffered request body, each with its field name, file name, content
//! type and bytes (borrowed from the body). The Metadata API's REST deploy takes one (a
//! zip and a JSON part).
//!
//! The body is already bounded by the request limit; the parser bounds the rest a client
//! controls: the boundary's length (70, RFC 2046's limit), the number of parts and the
//! size of each part's header block. Every failure is a [`MultipartError`] saying what
//! is wrong, never a panic (a property test feeds it arbitrary bytes).

use std::fmt;

/// Most parts a body may hold.
const MAX_PARTS: usize = 100;
/// Most bytes of one part's header block.
const MAX_HEADER_BYTES: usize = 8 * 1024;
/// Longest boundary (RFC 2046 §5.1.1).
const MAX_BOUNDARY: usize = 70;

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// `name` of its `Content-Disposition`.
    pub name: Option<String>,
    /// `filename` of its `Content-Disposition`.
    pub filename: Option<String>,
    /// Its `Content-Type`, lowercased, without parameters.
    pub content_type: Option<String>,
    /// Its bytes.
    pub body: &'a [u8],
}

/// What is wrong with a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MultipartError {
    /// The `Content-Type` is not `multipart/…` with a usable boundary.
    NoBoundary,
    /// The body does not start with (a preamble and) the boundary.
    NoFirstBoundary,
    /// A part's header block never ends, or is over the bound.
    BadHeaders,
    /// A part's body runs to the end without a closing boundary.
    Unterminated,
    /// More parts than the bound.
    TooManyParts,
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoBoundary => {
                "The Content-Type must be multipart/form-data with a boundary of 1 to 70 characters"
            }
            Self::NoFirstBoundary => "The multipart body does not start with its boundary",
            Self::BadHeaders => "A part of the multipart body has unreadable or oversized headers",
            Self::Unterminated => "The multipart body ends without its closing boundary",
            Self::TooManyParts => "The multipart body has too many parts",
        })
    }
}

impl std::error::Error for MultipartError {}

/// The boundary of a `multipart/*` `Content-Type` value (quoted or not).
pub fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let mut params = content_type.split(';');
    let media = params.next().unwrap_or("").trim();
    if !media.to_ascii_lowercase().starts_with("multipart/") {
        return Err(MultipartError::NoBoundary);
    }
    params
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|b| (1..=MAX_BOUNDARY).contains(&b.len()))
        .ok_or(MultipartError::NoBoundary)
}

/// The parts of `body`, delimited by `boundary`, in order. A preamble before the first
/// boundary and an epilogue after the last are ignored, as RFC 2046 says.
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, MultipartError> {
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY {
        return Err(MultipartError::NoBoundary);
    }
    let dash = format!("--{boundary}");
    // Every boundary after the first follows a line break, which belongs to it.
    let delimiter = format!("\r\n{dash}");
    let mut at = if body.starts_with(dash.as_bytes()) {
        dash.len()
    } else {
        memchr::memmem::find(body, delimiter.as_bytes()).ok_or(MultipartError::NoFirstBoundary)?
            + delimiter.len()
    };
    let mut parts = Vec::new();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding, then the line break ending the boundary line.
        let padding = rest
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        let rest = rest[padding..]
            .strip_prefix(b"\r\n")
            .ok_or(MultipartError::Unterminated)?;
        if parts.len() == MAX_PARTS {
            return Err(MultipartError::TooManyParts);
        }
        let (headers, content) = split_headers(rest)?;
        let end = memchr::memmem::find(content, delimiter.as_bytes())
            .ok_or(MultipartError::Unterminated)?;
        let mut part = part_headers(headers)?;
        part.body = &content[..end];
        parts.push(part);
        at = body.len() - content.len() + end + delimiter.len();
    }
}

/// A part's header block and what follows its blank line.
fn split_headers(rest: &[u8]) -> Result<(&[u8], &[u8]), MultipartError> {
    if let Some(content) = rest.strip_prefix(b"\r\n") {
        return Ok((&[], content));
    }
    let window = &rest[..rest.len().min(MAX_HEADER_BYTES + 4)];
    let end = memchr::memmem::find(window, b"\r\n\r\n").ok_or(MultipartError::BadHeaders)?;
    Ok((&rest[..end], &rest[end + 4..]))
}

/// A part (with an empty body) from its header lines.
fn part_headers(block: &[u8]) -> Result<Part<'static>, MultipartError> {
    let text = std::str::from_utf8(block).map_err(|_| MultipartError::BadHeaders)?;
    let mut part = Part {
        name: None,
        filename: None,
        content_type: None,
        body: &[],
    };
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or(MultipartError::BadHeaders)?;
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-disposition") {
            part.name = parameter(value, "name");
            part.filename = parameter(value, "filename");
        } else if name.eq_ignore_ascii_case("content-type") {
            let media = value.split(';').next().unwrap_or("").trim();
            part.content_type = Some(media.to_ascii_lowercase());
        }
    }
    Ok(part)
}

/// A parameter of a `Content-Disposition` value (`form-data; name="file"`), unquoted.
fn parameter(value: &str, key: &str) -> Option<String> {
    value
        .split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .map(|(_, v)| {
            let v = v.trim();
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v)
                .replace("\\\"", "\"")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A body as the npm `form-data` package (jsforce's) writes it.
    fn form(boundary: &str, parts: &[(&str, Option<&str>, &str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, filename, ct, body) in parts {
            out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let file = filename.map_or(String::new(), |f| format!("; filename=\"{f}\""));
            out.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"{file}\r\nContent-Type: {ct}\r\n\r\n"
                )
                .as_bytes(),
            );
            out.extend_from_slice(body);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        out
    }

    #[test]
    fn jsforce_deploy_rest_body_is_read() {
        let b = "--------------------------515890814546601021194782";
        let zip: &[u8] = b"PK\x03\x04\r\n--not-the-boundary\r\n\x00\xff";
        let body = form(
            b,
            &[
                ("file", Some("package.xml"), "application/zip", zip),
                (
                    "entity_content",
                    None,
                    "application/json",
                    br#"{"deployOptions":{}}"#,
                ),
            ],
        );
        let ct = format!("multipart/form-data; boundary={b}");
        let parts = parse(&body, &boundary(&ct).unwrap()).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name.as_deref(), Some("file"));
        assert_eq!(parts[0].filename.as_deref(), Some("package.xml"));
        assert_eq!(parts[0].content_type.as_deref(), Some("application/zip"));
        assert_eq!(parts[0].body, zip);
        assert_eq!(parts[1].name.as_deref(), Some("entity_content"));
        assert_eq!(parts[1].body, br#"{"deployOptions":{}}"#);
    }

    #[test]
    fn preamble_padding_quoted_boundary_and_epilogue_are_allowed() {
        let body = b"preamble\r\n--xyz  \r\nContent-Disposition: form-data; name=a\r\n\r\none\r\n--xyz\r\n\r\ntwo\r\n--xyz--epilogue";
        let parts = parse(
            body,
            &boundary("multipart/form-data; boundary=\"xyz\"").unwrap(),
        )
        .unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_deref(), parts[0].body),
            (Some("a"), &b"one"[..])
        );
        assert_eq!(
            (parts[1].name.as_deref(), parts[1].body),
            (None, &b"two"[..])
        );
    }

    #[test]
    fn what_is_wrong_is_said() {
        assert_eq!(
            boundary("application/json"),
            Err(MultipartError::NoBoundary)
        );
        assert_eq!(
            boundary("multipart/form-data"),
            Err(MultipartError::NoBoundary)
        );
        assert_eq!(
            boundary(&format!("multipart/form-data; boundary={}", "a".repeat(71))),
            Err(MultipartError::NoBoundary)
        );
        assert_eq!(parse(b"hello", "b"), Err(MultipartError::NoFirstBoundary));
        assert_eq!(
            parse(b"--b\r\nContent-Type: x\r\n\r\nbody without end", "b"),
            Err(MultipartError::Unterminated)
        );
        assert_eq!(
            parse(b"--b\r\nContent-Type: x", "b"),
            Err(MultipartError::BadHeaders)
        );
        assert_eq!(parse(b"--b", "b"), Err(MultipartError::Unterminated));
        let many = "--b\r\n\r\nx\r\n".repeat(MAX_PARTS + 1) + "--b--";
        assert_eq!(
            parse(many.as_bytes(), "b"),
            Err(MultipartError::TooManyParts)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            boundary in "[a-z0-9-]{0,72}",
        ) {
            let _ = parse(&bytes, &boundary);
        }

        #[test]
        fn bodies_round_trip_whatever_they_hold(
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..5),
        ) {
            let b = "XbOuNdArY7MA14YDxlAWnknq";
            let parts: Vec<_> = bodies
                .iter()
                .filter(|body| memchr::memmem::find(body, b.as_bytes()).is_none())
                .map(|body| ("p", None, "application/octet-stream", body.as_slice()))
                .collect();
            let encoded = form(b, &parts);
            let read = parse(&encoded, b).unwrap();
            prop_assert_eq!(read.len(), parts.len());
            for (got, want) in read.iter().zip(&parts) {
                prop_assert_eq!(got.body, want.3);
            }
        }

        #[test]
        fn mangled_bodies_never_panic(
            cut in 0usize..400,
            flip in 0usize..400,
        ) {
            let mut body = form("bb", &[("file", Some("z"), "application/zip", b"PK..."), ("json", None, "application/json", b"{}")]);
            if let Some(b) = body.get_mut(flip) {
                *b ^= 0x55;
            }
            body.truncate(cut);
            let _ = parse(&body, "bb");
        }
    }
}
