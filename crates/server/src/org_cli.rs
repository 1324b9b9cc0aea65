//! `forcebus org ...`: the orgs of a running server (`/forcebus/v1/orgs`), as
//! `forcebus control` reaches it (the data dir's ready.json, or `--url` with `--key`).
//! Prints the server's JSON answer.
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

use crate::control_cli::{Target, call};

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
