//! `forcebus org ...`: the orgs of a running server (`/forcebus/v1/orgs`), as
//! `forcebus control` reaches it (the data dir's ready.json, or `--url` with `--key`).
//! Prints the server's JSON answer. `forcebus status` shows the same list as a table, with
//! each open org's event log and subscribers.
//!
//! ```sh
//! forcebus org create --name ci-42 --config org.json   # {"users": [...], "objects": {...}}
//! forcebus org list
//! forcebus org reset 00DFb0000001aBc
//! forcebus org delete 00DFb0000001aBc
//! ```

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::admin::{NewOrg, OrgEntry, OrgList};
use crate::client::{Body, Target, answer, call};

/// One org command.
#[derive(Debug, Subcommand)]
pub(crate) enum OrgCommand {
    /// Make an org; prints its credentials (the ready line's keys).
    Create {
        /// Its name [default: its id].
        #[arg(long)]
        name: Option<String>,
        /// A JSON file of config sections: users, app, objects, platform_events,
        /// cdc_entities (as the config file spells them).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// List the orgs, the default one first, with record and event counts.
    List,
    /// Show one org.
    Show {
        /// Its id.
        id: String,
    },
    /// Empty an org of records and events (schema, users and tokens stay).
    Reset {
        /// Its id.
        id: String,
    },
    /// Delete an org and its data.
    Delete {
        /// Its id.
        id: String,
    },
}

/// Runs `command` against the server.
pub(crate) fn run(command: &OrgCommand, target: &Target, data_dir: &Path) -> anyhow::Result<()> {
    const ORGS: &str = "/forcebus/v1/orgs";
    match command {
        OrgCommand::Create { name, config } => {
            let config = match config {
                Some(file) => {
                    let text = std::fs::read_to_string(file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    let sections: Value = serde_json::from_str(&text)
                        .with_context(|| format!("{} is not JSON", file.display()))?;
                    Some(sections)
                }
                None => None,
            };
            let body = Body::json(&NewOrg {
                name: name.as_deref(),
                config,
            })?;
            call(target, data_dir, "POST", ORGS, &body)
        }
        OrgCommand::List => call(target, data_dir, "GET", ORGS, &Body::NONE),
        OrgCommand::Show { id } => call(
            target,
            data_dir,
            "GET",
            &format!("{ORGS}/{id}"),
            &Body::NONE,
        ),
        OrgCommand::Reset { id } => call(
            target,
            data_dir,
            "POST",
            &format!("{ORGS}/{id}/reset"),
            &Body::NONE,
        ),
        OrgCommand::Delete { id } => {
            let path = format!("{ORGS}/{id}");
            call(target, data_dir, "DELETE", &path, &Body::NONE)?;
            println!("{}", serde_json::to_string(&Deleted { deleted: id })?);
            Ok(())
        }
    }
}

/// What `forcebus org delete` prints.
#[derive(Serialize)]
struct Deleted<'a> {
    deleted: &'a str,
}

/// `forcebus status`: every org of the running server with its records, event log and
/// subscribers, as a table or (`json`) the orgs API's answer.
pub(crate) fn status(target: &Target, data_dir: &Path, json: bool) -> anyhow::Result<()> {
    let orgs =
        answer(target, data_dir, "GET", "/forcebus/v1/orgs", &Body::NONE)?.unwrap_or(Value::Null);
    if json {
        println!("{}", serde_json::to_string_pretty(&orgs)?);
        return Ok(());
    }
    let list = OrgList::deserialize(&orgs).context("the server's list of orgs is not one")?;
    let rows: Vec<StatusRow> = list.orgs.iter().map(StatusRow::of).collect();
    print!("{}", crate::table::table_of(&rows, &["Org"]));
    Ok(())
}

/// One org's row of `forcebus status`'s table (a resting org's log and subscribers are
/// blank).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StatusRow<'a> {
    org: &'a str,
    name: &'a str,
    /// `yes`, or `resting`.
    loaded: &'static str,
    records: Option<u64>,
    events: Option<u64>,
    log_bytes: Option<u64>,
    last_replay_id: Option<u64>,
    #[serde(rename = "CometD")]
    cometd: Option<u64>,
    pub_sub: Option<u64>,
    lag: Option<u64>,
}

impl<'a> StatusRow<'a> {
    fn of(o: &'a OrgEntry) -> Self {
        Self {
            org: &o.org_id,
            name: &o.name,
            loaded: if o.loaded { "yes" } else { "resting" },
            records: o.records,
            events: o.events,
            log_bytes: o.log.as_ref().map(|l| l.bytes),
            last_replay_id: o.log.as_ref().map(|l| l.last_replay_id),
            cometd: o.subscribers.as_ref().map(|s| s.cometd),
            pub_sub: o.subscribers.as_ref().map(|s| s.pubsub),
            lag: o.subscribers.as_ref().map(|s| s.lag_events),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_row_has_the_tables_columns_in_order() {
        let list: OrgList = serde_json::from_str(
            r#"{"orgs":[{"org_id":"00D1","name":"a","created":null,"default":true,"username":"u","records":3,"events":4,"loaded":true,"log":{"bytes":10,"last_replay_id":7},"subscribers":{"cometd":1,"pubsub":2,"lag_events":0}},
                        {"org_id":"00D2","name":"b","created":"x","default":false,"username":null,"records":null,"events":null,"loaded":false,"node":null}]}"#,
        )
        .unwrap();
        let rows: Vec<String> = list
            .orgs
            .iter()
            .map(|o| serde_json::to_string(&StatusRow::of(o)).unwrap())
            .collect();
        assert_eq!(
            rows,
            [
                r#"{"Org":"00D1","Name":"a","Loaded":"yes","Records":3,"Events":4,"LogBytes":10,"LastReplayId":7,"CometD":1,"PubSub":2,"Lag":0}"#,
                r#"{"Org":"00D2","Name":"b","Loaded":"resting","Records":null,"Events":null,"LogBytes":null,"LastReplayId":null,"CometD":null,"PubSub":null,"Lag":null}"#,
            ]
        );
    }
}
