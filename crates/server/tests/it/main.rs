//! Integration tests: the built `forcebus` binary on ephemeral ports, driven over HTTP.
//! One test binary with modules, to keep link time down.

use std::path::PathBuf;

use forcebus_testkit::{Options, Server};
use reqwest::blocking::{RequestBuilder, Response};
use serde_json::Value;

mod access;
mod access_metadata;
mod auth;
mod bayeux;
mod bayeux_overlap;
mod bayeux_wakes;
mod bulk1;
mod bulk2;
mod catalogue;
mod channels;
mod collections;
mod composite;
mod config;
mod control;
mod cross_protocol;
mod data_cli;
mod deploy;
mod deploy_rest;
mod deploy_verbatim;
mod describe;
mod destructive;
mod events;
mod files;
mod full_disk;
mod generic;
mod header_names;
mod leads;
mod lifecycle;
mod live_schema;
mod metadata;
mod metadata_channels;
mod metrics;
mod oauth_pages;
mod org_details;
mod org_rules;
mod organization;
mod orgs;
mod orgs_idle;
mod orgs_ids;
mod orgs_routes;
mod platform;
mod platform_sigkill;
mod postgres;
mod pricebooks;
mod project;
mod pubsub;
mod pubsub_ahead;
mod pubsub_credit;
mod pushtopic;
mod query;
mod quotes;
mod record_types;
mod relations;
mod request_bounds;
mod search;
mod shutdown;
mod small_resources;
mod soap;
mod sobjects;
mod startup;
mod status;
mod streaming_connections;
mod tooling_defs;
mod traces;
mod uploads;
mod watch;

/// The server under test: the one this build made, or `FORCEBUS_BIN` (to run these tests
/// against another build, e.g. to see a regression test fail on the code before its fix).
pub(crate) fn bin() -> PathBuf {
    std::env::var_os("FORCEBUS_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_forcebus")),
        PathBuf::from,
    )
}

/// A config declaring the custom fields and object the tests use.
pub(crate) const CONFIG: &str = r#"
[[objects.Account.fields]]
name = "External_Id__c"
type = "string"
length = 64
external_id = true
unique = true

[[objects.Account.fields]]
name = "Legacy_Code__c"
type = "string"
external_id = true

[[objects.Account.fields]]
name = "Tier__c"
type = "picklist"
picklist = ["Gold", "Silver"]

[objects.Invoice__c]
label = "Invoice"
fields = [
  { name = "Account__c", type = "reference", reference_to = "Account", master_detail = true },
  { name = "Total__c", type = "currency", precision = 16, scale = 2 },
]
"#;

pub(crate) fn server() -> Server {
    Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            config: Some(CONFIG.into()),
            ..Default::default()
        },
    )
}

/// An in-memory server with `config` (TOML) alone.
pub(crate) fn server_with(config: &str) -> Server {
    Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            config: Some(config.into()),
            ..Default::default()
        },
    )
}

pub(crate) trait Authed {
    fn bearer(self, s: &Server) -> Self;
}

impl Authed for RequestBuilder {
    fn bearer(self, s: &Server) -> Self {
        self.header("Authorization", format!("Bearer {}", s.ready.access_token))
    }
}

/// Status and JSON body (Null when empty or not JSON).
pub(crate) fn j(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The error code of a single-resource error body, asserting the array shape.
pub(crate) fn code(body: &Value) -> &str {
    body.as_array()
        .and_then(|a| a.first())
        .and_then(|e| e["errorCode"].as_str())
        .unwrap_or_else(|| panic!("not a Salesforce error array: {body}"))
}

pub(crate) fn create(s: &Server, object: &str, fields: Value) -> String {
    let (st, body) = j(s
        .http()
        .post(format!("{}/sobjects/{object}", s.data()))
        .bearer(s)
        .json(&fields)
        .send()
        .unwrap());
    assert_eq!(st, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// A REST create of `object`: status and body (an error list or the save result).
pub(crate) fn post_record(s: &Server, object: &str, body: Value) -> (u16, Value) {
    j(s.http()
        .post(format!("{}/sobjects/{object}", s.data()))
        .bearer(s)
        .json(&body)
        .send()
        .unwrap())
}

/// A REST update of `object`'s record `id`: the status.
pub(crate) fn patch_record(s: &Server, object: &str, id: &str, body: Value) -> u16 {
    s.http()
        .patch(format!("{}/sobjects/{object}/{id}", s.data()))
        .bearer(s)
        .json(&body)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// A REST delete of `object`'s record `id`: status and body (Null when empty).
pub(crate) fn delete_record(s: &Server, object: &str, id: &str) -> (u16, Value) {
    j(s.http()
        .delete(format!("{}/sobjects/{object}/{id}", s.data()))
        .bearer(s)
        .send()
        .unwrap())
}

pub(crate) fn get(s: &Server, path: &str) -> (u16, Value) {
    j(s.http()
        .get(format!("{}{path}", s.data()))
        .bearer(s)
        .send()
        .unwrap())
}

/// A SOQL query's status and body.
pub(crate) fn soql(s: &Server, query: &str) -> (u16, Value) {
    j(s.http()
        .get(format!("{}/query", s.data()))
        .query(&[("q", query)])
        .bearer(s)
        .send()
        .unwrap())
}

/// The records a SOQL query answers, asserting it succeeds.
pub(crate) fn records(s: &Server, query: &str) -> Vec<Value> {
    let (st, body) = soql(s, query);
    assert_eq!(st, 200, "{query}: {body}");
    body["records"].as_array().unwrap().clone()
}

/// Ids of live records of `object` changed in the last day (the `updated` resource).
pub(crate) fn live_ids(s: &Server, object: &str) -> Vec<String> {
    let end = an_hour_from_now();
    let (st, body) = get(
        s,
        &format!("/sobjects/{object}/updated?start=2000-01-01T00:00:00Z&end={end}"),
    );
    assert_eq!(st, 200, "{body}");
    body["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// An hour from now, UTC, as Salesforce writes a datetime (without milliseconds).
pub(crate) fn an_hour_from_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    // Formatted by hand: the tests take no date crate.
    let days = secs / 86400;
    let (y, m, d) = civil_from_days(days as i64);
    let rem = secs % 86400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}
