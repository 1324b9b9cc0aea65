//! Daily API request counting, `Sforce-Limit-Info`, and the allocation check.

use forcebus_sync::prelude::*;
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

use forcebus_org::Code;

use crate::error::ApiError;

/// Requests counted today.
#[derive(Debug, Default)]
pub struct Usage(Mutex<(Option<NaiveDate>, u64)>);

impl Usage {
    /// Counts one request made on `day`; returns the count so far today.
    pub fn hit(&self, day: NaiveDate) -> u64 {
        let mut g = self.0.locked();
        if g.0 != Some(day) {
            *g = (Some(day), 0);
        }
        g.1 += 1;
        g.1
    }

    /// Requests counted on `day`.
    pub fn used(&self, day: NaiveDate) -> u64 {
        let g = self.0.locked();
        if g.0 == Some(day) { g.1 } else { 0 }
    }
}

/// Counts a data API request (`/services/data/vXX.X/...`) and reports usage in
/// `Sforce-Limit-Info`.
pub(crate) async fn count(
    State(app): State<std::sync::Arc<crate::Core>>,
    req: Request,
    next: Next,
) -> Response {
    if !req.uri().path().starts_with("/services/data/v") {
        return next.run(req).await;
    }
    let day = app.org.clock().now().date_naive();
    let used = app.usage.hit(day);
    let max = app.config.daily_api_requests;
    let mut resp = if app.config.enforce_api_limit && used > max {
        ApiError::new(
            StatusCode::FORBIDDEN,
            Code::RequestLimitExceeded,
            "TotalRequests Limit exceeded.",
        )
        .into_response()
    } else {
        next.run(req).await
    };
    if let Ok(v) = HeaderValue::from_str(&format!("api-usage={used}/{max}")) {
        resp.headers_mut().insert("sforce-limit-info", v);
    }
    resp
}
