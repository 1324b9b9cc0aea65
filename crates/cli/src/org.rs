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
use serde_json::{Value, json};

use crate::client::{Target, answer, call};

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
            let mut body = json!({});
            if let Some(n) = name {
                body["name"] = json!(n);
            }
            if let Some(file) = config {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let sections: Value = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not JSON", file.display()))?;
                body["config"] = sections;
            }
            call(target, data_dir, "POST", ORGS, Some(&body))
        }
        OrgCommand::List => call(target, data_dir, "GET", ORGS, None),
        OrgCommand::Show { id } => call(target, data_dir, "GET", &format!("{ORGS}/{id}"), None),
        OrgCommand::Reset { id } => call(
            target,
            data_dir,
            "POST",
            &format!("{ORGS}/{id}/reset"),
            None,
        ),
        OrgCommand::Delete { id } => {
            call(target, data_dir, "DELETE", &format!("{ORGS}/{id}"), None)?;
            println!("{}", json!({"deleted": id}));
            Ok(())
        }
    }
}

/// `forcebus status`: every org of the running server with its records, event log and
/// subscribers, as a table or (`json`) the orgs API's answer.
pub(crate) fn status(target: &Target, data_dir: &Path, json: bool) -> anyhow::Result<()> {
    let orgs = answer(target, data_dir, "GET", "/forcebus/v1/orgs", None)?.unwrap_or(Value::Null);
    if json {
        println!("{}", serde_json::to_string_pretty(&orgs)?);
        return Ok(());
    }
    let rows: Vec<Value> = orgs["orgs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|o| {
            json!({
                "Org": o["org_id"],
                "Name": o["name"],
                "Loaded": if o["loaded"] == true { "yes" } else { "resting" },
                "Records": o["records"],
                "Events": o["events"],
                "LogBytes": o["log"]["bytes"],
                "LastReplayId": o["log"]["last_replay_id"],
                "CometD": o["subscribers"]["cometd"],
                "PubSub": o["subscribers"]["pubsub"],
                "Lag": o["subscribers"]["lag_events"],
            })
        })
        .collect();
    print!("{}", crate::data::table(&rows, &["Org"]));
    Ok(())
}
