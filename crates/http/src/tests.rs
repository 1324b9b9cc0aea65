//! The layers' tests.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use tower::ServiceExt as _;

use super::*;

fn normalized(uri: &str) -> String {
    let req = axum::http::Request::builder().uri(uri).body(()).unwrap();
    normalize_path(req).uri().to_string()
}

#[test]
fn repeated_and_trailing_slashes_are_dropped() {
    for (given, want) in [
        (
            "//services/data/v59.0/sobjects",
            "/services/data/v59.0/sobjects",
        ),
        (
            "/services//data/v59.0/query/?q=a//b",
            "/services/data/v59.0/query?q=a//b",
        ),
        ("/services/data/", "/services/data"),
        ("/", "/"),
        ("//", "/"),
        ("/services/data/v59.0", "/services/data/v59.0"),
    ] {
        assert_eq!(normalized(given), want, "{given}");
    }
}

/// Log output, kept for the test to read.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn request_spans_record_method_path_status_and_latency_and_no_secret() {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(Level::DEBUG)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = Router::new()
        .route(
            "/services/oauth2/revoke",
            axum::routing::post(|| async { "ok" }),
        )
        .layer(request_spans());
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/services/oauth2/revoke?token=SECRET-QUERY")
        .header(header::AUTHORIZATION, "Bearer SECRET-HEADER")
        .body(Body::from("token=SECRET-BODY"))
        .unwrap();
    let resp = app.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("request{method=POST path=/services/oauth2/revoke}"),
        "{text}"
    );
    assert!(text.contains("status=200"), "{text}");
    assert!(text.contains("latency="), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
}

/// [`read_body_first`] for a request that is no upload.
async fn buffered(
    axum::extract::State(max): axum::extract::State<usize>,
    req: Request,
    next: Next,
) -> Response {
    buffer_body(max, req, next).await
}

#[tokio::test]
async fn a_405_names_the_methods_of_the_route_through_every_layer() {
    let routes = Router::new()
        .route(
            "/services/data/{v}/thing/{id}",
            axum::routing::get(|| async { "ok" })
                .patch(|| async { "ok" })
                .delete(|| async { "ok" }),
        )
        .layer(middleware::from_fn_with_state(1024, buffered));
    let routes = with_salesforce_statuses(routes);
    let req = axum::http::Request::builder()
        .method("PUT")
        .uri("/services/data/v59.0/thing/1")
        .body(Body::from("{}"))
        .unwrap();
    let resp = routes.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()[header::ALLOW], "GET,HEAD,PATCH,DELETE");
    let body = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body[0]["errorCode"], "METHOD_NOT_ALLOWED");
    assert_eq!(
        body[0]["message"],
        "HTTP Method 'PUT' not allowed. Allowed are GET,HEAD,PATCH,DELETE"
    );
}
