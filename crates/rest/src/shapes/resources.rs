//! What the API says of itself: the versions it serves (`Version`), the org's `Limits`,
//! and the icons of its objects (`Theme`).

use serde::Serialize;

use forcebus_http::tabs::Icon;

/// One version of `GET /services/data`.
#[derive(Debug, Serialize)]
pub(crate) struct Version {
    /// Its release, `Winter '24`.
    pub(crate) label: String,
    pub(crate) url: String,
    /// `59.0`.
    pub(crate) version: String,
}

/// `GET /limits`: each limit's maximum and what remains of it today.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Limits {
    pub(crate) concurrent_async_get_report_instances: Limit,
    pub(crate) concurrent_sync_report_runs: Limit,
    pub(crate) daily_api_requests: Limit,
    pub(crate) daily_async_apex_executions: Limit,
    pub(crate) daily_bulk_api_batches: Limit,
    #[serde(rename = "DailyBulkV2QueryFileStorageMB")]
    pub(crate) daily_bulk_v2_query_file_storage_mb: Limit,
    pub(crate) daily_bulk_v2_query_jobs: Limit,
    pub(crate) daily_delivered_platform_events: Limit,
    pub(crate) daily_durable_generic_streaming_api_events: Limit,
    pub(crate) daily_durable_streaming_api_events: Limit,
    pub(crate) daily_generic_streaming_api_events: Limit,
    pub(crate) daily_standard_volume_platform_events: Limit,
    pub(crate) daily_streaming_api_events: Limit,
    #[serde(rename = "DataStorageMB")]
    pub(crate) data_storage_mb: Limit,
    pub(crate) durable_streaming_api_concurrent_clients: Limit,
    #[serde(rename = "FileStorageMB")]
    pub(crate) file_storage_mb: Limit,
    pub(crate) hourly_published_platform_events: Limit,
    pub(crate) hourly_published_standard_volume_platform_events: Limit,
    pub(crate) mass_email: Limit,
    pub(crate) monthly_platform_events_usage_entitlement: Limit,
    pub(crate) single_email: Limit,
    pub(crate) streaming_api_concurrent_clients: Limit,
}

/// One limit.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Limit {
    pub(crate) max: u64,
    pub(crate) remaining: u64,
}

impl Limit {
    /// `max`, none of it used.
    pub(crate) fn unused(max: u64) -> Self {
        Self {
            max,
            remaining: max,
        }
    }

    /// `max`, `used` of it used.
    pub(crate) fn used(max: u64, used: u64) -> Self {
        Self {
            max,
            remaining: max.saturating_sub(used),
        }
    }
}

/// `GET /theme`: a theme item per tab's object.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Theme {
    pub(crate) theme_items: Vec<ThemeItem>,
}

/// An object's icons; no colors (Salesforce gives none where a theme has none).
#[derive(Debug, Serialize)]
pub(crate) struct ThemeItem {
    pub(crate) colors: (),
    pub(crate) icons: Vec<Icon>,
    pub(crate) name: String,
}
