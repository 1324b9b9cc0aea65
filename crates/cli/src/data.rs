//! `forcebus query`, `forcebus search` and `forcebus publish`: the data of a running
//! server's default org from the command line, over the REST API a client would call,
//! with the org's access token from the data dir's ready line (or `--url` and `--token`).
//! A table for people, `--json` for scripts; a Salesforce error fails the command with
//! its code and message.
//!
//! ```sh
//! forcebus query "SELECT Id, Name, Owner.Name FROM Account ORDER BY Name"
//! forcebus query --all-rows --json "SELECT Id FROM Account WHERE IsDeleted = true"
//! forcebus search "FIND {Acme} RETURNING Account(Name), Contact(Name, Email)"
//! forcebus publish Order_Shipped__e '{"Order_Number__c": "A-1"}'
//! ```

use std::path::Path;

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;
use serde_json::Value;

use crate::client::ready::Credential;
use crate::client::rest::{ApiError, QueryPage, SaveResult, SearchAnswer, one_line};
use crate::client::{Body, Resolved, send};
use crate::table::{OBJECT_COLUMN, table};

/// Where the server is and the token to use.
#[derive(Debug, Args)]
pub(crate) struct DataTarget {
    /// The server's HTTP address, `host:port` or `http://host:port`, with --token
    /// [default: from the data dir's ready.json].
    #[arg(long, value_name = "URL", requires = "token")]
    url: Option<String>,
    /// An access token of the org [default: the default org's, from ready.json].
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// An org made with `forcebus org create` instead of the default one (a token is
    /// issued for it with the data dir's admin key).
    #[arg(long, value_name = "ORG_ID", conflicts_with_all = ["token", "url"])]
    org: Option<String>,
    /// Print the API's JSON answer instead of a table.
    #[arg(long)]
    json: bool,
}

/// Most pages a query follows (2,000 records each by default).
const MAX_PAGES: usize = 1_000;

/// The server, its API version and the token.
struct Api {
    server: Resolved,
}

impl Api {
    fn new(target: &DataTarget, data_dir: &Path) -> anyhow::Result<Self> {
        let token = match &target.org {
            Some(org) => Some(crate::client::org_token(data_dir, org)?),
            None => target.token.clone(),
        };
        let server = Resolved::find(
            target.url.as_deref(),
            token.as_deref(),
            Credential::AccessToken,
            data_dir,
        )?;
        Ok(Self { server })
    }

    /// A call under `/services/data/v{version}`; its JSON answer, or the server's error.
    fn call(&self, method: &str, path: &str, body: &Body) -> anyhow::Result<Value> {
        let path = if path.starts_with("/services/") {
            path.to_owned()
        } else {
            format!("/services/data/v{}{path}", self.server.api_version())
        };
        let (status, text) = send(&self.server.addr, method, &path, &self.server.key, body)?;
        if !(200..300).contains(&status) {
            match ApiError::first(&text).and_then(|e| e.coded()) {
                Some(coded) => bail!("{coded}"),
                None => bail!("the server answered {status}: {}", one_line(&text)),
            }
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// A query's page (an answer of another shape reads as an empty one).
    fn page(&self, path: &str) -> anyhow::Result<QueryPage> {
        let answer = self.call("GET", path, &Body::NONE)?;
        Ok(QueryPage::deserialize(answer).unwrap_or_default())
    }
}

/// `forcebus query`: every page of the query, as one table (or one JSON document with
/// all the records).
pub(crate) fn query(
    soql: &str,
    all_rows: bool,
    target: &DataTarget,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let api = Api::new(target, data_dir)?;
    let resource = if all_rows { "queryAll" } else { "query" };
    let encoded: String = form_urlencoded::byte_serialize(soql.as_bytes()).collect();
    let mut page = api.page(&format!("/{resource}?q={encoded}"))?;
    let total = page.total_size;
    let mut records = std::mem::take(&mut page.records);
    let mut pages = 1;
    while let Some(next) = page.next_records_url.take() {
        if pages >= MAX_PAGES {
            bail!("more than {MAX_PAGES} pages; narrow the query");
        }
        page = api.page(&next)?;
        records.append(&mut page.records);
        pages += 1;
    }
    if target.json {
        let all = QueryPage {
            total_size: total,
            done: true,
            next_records_url: None,
            records,
        };
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    if records.is_empty() && total > 0 {
        // COUNT(): a size and no rows.
        println!("{total}");
        return Ok(());
    }
    print!("{}", table(&records, &[]));
    println!("{} record{}", total, if total == 1 { "" } else { "s" });
    Ok(())
}

/// `forcebus search`: the records found, with their object, as one table.
pub(crate) fn search(sosl: &str, target: &DataTarget, data_dir: &Path) -> anyhow::Result<()> {
    let api = Api::new(target, data_dir)?;
    let encoded: String = form_urlencoded::byte_serialize(sosl.as_bytes()).collect();
    let answer = api.call("GET", &format!("/search?q={encoded}"), &Body::NONE)?;
    if target.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let found =
        SearchAnswer::deserialize(answer).map_or_else(|_| Vec::new(), SearchAnswer::records);
    print!("{}", table(&found, &[OBJECT_COLUMN]));
    println!("{} found", found.len());
    Ok(())
}

/// `forcebus publish`: one platform event, its fields as JSON.
pub(crate) fn publish(
    event: &str,
    fields: &str,
    target: &DataTarget,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let body: Value = serde_json::from_str(fields).context("the event's fields are not JSON")?;
    if !body.is_object() {
        bail!("the event's fields are a JSON object, e.g. '{{\"Field__c\": \"value\"}}'");
    }
    if !event
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        bail!("{event:?} is not an event's API name (e.g. Order_Shipped__e)");
    }
    let api = Api::new(target, data_dir)?;
    let answer = api.call("POST", &format!("/sobjects/{event}"), &Body::json(&body)?)?;
    if target.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let saved = SaveResult::deserialize(answer).unwrap_or_default();
    let uuid = saved
        .errors
        .iter()
        .find(|e| e.status_code.as_deref() == Some("OPERATION_ENQUEUED"))
        .and_then(|e| e.message.as_deref())
        .unwrap_or("");
    println!(
        "published {event} {} (EventUuid {uuid})",
        saved.id.as_deref().unwrap_or("")
    );
    Ok(())
}
