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
use serde_json::{Map, Value};

use crate::client::{Resolved, send};

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
/// Widest a table column gets; longer values are cut with `…`.
const MAX_WIDTH: usize = 48;

/// The server, its API version and the token.
struct Api {
    server: Resolved,
    version: String,
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
            "access_token",
            data_dir,
        )?;
        let version = server
            .ready
            .as_ref()
            .and_then(|r| r["api_version"].as_str())
            .unwrap_or("66.0")
            .to_owned();
        Ok(Self { server, version })
    }

    /// A call under `/services/data/v{version}`; its JSON answer, or the server's error.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let path = if path.starts_with("/services/") {
            path.to_owned()
        } else {
            format!("/services/data/v{}{path}", self.version)
        };
        let (status, text) = send(&self.server.addr, method, &path, &self.server.key, body)?;
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !(200..300).contains(&status) {
            let first = &answer[0];
            match (first["errorCode"].as_str(), first["message"].as_str()) {
                (Some(code), Some(message)) => bail!("{code}: {message}"),
                _ => bail!("the server answered {status}: {answer}"),
            }
        }
        Ok(answer)
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
    let mut page = api.call("GET", &format!("/{resource}?q={encoded}"), None)?;
    let total = page["totalSize"].as_u64().unwrap_or(0);
    let mut records: Vec<Value> = take_records(&mut page);
    let mut pages = 1;
    while let Some(next) = page["nextRecordsUrl"].as_str().map(str::to_owned) {
        if pages >= MAX_PAGES {
            bail!("more than {MAX_PAGES} pages; narrow the query");
        }
        page = api.call("GET", &next, None)?;
        records.extend(take_records(&mut page));
        pages += 1;
    }
    if target.json {
        let all = serde_json::json!({"totalSize": total, "done": true, "records": records});
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
    let answer = api.call("GET", &format!("/search?q={encoded}"), None)?;
    if target.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let found = answer["searchRecords"]
        .as_array()
        .or_else(|| answer.as_array())
        .cloned()
        .unwrap_or_default();
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
    let answer = api.call("POST", &format!("/sobjects/{event}"), Some(&body))?;
    if target.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let uuid = answer["errors"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["statusCode"] == "OPERATION_ENQUEUED"))
        .and_then(|e| e["message"].as_str())
        .unwrap_or("");
    println!(
        "published {event} {} (EventUuid {uuid})",
        answer["id"].as_str().unwrap_or("")
    );
    Ok(())
}

fn take_records(page: &mut Value) -> Vec<Value> {
    match page.get_mut("records").map(Value::take) {
        Some(Value::Array(r)) => r,
        _ => Vec::new(),
    }
}

/// The column of a record's object (from its attributes) in search results.
const OBJECT_COLUMN: &str = "sObject";

/// A record's cells by column: relationship fields as `Owner.Name`, a child subquery as
/// its row count, its object from its attributes.
fn cells(record: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    let Some(map) = record.as_object() else {
        return;
    };
    if prefix.is_empty()
        && let Some(kind) = map.get("attributes").and_then(|a| a["type"].as_str())
    {
        out.push((OBJECT_COLUMN.into(), kind.to_owned()));
    }
    for (k, v) in map.iter().filter(|(k, _)| *k != "attributes") {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(o) if o.contains_key("records") => {
                let n = o["records"].as_array().map_or(0, Vec::len);
                out.push((name, format!("({n} rows)")));
            }
            Value::Object(o) if o.contains_key("attributes") => cells(v, &name, out),
            Value::Object(o) => out.push((name, compact(&Value::Object(o.clone())))),
            other => out.push((name, text(other))),
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The rows as an aligned table; `lead` columns first (when any row has them).
pub(crate) fn table(records: &[Value], lead: &[&str]) -> String {
    let rows: Vec<Map<String, Value>> = records
        .iter()
        .map(|r| {
            let mut c = Vec::new();
            cells(r, "", &mut c);
            c.into_iter().map(|(k, v)| (k, Value::String(v))).collect()
        })
        .collect();
    let mut columns: Vec<String> = lead
        .iter()
        .filter(|l| rows.iter().any(|r| r.contains_key(**l)))
        .map(|l| (*l).to_owned())
        .collect();
    for r in &rows {
        for k in r.keys() {
            if !columns.contains(k) && (lead.contains(&k.as_str()) || k != OBJECT_COLUMN) {
                columns.push(k.clone());
            }
        }
    }
    // A parent that is null in some rows and has fields in others: its fields' columns.
    let parents: Vec<String> = columns
        .iter()
        .filter(|c| columns.iter().any(|o| o.starts_with(&format!("{c}."))))
        .filter(|c| {
            rows.iter()
                .all(|r| r.get(*c).and_then(Value::as_str).is_none_or(str::is_empty))
        })
        .cloned()
        .collect();
    columns.retain(|c| !parents.contains(c));
    if columns.is_empty() {
        return String::new();
    }
    let cell = |r: &Map<String, Value>, c: &str| -> String {
        let s = r.get(c).and_then(Value::as_str).unwrap_or("");
        let one_line = s.replace(['\n', '\r', '\t'], " ");
        if one_line.chars().count() > MAX_WIDTH {
            let cut: String = one_line.chars().take(MAX_WIDTH - 1).collect();
            format!("{cut}…")
        } else {
            one_line
        }
    };
    let widths: Vec<usize> = columns
        .iter()
        .map(|c| {
            rows.iter()
                .map(|r| cell(r, c).chars().count())
                .chain([c.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<String>| -> String {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v}{}", " ".repeat(w - v.chars().count())))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(columns.clone());
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for r in &rows {
        out.push_str(&line(columns.iter().map(|c| cell(r, c)).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_make_an_aligned_table_with_parent_fields_and_subquery_counts() {
        let records = [
            json!({"attributes": {"type": "Account"}, "Name": "Acme", "Owner": {"attributes": {"type": "User"}, "Name": "Ada"}, "Contacts": {"totalSize": 2, "records": [{}, {}]}}),
            json!({"attributes": {"type": "Account"}, "Name": "A longer name\nbroken", "Owner": null, "Contacts": null}),
        ];
        let t = table(&records, &[]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "Name                  Owner.Name  Contacts");
        assert_eq!(lines[1], "--------------------  ----------  --------");
        assert_eq!(lines[2], "Acme                  Ada         (2 rows)");
        assert_eq!(lines[3], "A longer name broken");
        let long = [json!({"Description": "x".repeat(100)})];
        let t = table(&long, &[]);
        assert!(t.lines().nth(2).unwrap().ends_with("x…"));
        assert_eq!(t.lines().nth(2).unwrap().chars().count(), MAX_WIDTH);
    }
}
