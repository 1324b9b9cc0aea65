//! The web console at `/forcebus/console`: one page and its scripts and styles, embedded
//! in the binary (nothing comes from a CDN; the Rust build needs no Node). The page is a
//! client of the server's public APIs only: it signs in through OAuth (the
//! `forcebus-console` public client, PKCE) or with the admin key, follows events over the
//! Streaming API, and reads and writes through REST and forcebus's own endpoints.
//!
//! Every response forbids what the console does not need (a strict Content Security
//! Policy: its own scripts, styles and connections only; no framing).
//!
//! For work on the console, `forcebus serve --console-dir crates/console/assets` serves
//! the files from that folder as they are on disk (no rebuild between edits).

use std::path::PathBuf;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Where the console lives (its pages name their files from the root: the server drops
/// the trailing slash before routing).
pub const PATH: &str = "/forcebus/console/";

/// The console's files: name, content type, bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../assets/index.html"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/console.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/api.js"),
    ),
    (
        "cometd.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/cometd.js"),
    ),
    (
        "events.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/events.js"),
    ),
    (
        "records.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/records.js"),
    ),
    (
        "schema.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/schema.js"),
    ),
    (
        "subscribers.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/subscribers.js"),
    ),
    (
        "orgs.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/orgs.js"),
    ),
    (
        "requests.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/requests.js"),
    ),
    (
        "forms.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/forms.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/dom.js"),
    ),
    (
        "users.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/users.js"),
    ),
    (
        "access.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/access.js"),
    ),
    (
        "acting.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/acting.js"),
    ),
];

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self' data:; form-action 'self'; \
                   base-uri 'none'; frame-ancestors 'none'";

/// The console's routes; `dir` serves the files from disk instead (console work).
pub fn router(dir: Option<PathBuf>) -> Router {
    Router::new()
        // The server drops a trailing slash before routing: `/forcebus/console/` is this.
        .route("/forcebus/console", get(index))
        .route("/forcebus/console/{file}", get(file))
        .with_state(std::sync::Arc::new(dir))
}

type Dir = std::sync::Arc<Option<PathBuf>>;

async fn index(State(dir): State<Dir>) -> Response {
    serve(&dir, "index.html")
}

async fn file(State(dir): State<Dir>, Path(name): Path<String>) -> Response {
    serve(&dir, &name)
}

fn serve(dir: &Option<PathBuf>, name: &str) -> Response {
    let Some((_, kind, embedded)) = ASSETS.iter().find(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    };
    let bytes = match dir {
        // Only the listed names are read, so no path leaves the folder.
        Some(dir) => match std::fs::read(dir.join(name)) {
            Ok(b) => b,
            Err(_) => return (StatusCode::NOT_FOUND, "Not found").into_response(),
        },
        None => embedded.to_vec(),
    };
    (
        [
            (header::CONTENT_TYPE, *kind),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt as _;

    #[test]
    fn every_file_of_the_assets_folder_is_served() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = ASSETS.iter().map(|(n, _, _)| (*n).to_owned()).collect();
        listed.sort();
        assert_eq!(on_disk, listed);
    }

    #[tokio::test]
    async fn pages_come_with_their_type_and_policy_and_nothing_else_is_served() {
        let get = |uri: &str| {
            let req = axum::http::Request::builder()
                .uri(uri)
                .body(axum::body::Body::empty())
                .unwrap();
            router(None).oneshot(req)
        };
        let r = get("/forcebus/console").await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(
            r.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
        let r = get("/forcebus/console/app.js").await.unwrap();
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        for missing in [
            "/forcebus/console/nope.js",
            "/forcebus/console/..%2FCargo.toml",
        ] {
            assert_eq!(get(missing).await.unwrap().status(), StatusCode::NOT_FOUND);
        }
    }
}
