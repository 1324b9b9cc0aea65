//! The version list (no auth), a version's resource list, `/limits`, `/tabs` and `/theme`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use crate::ctx::{Call, Origin};
use crate::error::json_response;
use crate::shapes::resources::{Limit, Limits, Theme, ThemeItem, Version};
use crate::shapes::respond;

/// The release name of an API version: 59 is Winter '24, each version one season later.
fn label(version: u32) -> String {
    let k = version as i64 - 59;
    let season = ["Winter", "Spring", "Summer"][k.rem_euclid(3) as usize];
    format!("{season} '{:02}", 24 + k.div_euclid(3))
}

/// `GET /services/data`: every served version, oldest first (the sf CLI picks the max):
/// 31.0 (Summer '14) to the newest.
pub(crate) async fn versions(State(app): State<crate::State>) -> Response {
    let list: Vec<Version> = (forcebus_http::ctx::OLDEST_VERSION..=app.config.latest_version)
        .map(|v| Version {
            label: label(v),
            url: format!("/services/data/v{v}.0"),
            version: format!("{v}.0"),
        })
        .collect();
    respond(StatusCode::OK, &list)
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
    let unused = Limit::unused;
    let body = Limits {
        concurrent_async_get_report_instances: unused(200),
        concurrent_sync_report_runs: unused(20),
        daily_api_requests: Limit::used(app.config.daily_api_requests, app.usage.used(day)),
        daily_async_apex_executions: unused(250_000),
        daily_bulk_api_batches: Limit::used(15_000, app.bulk.batches_today()),
        daily_bulk_v2_query_file_storage_mb: unused(976_562),
        daily_bulk_v2_query_jobs: Limit::used(
            forcebus_bulk::DAILY_QUERY_JOBS,
            app.bulk.query_jobs_today(),
        ),
        daily_delivered_platform_events: unused(10_000),
        daily_durable_generic_streaming_api_events: unused(10_000),
        daily_durable_streaming_api_events: unused(10_000),
        daily_generic_streaming_api_events: unused(10_000),
        daily_standard_volume_platform_events: unused(10_000),
        daily_streaming_api_events: unused(10_000),
        data_storage_mb: unused(5),
        durable_streaming_api_concurrent_clients: unused(20),
        file_storage_mb: unused(20),
        hourly_published_platform_events: unused(50_000),
        hourly_published_standard_volume_platform_events: unused(1_000),
        mass_email: unused(10),
        monthly_platform_events_usage_entitlement: unused(0),
        single_email: unused(15),
        streaming_api_concurrent_clients: unused(20),
    };
    respond(StatusCode::OK, &body)
}

/// `GET /tabs`: every tab of the org's apps, each object's once.
pub(crate) async fn tabs(call: Call, State(app): State<crate::State>) -> Response {
    let tabs = forcebus_http::tabs::all(&app.org.schema(), &call.origin.0);
    respond(StatusCode::OK, &tabs)
}

/// `GET /theme`: a theme item per tab's object, with its icons; no colors (Salesforce
/// gives none where a theme has none).
pub(crate) async fn theme(call: Call, State(app): State<crate::State>) -> Response {
    let theme_items = forcebus_http::tabs::all(&app.org.schema(), &call.origin.0)
        .into_iter()
        .map(|t| ThemeItem {
            colors: (),
            icons: t.icons,
            name: t.sobject_name,
        })
        .collect();
    respond(StatusCode::OK, &Theme { theme_items })
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
