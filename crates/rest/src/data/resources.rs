//! The version list (no auth), a version's resource list, `/limits`, `/tabs` and `/theme`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::ctx::{Call, Origin};
use crate::error::json_response;

/// The release name of an API version: 59 is Winter '24, each version one season later.
fn label(version: u32) -> String {
    let k = version as i64 - 59;
    let season = ["Winter", "Spring", "Summer"][k.rem_euclid(3) as usize];
    format!("{season} '{:02}", 24 + k.div_euclid(3))
}

/// `GET /services/data`: every served version, oldest first (the sf CLI picks the max):
/// 31.0 (Summer '14) to the newest.
pub(crate) async fn versions(State(app): State<crate::State>) -> Response {
    let list: Vec<Value> = (forcebus_http::ctx::OLDEST_VERSION..=app.config.latest_version)
        .map(|v| json!({"label": label(v), "url": format!("/services/data/v{v}.0"), "version": format!("{v}.0")}))
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

/// `GET /services/data/vXX.X`: the resources of a version.
pub(crate) async fn resources(call: Call, State(app): State<crate::State>) -> Response {
    let base = call.base();
    let mut out = Map::new();
    for name in [
        "tooling",
        "metadata",
        "eclair",
        "folders",
        "prechatForms",
        "chatter",
        "tabs",
        "appMenu",
        "quickActions",
        "queryAll",
        "commerce",
        "wave",
        "iot",
        "analytics",
        "search",
        "identity",
        "composite",
        "parameterizedSearch",
        "fingerprint",
        "theme",
        "nouns",
        "event",
        "serviceTemplates",
        "recent",
        "connect",
        "licensing",
        "limits",
        "process",
        "async-queries",
        "query",
        "match",
        "emailConnect",
        "compactLayouts",
        "knowledgeManagement",
        "sobjects",
        "actions",
        "support",
    ] {
        out.insert(name.to_owned(), Value::String(format!("{base}/{name}")));
    }
    out.insert(
        "identity".to_owned(),
        Value::String(format!(
            "{}/id/{}/{}",
            call.origin.0,
            app.org.id().to18(),
            call.session.user_id.to18()
        )),
    );
    json_response(StatusCode::OK, &Value::Object(out))
}

/// `GET /limits`.
pub(crate) async fn limits(
    _call: Call,
    State(app): State<crate::State>,
    _origin: Origin,
) -> Response {
    let day = app.org.clock().now().date_naive();
    let used = app.usage.used(day);
    let max = app.config.daily_api_requests;
    let entry = |max: u64, remaining: u64| json!({"Max": max, "Remaining": remaining});
    let full = |max: u64| entry(max, max);
    let body = json!({
        "ConcurrentAsyncGetReportInstances": full(200),
        "ConcurrentSyncReportRuns": full(20),
        "DailyApiRequests": entry(max, max.saturating_sub(used)),
        "DailyAsyncApexExecutions": full(250000),
        "DailyBulkApiBatches": entry(15000, 15000u64.saturating_sub(app.bulk.batches_today())),
        "DailyBulkV2QueryFileStorageMB": full(976562),
        "DailyBulkV2QueryJobs": entry(
            forcebus_bulk::DAILY_QUERY_JOBS,
            forcebus_bulk::DAILY_QUERY_JOBS.saturating_sub(app.bulk.query_jobs_today()),
        ),
        "DailyDeliveredPlatformEvents": full(10000),
        "DailyDurableGenericStreamingApiEvents": full(10000),
        "DailyDurableStreamingApiEvents": full(10000),
        "DailyGenericStreamingApiEvents": full(10000),
        "DailyStandardVolumePlatformEvents": full(10000),
        "DailyStreamingApiEvents": full(10000),
        "DataStorageMB": full(5),
        "DurableStreamingApiConcurrentClients": full(20),
        "FileStorageMB": full(20),
        "HourlyPublishedPlatformEvents": full(50000),
        "HourlyPublishedStandardVolumePlatformEvents": full(1000),
        "MassEmail": full(10),
        "MonthlyPlatformEventsUsageEntitlement": full(0),
        "SingleEmail": full(15),
        "StreamingApiConcurrentClients": full(20),
    });
    json_response(StatusCode::OK, &body)
}

/// `GET /tabs`: every tab of the org's apps, each object's once.
pub(crate) async fn tabs(call: Call, State(app): State<crate::State>) -> Response {
    let tabs = forcebus_http::tabs::all(&app.org.schema(), &call.origin.0);
    json_response(StatusCode::OK, &json!(tabs))
}

/// `GET /theme`: a theme item per tab's object, with its icons; no colors (Salesforce
/// gives none where a theme has none).
pub(crate) async fn theme(call: Call, State(app): State<crate::State>) -> Response {
    let items: Vec<Value> = forcebus_http::tabs::all(&app.org.schema(), &call.origin.0)
        .into_iter()
        .map(|t| json!({"colors": null, "icons": t.icons, "name": t.sobject_name}))
        .collect();
    json_response(StatusCode::OK, &json!({"themeItems": items}))
}

#[cfg(test)]
mod tests {
    #[test]
    fn release_labels() {
        assert_eq!(super::label(59), "Winter '24");
        assert_eq!(super::label(58), "Summer '23");
        assert_eq!(super::label(60), "Spring '24");
        assert_eq!(super::label(20), "Winter '11");
    }
}
